//! What the bot keeps in Redis: dialogue states (so a conversation survives
//! a restart), the send rates shared by every process (overall and per
//! chat), and the dispatcher's journal of deliveries not yet recorded in
//! PostgreSQL. Redis holds only what may be lost: a lost dialogue state makes
//! the worker press a button again; lost rate state starts the pacing
//! afresh; a lost journal turns a crash's in-flight rows into `maybe_sent`
//! resends (what happened before the journal existed).

use crate::core::Dialogue;
use app::redis_handle::RedisHandle;
use redis::aio::ConnectionManager;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Dialogue states expire after a week without a message.
const DIALOGUE_TTL_SECS: u64 = 7 * 24 * 3600;

/// A lazily opened Redis connection of the bot's, from the process's one
/// Redis handle (`app::redis_handle`), with every key under its prefix.
pub struct Shared {
    redis: Arc<RedisHandle>,
    conn: OnceCell<ConnectionManager>,
    prefix: String,
}

impl Shared {
    pub fn new(redis: Arc<RedisHandle>) -> Self {
        let prefix = redis.key("");
        Self { redis, conn: OnceCell::new(), prefix }
    }

    pub fn key(&self, name: &str) -> String {
        format!("{}bot:{}", self.prefix, name)
    }

    pub async fn conn(&self) -> redis::RedisResult<ConnectionManager> {
        let c =
            self.conn
                .get_or_try_init(|| async move {
                    self.redis.patient_manager(Duration::from_secs(2)).await.map_err(|e| {
                        redis::RedisError::from((redis::ErrorKind::Io, "redis is unreachable", e.to_string()))
                    })
                })
                .await?;
        Ok(c.clone())
    }

    fn dialogue_key(&self, channel: &str, chat: &str) -> String {
        format!("{}{}", self.prefix, app::redis_handle::bot_keys::dialogue(channel, chat))
    }

    /// The chat's dialogue state (`Idle` when none or unreadable).
    pub async fn load_dialogue(&self, channel: &str, chat: &str) -> redis::RedisResult<Dialogue> {
        let mut c = self.conn().await?;
        let raw: Option<String> = redis::cmd("GET").arg(self.dialogue_key(channel, chat)).query_async(&mut c).await?;
        Ok(raw.and_then(|r| serde_json::from_str(&r).ok()).unwrap_or_default())
    }

    pub async fn save_dialogue(&self, channel: &str, chat: &str, d: &Dialogue) -> redis::RedisResult<()> {
        let mut c = self.conn().await?;
        let key = self.dialogue_key(channel, chat);
        if *d == Dialogue::Idle {
            redis::cmd("DEL").arg(key).query_async::<()>(&mut c).await
        } else {
            let json = serde_json::to_string(d).unwrap_or_default();
            redis::cmd("SET").arg(key).arg(json).arg("EX").arg(DIALOGUE_TTL_SECS).query_async::<()>(&mut c).await
        }
    }

    /// Reserve send slots for a batch of chats, in order: for each chat the
    /// offset from now (µs) of its slot, or `Err(wait)` when the chat had a
    /// message less than `per_chat` ago (no slot is taken then). Slots are
    /// `1 / rate` apart across every process sharing this Redis.
    pub async fn reserve(
        &self,
        chats: &[String],
        rate: f64,
        per_chat: Duration,
    ) -> redis::RedisResult<Vec<Result<Duration, Duration>>> {
        let raw = self.run_reserve(chats, rate, per_chat, false).await?;
        Ok(raw
            .into_iter()
            .map(|v| {
                if v >= 0 { Ok(Duration::from_micros(v as u64)) } else { Err(Duration::from_micros(v.unsigned_abs())) }
            })
            .collect())
    }

