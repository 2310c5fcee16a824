//! The dispatcher: drains `bot_queue` (offers, check-ins, surveys) to a
//! channel under the rate limits, durably.
//!
//! * **One at a time.** A process sends only while it holds the PostgreSQL
//!   advisory lock [`store::push_queue::DISPATCHER_LOCK`] on a connection of its
//!   own; the others poll for it every second (standby) and take over when
//!   the holder dies (PostgreSQL releases the lock with the connection).
//! * **Pacing: one authority, evenly spaced.** Every message, push or
//!   reply, from every process, takes a slot in one overall schedule kept in
//!   Redis (GCRA: slots `1 / (RATE_MARGIN × rate)` apart, i.e. 97 % of
//!   `QIANLINK_BOT_RATE`), and a push also needs its chat to be free (one
//!   message per chat per second; a chat that is not free yet goes back to
//!   the queue with a `not_before`). Each send waits for its own slot, so
//!   messages leave one by one at even intervals, never in bursts.
//! * **The gate.** A process that stalls (CPU, a pause of the runtime) would
//!   find several slots past when it wakes and send them at once. The
//!   [`Pacer`]'s gate forbids that: no two sends of a process are closer than
//!   `1 / (GATE_MARGIN × rate)` (98.5 %), so a backlog drains a little faster
//!   than the schedule, never in a burst. The 3 % between schedule and rate
//!   absorbs the spread of HTTP latencies (about 30 ms of it before a sliding
//!   one-second window could gain a message); the gate's 1.5 % absorbs 15 ms
//!   while catching up.
//! * **No `Throttle`.** teloxide's `Throttle` keeps its limits per process
//!   and releases queued requests in bursts on a 250 ms tick: behind an exact
//!   schedule it only added bursts (a sliding window saw 1,100 at 1,000/s)
//!   and cost throughput (94.9 %). The Redis schedule is shared by every
//!   process and already spaces every message, so there is no `Throttle` at
//!   all. If Redis is unreachable, pushes stop (the rows go back to the
//!   queue) while replies to workers still go out, paced by the gate alone.
//! * **Errors.** `429` → every sender pauses for `retry_after` (in-process and
//!   in Redis) and the row is retried after it; `403` (the worker blocked
//!   the bot) → the chat is marked unreachable and nothing more is sent to
//!   it; network errors → retry with exponential backoff (up to 10 attempts).
//!   Only a send that was tried and failed counts as an attempt: a row put
//!   back unsent (Redis unreachable, the per-chat limit, a 429 pause) gets
//!   back the attempt its claim counted, however long the outage.
//! * **Durability.** A row is claimed as `sending` before it is sent and
//!   recorded as `sent` with the channel's message id after (in batches,
//!   every 100 ms). The moment the channel confirms a message, its row and
//!   message id are also noted in a Redis journal ([`Shared::journal_sent`]),
//!   which the recorder clears once PostgreSQL has them. A dispatcher taking
//!   over after a crash records what the journal holds as sent, and sends the
//!   other rows found in `sending` again, flagged `maybe_sent`. A duplicate
//!   is therefore possible only for a message whose request was under way
//!   when the process died (Telegram had it, the journal not yet): about a
//!   millisecond's worth of messages. If Redis lost the journal too, every
//!   row in `sending` is resent, flagged. Both copies carry the same buttons
//!   and answers are idempotent; a message is never lost.

use crate::core::{self, Reply};
use crate::service::offer_view;
use crate::shared::Shared;
use diesel::prelude::*;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use store::Pool;
use store::push_queue::{Content, Delivery, Outgoing};
use tokio::sync::{Semaphore, mpsc};

/// The overall schedule's slots are `1 / (RATE_MARGIN × rate)` apart.
pub const RATE_MARGIN: f64 = 0.97;

/// No two sends of one process closer than `1 / (GATE_MARGIN × rate)`.
pub const GATE_MARGIN: f64 = 0.985;

