use crate::auth::KeyCache;
use crate::error::ApiError;
use crate::ratelimit::RateLimiter;
use crate::settings::Settings;
use diesel::PgConnection;
use std::sync::Arc;
use store::StoreError;

/// What a handler may use: the process's [`app::Services`] (through `Deref`:
/// `state.pool`, `state.db(..)`, `state.today()`), and what only the HTTP
/// adapter keeps: the API key cache and the rate limiter.
#[derive(Clone)]
pub struct AppState {
    pub services: app::Services,
    pub keys: Arc<KeyCache>,
    pub limiter: Arc<RateLimiter>,
}

impl AppState {
    pub fn new(settings: Settings) -> Result<Self, StoreError> {
        let services = app::Services::new(settings)?;
        let limiter = Arc::new(RateLimiter::new(services.redis.clone(), services.settings.rate_limit_per_second));
        Ok(Self { services, keys: Arc::new(KeyCache::default()), limiter })
    }

    /// [`app::Services::db`] answering [`ApiError`], as handlers do.
    pub async fn db<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut PgConnection) -> Result<T, ApiError> + Send + 'static,
    {
        self.services.db(f).await
    }
}

impl std::ops::Deref for AppState {
    type Target = app::Services;
    fn deref(&self) -> &app::Services {
        &self.services
    }
}
