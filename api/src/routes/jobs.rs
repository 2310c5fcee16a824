//! Jobs: post, read, change, close, list.

use super::orgs::conn_tx;
use super::{limit, missing, next_cursor, parse_id, uuid_cursor};
use crate::auth::{AnyRole, Auth, Caller, JobPoster};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::json::Json;
use crate::state::AppState;
use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use domain::job::{JobDraft, JobRejection, Requirements, ValidJob};
use serde::{Deserialize, Serialize};
use store::jobs::JobView;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub title: String,
    pub description: String,
    pub occupation_code: Option<String>,
    pub occupation_name: Option<String>,
    pub skills: Vec<String>,
    pub work_county_code: String,
    pub work_county_name: String,
    /// The province of the place of work, e.g. 440000.
    pub work_province_code: String,
    /// The place of work is outside Guizhou.
    pub cross_province: bool,
    /// CNY per month.
    pub wage_min: i32,
    pub wage_max: i32,
    pub openings: i32,
    pub contract_months: Option<i32>,
    pub start_date: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub requirements: Requirements,
    /// open or closed
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<JobView> for JobOut {
    fn from(v: JobView) -> Self {
        let cross_province = v.cross_province();
        let requirements = v.requirements();
        let r = v.row;
        Self {
            id: r.id,
            org_id: r.org_id,
            org_name: v.org_name,
            title: r.title,
            description: r.description,
            occupation_code: r.occupation_code,
            occupation_name: v.occupation_name,
            skills: r.skills,
            work_county_code: r.work_county_code,
            work_county_name: v.work_county_name,
            work_province_code: v.work_province_code,
            cross_province,
            wage_min: r.wage_min,
            wage_max: r.wage_max,
            openings: r.openings,
            contract_months: r.contract_months,
            start_date: r.start_date,
            expires_on: r.expires_on,
            requirements,
            status: r.status,
            created_at: r.created_at,
            updated_at: r.updated_at,
            closed_at: r.closed_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub items: Vec<JobOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct JobListQuery {
    #[param(schema_with = super::schema::uuid)]
    pub org_id: Option<String>,
    /// open or closed
    #[param(schema_with = super::schema::job_status)]
    pub status: Option<String>,
    #[param(schema_with = super::schema::uuid)]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

fn rejection(r: JobRejection) -> ApiError {
    match r {
        JobRejection::Invalid(p) => p.into(),
        JobRejection::Discriminatory(p) => {
            let words: Vec<String> =
                p.0.iter()
                    .filter_map(|f| f.problem.split('「').nth(1).and_then(|s| s.split('」').next()).map(str::to_owned))
                    .collect();
            ApiError::with_message(
                ErrorCode::DiscriminatoryRequirement,
                format!("The posting excludes or prefers people by gender, ethnicity or origin: {}", words.join("、")),
            )
            .with_details(p.into_vec())
        }
    }
}

/// Validate a posting fully, including the codes it refers to.
fn checked(conn: &mut diesel::PgConnection, draft: &JobDraft) -> Result<ValidJob, ApiError> {
    let job = draft.validate().map_err(rejection)?;
    let p = store::jobs::check_refs(conn, &job)?;
    if !p.is_empty() {
        return Err(p.into());
    }
    Ok(job)
}

fn require_owner(caller: &Caller, job: &JobView) -> Result<(), ApiError> {
    if caller.is_admin() || caller.org_id == job.row.org_id {
        Ok(())
    } else {
        Err(ApiError::with_message(ErrorCode::OtherTenant, "Only the organisation that posted this job may change it."))
    }
}

/// Post a job. Derived: `work_province_code`, `cross_province`.
#[utoipa::path(tag = "jobs", security(("api_key" = [])), request_body = JobDraft,
    responses((status = 201, body = JobOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/jobs")]
pub async fn create_job(
    auth: Auth<JobPoster>,
    state: web::Data<AppState>,
    body: Json<JobDraft>,
) -> Result<HttpResponse, ApiError> {
    let draft = body.into_inner();
    // Shape and wording first: no database work for a posting that is refused anyway.
    draft.validate().map_err(rejection)?;
    let actor = auth.actor();
    let org_id = auth.org_id;
    let job = state
        .db(move |conn| {
            let job = checked(conn, &draft)?;
            Ok(store::jobs::create(conn, org_id, &job, &actor)?)
        })
        .await?;
    Ok(HttpResponse::Created().json(JobOut::from(job)))
}

/// One job (any key).
#[utoipa::path(tag = "jobs", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = JobOut), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[get("/jobs/{id}")]
pub async fn get_job(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    let job = state.db(move |conn| store::jobs::get(conn, id).map_err(missing("job"))).await?;
    Ok(HttpResponse::Ok().json(JobOut::from(job)))
}

/// Change an open job (the posting organisation or admin). Fields left out
/// keep their values; the result is validated as a whole.
#[utoipa::path(tag = "jobs", security(("api_key" = [])), params(("id" = String, Path)), request_body = JobDraft,
    responses((status = 200, body = JobOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[patch("/jobs/{id}")]
pub async fn patch_job(
    auth: Auth<JobPoster>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<JobDraft>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    let patch = body.into_inner();
    let caller = auth.clone();
    let job = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let current = store::jobs::get(conn, id).map_err(missing("job"))?;
                require_owner(&caller, &current)?;
                let merged = merge(&current, patch);
                let job = checked(conn, &merged)?;
                Ok(store::jobs::update(conn, id, &job, &caller.actor())?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(JobOut::from(job)))
}

fn merge(current: &JobView, patch: JobDraft) -> JobDraft {
    let r = &current.row;
    JobDraft {
        title: patch.title.or_else(|| Some(r.title.clone())),
        description: patch.description.or_else(|| Some(r.description.clone())),
        occupation_code: patch.occupation_code.or_else(|| r.occupation_code.clone()),
        skills: patch.skills.or_else(|| Some(r.skills.clone())),
        work_county_code: patch.work_county_code.or_else(|| Some(r.work_county_code.clone())),
        wage_min: patch.wage_min.or(Some(i64::from(r.wage_min))),
        wage_max: patch.wage_max.or(Some(i64::from(r.wage_max))),
        openings: patch.openings.or(Some(i64::from(r.openings))),
        contract_months: patch.contract_months.or(r.contract_months.map(i64::from)),
        start_date: patch.start_date.or(r.start_date),
        expires_on: patch.expires_on.or(r.expires_on),
        requirements: patch.requirements.or_else(|| Some(current.requirements())),
    }
}

/// Close a job (the posting organisation or admin).
#[utoipa::path(tag = "jobs", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = JobOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/jobs/{id}/close")]
pub async fn close_job(
    auth: Auth<JobPoster>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "job")?;
    let caller = auth.clone();
    let job = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let current = store::jobs::get(conn, id).map_err(missing("job"))?;
                require_owner(&caller, &current)?;
                Ok(store::jobs::close(conn, id, &caller.actor())?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(JobOut::from(job)))
}

/// Jobs, newest first (any key).
#[utoipa::path(tag = "jobs", security(("api_key" = [])), params(JobListQuery),
    responses((status = 200, body = JobPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[get("/jobs")]
pub async fn list_jobs(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    q: web::Query<JobListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit)?;
    let before = uuid_cursor(q.cursor.as_deref())?;
    let org_id = match q.org_id.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            Uuid::parse_str(s).map_err(|_| ApiError::with_message(ErrorCode::InvalidQuery, "org_id is not a UUID"))?,
        ),
    };
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("open" | "closed")) => Some(s.to_owned()),
        Some(_) => return Err(ApiError::with_message(ErrorCode::InvalidQuery, "status must be open or closed")),
    };
    let jobs = state.db(move |conn| Ok(store::jobs::list(conn, org_id, status.as_deref(), before, limit)?)).await?;
    let next = next_cursor(&jobs, limit, |j| j.row.id.to_string());
    Ok(HttpResponse::Ok().json(JobPage { items: jobs.into_iter().map(JobOut::from).collect(), next_cursor: next }))
}