/// The pacing every message of a process goes through: slots in the shared
/// schedule (Redis) and the process's gate.
pub struct Pacer {
    shared: Arc<Shared>,
    /// The configured overall rate (messages per second).
    rate: f64,
    per_chat: Duration,
    /// The earliest time this process may send again.
    gate: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    pub fn new(shared: Arc<Shared>, rate: u32, per_chat: Duration) -> Self {
        Self {
            shared,
            rate: f64::from(rate.max(1)),
            per_chat,
            gate: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    fn slot_rate(&self) -> f64 {
        self.rate * RATE_MARGIN
    }

    /// Slots for a batch of pushes: each chat's offset from now, or
    /// `Err(wait)` for a chat that is not free yet.
    pub async fn reserve(&self, chats: &[String]) -> redis::RedisResult<Vec<Result<Duration, Duration>>> {
        self.shared.reserve(chats, self.slot_rate(), self.per_chat).await
    }

    /// Wait until this process may send again, and take that moment.
    pub async fn gate(&self) {
        let gap = Duration::from_secs_f64(1.0 / (self.rate * GATE_MARGIN));
        let at = {
            let mut next = self.gate.lock().await;
            let at = (*next).max(tokio::time::Instant::now());
            *next = at + gap;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Before a reply to a worker: the next overall slot, then the gate.
    /// Without Redis the reply still goes out, paced by the gate.
    pub async fn reply(&self, chat: &str) {
        match self.shared.reserve_reply(chat, self.slot_rate(), self.per_chat).await {
            Ok(wait) => tokio::time::sleep(wait).await,
            Err(e) => tracing::debug!(error = %e, "bot: no shared slot for a reply; the gate alone paces it"),
        }
        self.gate().await;
    }
}

/// What a channel answered to one message.
#[derive(Debug, Clone)]
pub enum SendResult {
    /// Delivered; the channel's message id.
    Sent(i64),
    /// Rate limited (Telegram 429): wait this long.
    RetryAfter(Duration),
    /// The recipient refuses the bot (Telegram 403).
    Blocked(String),
    /// Network trouble: try again later.
    Transient(String),
    /// Refused for good (e.g. a malformed message).
    Permanent(String),
}

/// A channel that can push a message to a chat.
pub trait Transport: Send + Sync + 'static {
    fn channel(&self) -> &'static str;
    fn send(&self, chat_id: &str, reply: &Reply) -> impl Future<Output = SendResult> + Send;
}

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// Overall messages per second across every process (`QIANLINK_BOT_RATE`).
    pub rate: u32,
    /// Minimum time between two messages to one chat.
    pub per_chat: Duration,
    /// How often a standby tries to take the lock.
    pub standby_poll: Duration,
    /// How often an idle dispatcher looks for new rows.
    pub idle_poll: Duration,
    /// Messages in flight at once.
    pub concurrency: usize,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            rate: 25,
            per_chat: Duration::from_secs(1),
            standby_poll: Duration::from_secs(1),
            idle_poll: Duration::from_millis(200),
            concurrency: 1024,
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

struct Leader {
    conn: PgConnection,
}

/// Try to take the dispatcher lock on a connection of its own.
fn try_lead(database_url: &str) -> Result<Option<Leader>, String> {
    let mut conn = PgConnection::establish(database_url).map_err(|e| e.to_string())?;
    let got = store::locks::try_lock(&mut conn, store::push_queue::DISPATCHER_LOCK).map_err(|e| e.to_string())?;
    Ok(got.then_some(Leader { conn }))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    app::blocking(move || Ok::<_, app::Cancelled>(f())).await.ok()
}

/// Run forever: stand by until this process holds the lock, then send.
pub async fn run<T: Transport>(
    pool: Pool,
    database_url: String,
    shared: Arc<Shared>,
    pacer: Arc<Pacer>,
    transport: Arc<T>,
    cfg: DispatchConfig,
) {
    let mut said_standby = false;
    loop {
        let url = database_url.clone();
        match blocking(move || try_lead(&url)).await {
            Some(Ok(Some(leader))) => {
                tracing::info!(channel = transport.channel(), rate = cfg.rate, "dispatcher: this process sends");
                said_standby = false;
                lead(leader, &pool, &shared, &pacer, &transport, &cfg).await;
                tracing::warn!("dispatcher: lost the lock; standing by");
            }
            Some(Ok(None)) if !said_standby => {
                tracing::info!("dispatcher: another process sends; standing by");
                said_standby = true;
            }
            Some(Ok(None)) => {}
            Some(Err(e)) => tracing::warn!(error = %e, "dispatcher: cannot reach PostgreSQL"),
            None => {}
        }
        tokio::time::sleep(cfg.standby_poll).await;
    }
}

async fn db<T: Send + 'static>(
    pool: &Pool,
    f: impl FnOnce(&mut PgConnection) -> Result<T, store::StoreError> + Send + 'static,
) -> Result<T, store::StoreError> {
    app::db_on(pool, f).await
}

/// The recorder: outcomes are written in batches (every 100 ms or 500 rows),
/// then the deliveries among them leave the Redis journal.
async fn recorder(pool: Pool, shared: Arc<Shared>, channel: &'static str, mut rx: mpsc::UnboundedReceiver<Delivery>) {
    let mut batch: Vec<Delivery> = Vec::new();
    loop {
        let got = tokio::time::timeout(Duration::from_millis(100), rx.recv()).await;
        let closed = matches!(got, Ok(None));
        if let Ok(Some(d)) = got {
            batch.push(d);
            while batch.len() < 500 {
                match rx.try_recv() {
                    Ok(d) => batch.push(d),
                    Err(_) => break,
                }
            }
            if batch.len() < 500 {
                // Gather a little more before writing.
                let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
                while batch.len() < 500 {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(d)) => batch.push(d),
                        _ => break,
                    }
                }
            }
        }
        if !batch.is_empty() {
            let b = std::mem::take(&mut batch);
            let mut attempt = 0;
            loop {
                let bb = b.clone();
                match db(&pool, move |conn| store::push_queue::record(conn, &bb)).await {
                    Ok(()) => {
                        let sent: Vec<i64> = b
                            .iter()
                            .filter_map(|d| if let Delivery::Sent { id, .. } = d { Some(*id) } else { None })
                            .collect();
                        if let Err(e) = shared.journal_forget(channel, &sent).await {
                            tracing::debug!(error = %e, "dispatcher: cannot clear the delivery journal");
                        }
                        break;
                    }
                    Err(e) => {
                        attempt += 1;
                        tracing::warn!(error = %e, attempt, "dispatcher: cannot record deliveries; retrying");
                        if attempt > 30 {
                            tracing::error!("dispatcher: giving up recording {} deliveries", b.len());
                            break;
                        }
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        }
        if closed {
            return;
        }
    }
}

fn backoff(attempts: i32) -> f64 {
    2f64.powi(attempts.clamp(0, 8)).min(300.0)
}

async fn lead<T: Transport>(
    mut leader: Leader,
    pool: &Pool,
    shared: &Arc<Shared>,
    pacer: &Arc<Pacer>,
    transport: &Arc<T>,
    cfg: &DispatchConfig,
) {
    let channel = transport.channel();
    // Rows in flight at the last crash: those the journal saw delivered are
    // recorded as sent; the others are sent again, flagged maybe_sent.
    let journal = match shared.journal(channel).await {
        Ok(j) => j,
        Err(e) => {
            tracing::warn!(error = %e, "dispatcher: cannot read the delivery journal; rows in flight are resent");
            Vec::new()
        }
    };
    let noted: Vec<i64> = journal.iter().map(|(row, _)| *row).collect();
    match db(pool, move |conn| store::push_queue::recover_in_flight(conn, &journal)).await {
        Ok((recorded, resent)) => {
            if recorded + resent > 0 {
                tracing::warn!(
                    recorded,
                    resent,
                    "dispatcher: rows in flight at the last crash (resent ones: maybe_sent)"
                )
            }
            if let Err(e) = shared.journal_forget(channel, &noted).await {
                tracing::debug!(error = %e, "dispatcher: cannot clear the delivery journal");
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "dispatcher: cannot recover rows in flight");
            return;
        }
    }
    let (tx, rx) = mpsc::unbounded_channel::<Delivery>();
    // Every task of this dispatcher lives in these sets: when the dispatcher
    // stops (or is aborted), so do they, like in a crash.
    let mut recorder_set = tokio::task::JoinSet::new();
    recorder_set.spawn(recorder(pool.clone(), shared.clone(), channel, rx));
    let mut sends = tokio::task::JoinSet::new();
    let inflight = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let paused_until = Arc::new(AtomicU64::new(0));
    let batch_max = ((f64::from(cfg.rate.max(1)) * RATE_MARGIN / 2.0).ceil() as usize).clamp(1, 500);
    let mut last_check = Instant::now();
    loop {
        // Still the leader? (The lock lives as long as this connection.)
        if last_check.elapsed() > Duration::from_secs(1) {
            let Leader { conn } = leader;
            let Some((c, ok)) = blocking(move || {
                let mut c = conn;
                let ok = store::locks::alive(&mut c);
                (c, ok)
            })
            .await
            else {
                break;
            };
            leader = Leader { conn: c };
            if !ok {
                break;
            }
            last_check = Instant::now();
        }
        while sends.try_join_next().is_some() {}
        let room = inflight.available_permits().min(batch_max);
        if room == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let claimed = match db(pool, move |conn| store::push_queue::claim(conn, channel, room as i64)).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "dispatcher: claim failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if claimed.is_empty() {
            tokio::time::sleep(cfg.idle_poll).await;
            continue;
        }
        let mut sendable: Vec<(Outgoing, Reply)> = Vec::new();
        for o in claimed {
            let reply = match &o.content {
                Content::Offer(card) => core::offer_message(&offer_view(card)),
                Content::Checkin { placement_id, employer } => core::checkin_message(*placement_id, employer),
                Content::Survey { period } => crate::survey::start_message(*period),
                Content::Skip(why) => {
                    let _ = tx.send(Delivery::Skipped { id: o.id, reason: (*why).to_owned() });
                    continue;
                }
            };
            sendable.push((o, reply));
        }
        if sendable.is_empty() {
            continue;
        }
        let chats: Vec<String> = sendable.iter().map(|(o, _)| o.chat_id.clone()).collect();
        let slots = match pacer.reserve(&chats).await {
            Ok(s) => s,
            Err(e) => {
                // Without the shared limits nothing is sent: put the rows back.
                tracing::warn!(error = %e, "dispatcher: Redis unreachable; pausing");
                for (o, _) in sendable {
                    let _ = tx.send(Delivery::Retry {
                        id: o.id,
                        after_secs: 1.0,
                        error: "redis unreachable".into(),
                        attempted: false,
                    });
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let base = tokio::time::Instant::now();
        let mut last_slot = Duration::ZERO;
        for ((o, reply), slot) in sendable.into_iter().zip(slots) {
            let at = match slot {
                Ok(at) => at,
                Err(wait) => {
                    let _ = tx.send(Delivery::Retry {
                        id: o.id,
                        after_secs: wait.as_secs_f64().max(0.05),
                        error: "per-chat limit".into(),
                        attempted: false,
                    });
                    continue;
                }
            };
            last_slot = last_slot.max(at);
            let Ok(permit) = inflight.clone().acquire_owned().await else { break };
            let (tx, transport, shared, pacer, paused) =
                (tx.clone(), transport.clone(), shared.clone(), pacer.clone(), paused_until.clone());
            sends.spawn(async move {
                let _permit = permit;
                tokio::time::sleep_until(base + at).await;
                pacer.gate().await;
                let pause = paused.load(Ordering::Relaxed);
                let now = now_ms();
                if pause > now {
                    let _ = tx.send(Delivery::Retry {
                        id: o.id,
                        after_secs: (pause - now) as f64 / 1000.0,
                        error: "paused after 429".into(),
                        attempted: false,
                    });
                    return;
                }
                if o.maybe_sent {
                    tracing::info!(row = o.id, "dispatcher: resending a message that may have been delivered");
                }
                let d = match transport.send(&o.chat_id, &reply).await {
                    SendResult::Sent(message_id) => {
                        if let Err(e) = shared.journal_sent(transport.channel(), o.id, message_id).await {
                            tracing::debug!(error = %e, "dispatcher: cannot note a delivery in the journal");
                        }
                        Delivery::Sent { id: o.id, message_id }
                    }
                    SendResult::RetryAfter(after) => {
                        paused.fetch_max(now_ms() + after.as_millis() as u64, Ordering::Relaxed);
                        if let Err(e) = shared.pause(after).await {
                            tracing::warn!(error = %e, "dispatcher: cannot share the 429 pause");
                        }
                        tracing::warn!(after_secs = after.as_secs_f64(), "dispatcher: 429, pausing");
                        Delivery::Retry {
                            id: o.id,
                            after_secs: after.as_secs_f64(),
                            error: "429".into(),
                            attempted: false,
                        }
                    }
                    SendResult::Blocked(e) => Delivery::Unreachable {
                        id: o.id,
                        channel: transport.channel().to_owned(),
                        chat_id: o.chat_id.clone(),
                        error: e,
                    },
                    SendResult::Transient(e) if o.attempts < 10 => {
                        Delivery::Retry { id: o.id, after_secs: backoff(o.attempts), error: e, attempted: true }
                    }
                    SendResult::Transient(e) | SendResult::Permanent(e) => Delivery::Failed { id: o.id, error: e },
                };
                let _ = tx.send(d);
            });
        }
        // Claim the next batch well before this one's last slot: claiming
        // and reserving must never leave the schedule idle (a slot not taken
        // in time is lost), even with a slow database.
        let lead_time = Duration::from_millis(400);
        if last_slot > lead_time {
            tokio::time::sleep_until(base + last_slot - lead_time).await;
        }
    }
    drop(tx);
    // Let the tasks in flight finish and their outcomes be recorded.
    while sends.join_next().await.is_some() {}
    while recorder_set.join_next().await.is_some() {}
}
