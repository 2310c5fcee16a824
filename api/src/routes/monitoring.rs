//! Monthly monitoring rounds (月调度): opening, answers, reports in JSON and
//! as a workbook with native Excel charts, and the year view.

use super::missing_field;
use super::workers::{read_upload, scoped_county};
use crate::auth::{Auth, Caller, LedgerKeeper};
use crate::error::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
use crate::json::Json;
use crate::purpose::Purpose;
use crate::sheets;
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::{HttpResponse, get, post, web};
use domain::Problems;
use domain::calendar::YearMonth;
use domain::worker::EmploymentStatus;
use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, XlsxError};
use serde::{Deserialize, Serialize};
use store::monitoring::{Answer, Report};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundInput {
    /// The month, `2024-03`.
    #[schema(required, nullable = false)]
    pub period: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoundOut {
    pub period: String,
    /// 520000 for the province, else a county.
    pub scope_code: String,
}

#[derive(Debug, Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct ResponseInput {
    #[schema(required, nullable = false)]
    pub worker_id: Option<Uuid>,
    #[schema(required, nullable = false)]
    pub employment_status: Option<String>,
    /// in_county, in_province or out_of_province (for a worker in work)
    pub work_place: Option<String>,
    /// For out_of_province, e.g. 440000.
    pub work_province_code: Option<String>,
    pub industry: Option<String>,
    /// CNY last month.
    pub monthly_income: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerOut {
    pub period: String,
    pub recorded: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
    /// A resettlement site's name (with county_code).
    pub site: Option<String>,
}

/// The year view is per county; it has no site filter to offer.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct YearQuery {
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct YearView {
    pub year: i32,
    /// county code → months (1-12) with a round
    #[schema(value_type = Object)]
    pub counties: std::collections::BTreeMap<String, Vec<u32>>,
}

fn period_of(s: &str) -> Result<YearMonth, ApiError> {
    YearMonth::parse(s).map_err(|_| ApiError::not_found("monitoring round (the period is written YYYY-MM)"))
}

fn answer_of(p: &mut Problems, prefix: &str, b: &ResponseInput) -> Option<Answer> {
    let f = |n: &str| format!("{prefix}{n}");
    let status = domain::ledger::parse_status(p, &f("employment_status"), b.employment_status.as_deref());
    let working = status.is_some_and(EmploymentStatus::is_employed);
    let place = match b.work_place.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None if working => {
            p.push(f("work_place"), "is required for a worker in work (in_county, in_province or out_of_province)");
            None
        }
        None => None,
        Some(w @ ("in_county" | "in_province" | "out_of_province")) => Some(w.to_owned()),
        Some("本县") => Some("in_county".into()),
        Some("省内") => Some("in_province".into()),
        Some("省外") => Some("out_of_province".into()),
        Some(_) => {
            p.push(f("work_place"), "must be in_county, in_province or out_of_province (本县/省内/省外)");
            None
        }
    };
    let province = b.work_province_code.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    match (place.as_deref(), &province) {
        (Some("out_of_province"), None) => p.push(f("work_province_code"), "is required for work outside Guizhou"),
        (Some("out_of_province"), Some(c))
            if !(c.len() == 6
                && c.ends_with("0000")
                && !c.starts_with("52")
                && c.bytes().all(|x| x.is_ascii_digit())) =>
        {
            p.push(f("work_province_code"), "must be a province code outside Guizhou, e.g. 440000")
        }
        (Some("in_county" | "in_province"), Some(c)) if c != domain::division::GUIZHOU => {
            p.push(f("work_province_code"), "must be 520000 or empty for work in Guizhou")
        }
        _ => {}
    }
    let industry = domain::job::clean_text(p, &f("industry"), b.industry.as_deref(), false, 50);
    let income = match b.monthly_income {
        Some(i) if !(0..=1_000_000).contains(&i) => {
            p.push(f("monthly_income"), "must be between 0 and 1000000");
            None
        }
        other => other.and_then(|i| i32::try_from(i).ok()),
    };
    if b.worker_id.is_none() {
        p.push(f("worker_id"), "is required");
    }
    Some(Answer {
        worker_id: b.worker_id?,
        employment_status: status?.as_str().to_owned(),
        work_place: place,
        work_province_code: province,
        industry: (!industry.is_empty()).then_some(industry),
        monthly_income: income,
        income_band: None,
        source: "officer",
    })
}