    async fn run_reserve(
        &self,
        chats: &[String],
        rate: f64,
        per_chat: Duration,
        reply: bool,
    ) -> redis::RedisResult<Vec<i64>> {
        let script = redis::Script::new(RESERVE);
        let mut inv = script.key(self.key("rate:global"));
        for c in chats {
            inv.key(format!("{}{}", self.prefix, app::redis_handle::bot_keys::chat_rate(c)));
        }
        let interval_us = (1_000_000.0 / rate.max(0.001)).round() as i64;
        inv.arg(interval_us).arg(per_chat.as_micros() as i64).arg(if reply { 1 } else { 0 });
        let mut c = self.conn().await?;
        inv.invoke_async(&mut c).await
    }

    /// One overall slot for an interactive reply: its offset from now. The
    /// reply does not wait for the chat (it answers the worker at once) but
    /// marks it busy for `per_chat`, so that pushes keep their distance.
    pub async fn reserve_reply(&self, chat: &str, rate: f64, per_chat: Duration) -> redis::RedisResult<Duration> {
        let raw = self.run_reserve(&[chat.to_owned()], rate, per_chat, true).await?;
        Ok(Duration::from_micros(raw.first().copied().unwrap_or(0).max(0) as u64))
    }

    fn journal_key(&self, channel: &str) -> String {
        self.key(&format!("delivered:{channel}"))
    }

    /// Note a delivery the moment the channel confirms it (row id → message
    /// id), before it is recorded in PostgreSQL in a batch: a dispatcher that
    /// takes over after a crash reads it and does not send the row again.
    pub async fn journal_sent(&self, channel: &str, row: i64, message_id: i64) -> redis::RedisResult<()> {
        let mut c = self.conn().await?;
        redis::cmd("HSET").arg(self.journal_key(channel)).arg(row).arg(message_id).query_async::<()>(&mut c).await
    }

    /// Every delivery noted and not yet forgotten: (row id, message id).
    pub async fn journal(&self, channel: &str) -> redis::RedisResult<Vec<(i64, i64)>> {
        let mut c = self.conn().await?;
        let all: std::collections::HashMap<i64, i64> =
            redis::cmd("HGETALL").arg(self.journal_key(channel)).query_async(&mut c).await?;
        Ok(all.into_iter().collect())
    }

    /// The rows are recorded in PostgreSQL: drop them from the journal.
    pub async fn journal_forget(&self, channel: &str, rows: &[i64]) -> redis::RedisResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let mut c = self.conn().await?;
        redis::cmd("HDEL").arg(self.journal_key(channel)).arg(rows).query_async::<()>(&mut c).await
    }

    /// Telegram said 429: no process sends before `after` has passed.
    pub async fn pause(&self, after: Duration) -> redis::RedisResult<()> {
        let mut c = self.conn().await?;
        redis::Script::new(PAUSE)
            .key(self.key("rate:global"))
            .arg(after.as_micros() as i64)
            .invoke_async::<i64>(&mut c)
            .await
            .map(|_| ())
    }
}

/// KEYS[1]: the overall schedule (next free slot, µs since the epoch);
/// KEYS[2..]: per-chat next free time. ARGV: slot interval, per-chat
/// interval (µs), and `1` for a reply: it never waits for its chat, but
/// keeps the chat busy for the per-chat interval.
const RESERVE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local gi = tonumber(ARGV[1])
local ci = tonumber(ARGV[2])
local reply = ARGV[3] == '1'
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local out = {}
for i = 2, #KEYS do
  local ctat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if ctat > tat and not reply then
    out[#out + 1] = -(ctat - now)
  else
    out[#out + 1] = tat - now
    local busy = tat + ci
    if ctat > busy then busy = ctat end
    redis.call('SET', KEYS[i], string.format('%d', busy), 'PX', math.floor((busy - now) / 1000) + 1000)
    tat = tat + gi
  end
end
redis.call('SET', KEYS[1], string.format('%d', tat), 'PX', math.floor((tat - now) / 1000) + 60000)
return out
";

const PAUSE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local till = now + tonumber(ARGV[1])
if till > tat then
  redis.call('SET', KEYS[1], string.format('%d', till), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 60000)
end
return 1
";
