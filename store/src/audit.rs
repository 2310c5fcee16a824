//! The audit log: every write and every view of a worker's name, full phone
//! or full ID number, with who, what, when, which records and (for views)
//! why. Written in the same transaction as the change, or in the request
//! that shows the data.

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

/// The personal fields a view may show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Name,
    /// The full phone number (a masked one is not personal data here).
    Phone,
    /// The full ID number.
    IdNumber,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Phone => "phone",
            Field::IdNumber => "id_number",
        }
    }
}

/// The action of a view entry.
pub const VIEW: &str = "worker.view";

/// Record that `actor` was shown `fields` of these workers, and why: one
/// entry for the whole page (one insert, whatever its size), action
/// `worker.view`, entity `worker`, entity id the worker's id when there is
/// one (else `list`), detail `{"fields", "worker_ids", "purpose", "route"}`.
/// Nothing is written when no worker's personal data was shown. `purpose`
/// and `route` must not hold personal data (the API checks the purpose).
pub fn record_views(
    conn: &mut PgConnection,
    actor: &Actor,
    route: &str,
    purpose: &str,
    fields: &[Field],
    worker_ids: &[Uuid],
) -> Result<(), StoreError> {
    if worker_ids.is_empty() || fields.is_empty() {
        return Ok(());
    }
    let mut fields: Vec<Field> = fields.to_vec();
    fields.sort_unstable();
    fields.dedup();
    let mut ids: Vec<Uuid> = Vec::with_capacity(worker_ids.len());
    let mut seen = std::collections::HashSet::with_capacity(worker_ids.len());
    for id in worker_ids {
        if seen.insert(*id) {
            ids.push(*id);
        }
    }
    let entity_id = match ids.as_slice() {
        [one] => one.to_string(),
        _ => "list".to_owned(),
    };
    record(
        conn,
        actor,
        VIEW,
        "worker",
        &entity_id,
        serde_json::json!({
            "fields": fields.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            "worker_ids": ids,
            "purpose": purpose,
            "route": route,
        }),
    )
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    pub entity: Option<&'a str>,
    /// The record's id; a view entry matches when the record is among its `worker_ids`.
    pub entity_id: Option<&'a str>,
    pub action: Option<&'a str>,
    pub after: Option<i64>,
    pub limit: i64,
}

/// Entries filtered by entity, id and action, oldest first, after `after`.
pub fn list(conn: &mut PgConnection, f: &Filter<'_>) -> Result<Vec<AuditEntry>, StoreError> {
    use diesel::dsl::sql;
    use diesel::sql_types::{Bool, Jsonb};
    let Filter { entity, entity_id, action, after, limit } = *f;
    let mut q = audit_log::table.select(AuditEntry::as_select()).into_boxed();
    if let Some(e) = entity {
        q = q.filter(audit_log::entity.eq(e.to_owned()));
    }
    if let Some(i) = entity_id {
        q = q.filter(
            audit_log::entity_id
                .eq(i.to_owned())
                .or(sql::<Bool>("(detail -> 'worker_ids') @> ").bind::<Jsonb, _>(serde_json::json!([i]))),
        );
    }
    if let Some(a) = action {
        q = q.filter(audit_log::action.eq(a.to_owned()));
    }
    if let Some(a) = after {
        q = q.filter(audit_log::id.gt(a));
    }
    Ok(q.order(audit_log::id).limit(limit).load(conn)?)
}
