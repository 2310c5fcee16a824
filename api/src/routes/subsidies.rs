//! Subsidy rules, the milestone scan, subsidy events with their traces,
//! review (four eyes), the publication list, and webhooks.

use super::orgs::conn_tx;
use super::{code_param, limit, missing, next_cursor, parse_id, uuid_cursor};
use crate::auth::{AdminOnly, AnyRole, Auth, Caller, Reviewer};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::json::Json;
use crate::sheets;
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use domain::OrgKind;
use domain::Problems;
use domain::policy::Rule;
use serde::{Deserialize, Serialize};
use store::subsidies::{BlockedClaim, Event, EventFilter};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    pub id: Uuid,
    /// follow_up_service, cross_province_transport, employer_absorption, graduate_job_seeking or enterprise_training
    pub rule_id: String,
    pub rule_version: i32,
    /// broker, worker or employer
    pub payee_kind: String,
    pub payee_id: Uuid,
    /// CNY
    pub amount: i32,
    pub worker_id: Uuid,
    pub placement_id: Option<Uuid>,
    pub training_id: Option<Uuid>,
    pub county_code: String,
    pub deciding_date: NaiveDate,
    pub as_of: NaiveDate,
    /// pending_review, approved or rejected
    pub status: String,
    /// Each condition, its value, and the evidence rows with their sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub trace: Option<serde_json::Value>,
    pub reviewed_by_org_id: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl EventOut {
    pub fn from_event(e: Event, with_trace: bool) -> Self {
        Self {
            id: e.id,
            rule_id: e.rule_id,
            rule_version: e.rule_version,
            payee_kind: e.payee_kind,
            payee_id: e.payee_id,
            amount: e.amount,
            worker_id: e.worker_id,
            placement_id: e.placement_id,
            training_id: e.training_id,
            county_code: e.county_code,
            deciding_date: e.deciding_date,
            as_of: e.as_of,
            status: e.status,
            trace: with_trace.then_some(e.trace),
            reviewed_by_org_id: e.reviewed_by_org_id,
            reviewed_at: e.reviewed_at,
            review_note: e.review_note,
            created_at: e.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    pub items: Vec<EventOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedOut {
    pub rule_id: String,
    pub reason_code: String,
    pub payee_kind: String,
    pub payee_id: Uuid,
    pub worker_id: Uuid,
    pub placement_id: Option<Uuid>,
    pub county_code: String,
    pub as_of: NaiveDate,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<BlockedClaim> for BlockedOut {
    fn from(b: BlockedClaim) -> Self {
        Self {
            rule_id: b.rule_id,
            reason_code: b.reason_code,
            payee_kind: b.payee_kind,
            payee_id: b.payee_id,
            worker_id: b.worker_id,
            placement_id: b.placement_id,
            county_code: b.county_code,
            as_of: b.as_of,
            detail: b.detail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BlockedList {
    pub items: Vec<BlockedOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct EventQuery {
    #[param(schema_with = super::schema::rule_id)]
    pub rule_id: Option<String>,
    /// pending_review, approved or rejected
    #[param(schema_with = super::schema::event_status)]
    pub status: Option<String>,
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
    /// Deciding date from (inclusive).
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    #[param(schema_with = super::schema::uuid)]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewInput {
    /// approve or reject
    pub decision: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ScanQuery {
    /// The date to scan as of (default: today in Asia/Shanghai).
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScanOut {
    pub as_of: NaiveDate,
    pub placements_scanned: usize,
    pub workers_scanned: usize,
    pub trainings_scanned: usize,
    pub events_created: usize,
    pub blocked_claims: usize,
    pub needs_review: usize,
    #[schema(value_type = Object)]
    pub created_by_rule: std::collections::BTreeMap<String, usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleList {
    pub items: Vec<Rule>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    pub url: Option<String>,
    /// Shared secret for the `X-Qianlink-Signature: sha256=<hex HMAC of the body>` header (16+ characters).
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    pub url: String,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookList {
    pub items: Vec<WebhookOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    /// Default: approved.
    #[param(schema_with = super::schema::export_status)]
    pub status: Option<String>,
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
}

/// What part of the events a caller sees: admin all, a county office its
/// county, anyone else the events it is the payee of.
fn scope(caller: &Caller, county: Option<String>) -> Result<(Option<String>, Option<Uuid>), ApiError> {
    match caller.kind {
        OrgKind::Admin => Ok((county, None)),
        OrgKind::CountyOffice => Ok((super::workers::scoped_county(caller, county)?, None)),
        _ => Ok((county, Some(caller.org_id))),
    }
}

fn visible(caller: &Caller, e: &Event) -> bool {
    caller.is_admin() || caller.keeps_county(&e.county_code) || e.payee_id == caller.org_id
}

/// Subsidy events the caller may see.
#[utoipa::path(tag = "subsidies", security(("api_key" = [])), params(EventQuery),
    responses((status = 200, body = EventPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/subsidy-events")]
pub async fn list_events(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    q: web::Query<EventQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit)?;
    let after = uuid_cursor(q.cursor.as_deref())?;
    let (county, payee) = scope(&auth, code_param("county_code", q.county_code.as_deref())?)?;
    let rule_id = q.rule_id.clone().filter(|s| !s.is_empty());
    if let Some(r) = &rule_id
        && !domain::policy::RULE_IDS.contains(&r.as_str())
    {
        return Err(ApiError::with_message(
            ErrorCode::InvalidQuery,
            format!("rule_id must be one of {}", domain::policy::RULE_IDS.join(", ")),
        ));
    }
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("pending_review" | "approved" | "rejected")) => Some(s.to_owned()),
        Some(_) => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidQuery,
                "status must be pending_review, approved or rejected",
            ));
        }
    };
    let f = EventFilter { rule_id, status, county_code: county, payee_id: payee, from: q.from, to: q.to, after, limit };
    let rows = state.db(move |conn| Ok(store::subsidies::events(conn, &f)?)).await?;
    let next = next_cursor(&rows, limit, |e| e.id.to_string());
    Ok(HttpResponse::Ok().json(EventPage {
        items: rows.into_iter().map(|e| EventOut::from_event(e, false)).collect(),
        next_cursor: next,
    }))
}

/// One subsidy event with its trace.
#[utoipa::path(tag = "subsidies", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = EventOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/subsidy-events/{id}")]
pub async fn get_event(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "subsidy event")?;
    let e = state.db(move |conn| store::subsidies::event(conn, id).map_err(missing("subsidy event"))).await?;
    if !visible(&auth, &e) {
        return Err(ApiError::new(ErrorCode::OtherTenant));
    }
    Ok(HttpResponse::Ok().json(EventOut::from_event(e, true)))
}

/// The filters of the blocked claims. Unknown ones are refused rather than
/// ignored: a filter this list does not apply must not look applied.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BlockedQuery {
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Claims refused by a once-per-person guard, with the reason.
#[utoipa::path(tag = "subsidies", security(("api_key" = [])), params(BlockedQuery),
    responses((status = 200, body = BlockedList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/subsidy-events/blocked")]
pub async fn blocked(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    q: web::Query<BlockedQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit)?;
    let (county, payee) = scope(&auth, code_param("county_code", q.county_code.as_deref())?)?;
    let rows =
        state.db(move |conn| Ok(store::subsidies::blocked_claims(conn, payee, county.as_deref(), limit)?)).await?;
    Ok(HttpResponse::Ok().json(BlockedList { items: rows.into_iter().map(BlockedOut::from).collect() }))
}

/// Approve or reject an event: the county office of the worker's county or
/// admin, never the organisation that registered the placement (four eyes;
/// when a county office registered it, admin reviews).
#[utoipa::path(tag = "subsidies", security(("api_key" = [])), params(("id" = String, Path)), request_body = ReviewInput,
    responses((status = 200, body = EventOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/subsidy-events/{id}/review")]
pub async fn review(
    auth: Auth<Reviewer>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<ReviewInput>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "subsidy event")?;
    let mut p = Problems::new();
    let approve = match body.decision.as_deref() {
        Some("approve") => Some(true),
        Some("reject") => Some(false),
        _ => {
            p.push("decision", "must be approve or reject");
            None
        }
    };
    let note = domain::job::clean_text(&mut p, "note", body.note.as_deref(), false, 1000);
    let Some(approve) = approve else { return Err(p.into()) };
    if !p.is_empty() {
        return Err(p.into());
    }
    let caller = auth.clone();
    let e = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let e = store::subsidies::event(conn, id).map_err(missing("subsidy event"))?;
                caller.require_county(&e.county_code)?;
                if let Some(pid) = e.placement_id {
                    let pl = store::placements::get(conn, pid)?;
                    if pl.registered_by_org_id == caller.org_id {
                        return Err(ApiError::with_message(
                            ErrorCode::FourEyes,
                            "Your organisation registered this placement; another reviewer (admin) must review it.",
                        ));
                    }
                }
                Ok(store::subsidies::review(conn, id, approve, &note, &caller.actor())?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(EventOut::from_event(e, true)))
}

/// Run the milestone scan as of a date (admin). Events are written once;
/// running it again writes nothing new.
#[utoipa::path(tag = "subsidies", security(("api_key" = [])), params(ScanQuery),
    responses((status = 200, body = ScanOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/milestones/scan")]
pub async fn scan(
    _auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    q: web::Query<ScanQuery>,
) -> Result<HttpResponse, ApiError> {
    let as_of = q.as_of.unwrap_or_else(|| state.today());
    let r = state
        .db(move |conn| {
            store::subsidies::scan(conn, as_of, 2000).map_err(|e| match e {
                store::subsidies::ScanError::Busy => ApiError::new(ErrorCode::ScanRunning),
                store::subsidies::ScanError::Store(s) => s.into(),
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(ScanOut {
        as_of,
        placements_scanned: r.placements_scanned,
        workers_scanned: r.workers_scanned,
        trainings_scanned: r.trainings_scanned,
        events_created: r.events_created,
        blocked_claims: r.blocked_claims,
        needs_review: r.needs_review,
        created_by_rule: r.created_by_rule,
    }))
}

/// Every version of every subsidy rule.
#[utoipa::path(tag = "subsidies", security(("api_key" = [])),
    responses((status = 200, body = RuleList), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/policies")]
pub async fn list_policies(_auth: Auth<AnyRole>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let items = state.db(|conn| Ok(store::subsidies::rules(conn)?)).await?;
    Ok(HttpResponse::Ok().json(RuleList { items }))
}

/// Add a version of a rule (admin). The version number is assigned.
#[utoipa::path(tag = "subsidies", security(("api_key" = [])), request_body(content = Object, description = "A rule version: see rules/README.md"),
    responses((status = 201, body = Rule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/policies")]
pub async fn add_policy(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    body: Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let mut v = body.into_inner();
    if let Some(o) = v.as_object_mut() {
        o.insert("version".into(), serde_json::json!(1));
    }
    let rule: Rule = serde_json::from_value(v).map_err(|e| {
        ApiError::with_message(ErrorCode::ValidationFailed, format!("The rule is not in the rule format: {e}"))
    })?;
    let p = rule.problems();
    if !p.is_empty() {
        return Err(p.into());
    }
    let actor = auth.actor();
    let saved = state
        .db(move |conn| {
            if let Some(c) = &rule.county_code
                && !store::workers::is_county_level(conn, c)?
            {
                return Err(ApiError::field("county_code", "is not a county-level division code"));
            }
            Ok(store::subsidies::add_rule(conn, rule, &actor)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(saved))
}

/// Register a webhook for subsidy events (admin). Each event is POSTed as JSON
/// with `X-Qianlink-Event-Id` (the idempotency key) and `X-Qianlink-Signature`.
#[utoipa::path(tag = "subsidies", security(("api_key" = [])), request_body = WebhookInput,
    responses((status = 201, body = WebhookOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/webhooks")]
pub async fn add_webhook(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    body: Json<WebhookInput>,
) -> Result<HttpResponse, ApiError> {
    let mut p = Problems::new();
    let url = body.url.clone().unwrap_or_default();
    if !(url.starts_with("http://") || url.starts_with("https://"))
        || url.len() > 2000
        || url.contains(char::is_whitespace)
    {
        p.push("url", "must be an http:// or https:// URL");
    }
    let secret = body.secret.clone().unwrap_or_default();
    if secret.len() < 16 || secret.len() > 200 {
        p.push("secret", "must be 16 to 200 characters");
    }
    if !p.is_empty() {
        return Err(p.into());
    }
    let (vault, actor) = (state.vault.clone(), auth.actor());
    let w = state.db(move |conn| Ok(store::webhooks::create(conn, &vault, &url, &secret, &actor)?)).await?;
    Ok(HttpResponse::Created().json(WebhookOut { id: w.id, url: w.url, active: w.active, created_at: w.created_at }))
}

/// Registered webhooks (admin).
#[utoipa::path(tag = "subsidies", security(("api_key" = [])),
    responses((status = 200, body = WebhookList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/webhooks")]
pub async fn list_webhooks(_auth: Auth<AdminOnly>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let rows = state.db(|conn| Ok(store::webhooks::list(conn)?)).await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        items: rows
            .into_iter()
            .map(|w| WebhookOut { id: w.id, url: w.url, active: w.active, created_at: w.created_at })
            .collect(),
    }))
}

/// The publication list (公示名单): events of a status (default approved),
/// with names, masked ID numbers and amounts by payee. Audited (`worker.view`
/// of the names, purpose `subsidies.publication` by default).
#[utoipa::path(tag = "subsidies", security(("api_key" = [])), params(ExportQuery, crate::purpose::Purpose),
    responses((status = 200, description = "An .xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/subsidy-events/export.xlsx")]
pub async fn export(
    auth: Auth<crate::auth::LedgerKeeper>,
    state: web::Data<AppState>,
    q: web::Query<ExportQuery>,
    purpose: crate::purpose::Purpose,
) -> Result<HttpResponse, ApiError> {
    let county = super::workers::scoped_county(&auth, code_param("county_code", q.county_code.as_deref())?)?;
    let (actor, purpose) = (auth.actor(), purpose.or("subsidies.publication"));
    let status = match q.status.as_deref().unwrap_or("approved") {
        s @ ("pending_review" | "approved" | "rejected") => s.to_owned(),
        _ => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidQuery,
                "status must be pending_review, approved or rejected",
            ));
        }
    };
    let today = state.today();
    let rows = state
        .db(move |conn| {
            let mut out = Vec::new();
            let mut named = Vec::new();
            let mut after = None;
            loop {
                let f = EventFilter {
                    status: Some(status.clone()),
                    county_code: county.clone(),
                    after,
                    limit: 1000,
                    ..EventFilter::default()
                };
                let batch = store::subsidies::events(conn, &f)?;
                let Some(last) = batch.last() else { break };
                after = Some(last.id);
                for e in batch {
                    let w = store::workers::get(conn, e.worker_id, today)?;
                    if w.name.is_some() {
                        named.push(w.id);
                    }
                    let payee = match e.payee_kind.as_str() {
                        "worker" => w.name.clone().unwrap_or_default(),
                        _ => store::orgs::get(conn, e.payee_id).map(|o| o.name).unwrap_or_default(),
                    };
                    out.push(vec![
                        rule_label(&e.rule_id).to_owned(),
                        w.name.clone().unwrap_or_else(|| "（已删除）".into()),
                        w.id_number_masked.clone().unwrap_or_default(),
                        e.county_code.clone(),
                        payee_label(&e.payee_kind).to_owned(),
                        payee,
                        e.amount.to_string(),
                        e.deciding_date.to_string(),
                        e.status.clone(),
                    ]);
                }
            }
            store::audit::record_views(
                conn,
                &actor,
                "GET /v1/subsidy-events/export.xlsx",
                &purpose,
                &[store::audit::Field::Name],
                &named,
            )?;
            Ok(out)
        })
        .await?;
    let headers =
        ["补贴项目", "姓名", "身份证号", "县级代码", "领取对象类型", "领取对象", "金额（元）", "认定日期", "状态"];
    let bytes = sheets::write_table("公示名单", &headers, &rows, None)?;
    Ok(HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header(("Content-Disposition", "attachment; filename=\"qianlink-subsidies.xlsx\""))
        .body(bytes))
}

pub fn rule_label(id: &str) -> &'static str {
    match id {
        "follow_up_service" => "跟踪服务补贴",
        "cross_province_transport" => "一次性交通补助",
        "employer_absorption" => "一次性吸纳补贴",
        "graduate_job_seeking" => "求职创业补贴",
        "enterprise_training" => "企业培训补贴",
        _ => "其他",
    }
}

fn payee_label(kind: &str) -> &'static str {
    match kind {
        "broker" => "人力资源服务机构",
        "worker" => "劳动者",
        _ => "用人单位",
    }
}
