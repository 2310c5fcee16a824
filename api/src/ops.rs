//! Operations endpoints: liveness, readiness, metrics (the latter is mounted
//! by the Prometheus middleware in `startup`).

use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use diesel::RunQueryDsl;
use serde_json::json;
use std::time::Duration;

/// The process is up.
#[utoipa::path(tag = "operations", responses((status = 200, description = "The process is up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 when PostgreSQL and Redis answer; 503 naming the one that does not.
#[utoipa::path(tag = "operations", responses((status = 200, description = "Ready"), (status = 503, description = "PostgreSQL or Redis is down; `down` names it")))]
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
        Ok(()) => json!({"status": "up"}),
        Err(e) => json!({"status": "down", "error": e}),
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
    let body = json!({
        "status": if down.is_empty() { "ready" } else { "unavailable" },
        "search_index": {"lag": lag, "docs": state.search.index.num_docs()},
        "down": down,
        "postgresql": describe(&pg),
        "redis": describe(&redis),
    });
    if down.is_empty() { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
