//! Per-key rate limits, shared by every server process through Redis (a
//! fixed one-second window: `INCR` + `EXPIRE` in one round trip). When Redis
//! is unreachable each process falls back to its own limiter (governor), so
//! the API keeps serving.

use crate::redis_handle::RedisHandle;
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter as Governor};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use uuid::Uuid;

pub struct RateLimiter {
    redis: Arc<RedisHandle>,
    per_second: u32,
    local: Governor<Uuid, DefaultKeyedStateStore<Uuid>, DefaultClock>,
}

impl RateLimiter {
    pub fn new(redis: Arc<RedisHandle>, per_second: u32) -> Self {
        let n = NonZeroU32::new(per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        Self { redis, per_second: per_second.max(1), local: Governor::keyed(Quota::per_second(n)) }
    }

    /// `Ok` or the seconds to wait.
    pub async fn check(&self, key_id: Uuid) -> Result<(), u64> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let window = now.as_secs();
        let key = self.redis.key(&format!("rl:{key_id}:{window}"));
        let counted = self
            .redis
            .run(|mut c| async move {
                let (n,): (u64,) =
                    redis::pipe().atomic().incr(&key, 1u64).expire(&key, 2).ignore().query_async(&mut c).await?;
                Ok(n)
            })
            .await;
        match counted {
            Ok(n) if n <= u64::from(self.per_second) => Ok(()),
            Ok(_) => Err(1),
            Err(_) => match self.local.check_key(&key_id) {
                Ok(()) => Ok(()),
                Err(not_until) => {
                    let wait = not_until.wait_time_from(DefaultClock::default().now());
                    Err(wait.as_secs().max(1))
                }
            },
        }
    }
}
