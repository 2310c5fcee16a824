use crate::auth::KeyCache;
use crate::error::ApiError;
use crate::ratelimit::RateLimiter;
use crate::redis_handle::RedisHandle;
use crate::settings::Settings;
use diesel::PgConnection;
use std::sync::Arc;
use store::vault::Vault;
use store::{Pool, StoreError};

/// Everything a handler may use, shared by all workers.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
    pub redis: Arc<RedisHandle>,
    pub vault: Vault,
    pub settings: Arc<Settings>,
    pub keys: Arc<KeyCache>,
    pub limiter: Arc<RateLimiter>,
    pub matcher: Arc<crate::matching::MatcherCell>,
    pub search: Arc<crate::indexing::Indexer>,
    /// The Telegram Bot API as the bot last saw it (for `/readyz`).
    pub telegram: Arc<crate::health::ChannelHealth>,
}

impl AppState {
    pub fn new(settings: Settings) -> Result<Self, StoreError> {
        let pool = store::pool(&settings.database_url, settings.db_pool_size)?;
        let redis = Arc::new(RedisHandle::new(&settings.redis_url, &settings.redis_prefix));
        let limiter = Arc::new(RateLimiter::new(redis.clone(), settings.rate_limit_per_second));
        let search = Arc::new(crate::indexing::Indexer::open(&settings.index_dir)?);
        Ok(Self {
            pool,
            redis,
            vault: settings.vault.clone(),
            settings: Arc::new(settings),
            keys: Arc::new(KeyCache::default()),
            limiter,
            matcher: Arc::new(crate::matching::MatcherCell::default()),
            search,
            telegram: Arc::new(crate::health::ChannelHealth::default()),
        })
    }

    /// Run blocking database work on the blocking pool, off the async workers.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await?
    }

    /// Today's date in Guizhou.
    pub fn today(&self) -> chrono::NaiveDate {
        domain::calendar::today_in_china(chrono::Utc::now())
    }
}
