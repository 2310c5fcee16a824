//! The audit log: every write and every revealed ID number, with who, what,
//! when and which record. Written in the same transaction as the change.

use crate::StoreError;
use crate::schema::audit_log;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

/// Who did it: the calling organisation and key, and the request id.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub org_id: Option<Uuid>,
    pub key_id: Option<Uuid>,
    pub request_id: Option<String>,
}

impl Actor {
    /// The command line or the server itself.
    pub fn system() -> Self {
        Self::default()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry {
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

/// Record one action. `detail` must never hold an ID number or phone number.
pub fn record(
    conn: &mut PgConnection,
    actor: &Actor,
    action: &str,
    entity: &str,
    entity_id: &str,
    detail: serde_json::Value,
) -> Result<(), StoreError> {
    diesel::insert_into(audit_log::table)
        .values((
            audit_log::actor_org_id.eq(actor.org_id),
            audit_log::actor_key_id.eq(actor.key_id),
            audit_log::action.eq(action),
            audit_log::entity.eq(entity),
            audit_log::entity_id.eq(entity_id),
            audit_log::detail.eq(detail),
            audit_log::request_id.eq(actor.request_id.as_deref()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Entries filtered by entity and id, newest last, after `after`.
pub fn list(
    conn: &mut PgConnection,
    entity: Option<&str>,
    entity_id: Option<&str>,
    after: Option<i64>,
    limit: i64,
) -> Result<Vec<AuditEntry>, StoreError> {
    let mut q = audit_log::table.select(AuditEntry::as_select()).into_boxed();
    if let Some(e) = entity {
        q = q.filter(audit_log::entity.eq(e.to_owned()));
    }
    if let Some(i) = entity_id {
        q = q.filter(audit_log::entity_id.eq(i.to_owned()));
    }
    if let Some(a) = after {
        q = q.filter(audit_log::id.gt(a));
    }
    Ok(q.order(audit_log::id).limit(limit).load(conn)?)
}
