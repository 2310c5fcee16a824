//! The transactional outbox (DESIGN.md, "One truth, written once").
//!
//! `publish` is called inside the transaction that makes the change. A
//! consumer reads with [`read_batch`]: only rows written by transactions that
//! ended before every still-running transaction began
//! (`txid < pg_snapshot_xmin(pg_current_snapshot())`), in `(txid, id)` order,
//! after its own cursor. A transaction still running when a consumer reads has
//! a txid at or above that horizon, and so does every later one, so a row
//! that commits late always sorts after the cursor: nothing is skipped.

use crate::StoreError;
use crate::schema::{outbox, outbox_cursors};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

#[derive(Debug, Clone, Queryable, QueryableByName, serde::Serialize)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub txid: i64,
    pub topic: String,
    pub aggregate_id: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// Position of a consumer: the last (txid, id) it has applied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub txid: i64,
    pub id: i64,
}

impl OutboxRow {
    pub fn cursor(&self) -> Cursor {
        Cursor { txid: self.txid, id: self.id }
    }
}

macro_rules! topics {
    ($($variant:ident = $s:literal => $aggregate:ident),+ $(,)?) => {
        /// Every kind of change the outbox announces; its row's `topic` is `as_str()`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Topic { $($variant),+ }

        impl Topic {
            pub const ALL: &'static [Topic] = &[$(Topic::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $(Topic::$variant => $s),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($s => Some(Topic::$variant),)+ _ => None }
            }
            /// The kind of record the change is about.
            pub fn aggregate(self) -> Aggregate {
                match self { $(Topic::$variant => Aggregate::$aggregate),+ }
            }
        }
    };
}

/// What a change is about: consumers subscribe by aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    Job,
    Worker,
    Offer,
    Placement,
    SubsidyEvent,
}

topics! {
    JobCreated = "job.created" => Job,
    JobUpdated = "job.updated" => Job,
    JobClosed = "job.closed" => Job,
    WorkerCreated = "worker.created" => Worker,
    WorkerUpdated = "worker.updated" => Worker,
    WorkerErased = "worker.erased" => Worker,
    WorkerMonitored = "worker.monitored" => Worker,
    WorkerTrainingAdded = "worker.training_added" => Worker,
    OfferQueued = "offer.queued" => Offer,
    OfferAccepted = "offer.accepted" => Offer,
    OfferDeclined = "offer.declined" => Offer,
    OfferExpired = "offer.expired" => Offer,
    PlacementCreated = "placement.created" => Placement,
    PlacementReported = "placement.reported" => Placement,
    PlacementSeparated = "placement.separated" => Placement,
    SubsidyEventCreated = "subsidy_event.created" => SubsidyEvent,
    SubsidyEventReviewed = "subsidy_event.reviewed" => SubsidyEvent,
}

impl OutboxRow {
    /// The row's topic (None for a topic this build does not know, written by a newer one).
    pub fn topic(&self) -> Option<Topic> {
        Topic::parse(&self.topic)
    }

    pub fn is_about(&self, a: Aggregate) -> bool {
        self.topic().is_some_and(|t| t.aggregate() == a)
    }
}

/// Announce a change. Call it in the same transaction as the change.
pub fn publish(
    conn: &mut PgConnection,
    topic: Topic,
    aggregate_id: &str,
    payload: serde_json::Value,
) -> Result<(), StoreError> {
    publish_many(conn, &[(topic, aggregate_id.to_owned(), payload)])
}

/// Announce many changes at once (an import, a scan), in one statement.
pub fn publish_many(conn: &mut PgConnection, changes: &[(Topic, String, serde_json::Value)]) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = changes
        .iter()
        .map(|(t, id, payload)| {
            (outbox::topic.eq(t.as_str()), outbox::aggregate_id.eq(id.as_str()), outbox::payload.eq(payload))
        })
        .collect();
    diesel::insert_into(outbox::table).values(&rows).execute(conn)?;
    Ok(())
}

/// The consumer's cursor (zero when it has never read).
pub fn cursor(conn: &mut PgConnection, consumer: &str) -> Result<Cursor, StoreError> {
    let row: Option<(i64, i64)> = outbox_cursors::table
        .find(consumer)
        .select((outbox_cursors::last_txid, outbox_cursors::last_id))
        .first(conn)
        .optional()?;
    Ok(row.map(|(txid, id)| Cursor { txid, id }).unwrap_or_default())
}

/// Up to `limit` rows after `after` that can no longer be joined by an earlier one.
pub fn read_batch(conn: &mut PgConnection, after: Cursor, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT id, txid, topic, aggregate_id, payload, created_at FROM outbox \
         WHERE (txid, id) > ($1, $2) \
           AND txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
         ORDER BY txid, id LIMIT $3",
    )
    .bind::<BigInt, _>(after.txid)
    .bind::<BigInt, _>(after.id)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// Store a consumer's new position (never moves backwards).
pub fn advance(conn: &mut PgConnection, consumer: &str, to: Cursor) -> Result<(), StoreError> {
    diesel::sql_query(
        "INSERT INTO outbox_cursors (consumer, last_txid, last_id, updated_at) \
         VALUES ($1, $2, $3, now()) \
         ON CONFLICT (consumer) DO UPDATE SET last_txid = EXCLUDED.last_txid, \
           last_id = EXCLUDED.last_id, updated_at = now() \
         WHERE (outbox_cursors.last_txid, outbox_cursors.last_id) < (EXCLUDED.last_txid, EXCLUDED.last_id)",
    )
    .bind::<Text, _>(consumer)
    .bind::<BigInt, _>(to.txid)
    .bind::<BigInt, _>(to.id)
    .execute(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How many rows the consumer has not applied yet (committed or not yet readable).
pub fn lag(conn: &mut PgConnection, after: Cursor) -> Result<i64, StoreError> {
    let c: Count = diesel::sql_query("SELECT count(*) AS n FROM outbox WHERE (txid, id) > ($1, $2)")
        .bind::<BigInt, _>(after.txid)
        .bind::<BigInt, _>(after.id)
        .get_result(conn)?;
    Ok(c.n)
}

/// The last row a consumer could read now: where a consumer that has just
/// loaded a full snapshot starts tailing (rows after it are applied again,
/// which loaders make harmless).
pub fn horizon(conn: &mut PgConnection) -> Result<Cursor, StoreError> {
    #[derive(QueryableByName)]
    struct H {
        #[diesel(sql_type = BigInt)]
        txid: i64,
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let h: Option<H> = diesel::sql_query(
        "SELECT txid, id FROM outbox WHERE txid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint \
         ORDER BY txid DESC, id DESC LIMIT 1",
    )
    .get_result(conn)
    .optional()?;
    Ok(h.map(|h| Cursor { txid: h.txid, id: h.id }).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_reads_back_and_names_its_aggregate() {
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.as_str()), Some(*t));
            let prefix = t.as_str().split('.').next().unwrap_or_default();
            let expected = match t.aggregate() {
                Aggregate::Job => "job",
                Aggregate::Worker => "worker",
                Aggregate::Offer => "offer",
                Aggregate::Placement => "placement",
                Aggregate::SubsidyEvent => "subsidy_event",
            };
            assert_eq!(prefix, expected, "{t:?}");
        }
        assert_eq!(Topic::parse("job"), None);
    }
}
