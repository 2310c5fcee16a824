//! Candidates for a job, recommendations for a worker, and offers.

use super::{limit, missing, next_cursor, parse_id, uuid_cursor};
use crate::auth::{AnyRole, Auth, JobRanker, LedgerKeeper};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::json::Json;
use crate::matching::{Offerees, PlanError, with_matcher};
use crate::state::AppState;
use actix_web::{HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use domain::OrgKind;
use matcher::rank::{Reason, Scored, Verdict};
use serde::{Deserialize, Serialize};
use store::matching::{Offer, OfferFilter};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonOut {
    /// skills, occupation, training, location, wage, priority, retention or fatigue
    pub factor: String,
    pub points: f64,
    /// In Chinese, e.g. 持有焊工证（2024年定岗培训）
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateOut {
    /// The worker's id, or for a job's poster an opaque candidate id (`c_...`)
    /// until the worker accepts the job's offer.
    pub worker_id: String,
    /// The sum of the reasons' points shown.
    pub score: f64,
    pub reasons: Vec<ReasonOut>,
    /// Name and phone: for the poster once the worker accepted its offer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateList {
    pub items: Vec<CandidateOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationOut {
    pub job_id: Uuid,
    pub title: String,
    pub score: f64,
    pub reasons: Vec<ReasonOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RecommendationList {
    pub items: Vec<RecommendationOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PairOut {
    pub worker_id: Uuid,
    pub job_id: Uuid,
    pub eligible: bool,
    pub score: Option<f64>,
    pub reasons: Vec<ReasonOut>,
    /// Why the worker is filtered out of this job.
    pub filtered_because: Vec<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct LimitQuery {
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RecommendationQuery {
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OfferInput {
    /// How many of the best eligible workers to offer the job (default: its free openings).
    pub count: Option<i64>,
    /// Or exactly these workers (each must be an eligible candidate).
    pub worker_ids: Option<Vec<Uuid>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferOut {
    pub id: Uuid,
    pub job_id: Uuid,
    pub worker_id: Uuid,
    /// queued, sent, accepted, declined, expired or cancelled
    pub status: String,
    pub score: f32,
    pub decline_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

impl From<Offer> for OfferOut {
    fn from(o: Offer) -> Self {
        Self {
            id: o.id,
            job_id: o.job_id,
            worker_id: o.worker_id,
            status: o.status,
            score: o.score,
            decline_reason: o.decline_reason,
            created_at: o.created_at,
            sent_at: o.sent_at,
            responded_at: o.responded_at,
            expires_at: o.expires_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OfferPage {
    pub items: Vec<OfferOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OfferQuery {
    #[param(schema_with = super::schema::uuid)]
    pub job_id: Option<String>,
    #[param(schema_with = super::schema::uuid)]
    pub worker_id: Option<String>,
    #[param(schema_with = super::schema::offer_status)]
    pub status: Option<String>,
    #[param(schema_with = super::schema::uuid)]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

fn reasons_out(rs: &[Reason], job_fit_only: bool) -> Vec<ReasonOut> {
    rs.iter()
        .filter(|r| !job_fit_only || r.job_fit)
        .map(|r| ReasonOut { factor: r.factor.to_owned(), points: r.points, text: r.text.clone() })
        .collect()
}

/// The best candidates for a job, each with the reasons for its score.
/// Anonymised for the poster until a worker accepts its offer; then name and
/// phone, audited (`worker.view`, purpose `matching.candidates` by default).
#[utoipa::path(tag = "matching", security(("api_key" = [])), params(("id" = String, Path), LimitQuery, crate::purpose::Purpose),
    responses((status = 200, body = CandidateList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/jobs/{id}/candidates")]
pub async fn candidates(
    auth: JobRanker,
    state: web::Data<AppState>,
    q: web::Query<LimitQuery>,
    purpose: crate::purpose::Purpose,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit.or(Some(50)))? as usize;
    let poster = auth.is_poster();
    let JobRanker { caller, job } = auth;
    let job_id = job.id;
    let today = state.today();
    let purpose = purpose.or("matching.candidates");
    let vault = state.vault.clone();
    let items = with_matcher::<_, ApiError, _>(&state, move |m, conn| {
        let ranked: Vec<(Scored, String)> = {
            let cs = m.store.read().map_err(|_| ApiError::new(ErrorCode::Internal))?;
            matcher::rank::top_candidates(&cs, &job, &m.context(), limit)
                .into_iter()
                .map(|s| {
                    let county = cs.get(s.worker_id).map(|w| w.county_code.clone()).unwrap_or_default();
                    (s, county)
                })
                .collect()
        };
        let ids: Vec<Uuid> = ranked.iter().map(|(s, _)| s.worker_id).collect();
        let accepted = store::matching::accepted(conn, job_id, &ids)?;
        let mut out = Vec::new();
        let mut shown = Vec::new();
        for (s, county) in ranked {
            if caller.keeps_county(&county) {
                out.push(CandidateOut {
                    worker_id: s.worker_id.to_string(),
                    score: s.score,
                    reasons: reasons_out(&s.reasons, false),
                    name: None,
                    phone: None,
                });
            } else if poster && accepted.contains(&s.worker_id) {
                let w = store::workers::get(conn, s.worker_id, today)?;
                let (_, phone) = store::workers::personal(conn, &vault, s.worker_id)?;
                if w.name.is_some() || phone.is_some() {
                    shown.push(s.worker_id);
                }
                let reasons = reasons_out(&s.reasons, true);
                let score = (reasons.iter().map(|r| r.points).sum::<f64>() * 10.0).round() / 10.0;
                out.push(CandidateOut { worker_id: s.worker_id.to_string(), score, reasons, name: w.name, phone });
            } else {
                let reasons = reasons_out(&s.reasons, true);
                let score = (reasons.iter().map(|r| r.points).sum::<f64>() * 10.0).round() / 10.0;
                let opaque = hex::encode(&vault.lookup_hash("candidate", &format!("{job_id}:{}", s.worker_id))[..8]);
                out.push(CandidateOut { worker_id: format!("c_{opaque}"), score, reasons, name: None, phone: None });
            }
        }
        use store::audit::Field;
        store::audit::record_views(
            conn,
            &caller.actor(),
            "GET /v1/jobs/{id}/candidates",
            &purpose,
            &[Field::Name, Field::Phone],
            &shown,
        )?;
        Ok(out)
    })
    .await?;
    Ok(HttpResponse::Ok().json(CandidateList { items }))
}

/// Explain one worker for one job, including why they are filtered out
/// (admin and the county office of the worker's county).
#[utoipa::path(tag = "matching", security(("api_key" = [])), params(("id" = String, Path), ("worker_id" = String, Path)),
    responses((status = 200, body = PairOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/jobs/{id}/candidates/{worker_id}")]
pub async fn candidate(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (job, worker) = path.into_inner();
    let job_id = parse_id(&job, "job")?;
    let worker_id = parse_id(&worker, "worker")?;
    let caller = auth.clone();
    let today = state.today();
    let out = with_matcher::<_, ApiError, _>(&state, move |m, conn| {
        let county = store::workers::county_of(conn, worker_id).map_err(missing("worker"))?;
        caller.require_county(&county)?;
        let job = store::matching::job_snapshot(conn, job_id, today).map_err(missing("job"))?;
        let cs = m.store.read().map_err(|_| ApiError::new(ErrorCode::Internal))?;
        let Some(w) = cs.get(worker_id) else {
            return Ok(PairOut {
                worker_id,
                job_id,
                eligible: false,
                score: None,
                reasons: vec![],
                filtered_because: vec!["工人档案已删除".into()],
            });
        };
        Ok(match matcher::rank::explain(&job, w, cs.zero_employment(w.household_id), &m.context()) {
            Verdict::Eligible(s) => PairOut {
                worker_id,
                job_id,
                eligible: true,
                score: Some(s.score),
                reasons: reasons_out(&s.reasons, false),
                filtered_because: vec![],
            },
            Verdict::Filtered { reasons } => {
                PairOut { worker_id, job_id, eligible: false, score: None, reasons: vec![], filtered_because: reasons }
            }
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(out))
}

/// Jobs for a worker, best first (admin and the worker's county office).
#[utoipa::path(tag = "matching", security(("api_key" = [])), params(("id" = String, Path), RecommendationQuery),
    responses((status = 200, body = RecommendationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/workers/{id}/job-recommendations")]
pub async fn recommendations(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<RecommendationQuery>,
) -> Result<HttpResponse, ApiError> {
    let worker_id = parse_id(&id, "worker")?;
    let limit = match q.limit {
        None => 20,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => return Err(ApiError::with_message(ErrorCode::InvalidQuery, "limit must be between 1 and 100")),
    };
    let caller = auth.clone();
    let today = state.today();
    let items = with_matcher::<_, ApiError, _>(&state, move |m, conn| {
        let county = store::workers::county_of(conn, worker_id).map_err(missing("worker"))?;
        caller.require_county(&county)?;
        recommend(m, conn, worker_id, limit, today)
    })
    .await?;
    Ok(HttpResponse::Ok().json(RecommendationList { items }))
}

/// The recommend-jobs use case ([`crate::matching::recommend_jobs`]) as the API shows it.
fn recommend(
    m: &crate::matching::Matcher,
    conn: &mut diesel::PgConnection,
    worker_id: Uuid,
    limit: usize,
    today: chrono::NaiveDate,
) -> Result<Vec<RecommendationOut>, ApiError> {
    Ok(crate::matching::recommend_jobs(m, conn, worker_id, limit, today)?
        .into_iter()
        .map(|r| RecommendationOut {
            job_id: r.scored.job_id,
            title: r.title,
            score: r.scored.score,
            reasons: reasons_out(&r.scored.reasons, false),
        })
        .collect())
}

/// Plan offers for a job: the best eligible workers not yet offered it (or
/// the given ones), within each worker's caps; queued for the bot to send.
#[utoipa::path(tag = "matching", security(("api_key" = [])), params(("id" = String, Path)), request_body = OfferInput,
    responses((status = 201, body = OfferPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/jobs/{id}/offers")]
pub async fn plan_offers(
    auth: JobRanker,
    state: web::Data<AppState>,
    body: Json<OfferInput>,
) -> Result<HttpResponse, ApiError> {
    if body.count.is_some_and(|c| !(1..=500).contains(&c)) {
        return Err(ApiError::field("count", "must be between 1 and 500"));
    }
    if body.worker_ids.as_ref().is_some_and(|w| w.is_empty() || w.len() > 500) {
        return Err(ApiError::field("worker_ids", "must list 1 to 500 workers"));
    }
    let input_count = body.count;
    let explicit = body.worker_ids.clone();
    let JobRanker { caller, job } = auth;
    let offers = with_matcher::<_, ApiError, _>(&state, move |m, conn| {
        let who = match explicit {
            Some(ids) => Offerees::These(ids),
            None => Offerees::Best(input_count.map(|c| c as usize)),
        };
        crate::matching::plan_for_job(m, conn, &job, &who, Some(caller.org_id), &caller.actor()).map_err(|e| match e {
            PlanError::Store(e) => e.into(),
            PlanError::NotEligible(p) => p.into(),
            e @ (PlanError::JobClosed | PlanError::NoOpenings) => ApiError::conflict(e.to_string()),
        })
    })
    .await?;
    Ok(HttpResponse::Created()
        .json(OfferPage { items: offers.into_iter().map(OfferOut::from).collect(), next_cursor: None }))
}

/// Offers: a poster sees those of its jobs, a county office those of its
/// workers, admin all.
#[utoipa::path(tag = "matching", security(("api_key" = [])), params(OfferQuery),
    responses((status = 200, body = OfferPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/offers")]
pub async fn list_offers(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    q: web::Query<OfferQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit)?;
    let after = uuid_cursor(q.cursor.as_deref())?;
    let bad = |f: &str| ApiError::with_message(ErrorCode::InvalidQuery, format!("{f} is not a UUID"));
    let job_id = q
        .job_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| Uuid::parse_str(s).map_err(|_| bad("job_id")))
        .transpose()?;
    let worker_id = q
        .worker_id
        .as_deref()
        .filter(|s| !s.is_empty())
        .map(|s| Uuid::parse_str(s).map_err(|_| bad("worker_id")))
        .transpose()?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("queued" | "sent" | "accepted" | "declined" | "expired" | "cancelled")) => Some(s.to_owned()),
        Some(_) => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidQuery,
                "status must be queued, sent, accepted, declined, expired or cancelled",
            ));
        }
    };
    let (job_org, county) = match auth.kind {
        OrgKind::Admin => (None, None),
        OrgKind::CountyOffice => (None, auth.county_code.clone()),
        _ => (Some(auth.org_id), None),
    };
    let f = OfferFilter { job_id, worker_id, status, job_org, county, after, limit };
    let rows = state.db(move |conn| Ok(store::matching::list_offers(conn, &f)?)).await?;
    let next = next_cursor(&rows, limit, |o| o.id.to_string());
    Ok(HttpResponse::Ok().json(OfferPage { items: rows.into_iter().map(OfferOut::from).collect(), next_cursor: next }))
}
