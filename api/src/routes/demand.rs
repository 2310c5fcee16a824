//! The cooperation teams' yearly demand lists: edit until 31 October (Asia/
//! Shanghai), submit (employment items become jobs), versions, reopen,
//! Excel in and out, consolidation, and supply against demand.

use super::missing;
use super::workers::read_upload;
use crate::auth::{AdminOnly, AnyRole, Auth, Caller, CoopTeamOnly};
use crate::error::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
use crate::json::Json;
use crate::matching::with_matcher;
use crate::sheets::{self, Cell, Column};
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use domain::demand::{Item, ItemDraft, validate_items};
use domain::job::JobRejection;
use domain::{OrgKind, Problems};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use store::demand::{DemandList, StoredItem};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamInput {
    /// The Guangdong city the team comes from, e.g. 441900 (东莞).
    pub guangdong_city_code: Option<String>,
    /// Guizhou prefectures or counties paired beyond the confirmed pairings.
    pub extra_pairs: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    pub org_id: Uuid,
    pub guangdong_city_code: String,
    /// Guizhou prefecture and county codes the team pairs with.
    pub paired_codes: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    pub items: Option<Vec<ItemDraft>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ListOut {
    pub team_id: Uuid,
    pub year: i32,
    /// draft, submitted or reopened
    pub state: String,
    pub version: i32,
    /// Until this instant the list can be edited (unless reopened).
    pub deadline: DateTime<Utc>,
    pub submitted_at: Option<DateTime<Utc>>,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<store::demand::Version>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct TeamQuery {
    /// Admin and county offices name the team.
    pub team_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenInput {
    #[schema(required, nullable = false)]
    pub reason: Option<String>,
}

fn list_out(l: DemandList, items: Vec<StoredItem>) -> ListOut {
    ListOut {
        team_id: l.team_org_id,
        year: l.year,
        state: l.state,
        version: l.version,
        deadline: domain::demand::deadline(l.year),
        submitted_at: l.submitted_at,
        items: items
            .into_iter()
            .map(|s| {
                let mut v = serde_json::to_value(&s.item).unwrap_or_default();
                v["job_id"] = serde_json::to_value(s.job_id).unwrap_or_default();
                v
            })
            .collect(),
    }
}

fn year_of(y: i32) -> Result<i32, ApiError> {
    if (2020..=2100).contains(&y) { Ok(y) } else { Err(ApiError::not_found("demand list year")) }
}

/// Which team's list the caller means, and may they read it.
fn reader_team(conn: &mut diesel::PgConnection, caller: &Caller, asked: Option<Uuid>) -> Result<Uuid, ApiError> {
    match caller.kind {
        OrgKind::CoopTeam => match asked {
            Some(t) if t != caller.org_id => {
                Err(ApiError::with_message(ErrorCode::OtherTenant, "A team reads its own list only."))
            }
            _ => Ok(caller.org_id),
        },
        OrgKind::Admin => asked.ok_or_else(|| ApiError::field("team_id", "is required for admin")),
        OrgKind::CountyOffice => {
            let team = asked.ok_or_else(|| ApiError::field("team_id", "is required"))?;
            let county = caller.county_code.clone().unwrap_or_default();
            let (_, codes) = store::demand::team(conn, team)?.ok_or_else(|| ApiError::not_found("cooperation team"))?;
            if store::demand::pairs_with(&codes, &county) {
                Ok(team)
            } else {
                Err(ApiError::with_message(ErrorCode::OtherTenant, "This team is not paired with your county."))
            }
        }
        _ => Err(ApiError::new(ErrorCode::Forbidden)),
    }
}

/// Link a cooperation team to its Guangdong city (admin); the confirmed
/// pairings of that city follow, plus any extra Guizhou codes given.
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("org_id" = String, Path)), request_body = TeamInput,
    responses((status = 200, body = TeamOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[put("/coop-teams/{org_id}")]
pub async fn set_team(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<TeamInput>,
) -> Result<HttpResponse, ApiError> {
    let org = super::parse_id(&id, "organisation")?;
    let mut p = Problems::new();
    let city = match body.guangdong_city_code.as_deref() {
        Some(c) if c.len() == 6 && c.starts_with("44") && c.bytes().all(|b| b.is_ascii_digit()) => c.to_owned(),
        _ => {
            p.push("guangdong_city_code", "must be the 6-digit code of a Guangdong city, e.g. 441900");
            String::new()
        }
    };
    let extra = body.extra_pairs.clone().unwrap_or_default();
    for c in &extra {
        if !(c.len() == 6 && c.starts_with("52") && c.bytes().all(|b| b.is_ascii_digit())) {
            p.push("extra_pairs", format!("{c} is not a Guizhou division code"));
        }
    }
    if !p.is_empty() {
        return Err(p.into());
    }
    let actor = auth.actor();
    let out = state
        .db(move |conn| {
            let o = store::orgs::get(conn, org).map_err(missing("organisation"))?;
            if o.kind != "coop_team" {
                return Err(ApiError::field("org_id", "is not a cooperation team"));
            }
            store::demand::set_team(conn, org, &city, &extra, &actor)?;
            let (city, codes) = store::demand::team(conn, org)?.ok_or_else(|| ApiError::new(ErrorCode::Internal))?;
            Ok(TeamOut { org_id: org, guangdong_city_code: city, paired_codes: codes })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// A team's own list for the year (admin and paired county offices name the team).
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path), TeamQuery),
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/demand-lists/{year}")]
pub async fn get_list(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
    q: web::Query<TeamQuery>,
) -> Result<HttpResponse, ApiError> {
    let year = year_of(year.into_inner())?;
    let caller = auth.clone();
    let asked = q.team_id;
    let out = state
        .db(move |conn| {
            let team = reader_team(conn, &caller, asked)?;
            let (l, items) =
                store::demand::list(conn, team, year)?.ok_or_else(|| ApiError::not_found("demand list"))?;
            Ok(list_out(l, items))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

fn check_items(drafts: &[ItemDraft]) -> Result<Vec<Item>, ApiError> {
    validate_items(drafts).map_err(ApiError::from)
}

/// Replace the team's list for the year (a cooperation team, its own list;
/// until the deadline, or after an admin reopened it). Items are keyed by `ref`.
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path)), request_body = ListInput,
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[put("/demand-lists/{year}")]
pub async fn put_list(
    auth: Auth<CoopTeamOnly>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
    body: Json<ListInput>,
) -> Result<HttpResponse, ApiError> {
    let year = year_of(year.into_inner())?;
    let team = auth.org_id;
    let items = check_items(body.items.as_deref().unwrap_or(&[]))?;
    let actor = auth.actor();
    let out = state
        .db(move |conn| {
            let (l, items) = store::demand::save(conn, team, year, &items, "edit", &actor, chrono::Utc::now())?;
            Ok(list_out(l, items))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Every version of the list: who changed it, when, and to what.
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path), TeamQuery),
    responses((status = 200, body = VersionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/demand-lists/{year}/versions")]
pub async fn versions(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
    q: web::Query<TeamQuery>,
) -> Result<HttpResponse, ApiError> {
    let year = year_of(year.into_inner())?;
    let caller = auth.clone();
    let asked = q.team_id;
    let items = state
        .db(move |conn| {
            let team = reader_team(conn, &caller, asked)?;
            let (l, _) = store::demand::list(conn, team, year)?.ok_or_else(|| ApiError::not_found("demand list"))?;
            Ok(store::demand::versions(conn, l.id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(VersionList { items }))
}

/// Submit the list: each employment item becomes an open job owned by the
/// team (a resubmission updates the job its `ref` made before).
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path)),
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/demand-lists/{year}/submit")]
pub async fn submit(
    auth: Auth<CoopTeamOnly>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
) -> Result<HttpResponse, ApiError> {
    let year = year_of(year.into_inner())?;
    let team = auth.org_id;
    let actor = auth.actor();
    let out = state
        .db(move |conn| {
            let (_, items) =
                store::demand::list(conn, team, year)?.ok_or_else(|| ApiError::not_found("demand list"))?;
            let mut jobs = HashMap::new();
            let mut p = Problems::new();
            for (i, s) in items.iter().enumerate() {
                let Some(draft) = s.item.job_draft() else { continue };
                match draft.validate() {
                    Ok(v) => {
                        let refs = store::jobs::check_refs(conn, &v)?;
                        for f in refs.0 {
                            p.push(format!("items[{i}].{}", f.field), f.problem);
                        }
                        jobs.insert(s.item.ref_().to_owned(), v);
                    }
                    Err(JobRejection::Invalid(e) | JobRejection::Discriminatory(e)) => {
                        for f in e.0 {
                            p.push(format!("items[{i}].{}", f.field), f.problem);
                        }
                    }
                }
            }
            if !p.is_empty() {
                return Err(p.into());
            }
            let (l, items) = store::demand::submit(conn, team, year, &jobs, &actor, chrono::Utc::now())?;
            Ok(list_out(l, items))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Reopen a team's list after the deadline (admin), with the reason.
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path), ("team_id" = String, Path)), request_body = ReopenInput,
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/demand-lists/{year}/{team_id}/reopen")]
pub async fn reopen(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    path: web::Path<(i32, String)>,
    body: Json<ReopenInput>,
) -> Result<HttpResponse, ApiError> {
    let (year, team) = path.into_inner();
    let year = year_of(year)?;
    let team = super::parse_id(&team, "cooperation team")?;
    let mut p = Problems::new();
    let reason = domain::job::clean_text(&mut p, "reason", body.reason.as_deref(), true, 500);
    if !p.is_empty() {
        return Err(p.into());
    }
    let actor = auth.actor();
    let out = state
        .db(move |conn| {
            store::demand::list(conn, team, year)?.ok_or_else(|| ApiError::not_found("demand list"))?;
            store::demand::reopen(conn, team, year, &reason, &actor)?;
            let (l, items) =
                store::demand::list(conn, team, year)?.ok_or_else(|| ApiError::new(ErrorCode::Internal))?;
            Ok(list_out(l, items))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

pub const ENTERPRISE_COLUMNS: &[Column] = &[
    ("ref", "编号", true, ""),
    ("industry", "行业", true, ""),
    ("enterprise_name", "企业名称", false, ""),
    ("investment_cny", "投资额（元）", true, ""),
    ("expected_jobs", "预计带动就业（人）", true, ""),
    ("target_county_code", "落地县级代码", true, ""),
];
pub const PROJECT_COLUMNS: &[Column] = &[
    ("ref", "编号", true, ""),
    ("name", "项目名称", true, ""),
    ("county_code", "县级代码", true, ""),
    ("funding_cny", "资金（元）", true, ""),
    ("expected_jobs", "预计带动就业（人）", true, ""),
];
pub const EMPLOYMENT_COLUMNS: &[Column] = &[
    ("ref", "编号", true, ""),
    ("title", "岗位名称", true, ""),
    ("occupation_code", "职业代码", false, ""),
    ("skills", "技能要求", false, ""),
    ("headcount", "需求人数", true, ""),
    ("wage_min", "最低月薪", true, ""),
    ("wage_max", "最高月薪", true, ""),
    ("work_county_code", "工作地县级代码", true, ""),
    ("start_month", "用工月份", true, ""),
    ("organised_export", "有组织劳务输出", true, ""),
];
const SHEETS: [(&str, &str, &[Column]); 3] = [
    ("引进企业需求", "enterprise", ENTERPRISE_COLUMNS),
    ("项目需求", "project", PROJECT_COLUMNS),
    ("就业需求", "employment", EMPLOYMENT_COLUMNS),
];

/// The import template: one sheet per kind, Chinese headers.
#[utoipa::path(tag = "demand", security(("api_key" = [])),
    responses((status = 200, description = "An .xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/demand-lists/template.xlsx")]
pub async fn template(_auth: Auth<AnyRole>) -> Result<HttpResponse, ApiError> {
    let sheets: Vec<sheets::Sheet<'_>> =
        SHEETS.iter().map(|(name, _, cols)| (*name, cols.iter().map(|c| c.1).collect(), vec![])).collect();
    Ok(xlsx(sheets::write_sheets(&sheets)?, "qianlink-demand-template.xlsx"))
}

fn xlsx(bytes: Vec<u8>, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .body(bytes)
}

/// Import the list from the template workbook: all rows or none; each bad
/// row is named with its sheet, row and column.
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path)),
    request_body(content_type = "multipart/form-data", description = "A part named `file`: the .xlsx template filled in"),
    responses((status = 200, body = ListOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/demand-lists/{year}/import")]
pub async fn import(
    auth: Auth<CoopTeamOnly>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let year = year_of(year.into_inner())?;
    let team = auth.org_id;
    let (_, bytes) = read_upload(payload).await?;
    let book = sheets::read_sheets(&bytes)?;
    let mut drafts: Vec<(String, usize, ItemDraft)> = Vec::new();
    let mut errors: Vec<ErrorDetail> = Vec::new();
    for (sheet, kind, cols) in SHEETS {
        let Some(table) = book.get(sheet) else { continue };
        let map = sheets::map_columns(&table.headers, cols).map_err(|e| {
            let rows = e.details.into_iter().map(|mut d| {
                d.column = d.column.map(|c| format!("{sheet}:{c}"));
                d
            });
            ApiError::with_message(
                ErrorCode::ImportRejected,
                format!("Sheet {sheet}: the header row is not the template's."),
            )
            .with_rows(rows.collect())
        })?;
        for (row, cells) in &table.rows {
            let get =
                |f: &str| map.get(f).and_then(|i| cells.get(*i)).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
            let mut bad = |f: &str, p: &str| {
                let header = cols.iter().find(|c| c.0 == f).map(|c| c.1).unwrap_or(f);
                errors.push(ErrorDetail {
                    field: f.into(),
                    problem: p.into(),
                    row: Some(*row),
                    column: Some(format!("{sheet}:{header}")),
                });
            };
            let mut int = |f: &str| match get(f) {
                None => None,
                Some(s) => match s.parse::<i64>() {
                    Ok(v) => Some(v),
                    Err(_) => {
                        bad(f, "must be a whole number");
                        None
                    }
                },
            };
            let d = ItemDraft {
                ref_: get("ref"),
                kind: Some(kind.into()),
                industry: get("industry"),
                enterprise_name: get("enterprise_name"),
                investment_cny: int("investment_cny"),
                expected_jobs: int("expected_jobs"),
                target_county_code: get("target_county_code"),
                name: get("name"),
                county_code: get("county_code"),
                funding_cny: int("funding_cny"),
                title: get("title"),
                occupation_code: get("occupation_code"),
                skills: get("skills").map(|s| sheets::split_list(&s)),
                headcount: int("headcount"),
                wage_min: int("wage_min"),
                wage_max: int("wage_max"),
                work_county_code: get("work_county_code"),
                start_month: get("start_month"),
                organised_export: get("organised_export").and_then(|s| sheets::parse_bool(&s)),
            };
            drafts.push((sheet.to_owned(), *row, d));
        }
    }
    let mut items = Vec::new();
    for (sheet, row, d) in &drafts {
        match d.validate("") {
            Ok(i) => {
                if items.iter().any(|x: &Item| x.ref_() == i.ref_()) {
                    errors.push(ErrorDetail {
                        field: "ref".into(),
                        problem: format!("{} appears twice", i.ref_()),
                        row: Some(*row),
                        column: Some(format!("{sheet}:编号")),
                    });
                }
                items.push(i);
            }
            Err(p) => {
                for f in p.0 {
                    let cols = SHEETS.iter().find(|s| s.0 == sheet).map(|s| s.2).unwrap_or(EMPLOYMENT_COLUMNS);
                    let header = cols.iter().find(|c| c.0 == f.field).map(|c| c.1).unwrap_or("");
                    errors.push(ErrorDetail {
                        field: f.field,
                        problem: f.problem,
                        row: Some(*row),
                        column: Some(format!("{sheet}:{header}")),
                    });
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::with_message(
            ErrorCode::ImportRejected,
            format!("{} problems in the workbook; nothing was written.", errors.len()),
        )
        .with_rows(errors));
    }
    let actor = auth.actor();
    let out = state
        .db(move |conn| {
            let (l, items) = store::demand::save(conn, team, year, &items, "import", &actor, chrono::Utc::now())?;
            Ok(list_out(l, items))
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

#[derive(Debug, Default, Serialize, ToSchema, Clone)]
pub struct Totals {
    pub items: i64,
    pub expected_jobs: i64,
    pub investment_cny: i64,
    pub funding_cny: i64,
    pub headcount: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Consolidated {
    pub year: i32,
    /// prefecture code → kind → totals
    #[schema(value_type = Object)]
    pub by_prefecture: BTreeMap<String, BTreeMap<String, Totals>>,
    #[schema(value_type = Object)]
    pub by_county: BTreeMap<String, BTreeMap<String, Totals>>,
    #[schema(value_type = Object)]
    pub by_kind: BTreeMap<String, Totals>,
    pub teams_submitted: Vec<Uuid>,
    /// Teams without a submitted list.
    pub teams_not_submitted: Vec<TeamName>,
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamName {
    pub team_id: Uuid,
    pub name: String,
}

fn add(t: &mut Totals, i: &Item) {
    t.items += 1;
    t.expected_jobs += i.expected_jobs();
    match i {
        Item::Enterprise { investment_cny, .. } => t.investment_cny += investment_cny,
        Item::Project { funding_cny, .. } => t.funding_cny += funding_cny,
        Item::Employment { headcount, .. } => t.headcount += headcount,
    }
}

fn consolidate(conn: &mut diesel::PgConnection, year: i32) -> Result<Consolidated, ApiError> {
    let mut c = Consolidated {
        year,
        by_prefecture: BTreeMap::new(),
        by_county: BTreeMap::new(),
        by_kind: BTreeMap::new(),
        teams_submitted: vec![],
        teams_not_submitted: vec![],
        items: vec![],
    };
    for (id, name, list) in store::demand::all_teams(conn, year)? {
        match list {
            Some((l, items)) if l.submitted_at.is_some() => {
                c.teams_submitted.push(id);
                for s in items {
                    let i = &s.item;
                    let county = i.county().to_owned();
                    let pref = format!("{}00", county.get(..4).unwrap_or("0000"));
                    add(c.by_kind.entry(i.kind().into()).or_default(), i);
                    add(c.by_county.entry(county).or_default().entry(i.kind().into()).or_default(), i);
                    add(c.by_prefecture.entry(pref).or_default().entry(i.kind().into()).or_default(), i);
                    let mut v = serde_json::to_value(i).unwrap_or_default();
                    v["team_id"] = serde_json::json!(id);
                    v["team_name"] = serde_json::json!(name);
                    c.items.push(v);
                }
            }
            _ => c.teams_not_submitted.push(TeamName { team_id: id, name }),
        }
    }
    Ok(c)
}

/// All teams' submitted lists for the year, with totals (admin).
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path)),
    responses((status = 200, body = Consolidated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/demand-lists/{year}/consolidated")]
pub async fn consolidated(
    _auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
) -> Result<HttpResponse, ApiError> {
    let year = year_of(year.into_inner())?;
    let c = state.db(move |conn| consolidate(conn, year)).await?;
    Ok(HttpResponse::Ok().json(c))
}

/// The consolidated workbook (admin): totals by prefecture, county and kind,
/// every item, and the teams that have not submitted.
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path)),
    responses((status = 200, description = "An .xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/demand-lists/{year}/consolidated.xlsx")]
pub async fn consolidated_xlsx(
    _auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
) -> Result<HttpResponse, ApiError> {
    let year = year_of(year.into_inner())?;
    let (c, names) = state
        .db(move |conn| {
            let c = consolidate(conn, year)?;
            let names = store::matching::place_names(conn)?;
            Ok((c, names))
        })
        .await?;
    let name = |code: &str| names.get(code).cloned().unwrap_or_default();
    let label = |k: &str| match k {
        "enterprise" => "引进企业需求",
        "project" => "项目需求",
        _ => "就业需求",
    };
    let totals_rows = |m: &BTreeMap<String, BTreeMap<String, Totals>>| -> Vec<Vec<Cell>> {
        m.iter()
            .flat_map(|(code, kinds)| {
                kinds.iter().map(move |(k, t)| {
                    vec![
                        Cell::T(code.clone()),
                        Cell::T(name(code)),
                        Cell::T(label(k).into()),
                        Cell::N(t.items as f64),
                        Cell::N(t.expected_jobs as f64),
                        Cell::N(t.headcount as f64),
                        Cell::N(t.investment_cny as f64),
                        Cell::N(t.funding_cny as f64),
                    ]
                })
            })
            .collect()
    };
    let heads =
        vec!["代码", "名称", "类别", "条数", "预计带动就业（人）", "就业需求人数", "投资额（元）", "项目资金（元）"];
    let items: Vec<Vec<Cell>> = c
        .items
        .iter()
        .map(|v| {
            let s = |k: &str| Cell::T(v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned());
            let n = |k: &str| Cell::N(v.get(k).and_then(|x| x.as_f64()).unwrap_or(0.0));
            vec![
                s("team_name"),
                Cell::T(label(v["kind"].as_str().unwrap_or("")).into()),
                s("ref"),
                Cell::T(
                    v.get("title")
                        .or(v.get("name"))
                        .or(v.get("industry"))
                        .and_then(|x| x.as_str())
                        .unwrap_or("")
                        .to_owned(),
                ),
                Cell::T(
                    v.get("work_county_code")
                        .or(v.get("county_code"))
                        .or(v.get("target_county_code"))
                        .and_then(|x| x.as_str())
                        .unwrap_or("")
                        .to_owned(),
                ),
                n("headcount"),
                n("expected_jobs"),
            ]
        })
        .collect();
    let kinds: Vec<Vec<Cell>> = c
        .by_kind
        .iter()
        .map(|(k, t)| {
            vec![
                Cell::T(label(k).into()),
                Cell::N(t.items as f64),
                Cell::N(t.expected_jobs as f64),
                Cell::N(t.headcount as f64),
            ]
        })
        .collect();
    let missing: Vec<Vec<Cell>> =
        c.teams_not_submitted.iter().map(|t| vec![Cell::T(t.name.clone()), Cell::T(t.team_id.to_string())]).collect();
    let bytes = sheets::write_sheets(&[
        ("按类别汇总", vec!["类别", "条数", "预计带动就业（人）", "就业需求人数"], kinds),
        ("按市州汇总", heads.clone(), totals_rows(&c.by_prefecture)),
        ("按县汇总", heads, totals_rows(&c.by_county)),
        ("明细", vec!["协作工作队", "类别", "编号", "名称", "县级代码", "需求人数", "预计带动就业（人）"], items),
        ("未提交", vec!["协作工作队", "编号"], missing),
    ])?;
    Ok(xlsx(bytes, &format!("qianlink-demand-{year}.xlsx")))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SupplyItem {
    #[serde(rename = "ref")]
    pub ref_: String,
    pub title: String,
    pub headcount: i64,
    /// Ledger workers in the paired prefectures who pass the matcher's hard filters.
    pub eligible: i64,
    /// Of those, workers who score well (at least 20 points).
    pub good_fit: i64,
    pub shortfall: i64,
    /// The job's skills that too few eligible workers have: what training should cover (以岗定培).
    pub training_needed: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Supply {
    pub items: Vec<SupplyItem>,
    #[schema(value_type = Object)]
    pub by_prefecture: BTreeMap<String, (i64, i64)>,
}

/// Supply against demand for a team's employment items.
#[utoipa::path(tag = "demand", security(("api_key" = [])), params(("year" = i32, Path), TeamQuery),
    responses((status = 200, body = Supply), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/demand-lists/{year}/supply")]
pub async fn supply(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    year: web::Path<i32>,
    q: web::Query<TeamQuery>,
) -> Result<HttpResponse, ApiError> {
    let year = year_of(year.into_inner())?;
    let caller = auth.clone();
    let asked = q.team_id;
    let out = with_matcher::<_, ApiError, _>(&state, move |m, conn| {
        let team = reader_team(conn, &caller, asked)?;
        let (_, items) = store::demand::list(conn, team, year)?.ok_or_else(|| ApiError::not_found("demand list"))?;
        let (_, codes) = store::demand::team(conn, team)?.unwrap_or_default();
        let prefectures: Vec<String> = codes.iter().map(|c| format!("{}00", &c[..4])).collect();
        let cs = m.store.read().map_err(|_| ApiError::new(ErrorCode::Internal))?;
        let ctx = m.context();
        let mut out = Supply { items: vec![], by_prefecture: BTreeMap::new() };
        for s in &items {
            let Item::Employment {
                ref_,
                title,
                occupation_code,
                skills,
                headcount,
                wage_min,
                wage_max,
                work_county_code,
                ..
            } = &s.item
            else {
                continue;
            };
            let job = matcher::JobSnap {
                id: s.job_id.unwrap_or_default(),
                poster_org_id: Uuid::nil(),
                title: title.clone(),
                occupation_code: occupation_code.clone(),
                occupation_name: None,
                skills: skills.clone(),
                county_code: work_county_code.clone(),
                province_code: format!("{}0000", work_county_code.get(..2).unwrap_or("00")),
                wage_min: *wage_min as i32,
                wage_max: *wage_max as i32,
                requirements: Default::default(),
                open_slots: *headcount as i32,
                open: true,
            };
            let terms = matcher::rank::JobTerms::new(&job, &ctx);
            let (mut eligible, mut good) = (0i64, 0i64);
            let mut have: HashMap<String, i64> = HashMap::new();
            let mut scratch = Vec::new();
            // Only workers who may hear of jobs at all can pass the filters.
            for h in cs.hot() {
                let Some(w) = cs.slot(h.slot) else { continue };
                let pref = format!("{}00", w.county_code.get(..4).unwrap_or(""));
                if !prefectures.contains(&pref) || !matcher::rank::filters(&job, w, &ctx, false).is_empty() {
                    continue;
                }
                eligible += 1;
                let score = matcher::rank::score(&job, &terms, &h.fast, || Some(w), &ctx, false, &mut scratch);
                if score >= 20.0 {
                    good += 1;
                }
                let e = out.by_prefecture.entry(pref).or_insert((0, 0));
                e.0 += 1;
                for sk in skills {
                    let n = matcher::rank::normalize(sk);
                    if w.skills.contains(&n) || w.trainings.iter().any(|t| t.skills.contains(&n)) {
                        *have.entry(sk.clone()).or_default() += 1;
                    }
                }
            }
            let training_needed =
                skills.iter().filter(|s| have.get(*s).copied().unwrap_or(0) < *headcount).cloned().collect();
            out.items.push(SupplyItem {
                ref_: ref_.clone(),
                title: title.clone(),
                headcount: *headcount,
                eligible,
                good_fit: good,
                shortfall: (headcount - good).max(0),
                training_needed,
            });
        }
        Ok(out)
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}
