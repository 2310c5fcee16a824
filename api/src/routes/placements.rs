//! Placements: registration, monthly reports, separations, officer
//! resolutions, and the placement with its evidence and milestones.

use super::orgs::conn_tx;
use super::{limit, missing, missing_field, next_cursor, uuid_cursor};
use crate::auth::{AnyParty, AnyRole, Auth, Party, PartyRule, PlacementParty, Reporter, Separator, Settler};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::json::Json;
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};
use chrono::NaiveDate;
use diesel::prelude::*;
use domain::calendar::YearMonth;
use domain::employment::{Milestone, MonthVerdict, milestone, verdicts};
use domain::worker::FactSource;
use domain::{OrgKind, Problems};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use store::placements::{NewPlacement, NewReport, NewSeparation, Placement, ReportRow, SeparationRow};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlacementInput {
    #[schema(required, nullable = false)]
    pub worker_id: Option<Uuid>,
    pub job_id: Option<Uuid>,
    #[schema(required, nullable = false)]
    pub employer_org_id: Option<Uuid>,
    pub broker_org_id: Option<Uuid>,
    #[schema(required, nullable = false)]
    pub start_date: Option<NaiveDate>,
    #[schema(required, nullable = false)]
    pub contract_months: Option<i64>,
    #[schema(required, nullable = false)]
    pub work_county_code: Option<String>,
    /// broker, coop_team or self
    #[schema(required, nullable = false)]
    pub organised_by: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportInput {
    /// The month reported, `2024-03`.
    #[schema(required, nullable = false)]
    pub month: Option<String>,
    #[schema(required, nullable = false)]
    pub employed: Option<bool>,
    #[schema(required, nullable = false)]
    pub social_insurance_paid: Option<bool>,
    /// CNY for the month.
    pub wage: Option<i64>,
    pub note: Option<String>,
    /// Admin only: `social_insurance_import` for rows from the social-insurance system.
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeparationInput {
    #[schema(required, nullable = false)]
    pub date: Option<NaiveDate>,
    #[schema(required, nullable = false)]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveInput {
    #[schema(required, nullable = false)]
    pub month: Option<String>,
    #[schema(required, nullable = false)]
    pub employed: Option<bool>,
    pub social_insurance_paid: Option<bool>,
    #[schema(required, nullable = false)]
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementOut {
    pub id: Uuid,
    pub worker_id: Uuid,
    pub job_id: Option<Uuid>,
    pub employer_org_id: Uuid,
    pub broker_org_id: Option<Uuid>,
    pub registered_by_org_id: Uuid,
    pub start_date: NaiveDate,
    pub contract_months: i32,
    pub work_county_code: String,
    pub organised_by: String,
    /// ok, or needs_review while reports about a month disagree.
    pub review_state: String,
    pub separated_on: Option<NaiveDate>,
    pub separation_reason: Option<String>,
}

impl From<Placement> for PlacementOut {
    fn from(p: Placement) -> Self {
        Self {
            id: p.id,
            worker_id: p.worker_id,
            job_id: p.job_id,
            employer_org_id: p.employer_org_id,
            broker_org_id: p.broker_org_id,
            registered_by_org_id: p.registered_by_org_id,
            start_date: p.start_date,
            contract_months: p.contract_months,
            work_county_code: p.work_county_code,
            organised_by: p.organised_by,
            review_state: p.review_state,
            separated_on: p.separated_on,
            separation_reason: p.separation_reason,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EvidenceOut {
    pub id: i64,
    pub month: String,
    /// employer_report, broker_report, worker_checkin, social_insurance_import or officer
    pub source: String,
    pub employed: bool,
    pub social_insurance_paid: Option<bool>,
    pub wage: Option<i32>,
    pub note: Option<String>,
    pub recorded_by_org_id: Option<Uuid>,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

impl From<ReportRow> for EvidenceOut {
    fn from(r: ReportRow) -> Self {
        Self {
            id: r.id,
            month: YearMonth::of(r.month).to_string(),
            source: r.source,
            employed: r.employed,
            social_insurance_paid: r.social_insurance_paid,
            wage: r.wage,
            note: r.note,
            recorded_by_org_id: r.recorded_by_org_id,
            recorded_at: r.recorded_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SeparationOut {
    pub date: NaiveDate,
    pub reason: String,
    pub source: String,
    pub recorded_at: chrono::DateTime<chrono::Utc>,
}

impl From<SeparationRow> for SeparationOut {
    fn from(s: SeparationRow) -> Self {
        Self { date: s.separated_on, reason: s.reason, source: s.source, recorded_at: s.recorded_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementDetail {
    #[serde(flatten)]
    pub placement: PlacementOut,
    pub evidence: Vec<EvidenceOut>,
    pub separations: Vec<SeparationOut>,
    /// Per month: counts, not_employed, worker_only, conflict or missing.
    #[schema(value_type = Object)]
    pub months: BTreeMap<String, serde_json::Value>,
    /// The 3- and 6-month milestones as of today.
    #[schema(value_type = Object)]
    pub milestones: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlacementPage {
    pub items: Vec<PlacementOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct PlacementQuery {
    #[param(schema_with = super::schema::uuid)]
    pub worker_id: Option<String>,
    #[param(schema_with = super::schema::uuid)]
    pub job_id: Option<String>,
    /// ok or needs_review
    #[param(schema_with = super::schema::review_state)]
    pub review_state: Option<String>,
    #[param(schema_with = super::schema::uuid)]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

fn load(conn: &mut PgConnection, id: Uuid) -> Result<Placement, ApiError> {
    store::placements::get(conn, id).map_err(missing("placement"))
}

fn month_param(p: &mut Problems, v: Option<&str>) -> Option<YearMonth> {
    match v {
        None => {
            p.push("month", "is required");
            None
        }
        Some(s) => p.check("month", YearMonth::parse(s)),
    }
}

/// Register a placement. Employers register their own hires, brokers and
/// cooperation teams the placements they organised, county offices those of
/// their workers, admin any. It fills one of the job's openings.
#[utoipa::path(tag = "placements", security(("api_key" = [])), request_body = PlacementInput,
    responses((status = 201, body = PlacementOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/placements")]
pub async fn create_placement(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    body: Json<PlacementInput>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let mut p = Problems::new();
    let need = |p: &mut Problems, f: &str, present: bool| {
        if !present {
            p.push(f, "is required");
        }
    };
    need(&mut p, "worker_id", b.worker_id.is_some());
    need(&mut p, "employer_org_id", b.employer_org_id.is_some());
    need(&mut p, "start_date", b.start_date.is_some());
    need(&mut p, "contract_months", b.contract_months.is_some());
    let county = match b.work_county_code.as_deref() {
        None => {
            p.push("work_county_code", "is required");
            None
        }
        Some(c) => p.check("work_county_code", domain::DivisionCode::parse(c)),
    };
    let organised_by = match b.organised_by.as_deref() {
        Some(o @ ("broker" | "coop_team" | "self")) => Some(o.to_owned()),
        Some(_) => {
            p.push("organised_by", "must be broker, coop_team or self");
            None
        }
        None => {
            p.push("organised_by", "is required");
            None
        }
    };
    if organised_by.as_deref().is_some_and(|o| o != "self") && b.broker_org_id.is_none() {
        p.push("broker_org_id", "is required when a broker or cooperation team organised the placement");
    }
    if let Some(m) = b.contract_months
        && !(1..=600).contains(&m)
    {
        p.push("contract_months", "must be between 1 and 600");
    }
    let today = state.today();
    if b.start_date.is_some_and(|d| d > today) {
        p.push("start_date", "is in the future; register the placement when the worker starts");
    }
    let (Some(worker_id), Some(employer), Some(start), Some(months), Some(county), Some(organised_by)) =
        (b.worker_id, b.employer_org_id, b.start_date, b.contract_months, county, organised_by)
    else {
        return Err(p.into());
    };
    if !p.is_empty() {
        return Err(p.into());
    }
    let caller = auth.clone();
    match caller.kind {
        OrgKind::Employer | OrgKind::IndustrialPark if caller.org_id != employer => {
            return Err(ApiError::with_message(ErrorCode::OtherTenant, "An employer registers its own hires only."));
        }
        OrgKind::Broker | OrgKind::CoopTeam if b.broker_org_id != Some(caller.org_id) => {
            return Err(ApiError::with_message(
                ErrorCode::OtherTenant,
                "A broker registers the placements it organised only.",
            ));
        }
        _ => {}
    }
    let new = NewPlacement {
        worker_id,
        job_id: b.job_id,
        employer_org_id: employer,
        broker_org_id: b.broker_org_id,
        start_date: start,
        contract_months: i32::try_from(months).unwrap_or(1),
        work_county_code: county.as_str().to_owned(),
        organised_by,
    };
    let placement = state
        .db(move |conn| {
            if caller.kind == OrgKind::CountyOffice {
                let c =
                    store::workers::county_of(conn, worker_id).map_err(missing_field("worker_id", "no such worker"))?;
                caller.require_county(&c)?;
            }
            Ok(store::placements::create(conn, &new, caller.org_id, &caller.actor())?)
        })
        .await?;
    Ok(HttpResponse::Created().json(PlacementOut::from(placement)))
}

/// A monthly report by the placement's employer (employer_report) or broker /
/// cooperation team (broker_report).
#[utoipa::path(tag = "placements", security(("api_key" = [])), params(("id" = String, Path)), request_body = ReportInput,
    responses((status = 201, body = EvidenceOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The worker's record was erased"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/placements/{id}/reports")]
pub async fn add_report(
    auth: PlacementParty<Reporter>,
    state: web::Data<AppState>,
    body: Json<ReportInput>,
) -> Result<HttpResponse, ApiError> {
    let id = auth.placement.id;
    let b = body.into_inner();
    let mut p = Problems::new();
    let month = month_param(&mut p, b.month.as_deref());
    if b.employed.is_none() {
        p.push("employed", "is required");
    }
    if b.social_insurance_paid.is_none() {
        p.push("social_insurance_paid", "is required");
    }
    if b.wage.is_some_and(|w| !(0..=1_000_000).contains(&w)) {
        p.push("wage", "must be between 0 and 1000000");
    }
    let note = domain::job::clean_text(&mut p, "note", b.note.as_deref(), false, 500);
    let source_asked = match b.source.as_deref() {
        None => None,
        Some("social_insurance_import") if auth.caller.is_admin() => Some(FactSource::SocialInsuranceImport),
        Some(_) => {
            p.push("source", "only admin may send social_insurance_import");
            None
        }
    };
    let (Some(month), Some(employed)) = (month, b.employed) else { return Err(p.into()) };
    if !p.is_empty() {
        return Err(p.into());
    }
    // The report's source is who the caller is to the placement (or the import admin names).
    let source = match (auth.party, source_asked) {
        (_, Some(s)) => s,
        (Party::Employer, None) => FactSource::EmployerReport,
        (Party::Broker, None) => FactSource::BrokerReport,
        (Party::Officer | Party::Registrar, None) => {
            return Err(ApiError::with_message(ErrorCode::Forbidden, Reporter::REFUSAL));
        }
    };
    let caller = auth.caller;
    let today = state.today();
    let row = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let r = NewReport {
                    month,
                    source,
                    employed,
                    social_insurance_paid: b.social_insurance_paid,
                    wage: b.wage.and_then(|w| i32::try_from(w).ok()),
                    note: (!note.is_empty()).then_some(note),
                };
                let (row, _) =
                    store::placements::add_report(conn, id, &r, Some(caller.org_id), &caller.actor(), today)?;
                Ok(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(EvidenceOut::from(row)))
}

/// The worker left. By the employer or broker, or the county office / admin.
#[utoipa::path(tag = "placements", security(("api_key" = [])), params(("id" = String, Path)), request_body = SeparationInput,
    responses((status = 200, body = PlacementOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/placements/{id}/separation")]
pub async fn separate(
    auth: PlacementParty<Separator>,
    state: web::Data<AppState>,
    body: Json<SeparationInput>,
) -> Result<HttpResponse, ApiError> {
    let id = auth.placement.id;
    let mut p = Problems::new();
    let reason = domain::job::clean_text(&mut p, "reason", body.reason.as_deref(), true, 500);
    if body.date.is_none() {
        p.push("date", "is required");
    }
    let Some(date) = body.date else { return Err(p.into()) };
    if !p.is_empty() {
        return Err(p.into());
    }
    let source = match auth.party {
        Party::Employer => FactSource::EmployerReport,
        Party::Broker => FactSource::BrokerReport,
        Party::Officer | Party::Registrar => FactSource::Officer,
    };
    let caller = auth.caller;
    let today = state.today();
    let pl = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let s = NewSeparation { on: date, reason: &reason, source };
                Ok(store::placements::separate(conn, id, &s, Some(caller.org_id), &caller.actor(), today)?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(PlacementOut::from(pl)))
}

/// Settle a month whose reports disagree (the county office of the worker's
/// county, or admin). The officer's word decides the month.
#[utoipa::path(tag = "placements", security(("api_key" = [])), params(("id" = String, Path)), request_body = ResolveInput,
    responses((status = 200, body = PlacementDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The worker's record was erased"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/placements/{id}/resolve")]
pub async fn resolve(
    auth: PlacementParty<Settler>,
    state: web::Data<AppState>,
    body: Json<ResolveInput>,
) -> Result<HttpResponse, ApiError> {
    let id = auth.placement.id;
    let b = body.into_inner();
    let mut p = Problems::new();
    let month = month_param(&mut p, b.month.as_deref());
    if b.employed.is_none() {
        p.push("employed", "is required");
    }
    let note = domain::job::clean_text(&mut p, "note", b.note.as_deref(), true, 500);
    let (Some(month), Some(employed)) = (month, b.employed) else { return Err(p.into()) };
    if !p.is_empty() {
        return Err(p.into());
    }
    let caller = auth.caller;
    let today = state.today();
    let detail = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let r = NewReport {
                    month,
                    source: FactSource::Officer,
                    employed,
                    social_insurance_paid: b.social_insurance_paid,
                    wage: None,
                    note: Some(note),
                };
                store::placements::add_report(conn, id, &r, Some(caller.org_id), &caller.actor(), today)?;
                detail(conn, id, today)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(detail))
}

fn detail(conn: &mut PgConnection, id: Uuid, today: NaiveDate) -> Result<PlacementDetail, ApiError> {
    let pl = load(conn, id)?;
    let reports = store::placements::reports(conn, id)?;
    let seps = store::placements::separations(conn, id)?;
    let dom_reports: Vec<_> = reports.iter().filter_map(ReportRow::to_domain).collect();
    let dom_seps: Vec<_> = seps.iter().filter_map(SeparationRow::to_domain).collect();
    let months = verdicts(&dom_reports, YearMonth::of(today))
        .into_iter()
        .map(|(m, v): (YearMonth, MonthVerdict)| (m.to_string(), serde_json::to_value(v).unwrap_or_default()))
        .collect();
    let mut milestones = BTreeMap::new();
    for n in [3u32, 6] {
        let m: Milestone = milestone(pl.start_date, n, &dom_reports, &dom_seps, today);
        milestones.insert(format!("{n}_months"), serde_json::to_value(m).unwrap_or_default());
    }
    Ok(PlacementDetail {
        placement: pl.into(),
        evidence: reports.into_iter().map(EvidenceOut::from).collect(),
        separations: seps.into_iter().map(SeparationOut::from).collect(),
        months,
        milestones,
    })
}

/// A placement with its evidence (every report with its source and time),
/// month verdicts and milestones as of today.
#[utoipa::path(tag = "placements", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PlacementDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/placements/{id}")]
pub async fn get_placement(
    auth: PlacementParty<AnyParty>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = auth.placement.id;
    let today = state.today();
    let d = state.db(move |conn| detail(conn, id, today)).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Placements the caller may see, filtered.
#[utoipa::path(tag = "placements", security(("api_key" = [])), params(PlacementQuery),
    responses((status = 200, body = PlacementPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[get("/placements")]
pub async fn list_placements(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    q: web::Query<PlacementQuery>,
) -> Result<HttpResponse, ApiError> {
    use store::schema::{placements, workers};
    let limit = limit(q.limit)?;
    let after = uuid_cursor(q.cursor.as_deref())?;
    let bad = |f: &str| ApiError::with_message(ErrorCode::InvalidQuery, format!("{f} is not a UUID"));
    let worker = q
        .worker_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| Uuid::parse_str(s).map_err(|_| bad("worker_id")))
        .transpose()?;
    let job = q
        .job_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| Uuid::parse_str(s).map_err(|_| bad("job_id")))
        .transpose()?;
    let review = match q.review_state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("ok" | "needs_review")) => Some(s.to_owned()),
        Some(_) => {
            return Err(ApiError::with_message(ErrorCode::InvalidQuery, "review_state must be ok or needs_review"));
        }
    };
    let caller = auth.clone();
    let rows = state
        .db(move |conn| {
            let mut query = placements::table.inner_join(workers::table).select(Placement::as_select()).into_boxed();
            match caller.kind {
                OrgKind::Admin => {}
                OrgKind::CountyOffice => {
                    query = query.filter(workers::county_code.eq(caller.county_code.clone().unwrap_or_default()));
                }
                _ => {
                    let me = caller.org_id;
                    query = query.filter(
                        placements::employer_org_id
                            .eq(me)
                            .or(placements::broker_org_id.eq(me))
                            .or(placements::registered_by_org_id.eq(me)),
                    );
                }
            }
            if let Some(w) = worker {
                query = query.filter(placements::worker_id.eq(w));
            }
            if let Some(j) = job {
                query = query.filter(placements::job_id.eq(j));
            }
            if let Some(r) = review {
                query = query.filter(placements::review_state.eq(r));
            }
            if let Some(a) = after {
                query = query.filter(placements::id.gt(a));
            }
            Ok(query.order(placements::id).limit(limit).load::<Placement>(conn).map_err(store::StoreError::from)?)
        })
        .await?;
    let next = next_cursor(&rows, limit, |p| p.id.to_string());
    Ok(HttpResponse::Ok()
        .json(PlacementPage { items: rows.into_iter().map(PlacementOut::from).collect(), next_cursor: next }))
}
