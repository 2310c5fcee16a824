//! Monthly monitoring rounds: opening, answers (latest wins, history kept),
//! and the report. "Labour", "employed" and "zero-employment" come from
//! `worker_state` (DESIGN.md's one truth); destination, industry and income
//! from the round's answers, with employer and broker reports of that month
//! counting as answers about employment.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::schema::{monitoring_responses, monitoring_rounds};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Int4, Nullable, Text, Uuid as SqlUuid};
use domain::calendar::YearMonth;
use domain::worker::FactSource;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

pub fn open_round(conn: &mut PgConnection, period: YearMonth, scope: &str, actor: &Actor) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::insert_into(monitoring_rounds::table)
            .values((
                monitoring_rounds::period.eq(period.first_day()),
                monitoring_rounds::scope_code.eq(scope),
                monitoring_rounds::opened_by_org_id.eq(actor.org_id),
            ))
            .execute(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Duplicate { .. } => {
                    StoreError::Conflict(format!("the {period} round for {scope} is already open"))
                }
                other => other,
            })?;
        audit::record(
            conn,
            actor,
            "monitoring.open",
            "monitoring_round",
            &format!("{period}:{scope}"),
            serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// Is a round open for this county (its own, or the province's)?
pub fn round_open(conn: &mut PgConnection, period: YearMonth, county: &str) -> Result<bool, StoreError> {
    let n: i64 = monitoring_rounds::table
        .filter(monitoring_rounds::period.eq(period.first_day()))
        .filter(
            monitoring_rounds::scope_code.eq(county).or(monitoring_rounds::scope_code.eq(domain::division::GUIZHOU)),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub struct Answer {
    pub worker_id: Uuid,
    pub employment_status: String,
    pub work_place: Option<String>,
    pub work_province_code: Option<String>,
    pub industry: Option<String>,
    pub monthly_income: Option<i32>,
    pub source: &'static str,
}

/// Record answers (all in one transaction); each is also a dated fact about the worker's status.
pub fn answer(
    conn: &mut PgConnection,
    period: YearMonth,
    answers: &[Answer],
    actor: &Actor,
    today: NaiveDate,
) -> Result<usize, StoreError> {
    conn.transaction(|conn| {
        for a in answers {
            diesel::insert_into(monitoring_responses::table)
                .values((
                    monitoring_responses::period.eq(period.first_day()),
                    monitoring_responses::worker_id.eq(a.worker_id),
                    monitoring_responses::employment_status.eq(&a.employment_status),
                    monitoring_responses::work_place.eq(&a.work_place),
                    monitoring_responses::work_province_code.eq(&a.work_province_code),
                    monitoring_responses::industry.eq(&a.industry),
                    monitoring_responses::monthly_income.eq(a.monthly_income),
                    monitoring_responses::source.eq(a.source),
                    monitoring_responses::recorded_by_org_id.eq(actor.org_id),
                ))
                .execute(conn)?;
            crate::workers::add_fact(
                conn,
                a.worker_id,
                &a.employment_status,
                period.last_day().min(today),
                FactSource::Monitoring,
            )?;
            crate::outbox::publish(
                conn,
                "worker.monitored",
                &a.worker_id.to_string(),
                serde_json::json!({"worker_id": a.worker_id}),
            )?;
        }
        audit::record(
            conn,
            actor,
            "monitoring.answer",
            "monitoring_round",
            &period.to_string(),
            serde_json::json!({"answers": answers.len()}),
        )?;
        Ok(answers.len())
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = monitoring_responses)]
pub struct Response {
    pub id: i64,
    pub period: NaiveDate,
    pub worker_id: Uuid,
    pub employment_status: String,
    pub work_place: Option<String>,
    pub work_province_code: Option<String>,
    pub industry: Option<String>,
    pub monthly_income: Option<i32>,
    pub source: String,
    pub recorded_by_org_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

/// Every answer of a worker for a period, oldest first (the last one counts).
pub fn history(conn: &mut PgConnection, period: YearMonth, worker: Uuid) -> Result<Vec<Response>, StoreError> {
    Ok(monitoring_responses::table
        .filter(monitoring_responses::period.eq(period.first_day()).and(monitoring_responses::worker_id.eq(worker)))
        .select(Response::as_select())
        .order(monitoring_responses::id)
        .load(conn)?)
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    worker_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Text)]
    household: String,
    #[diesel(sql_type = Text)]
    county_code: String,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Bool)]
    is_labour: bool,
    #[diesel(sql_type = Bool)]
    is_employed: bool,
    #[diesel(sql_type = Nullable<Text>)]
    r_status: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    work_place: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    work_province_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    industry: Option<String>,
    #[diesel(sql_type = Nullable<Int4>)]
    monthly_income: Option<i32>,
    #[diesel(sql_type = Nullable<Text>)]
    p_county: Option<String>,
    #[diesel(sql_type = Nullable<Int4>)]
    p_wage: Option<i32>,
    #[diesel(sql_type = Nullable<Bool>)]
    p_employed: Option<bool>,
    #[diesel(sql_type = Nullable<Text>)]
    prev_place: Option<String>,
}

const ROWS_SQL: &str = "
WITH ws AS (
  SELECT s.worker_id, s.county_code, s.status, s.is_labour, s.is_employed, h.code AS household, w.name
    FROM worker_state($1) s JOIN workers w ON w.id = s.worker_id
    JOIN households h ON h.id = s.household_id
    LEFT JOIN resettlement_sites rs ON rs.id = w.site_id
   WHERE w.erased_at IS NULL AND ($2::text IS NULL OR s.county_code = $2) AND ($3::text IS NULL OR rs.name = $3)),
r AS (SELECT DISTINCT ON (worker_id) worker_id, employment_status, work_place, work_province_code, industry, monthly_income
        FROM monitoring_responses WHERE period = $4 ORDER BY worker_id, id DESC),
prev AS (SELECT DISTINCT ON (worker_id) worker_id, work_place FROM monitoring_responses WHERE period = $5 ORDER BY worker_id, id DESC),
pr AS (SELECT DISTINCT ON (p.worker_id) p.worker_id, p.work_county_code, rep.wage, rep.employed
         FROM placement_reports rep JOIN placements p ON p.id = rep.placement_id
        WHERE rep.month = $4 AND rep.source IN ('employer_report', 'broker_report', 'social_insurance_import', 'officer')
        ORDER BY p.worker_id, rep.recorded_at DESC)
SELECT ws.worker_id, ws.name, ws.household, ws.county_code, ws.status, ws.is_labour, ws.is_employed,
       r.employment_status AS r_status, r.work_place, r.work_province_code, r.industry, r.monthly_income,
       pr.work_county_code AS p_county, pr.wage AS p_wage, pr.employed AS p_employed, prev.work_place AS prev_place
  FROM ws LEFT JOIN r ON r.worker_id = ws.worker_id LEFT JOIN pr ON pr.worker_id = ws.worker_id
  LEFT JOIN prev ON prev.worker_id = ws.worker_id";

#[derive(Debug, Clone, Serialize, Default)]
pub struct Person {
    pub worker_id: Uuid,
    pub name: Option<String>,
    pub county_code: String,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub period: String,
    pub county_code: Option<String>,
    pub site: Option<String>,
    /// Workers able to work in scope (DESIGN.md "labour").
    pub labour: i64,
    pub employed: i64,
    pub employment_rate: f64,
    pub by_destination: BTreeMap<String, i64>,
    pub by_province: BTreeMap<String, i64>,
    pub by_industry: BTreeMap<String, i64>,
    pub income_median: Option<f64>,
    pub income_mean: Option<f64>,
    pub returning_labour: Vec<Person>,
    pub households_with_labour: i64,
    pub households_with_employed: i64,
    pub zero_employment_households: Vec<String>,
    pub public_welfare_post: i64,
    pub respondents: i64,
    pub response_rate: f64,
    pub non_respondents: Vec<Person>,
    pub previous: Option<Previous>,
    pub income_growth: Vec<IncomeGrowth>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct Previous {
    pub period: String,
    pub employment_rate: f64,
    pub employed: i64,
    pub zero_employment_households: i64,
    pub employment_rate_change: f64,
    pub employed_change: i64,
    pub zero_employment_change: i64,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct IncomeGrowth {
    pub county_code: String,
    pub mean_income: Option<f64>,
    pub mean_income_year_before: Option<f64>,
    pub growth: Option<f64>,
    /// +15 % a year or more (the plan's target).
    pub meets_target: Option<bool>,
}

fn rate(a: i64, b: i64) -> f64 {
    if b == 0 { 0.0 } else { ((a as f64 / b as f64) * 10000.0).round() / 10000.0 }
}

fn destination(work_place: Option<&str>, p_county: Option<&str>, county: &str) -> Option<String> {
    if let Some(w) = work_place {
        return Some(w.to_owned());
    }
    let c = p_county?;
    Some(
        if c == county {
            "in_county"
        } else if c.starts_with("52") {
            "in_province"
        } else {
            "out_of_province"
        }
        .to_owned(),
    )
}

struct Core {
    labour: i64,
    employed: i64,
    zero: Vec<String>,
}

fn core(rows: &[Row]) -> Core {
    let mut households: HashMap<&str, (bool, bool)> = HashMap::new();
    let (mut labour, mut employed) = (0, 0);
    for r in rows {
        let e = households.entry(&r.household).or_default();
        if r.is_labour {
            labour += 1;
            e.0 = true;
            if r.is_employed {
                employed += 1;
            }
        }
        if r.is_employed {
            e.1 = true;
        }
    }
    let mut zero: Vec<String> =
        households.iter().filter(|(_, (l, e))| *l && !*e).map(|(h, _)| (*h).to_owned()).collect();
    zero.sort();
    Core { labour, employed, zero }
}

fn load_rows(
    conn: &mut PgConnection,
    period: YearMonth,
    county: Option<&str>,
    site: Option<&str>,
) -> Result<Vec<Row>, StoreError> {
    Ok(diesel::sql_query(ROWS_SQL)
        .bind::<Date, _>(period.last_day())
        .bind::<Nullable<Text>, _>(county)
        .bind::<Nullable<Text>, _>(site)
        .bind::<Date, _>(period.first_day())
        .bind::<Date, _>(period.pred().first_day())
        .load(conn)?)
}

/// Mean income of the answers for `period`, by county.
fn mean_income_by_county(
    conn: &mut PgConnection,
    period: YearMonth,
    county: Option<&str>,
) -> Result<HashMap<String, f64>, StoreError> {
    #[derive(QueryableByName)]
    struct M {
        #[diesel(sql_type = Text)]
        county_code: String,
        #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
        mean: Option<f64>,
    }
    let rows: Vec<M> = diesel::sql_query(
        "SELECT w.county_code, avg(r.monthly_income)::float8 AS mean FROM \
           (SELECT DISTINCT ON (worker_id) worker_id, monthly_income FROM monitoring_responses WHERE period = $1 ORDER BY worker_id, id DESC) r \
           JOIN workers w ON w.id = r.worker_id WHERE r.monthly_income IS NOT NULL AND ($2::text IS NULL OR w.county_code = $2) \
          GROUP BY w.county_code",
    )
    .bind::<Date, _>(period.first_day())
    .bind::<Nullable<Text>, _>(county)
    .load(conn)?;
    Ok(rows.into_iter().filter_map(|m| m.mean.map(|v| (m.county_code, v))).collect())
}

/// The report of one round, for the province, one county, or one site.
pub fn report(
    conn: &mut PgConnection,
    period: YearMonth,
    county: Option<&str>,
    site: Option<&str>,
    list_cap: usize,
) -> Result<Report, StoreError> {
    let rows = load_rows(conn, period, county, site)?;
    let c = core(&rows);
    let mut rep = Report {
        period: period.to_string(),
        county_code: county.map(str::to_owned),
        site: site.map(str::to_owned),
        labour: c.labour,
        employed: c.employed,
        employment_rate: rate(c.employed, c.labour),
        households_with_labour: 0,
        ..Report::default()
    };
    let mut households: HashMap<&str, (bool, bool)> = HashMap::new();
    let mut incomes: Vec<i32> = Vec::new();
    for r in &rows {
        let e = households.entry(&r.household).or_default();
        e.0 |= r.is_labour;
        e.1 |= r.is_employed;
        if r.status.as_deref() == Some("public_welfare_post") {
            rep.public_welfare_post += 1;
        }
        let answered = r.r_status.is_some() || r.p_employed.is_some();
        if r.is_labour {
            if answered {
                rep.respondents += 1;
            } else if rep.non_respondents.len() < list_cap {
                rep.non_respondents.push(Person {
                    worker_id: r.worker_id,
                    name: r.name.clone(),
                    county_code: r.county_code.clone(),
                });
            }
        }
        let employed_answer = match (&r.r_status, r.p_employed) {
            (Some(s), _) => matches!(s.as_str(), "employed" | "self_employed" | "public_welfare_post"),
            (None, Some(e)) => e,
            _ => false,
        };
        if employed_answer {
            let dest = destination(r.work_place.as_deref(), r.p_county.as_deref(), &r.county_code);
            if let Some(d) = dest {
                *rep.by_destination.entry(d.clone()).or_default() += 1;
                if d == "out_of_province" {
                    let prov = r
                        .work_province_code
                        .clone()
                        .or_else(|| r.p_county.as_ref().map(|c| format!("{}0000", &c[..2])))
                        .unwrap_or_else(|| "unknown".into());
                    *rep.by_province.entry(prov).or_default() += 1;
                }
            }
            let industry = r.industry.clone().unwrap_or_else(|| "未填报".into());
            *rep.by_industry.entry(industry).or_default() += 1;
            if let Some(i) = r.monthly_income.or(r.p_wage) {
                incomes.push(i);
            }
        }
        // Outside the province last round, home now.
        let home_now = matches!(r.work_place.as_deref(), Some("in_county" | "in_province"))
            || r.r_status.as_deref() == Some("unemployed");
        if r.prev_place.as_deref() == Some("out_of_province") && home_now && rep.returning_labour.len() < list_cap {
            rep.returning_labour.push(Person {
                worker_id: r.worker_id,
                name: r.name.clone(),
                county_code: r.county_code.clone(),
            });
        }
    }
    rep.households_with_labour = households.values().filter(|(l, _)| *l).count() as i64;
    rep.households_with_employed = households.values().filter(|(l, e)| *l && *e).count() as i64;
    rep.zero_employment_households = c.zero.iter().take(list_cap).cloned().collect();
    rep.response_rate = rate(rep.respondents, rep.labour);
    incomes.sort_unstable();
    if !incomes.is_empty() {
        let n = incomes.len();
        let median = if n % 2 == 1 {
            f64::from(incomes[n / 2])
        } else {
            (f64::from(incomes[n / 2 - 1]) + f64::from(incomes[n / 2])) / 2.0
        };
        rep.income_median = Some(median);
        let mean = incomes.iter().map(|&i| f64::from(i)).sum::<f64>() / n as f64;
        rep.income_mean = Some((mean * 100.0).round() / 100.0);
    }
    // Changes since the previous round.
    let prev_period = period.pred();
    let prev_rows = load_rows(conn, prev_period, county, site)?;
    let p = core(&prev_rows);
    let prev_rate = rate(p.employed, p.labour);
    rep.previous = Some(Previous {
        period: prev_period.to_string(),
        employment_rate: prev_rate,
        employed: p.employed,
        zero_employment_households: p.zero.len() as i64,
        employment_rate_change: ((rep.employment_rate - prev_rate) * 10000.0).round() / 10000.0,
        employed_change: rep.employed - p.employed,
        zero_employment_change: c.zero.len() as i64 - p.zero.len() as i64,
    });
    // Income growth against the same period a year earlier, per county.
    let year_before = YearMonth::new(period.year() - 1, period.month()).unwrap_or(period);
    let now = mean_income_by_county(conn, period, county)?;
    let before = mean_income_by_county(conn, year_before, county)?;
    let counties: std::collections::BTreeSet<&String> = now.keys().chain(before.keys()).collect();
    for cc in counties {
        let (a, b) = (now.get(cc).copied(), before.get(cc).copied());
        let growth = match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(((a / b - 1.0) * 10000.0).round() / 10000.0),
            _ => None,
        };
        rep.income_growth.push(IncomeGrowth {
            county_code: cc.clone(),
            mean_income: a.map(|v| (v * 100.0).round() / 100.0),
            mean_income_year_before: b.map(|v| (v * 100.0).round() / 100.0),
            growth,
            meets_target: growth.map(|g| g >= 0.15),
        });
    }
    Ok(rep)
}

/// Which months of a year each county has a round for (its own or the province's).
pub fn year_view(
    conn: &mut PgConnection,
    year: i32,
    county: Option<&str>,
) -> Result<BTreeMap<String, Vec<u32>>, StoreError> {
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    let to = NaiveDate::from_ymd_opt(year, 12, 1).unwrap_or_default();
    let rounds: Vec<(NaiveDate, String)> = monitoring_rounds::table
        .filter(monitoring_rounds::period.ge(from).and(monitoring_rounds::period.le(to)))
        .select((monitoring_rounds::period, monitoring_rounds::scope_code))
        .load(conn)?;
    let counties: Vec<String> = match county {
        Some(c) => vec![c.to_owned()],
        None => crate::reference::list_divisions(conn, Some(domain::division::GUIZHOU), Some("county"), None)?
            .into_iter()
            .map(|d| d.code)
            .collect(),
    };
    let province: HashSet<u32> =
        rounds.iter().filter(|(_, s)| s == domain::division::GUIZHOU).map(|(p, _)| p.month()).collect();
    let mut out = BTreeMap::new();
    for c in counties {
        let mut months: Vec<u32> =
            rounds.iter().filter(|(_, s)| *s == c).map(|(p, _)| p.month()).chain(province.iter().copied()).collect();
        months.sort_unstable();
        months.dedup();
        out.insert(c, months);
    }
    Ok(out)
}

/// Mean answered income for each month of a year (the workbook's trend chart).
pub fn income_trend(
    conn: &mut PgConnection,
    year: i32,
    county: Option<&str>,
) -> Result<Vec<(String, Option<f64>)>, StoreError> {
    let mut out = Vec::new();
    for m in 1..=12 {
        let Some(p) = YearMonth::new(year, m) else { continue };
        let means = mean_income_by_county(conn, p, county)?;
        let v = if means.is_empty() { None } else { Some(means.values().sum::<f64>() / means.len() as f64) };
        out.push((p.to_string(), v.map(|x| (x * 100.0).round() / 100.0)));
    }
    Ok(out)
}
