//! What the demo (`qianlink demo`, crate `demo`) and the terminal chat need
//! from PostgreSQL besides the ordinary store functions: the marker that says
//! a demo province was generated here, a session setting for bulk writes, and
//! the check-in of one worker (the monthly round does every bound worker).

use crate::StoreError;
use crate::schema::{audit_log, divisions, occupations, pairings, workers};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Date, Uuid as SqlUuid};
use domain::calendar::YearMonth;
use uuid::Uuid;

/// The audit action written when a demo province is complete.
pub const MARKER_ACTION: &str = "demo.generate";

/// The marker's detail (spec and counts), if a demo province was generated here.
pub fn marker(conn: &mut PgConnection) -> Result<Option<serde_json::Value>, StoreError> {
    Ok(audit_log::table
        .filter(audit_log::action.eq(MARKER_ACTION))
        .select(audit_log::detail)
        .order(audit_log::id.desc())
        .first(conn)
        .optional()?)
}

/// Workers in the ledger (erased ones included).
pub fn worker_count(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(workers::table.count().get_result(conn)?)
}

/// (divisions, occupations, pairings) loaded by the migrations.
pub fn reference_counts(conn: &mut PgConnection) -> Result<(i64, i64, i64), StoreError> {
    Ok((
        divisions::table.count().get_result(conn)?,
        occupations::table.count().get_result(conn)?,
        pairings::table.count().get_result(conn)?,
    ))
}

/// For this session only: commits do not wait for the WAL to reach the disk.
/// A crash may lose the last commits, never corrupt anything (the demo
/// generator writes hundreds of thousands of rows and says so).
pub fn fast_writes(conn: &mut PgConnection) -> Result<(), StoreError> {
    diesel::sql_query("SET synchronous_commit = off").execute(conn)?;
    Ok(())
}

/// Queue this month's check-in for each active placement of one worker (the
/// terminal chat asks at once instead of waiting for the round on the 25th).
pub fn enqueue_checkin_for(conn: &mut PgConnection, worker: Uuid, today: NaiveDate) -> Result<usize, StoreError> {
    Ok(diesel::sql_query(
        "INSERT INTO bot_queue (worker_id, kind, placement_id, period) \
         SELECT p.worker_id, 'checkin', p.id, $2 FROM placements p \
          WHERE p.worker_id = $1 AND p.separated_on IS NULL AND p.start_date <= $3 \
         ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(worker)
    .bind::<Date, _>(YearMonth::of(today).first_day())
    .bind::<Date, _>(today)
    .execute(conn)?)
}
