//! Operations endpoints: liveness, readiness, metrics (the latter is mounted
//! by the Prometheus middleware in `startup`).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use diesel::RunQueryDsl;
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` (both answer), `degraded` (Redis does not: the API serves with per-process rate
    /// limits while the relay and the bot wait) or `unavailable` (PostgreSQL does not).
    pub status: &'static str,
    pub search_index: IndexState,
    /// The services that do not answer: `postgresql`, `redis`.
    pub down: Vec<&'static str>,
    pub postgresql: ServiceState,
    pub redis: ServiceState,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IndexState {
    /// Outbox rows not yet in this process's index (null when unknown).
    pub lag: Option<i64>,
    pub docs: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceState {
    /// `up` or `down`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, description = "The process is up", body = Health)))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// 200 while PostgreSQL answers (`ready`, or `degraded` naming `redis` in `down` when Redis does
/// not: the API still serves every request then); 503 when PostgreSQL does not, since no request
/// can be served without it.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Serving: `ready`, or `degraded` with `down` naming `redis`", body = Readiness),
    (status = 503, description = "PostgreSQL is down; `down` names it (and `redis` if that is down too)", body = Readiness)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let pg = web::block(move || -> Result<(), String> {
        let mut conn = pool.get_timeout(Duration::from_secs(2)).map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1").execute(&mut conn).map_err(|e| e.to_string())?;
        Ok(())
    });
    let (pg, redis) = futures_util::future::join(pg, state.redis.ping()).await;
    let pg = pg.map_err(|e| e.to_string()).and_then(|r| r);
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => ServiceState { status: "up", error: None },
        Err(e) => ServiceState { status: "down", error: Some(e.clone()) },
    };
    let redis = redis.map_err(|e| e.to_string());
    let mut down = Vec::new();
    if pg.is_err() {
        down.push("postgresql");
    }
    if redis.is_err() {
        down.push("redis");
    }
    let (indexer, pool) = (state.search.clone(), state.pool.clone());
    let lag = web::block(move || indexer.lag(&pool).ok()).await.ok().flatten();
    let body = Readiness {
        status: match (&pg, &redis) {
            (Err(_), _) => "unavailable",
            (Ok(()), Err(_)) => "degraded",
            (Ok(()), Ok(())) => "ready",
        },
        search_index: IndexState { lag, docs: state.search.index.num_docs() },
        postgresql: describe(&pg),
        redis: describe(&redis),
        down,
    };
    if pg.is_ok() { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
