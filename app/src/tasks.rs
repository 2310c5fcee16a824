//! Background work inside `serve`, as step functions that tests call
//! directly and one [`spawn`] that `qianlink serve` calls (the only place
//! the loops start): the search index and matcher catch-up, the outbox relay
//! that publishes subsidy events to the Redis stream and queues webhook
//! deliveries, the webhook sender, the daily milestone scan, and the pushes'
//! housekeeping (offer expiry, the monthly check-in round, surveys for chats
//! bound late). Each is safe to run in several replicas: the relay and the
//! scan take PostgreSQL advisory locks, deliveries are claimed with
//! `FOR UPDATE SKIP LOCKED`, and housekeeping's writes are idempotent
//! (unique keys).

use crate::Services;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;
use store::StoreError;
use store::subsidies::Event;

/// The Redis stream of subsidy events (`qianlink:subsidy-events` with the default prefix).
pub fn stream_key(state: &Services) -> String {
    state.redis.key("subsidy-events")
}

/// What goes into the stream and to webhooks: the event without its trace.
pub fn event_payload(e: &Event) -> serde_json::Value {
    serde_json::json!({
        "id": e.id, "rule_id": e.rule_id, "rule_version": e.rule_version,
        "payee_kind": e.payee_kind, "payee_id": e.payee_id, "amount": e.amount,
        "worker_id": e.worker_id, "placement_id": e.placement_id, "training_id": e.training_id,
        "county_code": e.county_code, "deciding_date": e.deciding_date, "as_of": e.as_of, "status": e.status,
    })
}

/// How long the relay remembers which events it put in the stream.
pub const PUBLISHED_MEMORY_SECS: u64 = 7 * 24 * 3600;

/// Adds each event to the stream unless its id was published within the
/// memory window: a step whose XADD went through but whose commit was lost
/// (the process died, PostgreSQL or the network cut the connection) is run
/// again, and must not put its events in the stream twice. The ids sit in a
/// sorted set scored by publication time, trimmed to the window.
const PUBLISH_ONCE: &str = r"
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]))
local added = 0
for i = 3, #ARGV, 2 do
  if redis.call('ZADD', KEYS[2], 'NX', now, ARGV[i]) == 1 then
    redis.call('XADD', KEYS[1], '*', 'event_id', ARGV[i], 'payload', ARGV[i + 1])
    added = added + 1
  end
end
return added
";

/// One relay step (blocking): `Ok(Some(n))` handed n events to the stream
/// (each is added once, see [`PUBLISH_ONCE`]), `Ok(None)` another replica
/// holds the relay.
pub fn relay_once(state: &Services) -> Result<Option<usize>, StoreError> {
    let mut conn = state.pool.get()?;
    let stream = stream_key(state);
    let published = state.redis.key("subsidy-events:published");
    let mut redis_conn: Option<redis::Connection> = None;
    store::webhooks::relay_step(&mut conn, 500, &mut |events| {
        if redis_conn.is_none() {
            redis_conn = Some(state.redis.blocking_connection(Duration::from_secs(2)).map_err(|e| e.to_string())?);
        }
        let Some(c) = redis_conn.as_mut() else { return Err("no redis connection".into()) };
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        let script = redis::Script::new(PUBLISH_ONCE);
        let mut call = script.key(&stream);
        call.key(&published).arg(now).arg(PUBLISHED_MEMORY_SECS);
        for e in events {
            call.arg(e.id.to_string()).arg(event_payload(e).to_string());
        }
        call.invoke::<i64>(c).map(|_| ()).map_err(|e| e.to_string())
    })
}

pub fn signature(secret: &str, body: &[u8]) -> String {
    match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mut m) => {
            m.update(body);
            format!("sha256={}", hex::encode(m.finalize().into_bytes()))
        }
        Err(_) => String::new(),
    }
}

/// Send the deliveries that are due; returns how many succeeded.
pub async fn deliver_once(state: &Services, client: &reqwest::Client) -> Result<usize, StoreError> {
    let vault = state.vault.clone();
    let pool = state.pool.clone();
    let claimed = crate::blocking(move || {
        let mut conn = pool.get()?;
        store::webhooks::claim(&mut conn, &vault, 50)
    })
    .await?;
    let mut ok = 0;
    for d in claimed {
        let body = event_payload(&d.event).to_string();
        let result = client
            .post(&d.url)
            .header("content-type", "application/json")
            .header("x-qianlink-event-id", d.event.id.to_string())
            .header("x-qianlink-signature", signature(&d.secret, body.as_bytes()))
            .body(body)
            .send()
            .await;
        let outcome = match result {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("HTTP {}", r.status().as_u16())),
            Err(e) => Err(if e.is_timeout() { "timed out".to_owned() } else { "connection failed".to_owned() }),
        };
        let pool = state.pool.clone();
        let id = d.id;
        let success = outcome.is_ok();
        crate::blocking(move || {
            let mut conn = pool.get()?;
            match outcome {
                Ok(()) => store::webhooks::delivered(&mut conn, id),
                Err(e) => store::webhooks::failed(&mut conn, id, &e),
            }
        })
        .await?;
        if success {
            ok += 1;
        } else {
            tracing::warn!(delivery = id, attempts = d.attempts, "webhook delivery failed; will retry");
        }
    }
    Ok(ok)
}

