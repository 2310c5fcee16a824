//! The workers' bot (#6): one-time binding codes issued by an officer.

use super::{missing, parse_id};
use crate::auth::{Auth, LedgerKeeper};
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;
use actix_web::{HttpResponse, post, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct BindingCodeOut {
    /// Ten characters; the worker sends `/start <code>` to the bot (or opens the link).
    pub code: String,
    /// `https://t.me/<bot>?start=<code>`; null while the bot has not started yet.
    pub deep_link: Option<String>,
    /// Valid for 7 days, once.
    pub expires_at: DateTime<Utc>,
}

/// Issue a one-time code that binds the worker's Telegram chat (county
/// office of the worker's county, or admin). No ID number is involved.
#[utoipa::path(tag = "bot", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 201, body = BindingCodeOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[post("/workers/{id}/binding-code")]
pub async fn binding_code(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let worker_id = parse_id(&id, "worker")?;
    let caller = auth.clone();
    let vault = state.vault.clone();
    let (code, expires_at) = state
        .db(move |conn| {
            let county = store::workers::county_of(conn, worker_id).map_err(missing("worker"))?;
            caller.require_county(&county)?;
            Ok(store::chats::create_code(conn, &vault, worker_id, &caller.actor())?)
        })
        .await?;
    let key = state.redis.key("bot:username");
    let username: Option<String> = state
        .redis
        .run(|mut c| async move { redis::cmd("GET").arg(key).query_async::<Option<String>>(&mut c).await })
        .await
        .ok()
        .flatten();
    let deep_link = username.map(|u| format!("https://t.me/{u}?start={code}"));
    Ok(HttpResponse::Created().json(BindingCodeOut { code, deep_link, expires_at }))
}
