//! The application layer: the running services ([`Services`]) and the use
//! cases that every adapter calls — REST (`api`), the workers' bot (`bot`),
//! and the channels and console to come. Adapters parse, authorise, call
//! a use case and render; nothing here speaks HTTP or Telegram.
//!
//! * [`Services`]: the pool, the one Redis handle, the vault, the settings,
//!   the matcher and the search index of this process, and what it knows of
//!   Telegram.
//! * [`matching`]: the matcher host and its use cases (plan offers for a
//!   job and for the province, recommend jobs for a worker).
//! * [`indexing`]: the search index host, kept current from the outbox.
//! * [`tasks`]: the step functions of the background loops (outbox relay,
//!   webhook deliveries, milestone scan) and their one spawner.

pub mod health;
pub mod indexing;
pub mod matching;
pub mod redis_handle;
pub mod settings;
pub mod tasks;

pub use settings::{LogFormat, Settings};

use diesel::PgConnection;
use redis_handle::RedisHandle;
use std::sync::Arc;
use store::vault::Vault;
use store::{Pool, StoreError};

/// Blocking work was cancelled before it finished (the runtime is shutting down).
#[derive(Debug, thiserror::Error)]
#[error("the blocking task was cancelled")]
pub struct Cancelled;

impl From<Cancelled> for StoreError {
    fn from(_: Cancelled) -> Self {
        StoreError::Other("the blocking task was cancelled".into())
    }
}

/// Run blocking work (SQL, ranking, tantivy) on the runtime's blocking pool,
/// off the async workers. The one helper for it: every adapter goes through it.
pub async fn blocking<T, E, F>(f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<Cancelled> + Send + 'static,
    F: FnOnce() -> Result<T, E> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|_| Cancelled)?
}

/// Run database work on a connection of `pool`, on the blocking pool.
pub async fn db_on<T, E, F>(pool: &Pool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + From<Cancelled> + Send + 'static,
    F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    blocking(move || {
        let mut conn = pool.get().map_err(StoreError::from)?;
        f(&mut conn)
    })
    .await
}

/// Everything the use cases run on, shared by every adapter of a process.
/// Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub pool: Pool,
    pub redis: Arc<RedisHandle>,
    pub vault: Vault,
    pub settings: Arc<Settings>,
    pub matcher: Arc<matching::MatcherCell>,
    pub search: Arc<indexing::Indexer>,
    /// The Telegram Bot API as the bot last saw it (for `/readyz`).
    pub telegram: Arc<health::ChannelHealth>,
}

impl Services {
    pub fn new(settings: Settings) -> Result<Self, StoreError> {
        let pool = store::pool(&settings.database_url, settings.db_pool_size)?;
        let redis = Arc::new(RedisHandle::new(&settings.redis_url, &settings.redis_prefix));
        let search = Arc::new(indexing::Indexer::open(&settings.index_dir)?);
        Ok(Self {
            pool,
            redis,
            vault: settings.vault.clone(),
            settings: Arc::new(settings),
            matcher: Arc::new(matching::MatcherCell::default()),
            search,
            telegram: Arc::new(health::ChannelHealth::default()),
        })
    }

    /// Run database work on a pooled connection, on the blocking pool.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + From<Cancelled> + Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, E> + Send + 'static,
    {
        db_on(&self.pool, f).await
    }

    /// Today's date in Guizhou.
    pub fn today(&self) -> chrono::NaiveDate {
        domain::calendar::today_in_china(chrono::Utc::now())
    }
}