/// Open a round: admin for the province, a county office for its county.
#[utoipa::path(tag = "monitoring", security(("api_key" = [])), request_body = RoundInput,
    responses((status = 201, body = RoundOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/monitoring-rounds")]
pub async fn open_round(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    body: Json<RoundInput>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Problems::new();
    let period = match body.period.as_deref() {
        None => {
            p.push("period", "is required");
            None
        }
        Some(s) => p.check("period", YearMonth::parse(s)),
    };
    let Some(period) = period else { return Err(p.into()) };
    if period > YearMonth::of(state.today()) {
        return Err(ApiError::field("period", "is in the future"));
    }
    let scope = if auth.is_admin() {
        domain::division::GUIZHOU.to_owned()
    } else {
        auth.county_code.clone().unwrap_or_default()
    };
    let actor = auth.actor();
    let s = scope.clone();
    state.db(move |conn| Ok(store::monitoring::open_round(conn, period, &s, &actor)?)).await?;
    Ok(HttpResponse::Created().json(RoundOut { period: period.to_string(), scope_code: scope }))
}

fn check_worker(
    conn: &mut diesel::PgConnection,
    caller: &Caller,
    period: YearMonth,
    worker: Uuid,
) -> Result<(), ApiError> {
    let county = store::workers::county_of(conn, worker).map_err(missing_field("worker_id", "no such worker"))?;
    caller.require_county(&county)?;
    if !store::monitoring::round_open(conn, period, &county)? {
        return Err(ApiError::conflict(format!("No {period} round is open for county {county}; open it first.")));
    }
    Ok(())
}

/// Record an answer for a worker without the bot (the worker's county office
/// or admin). A later answer for the same period corrects an earlier one.
#[utoipa::path(tag = "monitoring", security(("api_key" = [])), params(("period" = String, Path)), request_body = ResponseInput,
    responses((status = 201, body = AnswerOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/monitoring-rounds/{period}/responses")]
pub async fn respond(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    period: web::Path<String>,
    body: Json<ResponseInput>,
) -> Result<HttpResponse, ApiError> {
    let period = period_of(&period)?;
    let mut p = Problems::new();
    let a = answer_of(&mut p, "", &body);
    let (Some(a), true) = (a, p.is_empty()) else { return Err(p.into()) };
    let caller = auth.clone();
    let today = state.today();
    let n = state
        .db(move |conn| {
            check_worker(conn, &caller, period, a.worker_id)?;
            Ok(store::monitoring::answer(conn, period, &[a], &caller.actor(), today)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(AnswerOut { period: period.to_string(), recorded: n }))
}

const ANSWER_COLUMNS: &[sheets::Column] = &[
    ("id_number", "身份证号", true, ""),
    ("employment_status", "就业状态", true, ""),
    ("work_place", "务工地点", false, "本县/省内/省外"),
    ("work_province_code", "务工省份代码", false, ""),
    ("industry", "行业", false, ""),
    ("monthly_income", "月收入", false, ""),
];

/// Import answers from a workbook or CSV (身份证号, 就业状态, 务工地点, 务工省份代码,
/// 行业, 月收入): all rows or none, each bad row named.
#[utoipa::path(tag = "monitoring", security(("api_key" = [])), params(("period" = String, Path)),
    request_body(content_type = "multipart/form-data", description = "A part named `file`: .xlsx or .csv"),
    responses((status = 200, body = AnswerOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/monitoring-rounds/{period}/responses/import")]
pub async fn import(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    period: web::Path<String>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let period = period_of(&period)?;
    let (name, bytes) = read_upload(payload).await?;
    let caller = auth.clone();
    let (vault, today) = (state.vault.clone(), state.today());
    let n = state
        .db(move |conn| {
            let table = sheets::read_table(&bytes, &name)?;
            let cols = sheets::map_columns(&table.headers, ANSWER_COLUMNS)?;
            let mut errors = Vec::new();
            let mut answers = Vec::new();
            for (row, cells) in &table.rows {
                let get = |f: &str| {
                    cols.get(f).and_then(|i| cells.get(*i)).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
                };
                let mut push = |f: &str, problem: String| {
                    let header = ANSWER_COLUMNS.iter().find(|c| c.0 == f).map(|c| c.1).unwrap_or(f);
                    errors.push(ErrorDetail { field: f.into(), problem, row: Some(*row), column: Some(header.into()) });
                };
                let worker = match get("id_number").map(|s| domain::IdNumber::parse(&s)) {
                    Some(Ok(idn)) => match store::workers::find_by_id_number(conn, &vault, &idn)? {
                        Some((id, county)) if caller.keeps_county(&county) => Some(id),
                        Some(_) => {
                            push("id_number", "this worker is in another county's ledger".into());
                            None
                        }
                        None => {
                            push("id_number", "no worker with this ID number in the ledger".into());
                            None
                        }
                    },
                    Some(Err(e)) => {
                        push("id_number", e.to_string());
                        None
                    }
                    None => {
                        push("id_number", "is required".into());
                        None
                    }
                };
                let income = match get("monthly_income") {
                    None => None,
                    Some(s) => match s.parse::<i64>() {
                        Ok(v) => Some(v),
                        Err(_) => {
                            push("monthly_income", "must be a whole number".into());
                            None
                        }
                    },
                };
                let input = ResponseInput {
                    worker_id: worker.or(Some(Uuid::nil())),
                    employment_status: get("employment_status"),
                    work_place: get("work_place"),
                    work_province_code: get("work_province_code"),
                    industry: get("industry"),
                    monthly_income: income,
                };
                let mut p = Problems::new();
                let a = answer_of(&mut p, "", &input);
                for f in p.0 {
                    push(&f.field, f.problem);
                }
                if let (Some(a), Some(w)) = (a, worker) {
                    let county = store::workers::county_of(conn, w)?;
                    if !store::monitoring::round_open(conn, period, &county)? {
                        push("id_number", format!("no {period} round is open for county {county}"));
                        continue;
                    }
                    answers.push(Answer { source: "import", ..a });
                }
            }
            if !errors.is_empty() {
                return Err(ApiError::with_message(
                    ErrorCode::ImportRejected,
                    format!("{} problems; nothing was written.", errors.len()),
                )
                .with_rows(errors));
            }
            Ok(store::monitoring::answer(conn, period, &answers, &caller.actor(), today)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(AnswerOut { period: period.to_string(), recorded: n }))
}

/// The report, and a `worker.view` audit entry for the names in its lists
/// (returning labour, non-respondents).
async fn build(
    auth: &Caller,
    state: &AppState,
    period: &str,
    q: &ReportQuery,
    (route, purpose): (&'static str, String),
) -> Result<(YearMonth, Report), ApiError> {
    let period = period_of(period)?;
    let county = scoped_county(auth, super::code_param("county_code", q.county_code.as_deref())?)?;
    let site = q.site.clone().filter(|s| !s.is_empty());
    if site.is_some() && county.is_none() {
        // A rule between two parameters the spec allows one by one: 422, not 400.
        return Err(ApiError::field("site", "needs county_code"));
    }
    let scope = county.clone().unwrap_or_else(|| domain::division::GUIZHOU.into());
    let pool = state.pool.clone();
    let actor = auth.actor();
    let r = state
        .db(move |conn| {
            let open = match &county {
                Some(c) => store::monitoring::round_open(conn, period, c)?,
                None => store::monitoring::round_open(conn, period, domain::division::GUIZHOU)?,
            };
            if !open {
                return Err(ApiError::not_found(&format!("{period} round for {scope}")));
            }
            // A second connection, when one is free, computes the previous round at the same time.
            let mut side = pool.try_get();
            let r =
                store::monitoring::report(conn, side.as_deref_mut(), period, county.as_deref(), site.as_deref(), 5000)?;
            drop(side);
            let named: Vec<uuid::Uuid> = r
                .returning_labour
                .iter()
                .chain(&r.non_respondents)
                .filter(|p| p.name.is_some())
                .map(|p| p.worker_id)
                .collect();
            store::audit::record_views(conn, &actor, route, &purpose, &[store::audit::Field::Name], &named)?;
            Ok(r)
        })
        .await?;
    Ok((period, r))
}

/// The round's report: employment rate, destinations, industries, income,
/// returning labour, zero-employment households, response rate, changes since
/// the previous round and income growth against the year before (+15 % target).
/// Erased workers still count, as unattributed totals (a published month's
/// figures do not change), but are in no list. The names in the lists are
/// audited (`worker.view`, purpose `monitoring.report` by default).
#[utoipa::path(tag = "monitoring", security(("api_key" = [])), params(("period" = String, Path), ReportQuery, Purpose),
    responses((status = 200, body = Report), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/monitoring-rounds/{period}/report")]
pub async fn report(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    period: web::Path<String>,
    q: web::Query<ReportQuery>,
    purpose: Purpose,
) -> Result<HttpResponse, ApiError> {
    let why = ("GET /v1/monitoring-rounds/{period}/report", purpose.or("monitoring.report"));
    let (_, r) = build(&auth, &state, &period, &q, why).await?;
    Ok(HttpResponse::Ok().json(r))
}

fn xerr(e: XlsxError) -> ApiError {
    tracing::error!(error = %e, "workbook");
    ApiError::new(ErrorCode::Internal)
}

const PLACES: [(&str, &str); 3] = [("in_county", "本县"), ("in_province", "省内县外"), ("out_of_province", "省外")];

fn workbook(r: &Report, trend: &[(String, Option<f64>)]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    {
        let ws = wb.add_worksheet();
        ws.set_name("概况")?;
        ws.set_column_width(0, 28)?;
        let rows: Vec<(&str, f64)> = vec![
            ("劳动力（人）", r.labour as f64),
            ("就业（人）", r.employed as f64),
            ("就业率", r.employment_rate),
            ("有劳动力家庭（户）", r.households_with_labour as f64),
            ("有人就业家庭（户）", r.households_with_employed as f64),
            ("零就业家庭（户）", r.zero_employment_households.len() as f64),
            ("公益性岗位（人）", r.public_welfare_post as f64),
            ("答复（人）", r.respondents as f64),
            ("答复率", r.response_rate),
            ("月收入中位数（元）", r.income_median.unwrap_or(0.0)),
            ("月收入平均数（元）", r.income_mean.unwrap_or(0.0)),
            ("返乡劳动力（人）", r.returning_labour.len() as f64),
        ];
        ws.write_string_with_format(0, 0, format!("{} 月调度", r.period), &bold)?;
        for (i, (k, v)) in rows.iter().enumerate() {
            ws.write_string(i as u32 + 1, 0, *k)?;
            ws.write_number(i as u32 + 1, 1, *v)?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("去向")?;
        ws.write_string_with_format(0, 0, "去向", &bold)?;
        ws.write_string_with_format(0, 1, "人数", &bold)?;
        for (i, (k, label)) in PLACES.iter().enumerate() {
            ws.write_string(i as u32 + 1, 0, *label)?;
            ws.write_number(i as u32 + 1, 1, r.by_destination.get(*k).copied().unwrap_or(0) as f64)?;
        }
        let mut chart = Chart::new(ChartType::Pie);
        chart.title().set_name("就业去向");
        chart.add_series().set_categories(("去向", 1, 0, 3, 0)).set_values(("去向", 1, 1, 3, 1));
        ws.insert_chart(1, 3, &chart)?;
        ws.write_string_with_format(6, 0, "省外省份代码", &bold)?;
        for (i, (k, v)) in r.by_province.iter().enumerate() {
            ws.write_string(i as u32 + 7, 0, k)?;
            ws.write_number(i as u32 + 7, 1, *v as f64)?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("行业")?;
        ws.write_string_with_format(0, 0, "行业", &bold)?;
        ws.write_string_with_format(0, 1, "人数", &bold)?;
        for (i, (k, v)) in r.by_industry.iter().enumerate() {
            ws.write_string(i as u32 + 1, 0, sheets::safe_cell(k))?;
            ws.write_number(i as u32 + 1, 1, *v as f64)?;
        }
        if !r.by_industry.is_empty() {
            let n = r.by_industry.len() as u32;
            let mut chart = Chart::new(ChartType::Column);
            chart.title().set_name("就业行业分布");
            chart.add_series().set_name("人数").set_categories(("行业", 1, 0, n, 0)).set_values(("行业", 1, 1, n, 1));
            ws.insert_chart(1, 3, &chart)?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("收入")?;
        ws.write_string_with_format(0, 0, "月份", &bold)?;
        ws.write_string_with_format(0, 1, "平均月收入（元）", &bold)?;
        for (i, (m, v)) in trend.iter().enumerate() {
            ws.write_string(i as u32 + 1, 0, m)?;
            if let Some(v) = v {
                ws.write_number(i as u32 + 1, 1, *v)?;
            }
        }
        let mut chart = Chart::new(ChartType::Line);
        chart.title().set_name("全年月收入走势");
        chart
            .add_series()
            .set_name("平均月收入")
            .set_categories(("收入", 1, 0, 12, 0))
            .set_values(("收入", 1, 1, 12, 1));
        ws.insert_chart(1, 3, &chart)?;
        ws.write_string_with_format(15, 0, "县级代码", &bold)?;
        ws.write_string_with_format(15, 1, "平均月收入", &bold)?;
        ws.write_string_with_format(15, 2, "上年同期", &bold)?;
        ws.write_string_with_format(15, 3, "增长", &bold)?;
        ws.write_string_with_format(15, 4, "达到15%目标", &bold)?;
        for (i, g) in r.income_growth.iter().enumerate() {
            let row = i as u32 + 16;
            ws.write_string(row, 0, &g.county_code)?;
            if let Some(v) = g.mean_income {
                ws.write_number(row, 1, v)?;
            }
            if let Some(v) = g.mean_income_year_before {
                ws.write_number(row, 2, v)?;
            }
            if let Some(v) = g.growth {
                ws.write_number(row, 3, v)?;
            }
            ws.write_string(
                row,
                4,
                match g.meets_target {
                    Some(true) => "是",
                    Some(false) => "否",
                    None => "无上年数据",
                },
            )?;
        }
    }
    for (name, people) in [("返乡劳动力", &r.returning_labour), ("未答复", &r.non_respondents)] {
        let ws = wb.add_worksheet();
        ws.set_name(name)?;
        ws.write_string_with_format(0, 0, "工人编号", &bold)?;
        ws.write_string_with_format(0, 1, "姓名", &bold)?;
        ws.write_string_with_format(0, 2, "县级代码", &bold)?;
        for (i, p) in people.iter().enumerate() {
            ws.write_string(i as u32 + 1, 0, p.worker_id.to_string())?;
            ws.write_string(i as u32 + 1, 1, sheets::safe_cell(p.name.as_deref().unwrap_or("")))?;
            ws.write_string(i as u32 + 1, 2, &p.county_code)?;
        }
    }
    {
        let ws = wb.add_worksheet();
        ws.set_name("零就业家庭")?;
        ws.write_string_with_format(0, 0, "户编号", &bold)?;
        for (i, h) in r.zero_employment_households.iter().enumerate() {
            ws.write_string(i as u32 + 1, 0, sheets::safe_cell(h))?;
        }
    }
    wb.save_to_buffer()
}

/// The report as a workbook: a sheet per view, Chinese headers, and native
/// Excel charts (destination, industry, income over the year).
#[utoipa::path(tag = "monitoring", security(("api_key" = [])), params(("period" = String, Path), ReportQuery, Purpose),
    responses((status = 200, description = "An .xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/monitoring-rounds/{period}/report.xlsx")]
pub async fn report_xlsx(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    period: web::Path<String>,
    q: web::Query<ReportQuery>,
    purpose: Purpose,
) -> Result<HttpResponse, ApiError> {
    let why = ("GET /v1/monitoring-rounds/{period}/report.xlsx", purpose.or("monitoring.report"));
    let (p, r) = build(&auth, &state, &period, &q, why).await?;
    let county = r.county_code.clone();
    let trend = state.db(move |conn| Ok(store::monitoring::income_trend(conn, p.year(), county.as_deref())?)).await?;
    let bytes = workbook(&r, &trend).map_err(xerr)?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"qianlink-monitoring-{p}.xlsx\"")))
        .body(bytes))
}

/// Which of the 12 rounds each county completed in a year.
#[utoipa::path(tag = "monitoring", security(("api_key" = [])), params(("year" = i32, Path), YearQuery),
    responses((status = 200, body = YearView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/monitoring/years/{year}")]
pub async fn year(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
    q: web::Query<YearQuery>,
) -> Result<HttpResponse, ApiError> {
    let year = year.into_inner();
    if !(2000..=2100).contains(&year) {
        return Err(ApiError::not_found("year"));
    }
    let county = scoped_county(&auth, super::code_param("county_code", q.county_code.as_deref())?)?;
    let counties = state.db(move |conn| Ok(store::monitoring::year_view(conn, year, county.as_deref())?)).await?;
    Ok(HttpResponse::Ok().json(YearView { year, counties }))
}
