//! A Redis connection that is optional by design: Redis holds only what may
//! be lost or rebuilt, so when it is down the API keeps serving. Every call
//! has a short deadline, and after a failure Redis is skipped for a second
//! instead of making every request wait for it.

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

const OP_TIMEOUT: Duration = Duration::from_millis(250);
const BACKOFF: Duration = Duration::from_secs(1);

pub struct RedisHandle {
    client: Option<redis::Client>,
    manager: OnceCell<ConnectionManager>,
    last_failure: Mutex<Option<Instant>>,
    prefix: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RedisDown {
    #[error("redis is unreachable: {0}")]
    Unreachable(String),
}

/// The bot's keys about one chat, under the prefix. Named here (the bot
/// crate uses these functions) so that the API can forget a chat when its
/// worker is erased.
pub mod bot_keys {
    /// The conversation state of a chat.
    pub fn dialogue(channel: &str, chat: &str) -> String {
        format!("bot:dialogue:{channel}:{chat}")
    }

    /// When the chat last had a message (the per-chat rate limit).
    pub fn chat_rate(chat: &str) -> String {
        format!("bot:rate:chat:{chat}")
    }
}

impl RedisHandle {
    /// Delete the bot's state of these chats (channel, chat id): after an
    /// erasure has committed. When Redis is down the state stays until it
    /// expires (dialogues after 7 days, rate marks after seconds).
    pub async fn forget_chats(&self, chats: &[(String, String)]) -> Result<(), RedisDown> {
        if chats.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = chats
            .iter()
            .flat_map(|(channel, chat)| {
                [self.key(&bot_keys::dialogue(channel, chat)), self.key(&bot_keys::chat_rate(chat))]
            })
            .collect();
        self.run(|mut c| async move { redis::cmd("DEL").arg(keys).query_async::<()>(&mut c).await }).await
    }

    pub fn new(url: &str, prefix: &str) -> Self {
        Self {
            client: redis::Client::open(url).ok(),
            manager: OnceCell::new(),
            last_failure: Mutex::new(None),
            prefix: prefix.to_owned(),
        }
    }

    /// `prefix + name`: every key this process writes.
    pub fn key(&self, name: &str) -> String {
        format!("{}{}", self.prefix, name)
    }

    fn recently_failed(&self) -> bool {
        match self.last_failure.lock() {
            Ok(g) => g.is_some_and(|t| t.elapsed() < BACKOFF),
            Err(_) => false,
        }
    }

    fn mark_failed(&self) {
        if let Ok(mut g) = self.last_failure.lock() {
            *g = Some(Instant::now());
        }
    }

    async fn manager(&self) -> Result<ConnectionManager, RedisDown> {
        let client = self.client()?;
        let m = self
            .manager
            .get_or_try_init(|| async move {
                let cfg = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(OP_TIMEOUT))
                    .set_response_timeout(Some(OP_TIMEOUT))
                    .set_number_of_retries(1);
                tokio::time::timeout(OP_TIMEOUT * 2, ConnectionManager::new_with_config(client, cfg))
                    .await
                    .map_err(|_| RedisDown::Unreachable("connection timed out".into()))?
                    .map_err(|e| RedisDown::Unreachable(e.to_string()))
            })
            .await?;
        Ok(m.clone())
    }

    /// Run `f` on a connection with a deadline; fail fast while Redis is known down.
    pub async fn run<T, F, Fut>(&self, f: F) -> Result<T, RedisDown>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        if self.recently_failed() {
            return Err(RedisDown::Unreachable("recently unreachable".into()));
        }
        let result = match self.manager().await {
            Ok(conn) => match tokio::time::timeout(OP_TIMEOUT, f(conn)).await {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(RedisDown::Unreachable(e.to_string())),
                Err(_) => Err(RedisDown::Unreachable("command timed out".into())),
            },
            Err(e) => Err(e),
        };
        if result.is_err() {
            self.mark_failed();
        }
        result
    }

    /// The one client of this process (every connection is opened from it).
    fn client(&self) -> Result<redis::Client, RedisDown> {
        self.client.clone().ok_or_else(|| RedisDown::Unreachable("REDIS_URL is not a valid redis:// URL".into()))
    }

    /// A connection of its own with longer deadlines than [`Self::run`]'s,
    /// for work that may wait on Redis (the bot's pacing scripts and journal);
    /// it reconnects by itself.
    pub async fn patient_manager(&self, timeout: Duration) -> Result<ConnectionManager, RedisDown> {
        let cfg =
            ConnectionManagerConfig::new().set_connection_timeout(Some(timeout)).set_response_timeout(Some(timeout));
        ConnectionManager::new_with_config(self.client()?, cfg).await.map_err(|e| RedisDown::Unreachable(e.to_string()))
    }

    /// A subscription to `channel` (prefixed by the caller), connected within `timeout`.
    pub async fn subscribe(&self, channel: &str, timeout: Duration) -> Result<redis::aio::PubSub, RedisDown> {
        let mut pubsub = tokio::time::timeout(timeout, self.client()?.get_async_pubsub())
            .await
            .map_err(|_| RedisDown::Unreachable("connecting timed out".into()))?
            .map_err(|e| RedisDown::Unreachable(e.to_string()))?;
        pubsub.subscribe(channel).await.map_err(|e| RedisDown::Unreachable(e.to_string()))?;
        Ok(pubsub)
    }

    /// A blocking connection, for steps that run on the blocking pool (the outbox relay).
    pub fn blocking_connection(&self, timeout: Duration) -> Result<redis::Connection, RedisDown> {
        self.client()?.get_connection_with_timeout(timeout).map_err(|e| RedisDown::Unreachable(e.to_string()))
    }

    /// PING with a deadline, ignoring the back-off (for `/readyz`).
    pub async fn ping(&self) -> Result<(), RedisDown> {
        let conn = self.manager().await?;
        let mut c = conn;
        match tokio::time::timeout(OP_TIMEOUT, redis::cmd("PING").query_async::<String>(&mut c)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(RedisDown::Unreachable(e.to_string())),
            Err(_) => Err(RedisDown::Unreachable("PING timed out".into())),
        }
    }
}
