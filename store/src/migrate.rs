//! Embedded migrations and reference data, run by `qianlink migrate` and at
//! `serve` start. Concurrent migrators wait on an advisory lock.

use crate::{StoreError, reference};
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Advisory-lock key for migrations ("qianlink" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x7169_616e_6c69;

/// Run pending migrations, then load reference data. Returns the versions applied.
pub fn run(conn: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    crate::locks::lock(conn, MIGRATION_LOCK)?;
    let result = run_locked(conn);
    let unlocked = crate::locks::unlock(conn, MIGRATION_LOCK);
    let applied = result?;
    unlocked?;
    Ok(applied)
}

fn run_locked(conn: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map_err(|e| StoreError::Other(format!("migration failed: {e}")))?
        .into_iter()
        .map(|v| v.to_string())
        .collect();
    reference::load(conn)?;
    crate::subsidies::seed_rules(conn)?;
    crate::demand::seed_pairings(conn)?;
    Ok(applied)
}

/// Revert every migration (used by the up-down-up test).
pub fn revert_all(conn: &mut PgConnection) -> Result<(), StoreError> {
    conn.revert_all_migrations(MIGRATIONS).map_err(|e| StoreError::Other(format!("revert failed: {e}")))?;
    Ok(())
}

/// Apply pending schema migrations only, without reference data.
pub fn run_schema_only(conn: &mut PgConnection) -> Result<(), StoreError> {
    conn.run_pending_migrations(MIGRATIONS).map_err(|e| StoreError::Other(format!("migration failed: {e}")))?;
    Ok(())
}
