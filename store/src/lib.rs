//! The only crate that speaks SQL. Everything that reads or writes
//! PostgreSQL lives here: the diesel schema, the embedded migrations and
//! reference data, the transactional outbox, and one module per aggregate.

pub mod audit;
pub mod chats;
pub mod demand;
pub mod demo;
pub mod error;
pub mod jobs;
pub mod locks;
pub mod matching;
pub mod migrate;
pub mod monitoring;
pub mod offers;
pub mod orgs;
pub mod outbox;
pub mod placements;
pub mod push_queue;
pub mod reference;
pub mod schema;
pub mod search;
pub mod subsidies;
pub mod vault;
pub mod webhooks;
pub mod workers;

pub use error::StoreError;

use diesel::PgConnection;
use diesel::r2d2::{ConnectionManager, Pool as R2Pool, PooledConnection};
use std::time::Duration;

pub type Pool = R2Pool<ConnectionManager<PgConnection>>;
pub type Conn = PooledConnection<ConnectionManager<PgConnection>>;

/// A connection pool that does not connect until first used, so a server can
/// start (and answer `/readyz` with 503) while PostgreSQL is down.
///
/// Every connection is tested (`SELECT 1`) when it is checked out: diesel
/// marks a connection broken only when a transaction on it fails, so without
/// the test a connection that PostgreSQL dropped (a restart, a network cut)
/// would go back to the pool and fail every plain query given to it, for
/// ever. The test costs one round trip per checkout.
pub fn pool(database_url: &str, max_size: u32) -> Result<Pool, StoreError> {
    R2Pool::builder()
        .max_size(max_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(5))
        .test_on_check_out(true)
        .build(ConnectionManager::<PgConnection>::new(database_url))
        .map_err(|e| StoreError::Unavailable(e.to_string()))
}

/// Does PostgreSQL answer through the pool within `wait` (for `/readyz`)?
pub fn ping(pool: &Pool, wait: Duration) -> Result<(), StoreError> {
    use diesel::RunQueryDsl;
    let mut conn = pool.get_timeout(wait).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    diesel::sql_query("SELECT 1").execute(&mut conn)?;
    Ok(())
}

/// Open one connection now, with a short timeout, to prove the database answers.
pub fn connect(database_url: &str) -> Result<PgConnection, StoreError> {
    use diesel::Connection;
    PgConnection::establish(database_url).map_err(|e| StoreError::Unavailable(e.to_string()))
}
