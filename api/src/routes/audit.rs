//! The audit log (admin).

use super::limit;
use crate::auth::{AdminOnly, Auth};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditOut {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor_org_id: Option<Uuid>,
    pub actor_key_id: Option<Uuid>,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub detail: serde_json::Value,
    pub request_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AuditQuery {
    /// e.g. worker, job, organization, api_key
    pub entity: Option<String>,
    /// The record's id. Views (`worker.view`) match when the worker is among
    /// the entry's `detail.worker_ids` (a page of a list names every worker in it).
    pub id: Option<String>,
    /// e.g. worker.view (every view of a worker's name, full phone or full ID
    /// number), worker.erase, worker.update.
    pub action: Option<String>,
    #[param(schema_with = super::schema::audit_cursor)]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Who did what, when, to which record (admin). Every view of a worker's
/// name, full phone or full ID number is an entry `worker.view` with the
/// fields shown, the workers' ids and the purpose given.
#[utoipa::path(tag = "audit", security(("api_key" = [])), params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/audit")]
pub async fn list_audit(
    _auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    q: web::Query<AuditQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit)?;
    let after = match q.cursor.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::with_message(ErrorCode::InvalidQuery, "cursor is not one this API gave out"))?,
        ),
    };
    let entity = q.entity.clone().filter(|s| !s.is_empty());
    let id = q.id.clone().filter(|s| !s.is_empty());
    let action = q.action.clone().filter(|s| !s.is_empty());
    let rows = state
        .db(move |conn| {
            let f = store::audit::Filter {
                entity: entity.as_deref(),
                entity_id: id.as_deref(),
                action: action.as_deref(),
                after,
                limit,
            };
            Ok(store::audit::list(conn, &f)?)
        })
        .await?;
    let next = super::next_cursor(&rows, limit, |a| a.id.to_string());
    Ok(HttpResponse::Ok().json(AuditPage {
        items: rows
            .into_iter()
            .map(|a| AuditOut {
                id: a.id,
                at: a.at,
                actor_org_id: a.actor_org_id,
                actor_key_id: a.actor_key_id,
                action: a.action,
                entity: a.entity,
                entity_id: a.entity_id,
                detail: a.detail,
                request_id: a.request_id,
            })
            .collect(),
        next_cursor: next,
    }))
}