/// What one housekeeping step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Housekeeping {
    pub offers_expired: usize,
    pub pushes_skipped: usize,
    pub checkins_queued: usize,
    pub surveys_queued: usize,
}

/// The day of the month from which the monthly check-in round is queued.
pub const CHECKIN_DAY: u32 = 25;

/// One housekeeping step as of `today` (China's date): expire offers past
/// their date and drop pushes no longer current; from the
/// [`CHECKIN_DAY`]th, queue the month's check-ins (once per placement and
/// month); queue the surveys of open monitoring rounds for chats bound
/// since the round opened (once per worker and period).
pub fn housekeeping_once(
    conn: &mut diesel::PgConnection,
    today: chrono::NaiveDate,
) -> Result<Housekeeping, StoreError> {
    let (offers_expired, pushes_skipped) = store::offers::expire(conn)?;
    let checkins_queued = if chrono::Datelike::day(&today) >= CHECKIN_DAY {
        store::push_queue::enqueue_checkins(conn, today)?
    } else {
        0
    };
    let surveys_queued = store::push_queue::enqueue_surveys(conn)?;
    Ok(Housekeeping { offers_expired, pushes_skipped, checkins_queued, surveys_queued })
}

/// Start the background loops. `qianlink serve` (and `demo`) call this,
/// once; tests drive the step functions themselves.
pub fn spawn(state: Services) {
    let house_state = state.clone();
    tokio::spawn(async move {
        loop {
            let today = house_state.today();
            match house_state.db(move |conn| housekeeping_once(conn, today)).await {
                Ok(h) if h != Housekeeping::default() => tracing::info!(
                    offers_expired = h.offers_expired,
                    pushes_skipped = h.pushes_skipped,
                    checkins = h.checkins_queued,
                    surveys = h.surveys_queued,
                    "housekeeping"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping step failed"),
            }
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    });
    // This process's search index follows the outbox.
    let index_state = state.clone();
    tokio::spawn(async move {
        loop {
            let s = index_state.clone();
            if let Err(e) = crate::blocking(move || s.search.catch_up(&s.pool)).await {
                tracing::warn!(error = %e, "search index catch-up failed");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    // The matcher: load the candidate store now, then follow the outbox.
    let matcher_state = state.clone();
    tokio::spawn(async move {
        loop {
            let s = matcher_state.clone();
            let step = crate::blocking(move || {
                let m = s.matcher.get(&s.pool)?;
                m.catch_up(&s.pool)
            });
            if let Err(e) = step.await {
                tracing::warn!(error = %e, "matcher catch-up failed");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let relay_state = state.clone();
    tokio::spawn(async move {
        loop {
            let s = relay_state.clone();
            let pause = match crate::blocking(move || relay_once(&s)).await {
                Ok(Some(n)) if n > 0 => Duration::from_millis(50),
                Ok(_) => Duration::from_millis(500),
                Err(e) => {
                    tracing::warn!(error = %e, "relay step failed; retrying");
                    Duration::from_secs(2)
                }
            };
            tokio::time::sleep(pause).await;
        }
    });
    let deliver_state = state.clone();
    tokio::spawn(async move {
        let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the webhook client; webhooks are not delivered");
                return;
            }
        };
        loop {
            match deliver_once(&deliver_state, &client).await {
                Ok(n) if n > 0 => {}
                Ok(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook step failed");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    });
    if let Some(every) = state.settings.scan_interval {
        tokio::spawn(async move {
            loop {
                let s = state.clone();
                let as_of = s.today();
                let r = s.db(move |conn| Ok::<_, StoreError>(store::subsidies::scan(conn, as_of, 2000))).await;
                match r {
                    Ok(Ok(rep)) => {
                        tracing::info!(events = rep.events_created, blocked = rep.blocked_claims, "milestone scan done")
                    }
                    Ok(Err(e)) => tracing::info!(reason = %e, "milestone scan skipped"),
                    Err(e) => tracing::warn!(error = %e, "milestone scan failed"),
                }
                tokio::time::sleep(every).await;
            }
        });
    }
}
