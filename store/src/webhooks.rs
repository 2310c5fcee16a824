//! Publishing subsidy events: the outbox relay's bookkeeping and webhook
//! deliveries (a PostgreSQL job queue claimed with `FOR UPDATE SKIP LOCKED`).

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox::{self, Cursor};
use crate::schema::{webhook_deliveries, webhooks};
use crate::subsidies::{Event, events_by_ids};
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use uuid::Uuid;

pub const RELAY_CONSUMER: &str = "relay:subsidy-events";
const RELAY_LOCK: i64 = 0x7169_7265_6c61; // "qirela"

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = webhooks)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    pub created_by_org_id: Option<Uuid>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

pub fn create(
    conn: &mut PgConnection,
    vault: &Vault,
    url: &str,
    secret: &str,
    actor: &Actor,
) -> Result<Webhook, StoreError> {
    conn.transaction(|conn| {
        let id = Uuid::now_v7();
        let w = diesel::insert_into(webhooks::table)
            .values((
                webhooks::id.eq(id),
                webhooks::url.eq(url),
                webhooks::secret_enc.eq(vault.encrypt(secret)),
                webhooks::created_by_org_id.eq(actor.org_id),
            ))
            .returning(Webhook::as_returning())
            .get_result(conn)?;
        audit::record(conn, actor, "webhook.create", "webhook", &id.to_string(), serde_json::json!({"url": url}))?;
        Ok(w)
    })
}

pub fn list(conn: &mut PgConnection) -> Result<Vec<Webhook>, StoreError> {
    Ok(webhooks::table.select(Webhook::as_select()).order(webhooks::id).load(conn)?)
}

/// One step of the relay, in one transaction that holds the relay lock:
/// read subsidy events after the relay's cursor, hand them to `publish`
/// (the Redis stream), queue a delivery per active webhook, and advance the
/// cursor. If `publish` fails nothing advances and the step is retried; if
/// the commit fails after `publish` succeeded, the step is retried too and
/// `publish` sees the same events again (it must skip what it already
/// published: `api::tasks::relay_once` does). Returns the number of
/// events published, or `None` when another replica holds the lock.
pub fn relay_step(
    conn: &mut PgConnection,
    limit: i64,
    publish: &mut dyn FnMut(&[Event]) -> Result<(), String>,
) -> Result<Option<usize>, StoreError> {
    conn.transaction(|conn| {
        if !crate::locks::try_lock_for_transaction(conn, RELAY_LOCK)? {
            return Ok(None);
        }
        let cursor = outbox::cursor(conn, RELAY_CONSUMER)?;
        let rows = outbox::read_batch(conn, cursor, limit)?;
        let Some(last) = rows.last().map(|r| r.cursor()) else { return Ok(Some(0)) };
        let ids: Vec<Uuid> = rows
            .iter()
            .filter(|r| r.topic() == Some(crate::outbox::Topic::SubsidyEventCreated))
            .filter_map(|r| r.payload.get("event_id").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok()))
            .collect();
        let mut events = events_by_ids(conn, &ids)?;
        events.sort_by_key(|e| e.id);
        if !events.is_empty() {
            publish(&events).map_err(|e| StoreError::Other(format!("publishing to the stream failed: {e}")))?;
            let hooks: Vec<Uuid> = webhooks::table.filter(webhooks::active.eq(true)).select(webhooks::id).load(conn)?;
            let rows: Vec<_> = hooks
                .iter()
                .flat_map(|h| {
                    events
                        .iter()
                        .map(move |e| (webhook_deliveries::webhook_id.eq(*h), webhook_deliveries::event_id.eq(e.id)))
                })
                .collect();
            for chunk in rows.chunks(1000) {
                diesel::insert_into(webhook_deliveries::table).values(chunk).on_conflict_do_nothing().execute(conn)?;
            }
        }
        outbox::advance(conn, RELAY_CONSUMER, last)?;
        Ok(Some(events.len()))
    })
}

/// Rows of the outbox the relay has not passed yet.
pub fn relay_lag(conn: &mut PgConnection) -> Result<i64, StoreError> {
    let c: Cursor = outbox::cursor(conn, RELAY_CONSUMER)?;
    outbox::lag(conn, c)
}

/// A claimed delivery: what to send where.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub url: String,
    pub secret: String,
    pub event: Event,
    pub attempts: i32,
}

#[derive(QueryableByName)]
struct Claimed {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    webhook_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    event_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    attempts: i32,
}

/// Claim up to `limit` due deliveries. Claiming pushes the next attempt into
/// the future (exponential back-off, at most an hour), so a delivery whose
/// sender dies is retried later by anyone.
pub fn claim(conn: &mut PgConnection, vault: &Vault, limit: i64) -> Result<Vec<Delivery>, StoreError> {
    conn.transaction(|conn| {
        let claimed: Vec<Claimed> = diesel::sql_query(
            "UPDATE webhook_deliveries d SET attempts = d.attempts + 1, \
                    next_attempt_at = now() + make_interval(secs => least(3600, power(2, d.attempts + 1))::int) \
              WHERE d.id IN (SELECT id FROM webhook_deliveries WHERE delivered_at IS NULL AND next_attempt_at <= now() \
                             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED) \
              RETURNING d.id, d.webhook_id, d.event_id, d.attempts",
        )
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = claimed.iter().map(|c| c.event_id).collect();
        let events = events_by_ids(conn, &ids)?;
        let hooks: Vec<(Uuid, String, Vec<u8>)> =
            webhooks::table.select((webhooks::id, webhooks::url, webhooks::secret_enc)).load(conn)?;
        let mut out = Vec::new();
        for c in claimed {
            let (Some(e), Some((_, url, secret))) =
                (events.iter().find(|e| e.id == c.event_id), hooks.iter().find(|h| h.0 == c.webhook_id))
            else {
                continue;
            };
            let secret = vault.decrypt(secret).map_err(|e| StoreError::Other(e.to_string()))?;
            out.push(Delivery { id: c.id, url: url.clone(), secret, event: e.clone(), attempts: c.attempts });
        }
        Ok(out)
    })
}

pub fn delivered(conn: &mut PgConnection, id: i64) -> Result<(), StoreError> {
    diesel::update(webhook_deliveries::table.find(id))
        .set((webhook_deliveries::delivered_at.eq(diesel::dsl::now), webhook_deliveries::last_error.eq(None::<String>)))
        .execute(conn)?;
    Ok(())
}

pub fn failed(conn: &mut PgConnection, id: i64, error: &str) -> Result<(), StoreError> {
    diesel::update(webhook_deliveries::table.find(id))
        .set(webhook_deliveries::last_error.eq(error.chars().take(500).collect::<String>()))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: i64,
    pub webhook_id: Uuid,
    pub event_id: Uuid,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

pub fn deliveries(conn: &mut PgConnection) -> Result<Vec<DeliveryRow>, StoreError> {
    Ok(webhook_deliveries::table.select(DeliveryRow::as_select()).order(webhook_deliveries::id).load(conn)?)
}
