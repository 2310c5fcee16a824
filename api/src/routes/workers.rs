//! The worker ledger: register, read (masked), change, transfer, erase,
//! training records, and Excel/CSV import and export.

use super::orgs::conn_tx;
use super::{code_param, limit, missing, next_cursor, parse_id, uuid_cursor};
use crate::auth::{AdminOnly, Auth, Caller, LedgerKeeper};
use crate::error::{ApiError, ErrorBody, ErrorCode, ErrorDetail};
use crate::json::Json;
use crate::purpose::Purpose;
use crate::sheets::{self, LEDGER_COLUMNS};
use crate::state::AppState;
use actix_multipart::Multipart;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use domain::Problems;
use domain::ledger::WorkerDraft;
use domain::worker::{Category, EmploymentStatus, TrainingKind};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use store::audit::Field;
use store::workers::{ImportRow, RowProblem, WorkerView};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerOut {
    pub id: Uuid,
    /// e.g. 520102********123X
    pub id_number_masked: Option<String>,
    /// Only for admin with `?reveal=true` (audited).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    pub name: Option<String>,
    /// Masked (138****5678) except for the county office that keeps the ledger
    /// (single-worker reads) and admin with `?reveal=true`.
    pub phone: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub gender: Option<String>,
    pub household_code: String,
    pub resettlement_site: Option<String>,
    pub county_code: String,
    pub categories: Vec<String>,
    pub skills: Vec<String>,
    pub education: Option<String>,
    pub graduation_year: Option<i32>,
    /// The current status: the most recent dated fact from any source.
    pub employment_status: Option<String>,
    pub status_on: Option<NaiveDate>,
    /// Aged 16-60 and able to work (DESIGN.md "labour").
    pub is_labour: bool,
    pub willing_cross_province: bool,
    pub accepts_offers: bool,
    /// Employed but wants to hear of other jobs.
    pub seeking_while_employed: bool,
    pub min_wage: Option<i32>,
    pub preferred_county_codes: Vec<String>,
    pub erased: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WorkerOut {
    pub fn masked(v: WorkerView) -> Self {
        Self {
            id: v.id,
            id_number_masked: v.id_number_masked,
            id_number: None,
            name: v.name,
            phone: v.phone_masked,
            birth_date: v.birth_date,
            gender: v.gender,
            household_code: v.household_code,
            resettlement_site: v.resettlement_site,
            county_code: v.county_code,
            categories: v.categories,
            skills: v.skills,
            education: v.education,
            graduation_year: v.graduation_year,
            employment_status: v.employment_status,
            status_on: v.status_on,
            is_labour: v.is_labour,
            willing_cross_province: v.willing_cross_province,
            accepts_offers: v.accepts_offers,
            seeking_while_employed: v.seeking_while_employed,
            min_wage: v.min_wage,
            preferred_county_codes: v.preferred_county_codes,
            erased: v.erased_at.is_some(),
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkerPage {
    pub items: Vec<WorkerOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct WorkerListQuery {
    /// Admin may list any county or all; a county office lists its own.
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
    #[param(schema_with = super::schema::category)]
    pub category: Option<String>,
    #[param(schema_with = super::schema::employment_status)]
    pub employment_status: Option<String>,
    #[param(schema_with = super::schema::uuid)]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RevealQuery {
    /// Admin only: include the full ID and phone numbers (audited).
    pub reveal: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    #[schema(required, nullable = false)]
    pub county_code: Option<String>,
    #[schema(required, nullable = false)]
    pub household_code: Option<String>,
    pub resettlement_site: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrainingInput {
    #[schema(required, nullable = false)]
    pub course: Option<String>,
    /// order, position, on_the_job, apprenticeship, entrepreneurship or other
    #[schema(required, nullable = false)]
    pub kind: Option<String>,
    pub occupation_code: Option<String>,
    pub skills: Option<Vec<String>>,
    #[schema(required, nullable = false)]
    pub hours: Option<i64>,
    pub certificate: Option<String>,
    #[schema(required, nullable = false)]
    pub completed_on: Option<NaiveDate>,
    #[schema(required, nullable = false)]
    pub provider: Option<String>,
    /// The enterprise (employer or industrial park) that gave the training,
    /// when it is registered here: it may claim the enterprise training subsidy.
    pub provider_org_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingOut {
    pub id: Uuid,
    pub worker_id: Uuid,
    pub course: String,
    pub kind: String,
    pub occupation_code: Option<String>,
    pub skills: Vec<String>,
    pub hours: i32,
    pub certificate: Option<String>,
    pub completed_on: NaiveDate,
    pub provider: String,
    pub provider_org_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<store::workers::Training> for TrainingOut {
    fn from(t: store::workers::Training) -> Self {
        Self {
            id: t.id,
            worker_id: t.worker_id,
            course: t.course,
            kind: t.kind,
            occupation_code: t.occupation_code,
            skills: t.skills,
            hours: t.hours,
            certificate: t.certificate,
            completed_on: t.completed_on,
            provider: t.provider,
            provider_org_id: t.provider_org_id,
            created_at: t.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TrainingList {
    pub items: Vec<TrainingOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Write the good rows and list the bad ones (default: all or nothing).
    pub partial: Option<bool>,
    /// Check everything, write nothing.
    pub dry_run: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub dry_run: bool,
    pub partial: bool,
    pub rows: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
    pub errors: Vec<ErrorDetail>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ExportQuery {
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
}

/// Load a worker's county and check the caller keeps that ledger.
fn keeper_of(conn: &mut diesel::PgConnection, caller: &Caller, id: Uuid) -> Result<String, ApiError> {
    let county = store::workers::county_of(conn, id).map_err(missing("worker"))?;
    caller.require_county(&county)?;
    Ok(county)
}

/// Register a worker in the ledger (the county office of `county_code`, or admin).
#[utoipa::path(tag = "workers", security(("api_key" = [])), request_body = WorkerDraft,
    responses((status = 201, body = WorkerOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/workers")]
pub async fn create_worker(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    body: Json<WorkerDraft>,
) -> Result<HttpResponse, ApiError> {
    let w = body.into_inner().validate()?;
    auth.require_county(w.county_code.as_str())?;
    let (vault, actor, today) = (state.vault.clone(), auth.actor(), state.today());
    let keeps = auth.keeps_county(w.county_code.as_str()) && !auth.is_admin();
    let phone = w.phone.expose().to_owned();
    let v = state.db(move |conn| Ok(store::workers::create(conn, &vault, &w, &actor, today)?)).await?;
    let mut out = WorkerOut::masked(v);
    if keeps {
        out.phone = Some(phone);
    }
    Ok(HttpResponse::Created().json(out))
}

/// One worker (its county office or admin). Admin may add `?reveal=true`.
/// Audited (`worker.view`, purpose `ledger.view` by default): the name, the
/// full phone (the county office) and the full ID number (`reveal`).
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(("id" = String, Path), RevealQuery, Purpose),
    responses((status = 200, body = WorkerOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/workers/{id}")]
pub async fn get_worker(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<RevealQuery>,
    purpose: Purpose,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "worker")?;
    let reveal = q.reveal.unwrap_or(false);
    if reveal && !auth.is_admin() {
        return Err(ApiError::with_message(ErrorCode::Forbidden, "Only admin may reveal ID numbers."));
    }
    let caller = auth.clone();
    let (vault, today) = (state.vault.clone(), state.today());
    let purpose = purpose.or("ledger.view");
    let out = state
        .db(move |conn| {
            keeper_of(conn, &caller, id)?;
            let v = store::workers::get(conn, id, today)?;
            let mut out = WorkerOut::masked(v);
            let show_phone = reveal || !caller.is_admin();
            let mut fields = Vec::new();
            if out.name.is_some() {
                fields.push(Field::Name);
            }
            if (reveal || show_phone) && !out.erased {
                let (idn, phone) = store::workers::personal(conn, &vault, id)?;
                if show_phone && phone.is_some() {
                    out.phone = phone;
                    fields.push(Field::Phone);
                }
                if reveal && idn.is_some() {
                    out.id_number = idn;
                    fields.push(Field::IdNumber);
                }
            }
            store::audit::record_views(conn, &caller.actor(), "GET /v1/workers/{id}", &purpose, &fields, &[id])?;
            Ok(out)
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Workers of a county (a county office sees its own county only). Audited
/// (`worker.view` of the names, one entry for the page, purpose `ledger.list` by default).
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(WorkerListQuery, Purpose),
    responses((status = 200, body = WorkerPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/workers")]
pub async fn list_workers(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    q: web::Query<WorkerListQuery>,
    purpose: Purpose,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit)?;
    let after = uuid_cursor(q.cursor.as_deref())?;
    let county = scoped_county(&auth, code_param("county_code", q.county_code.as_deref())?)?;
    let category = match q.category.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(
            Category::parse(c)
                .ok_or_else(|| {
                    ApiError::with_message(
                        ErrorCode::InvalidQuery,
                        format!("category must be one of {}", Category::expected()),
                    )
                })?
                .as_str(),
        ),
    };
    let status = match q.employment_status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(
            EmploymentStatus::parse(c)
                .ok_or_else(|| {
                    ApiError::with_message(
                        ErrorCode::InvalidQuery,
                        format!("employment_status must be one of {}", EmploymentStatus::expected()),
                    )
                })?
                .as_str(),
        ),
    };
    let today = state.today();
    let (actor, purpose) = (auth.actor(), purpose.or("ledger.list"));
    let items = state
        .db(move |conn| {
            let f = store::workers::ListFilter {
                county_code: county.as_deref(),
                category,
                employment_status: status,
                after,
                limit,
            };
            let items = store::workers::list(conn, &f, today)?;
            let named: Vec<Uuid> = items.iter().filter(|w| w.name.is_some()).map(|w| w.id).collect();
            store::audit::record_views(conn, &actor, "GET /v1/workers", &purpose, &[Field::Name], &named)?;
            Ok(items)
        })
        .await?;
    let next = next_cursor(&items, limit, |w| w.id.to_string());
    Ok(HttpResponse::Ok()
        .json(WorkerPage { items: items.into_iter().map(WorkerOut::masked).collect(), next_cursor: next }))
}

/// A county office is held to its county; admin may ask for any or all.
pub fn scoped_county(caller: &Caller, asked: Option<String>) -> Result<Option<String>, ApiError> {
    if caller.is_admin() {
        return Ok(asked);
    }
    let own = caller.county_code.clone();
    match asked {
        Some(c) if Some(&c) != own.as_ref() => {
            Err(ApiError::with_message(ErrorCode::OtherTenant, "Your office keeps its own county's ledger only."))
        }
        _ => Ok(own),
    }
}

/// Change a worker's ledger entry. The ID number cannot change; moving to
/// another county is `POST /v1/workers/{id}/transfer` (admin).
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(("id" = String, Path)), request_body = WorkerDraft,
    responses((status = 200, body = WorkerOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[patch("/workers/{id}")]
pub async fn patch_worker(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<WorkerDraft>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "worker")?;
    let patch = body.into_inner();
    let caller = auth.clone();
    let (vault, today) = (state.vault.clone(), state.today());
    let out = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let county = keeper_of(conn, &caller, id)?;
                let current = store::workers::get(conn, id, today)?;
                if current.erased_at.is_some() {
                    return Err(ApiError::conflict("The worker's personal data was erased."));
                }
                let (idn, phone) = store::workers::personal(conn, &vault, id)?;
                let mut p = Problems::new();
                if let Some(new) = &patch.id_number
                    && domain::IdNumber::parse(new).ok().map(|n| n.expose().to_owned()) != idn
                {
                    p.push("id_number", "cannot be changed; erase the record and register the worker again");
                }
                if let Some(c) = &patch.county_code
                    && c.trim() != county
                {
                    p.push(
                        "county_code",
                        "cannot be changed here; admin moves workers with POST /v1/workers/{id}/transfer",
                    );
                }
                if !p.is_empty() {
                    return Err(p.into());
                }
                let draft = WorkerDraft {
                    id_number: idn,
                    name: patch.name.or(current.name),
                    phone: patch.phone.or(phone),
                    household_code: patch.household_code.or(Some(current.household_code)),
                    resettlement_site: patch.resettlement_site.or(current.resettlement_site),
                    county_code: Some(county),
                    categories: patch.categories.or(Some(current.categories)),
                    skills: patch.skills.or(Some(current.skills)),
                    education: patch.education.or(current.education),
                    graduation_year: patch.graduation_year.or(current.graduation_year.map(i64::from)),
                    employment_status: patch.employment_status.or(current.employment_status),
                    willing_cross_province: patch.willing_cross_province.or(Some(current.willing_cross_province)),
                    accepts_offers: patch.accepts_offers.or(Some(current.accepts_offers)),
                    seeking_while_employed: patch.seeking_while_employed.or(Some(current.seeking_while_employed)),
                    min_wage: patch.min_wage.or(current.min_wage.map(i64::from)),
                    preferred_county_codes: patch.preferred_county_codes.or(Some(current.preferred_county_codes)),
                };
                let w = draft.validate()?;
                let v = store::workers::update(conn, &vault, id, &w, &caller.actor(), today)?;
                let mut out = WorkerOut::masked(v);
                if !caller.is_admin() {
                    out.phone = Some(w.phone.expose().to_owned());
                }
                Ok(out)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Move a worker to another county's ledger (admin).
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(("id" = String, Path)), request_body = TransferInput,
    responses((status = 200, body = WorkerOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/workers/{id}/transfer")]
pub async fn transfer_worker(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<TransferInput>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "worker")?;
    let mut p = Problems::new();
    let county = match body.county_code.as_deref() {
        None => {
            p.push("county_code", "is required");
            None
        }
        Some(c) => p.check("county_code", domain::DivisionCode::parse(c)),
    };
    let household = domain::ledger::parse_household_code(&mut p, "household_code", body.household_code.as_deref());
    let site = domain::job::clean_text(&mut p, "resettlement_site", body.resettlement_site.as_deref(), false, 200);
    let (Some(county), Some(household)) = (county, household) else { return Err(p.into()) };
    if !p.is_empty() {
        return Err(p.into());
    }
    let (actor, today) = (auth.actor(), state.today());
    let v = state
        .db(move |conn| {
            store::workers::county_of(conn, id).map_err(missing("worker"))?;
            let site = (!site.is_empty()).then_some(site);
            Ok(store::workers::transfer(conn, id, county.as_str(), &household, site.as_deref(), &actor, today)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(WorkerOut::masked(v)))
}

/// Erase a worker (admin, PIPL): removes or anonymises everything that
/// identifies them in one transaction — chat bindings, binding codes, queued
/// pushes, offers, monitoring answers (kept only as unattributed totals, so
/// published reports do not change), employment facts, training records —
/// and the bot's state of their chats in Redis after it. An anonymous
/// placeholder stays so that placements, their reports and subsidy events
/// (records of public money) remain consistent. Idempotent: erasing an
/// erased worker answers 200 with the same placeholder and writes nothing.
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = WorkerOut, description = "The anonymous placeholder (also when already erased)"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[delete("/workers/{id}")]
pub async fn erase_worker(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "worker")?;
    let (actor, today) = (auth.actor(), state.today());
    let erasure = state
        .db(move |conn| {
            store::workers::erase(conn, id, &actor, today).map_err(|e| match e {
                store::StoreError::NotFound => ApiError::not_found("worker"),
                other => other.into(),
            })
        })
        .await?;
    state.matcher.forget(id);
    if let Err(e) = state.redis.forget_chats(&erasure.chats).await {
        tracing::warn!(error = %e, chats = erasure.chats.len(), "erasure: the bot's chat state stays in Redis until it expires");
    }
    Ok(HttpResponse::Ok().json(WorkerOut::masked(erasure.view)))
}

/// Record a training (its county office or admin).
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(("id" = String, Path)), request_body = TrainingInput,
    responses((status = 201, body = TrainingOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The worker's record was erased"),
        (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/workers/{id}/trainings")]
pub async fn add_training(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<TrainingInput>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "worker")?;
    let t = validate_training(&body, state.today())?;
    let caller = auth.clone();
    let row = state
        .db(move |conn| {
            keeper_of(conn, &caller, id)?;
            Ok(store::workers::add_training(conn, id, &t, &caller.actor())?)
        })
        .await?;
    Ok(HttpResponse::Created().json(TrainingOut::from(row)))
}

fn validate_training(b: &TrainingInput, today: NaiveDate) -> Result<store::workers::NewTraining, ApiError> {
    let mut p = Problems::new();
    let course = domain::job::clean_text(&mut p, "course", b.course.as_deref(), true, 200);
    let provider = domain::job::clean_text(&mut p, "provider", b.provider.as_deref(), true, 200);
    let certificate = domain::job::clean_text(&mut p, "certificate", b.certificate.as_deref(), false, 100);
    let kind = match b.kind.as_deref().map(TrainingKind::parse) {
        None => {
            p.push("kind", "is required");
            None
        }
        Some(None) => {
            p.push("kind", format!("must be one of {}", TrainingKind::expected()));
            None
        }
        Some(Some(k)) => Some(k),
    };
    let occupation_code = b.occupation_code.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    if let Some(c) = &occupation_code
        && !domain::job::is_occupation_code(c)
    {
        p.push("occupation_code", "must be a code of the 2022 occupation classification");
    }
    let skills = domain::job::clean_list(&mut p, "skills", b.skills.as_deref().unwrap_or(&[]), 50, 50);
    let hours = match b.hours {
        None => {
            p.push("hours", "is required");
            None
        }
        Some(h) if (1..=10_000).contains(&h) => i32::try_from(h).ok(),
        Some(_) => {
            p.push("hours", "must be between 1 and 10000");
            None
        }
    };
    match b.completed_on {
        None => p.push("completed_on", "is required"),
        Some(d) if d > today => p.push("completed_on", "is in the future"),
        _ => {}
    }
    match (kind, hours, b.completed_on) {
        (Some(kind), Some(hours), Some(completed_on)) if p.is_empty() => Ok(store::workers::NewTraining {
            course,
            kind: kind.as_str().to_owned(),
            occupation_code,
            skills,
            hours,
            certificate: (!certificate.is_empty()).then_some(certificate),
            completed_on,
            provider,
            provider_org_id: b.provider_org_id,
        }),
        _ => Err(p.into()),
    }
}

/// A worker's training records (its county office or admin).
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = TrainingList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/workers/{id}/trainings")]
pub async fn list_trainings(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "worker")?;
    let caller = auth.clone();
    let rows = state
        .db(move |conn| {
            keeper_of(conn, &caller, id)?;
            Ok(store::workers::trainings(conn, id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TrainingList { items: rows.into_iter().map(TrainingOut::from).collect() }))
}

fn xlsx(bytes: Vec<u8>, filename: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{filename}\"")))
        .body(bytes)
}

/// The ledger import template (.xlsx, Chinese headers, a sheet of notes).
#[utoipa::path(tag = "workers", security(("api_key" = [])),
    responses((status = 200, description = "An .xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/workers/import-template.xlsx")]
pub async fn import_template(_auth: Auth<LedgerKeeper>) -> Result<HttpResponse, ApiError> {
    Ok(xlsx(sheets::ledger_template()?, "qianlink-ledger-template.xlsx"))
}

/// Export the ledger (names; masked ID and phone numbers) in the template's
/// columns. Audited (`worker.view` of the names, purpose `ledger.export` by default).
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(ExportQuery, Purpose),
    responses((status = 200, description = "An .xlsx workbook", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/workers/export.xlsx")]
pub async fn export_ledger(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    q: web::Query<ExportQuery>,
    purpose: Purpose,
) -> Result<HttpResponse, ApiError> {
    let county = scoped_county(&auth, code_param("county_code", q.county_code.as_deref())?)?;
    let today = state.today();
    let c = county.clone();
    let (actor, purpose) = (auth.actor(), purpose.or("ledger.export"));
    let rows = state
        .db(move |conn| {
            let rows = store::workers::export(conn, c.as_deref(), today)?;
            let named: Vec<Uuid> = rows.iter().filter(|w| w.name.is_some()).map(|w| w.id).collect();
            store::audit::record_views(conn, &actor, "GET /v1/workers/export.xlsx", &purpose, &[Field::Name], &named)?;
            Ok(rows)
        })
        .await?;
    let table: Vec<Vec<String>> = rows
        .into_iter()
        .map(|w| {
            let status = w
                .employment_status
                .as_deref()
                .and_then(EmploymentStatus::parse)
                .map(|s| s.label_zh().to_owned())
                .unwrap_or_default();
            let cats: Vec<&str> =
                w.categories.iter().filter_map(|c| Category::parse(c)).map(Category::label_zh).collect();
            vec![
                w.id_number_masked.unwrap_or_default(),
                w.name.unwrap_or_default(),
                w.phone_masked.unwrap_or_default(),
                w.household_code,
                w.resettlement_site.unwrap_or_default(),
                w.county_code,
                cats.join("、"),
                w.skills.join("、"),
                w.education.unwrap_or_default(),
                w.graduation_year.map(|y| y.to_string()).unwrap_or_default(),
                status,
                if w.willing_cross_province { "是" } else { "否" }.to_owned(),
                if w.accepts_offers { "是" } else { "否" }.to_owned(),
                if w.seeking_while_employed { "是" } else { "否" }.to_owned(),
                w.min_wage.map(|m| m.to_string()).unwrap_or_default(),
                w.preferred_county_codes.join("、"),
            ]
        })
        .collect();
    let headers: Vec<&str> = LEDGER_COLUMNS.iter().map(|(_, h, ..)| *h).collect();
    let bytes = sheets::write_table("台账", &headers, &table, None)?;
    let name = format!("qianlink-ledger-{}.xlsx", county.unwrap_or_else(|| "all".into()));
    Ok(xlsx(bytes, &name))
}

/// Read the `file` part of a multipart upload, at most 20 MiB.
pub async fn read_upload(mut payload: Multipart) -> Result<(String, Vec<u8>), ApiError> {
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|e| {
            ApiError::with_message(ErrorCode::MalformedUpload, format!("The upload could not be read: {e}"))
        })?;
        let name = field.content_disposition().and_then(|cd| cd.get_name()).unwrap_or("").to_owned();
        let filename = field.content_disposition().and_then(|cd| cd.get_filename()).unwrap_or("").to_owned();
        if name != "file" {
            while field.next().await.is_some() {}
            continue;
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| {
                ApiError::with_message(ErrorCode::MalformedUpload, format!("The upload could not be read: {e}"))
            })?;
            if bytes.len() + chunk.len() > sheets::UPLOAD_LIMIT {
                return Err(ApiError::new(ErrorCode::PayloadTooLarge));
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((filename, bytes));
    }
    Err(ApiError::with_message(
        ErrorCode::MalformedUpload,
        "Send the file as multipart/form-data in a part named \"file\".",
    ))
}

fn cell<'a>(
    cells: &'a [String],
    cols: &std::collections::HashMap<&'static str, usize>,
    field: &str,
) -> Option<&'a str> {
    cols.get(field).and_then(|i| cells.get(*i)).map(String::as_str).filter(|s| !s.is_empty())
}

fn detail(row: usize, field: &str, problem: String) -> ErrorDetail {
    ErrorDetail { field: field.to_owned(), problem, row: Some(row), column: Some(sheets::header_of(field)) }
}

/// Import a ledger file (.xlsx or .csv in the template's columns): upsert by
/// ID number. All rows or none, unless `?partial=true`; `?dry_run=true` writes nothing.
#[utoipa::path(tag = "workers", security(("api_key" = [])), params(ImportQuery),
    request_body(content_type = "multipart/form-data", description = "A part named `file`: .xlsx or .csv (UTF-8), at most 20 MiB"),
    responses((status = 200, body = ImportResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/workers/import")]
pub async fn import_ledger(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    q: web::Query<ImportQuery>,
    payload: Multipart,
) -> Result<HttpResponse, ApiError> {
    let (filename, bytes) = read_upload(payload).await?;
    let partial = q.partial.unwrap_or(false);
    let dry_run = q.dry_run.unwrap_or(false);
    let scope = if auth.is_admin() { None } else { auth.county_code.clone() };
    let (vault, actor, today) = (state.vault.clone(), auth.actor(), state.today());
    let outcome = state
        .db(move |conn| {
            let table = sheets::read_table(&bytes, &filename)?;
            let cols = sheets::map_columns(&table.headers, LEDGER_COLUMNS)?;
            let total = table.rows.len();
            let mut rows = Vec::with_capacity(total);
            let mut errors: Vec<RowProblem> = Vec::new();
            for (row, cells) in &table.rows {
                let get = |f: &str| cell(cells, &cols, f).map(str::to_owned);
                let mut bad = Vec::new();
                let bool_of = |f: &str, bad: &mut Vec<(String, String)>| match get(f) {
                    None => None,
                    Some(s) => {
                        let v = sheets::parse_bool(&s);
                        if v.is_none() {
                            bad.push((f.to_owned(), "must be 是 or 否".to_owned()));
                        }
                        v
                    }
                };
                let int_of = |f: &str, bad: &mut Vec<(String, String)>| match get(f) {
                    None => None,
                    Some(s) => {
                        let v = s.parse::<i64>().ok();
                        if v.is_none() {
                            bad.push((f.to_owned(), "must be a whole number".to_owned()));
                        }
                        v
                    }
                };
                let draft = WorkerDraft {
                    id_number: get("id_number"),
                    name: get("name"),
                    phone: get("phone"),
                    household_code: get("household_code"),
                    resettlement_site: get("resettlement_site"),
                    county_code: get("county_code"),
                    categories: get("categories").map(|s| sheets::split_list(&s)),
                    skills: get("skills").map(|s| sheets::split_list(&s)),
                    education: get("education"),
                    graduation_year: int_of("graduation_year", &mut bad),
                    employment_status: get("employment_status"),
                    willing_cross_province: bool_of("willing_cross_province", &mut bad),
                    accepts_offers: bool_of("accepts_offers", &mut bad),
                    seeking_while_employed: bool_of("seeking_while_employed", &mut bad),
                    min_wage: int_of("min_wage", &mut bad),
                    preferred_county_codes: get("preferred_county_codes").map(|s| sheets::split_list(&s)),
                };
                let validated = draft.validate();
                for (f, problem) in bad {
                    errors.push(RowProblem { row: *row, field: f, problem });
                }
                match validated {
                    Ok(w) if !errors.iter().any(|e| e.row == *row) => rows.push(ImportRow { row: *row, worker: w }),
                    Ok(_) => {}
                    Err(p) => errors.extend(
                        p.into_vec()
                            .into_iter()
                            .filter(|f| !errors.iter().any(|e| e.row == *row && e.field == f.field))
                            .map(|f| RowProblem { row: *row, field: f.field, problem: f.problem })
                            .collect::<Vec<_>>(),
                    ),
                }
            }
            let outcome = store::workers::import(
                conn,
                &vault,
                store::workers::ImportRequest { rows, errors, scope_county: scope.as_deref(), partial, dry_run },
                &actor,
                today,
            )?;
            Ok((total, outcome))
        })
        .await?;
    let (total, outcome) = outcome;
    let errors: Vec<ErrorDetail> = outcome.errors.iter().map(|e| detail(e.row, &e.field, e.problem.clone())).collect();
    let rejected = outcome.errors.iter().map(|e| e.row).collect::<std::collections::BTreeSet<_>>().len();
    if rejected > 0 && !partial {
        return Err(ApiError::with_message(
            ErrorCode::ImportRejected,
            format!("{rejected} of {total} rows are invalid; nothing was written. Fix them, or send ?partial=true to write the good rows."),
        )
        .with_rows(errors));
    }
    Ok(HttpResponse::Ok().json(ImportResult {
        dry_run,
        partial,
        rows: total,
        created: outcome.created,
        updated: outcome.updated,
        unchanged: outcome.unchanged,
        rejected,
        errors,
    }))
}
