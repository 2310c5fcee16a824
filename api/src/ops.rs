//! Operations endpoints: liveness, readiness, metrics (the latter is mounted
//! by the Prometheus middleware in `startup`).

use crate::error::ErrorBody;
use crate::health::ChannelState;
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` (all answer), `degraded` (Redis or the Telegram Bot API does not: the API still
    /// serves every request, with per-process rate limits, while the relay and the bot wait for
    /// them) or `unavailable` (PostgreSQL does not).
    pub status: &'static str,
    pub search_index: IndexState,
    /// The services that do not answer: `postgresql`, `redis`, `telegram`.
    pub down: Vec<&'static str>,
    pub postgresql: ServiceState,
    pub redis: ServiceState,
    /// The Telegram Bot API as this process's bot last saw it: `up`, `down` (retried with
    /// backoff; the bot starts by itself when it answers), `starting` or `disabled` (no token).
    /// Telegram down never makes this answer 503: the process serves everything else.
    pub telegram: ServiceState,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IndexState {
    /// Outbox rows not yet in this process's index (null when unknown).
    pub lag: Option<i64>,
    pub docs: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceState {
    /// `up` or `down` (`telegram` also `starting` or `disabled`).
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RedisNeed {
    /// Redis down is 503, like PostgreSQL down (the default).
    #[default]
    Required,
    /// Redis down is 200 `degraded`: for a load balancer, which should keep a replica that serves.
    Optional,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ReadyQuery {
    /// `required` (default): 503 when Redis is down too. `optional`: 200 `degraded` when only
    /// Redis is down, since the API still serves every request then.
    #[param(inline, nullable = false)]
    pub redis: Option<RedisNeed>,
}

/// 200 when PostgreSQL and Redis answer (`degraded`, naming `telegram`, while the Telegram Bot API
/// does not); 503 naming the one that does not. With `redis=optional`,
/// Redis down alone is 200 `degraded` (naming it in `down`): the API serves without Redis, so a
/// load balancer should not take the replica out.
#[utoipa::path(tag = "operations", params(ReadyQuery), responses(
    (status = 200, description = "Ready; or, with `redis=optional`, `degraded` with `down` naming `redis`", body = Readiness),
    (status = 400, description = "`redis` is neither `required` nor `optional`", body = ErrorBody),
    (status = 503, description = "PostgreSQL or (unless `redis=optional`) Redis is down; `down` names it", body = Readiness)))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>, q: web::Query<ReadyQuery>) -> HttpResponse {
    let pool = state.pool.clone();
    let pg = app::blocking(move || store::ping(&pool, Duration::from_secs(2)));
    let (pg, redis) = futures_util::future::join(pg, state.redis.ping()).await;
    let pg = pg.map_err(|e| e.to_string());
    let describe = |r: &Result<(), String>| match r {
        Ok(()) => ServiceState { status: "up", error: None },
        Err(e) => ServiceState { status: "down", error: Some(e.clone()) },
    };
    let redis = redis.map_err(|e| e.to_string());
    let telegram = match state.telegram.get() {
        ChannelState::Disabled => ServiceState { status: "disabled", error: None },
        ChannelState::Starting => ServiceState { status: "starting", error: None },
        ChannelState::Up => ServiceState { status: "up", error: None },
        ChannelState::Down { error, since } => {
            ServiceState { status: "down", error: Some(format!("{error} (since {})", since.to_rfc3339())) }
        }
    };
    let mut down = Vec::new();
    if pg.is_err() {
        down.push("postgresql");
    }
    if redis.is_err() {
        down.push("redis");
    }
    if telegram.status == "down" {
        down.push("telegram");
    }
    let (indexer, pool) = (state.search.clone(), state.pool.clone());
    let lag = app::blocking(move || indexer.lag(&pool)).await.ok();
    let body = Readiness {
        status: match (&pg, &redis) {
            (Err(_), _) => "unavailable",
            (Ok(()), Err(_)) => "degraded",
            (Ok(()), Ok(())) if telegram.status == "down" => "degraded",
            (Ok(()), Ok(())) => "ready",
        },
        search_index: IndexState { lag, docs: state.search.index.num_docs() },
        postgresql: describe(&pg),
        redis: describe(&redis),
        telegram,
        down,
    };
    let serving = match q.redis.unwrap_or_default() {
        RedisNeed::Required => pg.is_ok() && redis.is_ok(),
        RedisNeed::Optional => pg.is_ok(),
    };
    if serving {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", crate::error::RETRY_UNAVAILABLE_SECS.to_string()))
            .json(body)
    }
}
