//! PostgreSQL advisory locks: the one place that takes and releases them.
//! Singleton work (the milestone scan, the outbox relay, the bot dispatcher,
//! migrations) holds one so that replicas take turns.

use crate::StoreError;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool};

#[derive(QueryableByName)]
struct Got {
    #[diesel(sql_type = Bool)]
    got: bool,
}

/// Wait for the session-level lock `key` (released by [`unlock`] or when the connection closes).
pub fn lock(conn: &mut PgConnection, key: i64) -> Result<(), StoreError> {
    diesel::sql_query("SELECT pg_advisory_lock($1)").bind::<BigInt, _>(key).execute(conn)?;
    Ok(())
}

/// Take the session-level lock `key` if nobody holds it.
pub fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool, StoreError> {
    let g: Got = diesel::sql_query("SELECT pg_try_advisory_lock($1) AS got").bind::<BigInt, _>(key).get_result(conn)?;
    Ok(g.got)
}

/// Take the lock `key` for the rest of the current transaction, if nobody holds it.
pub fn try_lock_for_transaction(conn: &mut PgConnection, key: i64) -> Result<bool, StoreError> {
    let g: Got =
        diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS got").bind::<BigInt, _>(key).get_result(conn)?;
    Ok(g.got)
}

pub fn unlock(conn: &mut PgConnection, key: i64) -> Result<(), StoreError> {
    diesel::sql_query("SELECT pg_advisory_unlock($1)").bind::<BigInt, _>(key).execute(conn)?;
    Ok(())
}

/// Is this connection (and so a session lock held on it) still alive?
pub fn alive(conn: &mut PgConnection) -> bool {
    diesel::sql_query("SELECT 1").execute(conn).is_ok()
}
