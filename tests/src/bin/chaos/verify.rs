//! After the faults: every acknowledged write is in PostgreSQL, and every
//! consumer of the outbox caught up — each server's search index (asked over
//! the API), the Redis event stream, and the bot queue (offers sent to the
//! fake Telegram).

use crate::load::{Acked, Summary, read_acked};
use crate::world::{self, Outcome, World};
use anyhow::{Context, bail};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct VerifyArgs {
    /// Every server whose search index must have caught up.
    #[arg(long, value_delimiter = ',', required = true)]
    pub api: Vec<String>,
    #[arg(long)]
    pub world: PathBuf,
    #[command(flatten)]
    pub stores: Stores,
    /// Files of acknowledged writes (from `chaos load`).
    #[arg(long, value_delimiter = ',', required = true)]
    pub acked: Vec<PathBuf>,
    /// The load summaries, for the figures.
    #[arg(long, value_delimiter = ',')]
    pub load_summary: Vec<PathBuf>,
    /// The fake Telegram's delivery count file.
    #[arg(long)]
    pub telegram_stats: Option<PathBuf>,
    /// How long the consumers get to catch up.
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    /// Where to write the figures (JSON).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Where the checker reads the truth: PostgreSQL directly, and the Redis stream.
#[derive(clap::Args, Debug)]
pub struct Stores {
    #[arg(long)]
    pub database_url: String,
    #[arg(long)]
    pub redis_url: String,
    /// QIANLINK_REDIS_PREFIX of the servers.
    #[arg(long, default_value = "qianlink:")]
    pub prefix: String,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

#[derive(QueryableByName)]
struct StateRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct EventRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    rule_id: String,
    #[diesel(sql_type = Text)]
    placement_id: String,
}

/// Which of `ids` exist in `table` (uuid or bigint ids).
pub fn present(conn: &mut PgConnection, table: &str, ids: &[String]) -> anyhow::Result<HashSet<String>> {
    let q = format!("SELECT id::text AS id FROM {table} WHERE id::text = ANY ($1)");
    let rows: Vec<IdRow> = diesel::sql_query(q).bind::<Array<Text>, _>(ids).load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Event ids in the stream, with how many times each appears.
pub fn stream_ids(redis_url: &str, key: &str) -> anyhow::Result<HashMap<String, usize>> {
    let client = redis::Client::open(redis_url)?;
    let mut c = client.get_connection_with_timeout(Duration::from_secs(2))?;
    let reply: redis::streams::StreamRangeReply = redis::cmd("XRANGE").arg(key).arg("-").arg("+").query(&mut c)?;
    let mut out: HashMap<String, usize> = HashMap::new();
    for entry in reply.ids {
        let id: Option<String> = entry.get("event_id");
        *out.entry(id.unwrap_or_default()).or_default() += 1;
    }
    Ok(out)
}

/// What the stream holds of `events`, waited for until all are there or `deadline`.
pub struct InStream {
    pub entries: usize,
    /// Of the events asked about.
    pub found: usize,
    /// Entries beyond the first for an event id.
    pub duplicates: usize,
    pub seconds: f64,
}

pub async fn wait_stream(redis_url: &str, key: &str, events: &[&str], deadline: Instant) -> InStream {
    let started = Instant::now();
    loop {
        let ids = stream_ids(redis_url, key).unwrap_or_default();
        let found = events.iter().filter(|e| ids.contains_key(**e)).count();
        if found == events.len() || Instant::now() > deadline {
            return InStream {
                entries: ids.values().sum(),
                found,
                duplicates: ids.values().filter(|n| **n > 1).map(|n| n - 1).sum(),
                seconds: started.elapsed().as_secs_f64(),
            };
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Print the verdict: `ok` when no invariant broke, else each broken one, and fail.
pub fn conclude(problems: &[String], ok: &str) -> anyhow::Result<()> {
    if problems.is_empty() {
        println!("OK: {ok}");
        return Ok(());
    }
    for p in problems {
        println!("FAIL: {p}");
    }
    bail!("{} invariant(s) broken", problems.len())
}

fn db_events(conn: &mut PgConnection) -> anyhow::Result<Vec<EventRow>> {
    Ok(diesel::sql_query(
        "SELECT id::text AS id, rule_id, coalesce(placement_id::text, '') AS placement_id FROM subsidy_events",
    )
    .load(conn)?)
}

async fn searched(c: &reqwest::Client, api: &str, key: &str, token: &str, id: &str) -> bool {
    let url = format!("{api}/v1/jobs/search?q={token}&limit=5");
    match world::send(c.get(url).bearer_auth(key)).await {
        Outcome::Ok(v) => v["hits"].as_array().into_iter().flatten().any(|h| h["job"]["id"].as_str() == Some(id)),
        _ => false,
    }
}

pub async fn run(a: VerifyArgs) -> anyhow::Result<()> {
    let world = World::load(&a.world)?;
    let mut acked: Vec<Acked> = Vec::new();
    for f in &a.acked {
        acked.extend(read_acked(f)?);
    }
    let mut load = Summary::default();
    for f in &a.load_summary {
        let s: Summary =
            serde_json::from_str(&std::fs::read_to_string(f).with_context(|| format!("{}", f.display()))?)?;
        load.requests_sent += s.requests_sent;
        load.writes_sent += s.writes_sent;
        load.writes_acked += s.writes_acked;
        load.reads_sent += s.reads_sent;
        load.reads_ok += s.reads_ok;
        load.throttled += s.throttled;
        for (k, v) in s.failures {
            *load.failures.entry(k).or_default() += v;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    let mut conn = PgConnection::establish(&a.stores.database_url).context("connecting to PostgreSQL")?;
    let mut problems: Vec<String> = Vec::new();

    // 1. Every acknowledged write is in PostgreSQL.
    let tables = [("job", "jobs"), ("placement", "placements"), ("report", "placement_reports"), ("offer", "offers")];
    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (kind, table) in tables {
        let ids: Vec<String> = acked.iter().filter(|x| x.kind == kind).map(|x| x.id.clone()).collect();
        let found = present(&mut conn, table, &ids)?;
        let lost: Vec<&String> = ids.iter().filter(|i| !found.contains(*i)).collect();
        if !lost.is_empty() {
            problems.push(format!(
                "{} acknowledged {kind}s are not in PostgreSQL, e.g. {:?}",
                lost.len(),
                &lost[..lost.len().min(5)]
            ));
        }
        by_kind.insert(kind, (ids.len(), ids.len() - lost.len()));
    }
    let acked_n: usize = by_kind.values().map(|v| v.0).sum();
    let found_n: usize = by_kind.values().map(|v| v.1).sum();
    println!(
        "writes: {} requests sent ({} writes), {acked_n} acknowledged, {found_n} found after the faults, {} lost",
        load.requests_sent,
        load.writes_sent,
        acked_n - found_n
    );
    for (k, (n, f)) in &by_kind {
        println!("  {k}: {n} acknowledged, {f} found");
    }

    // 2. The servers recovered: reads of acknowledged jobs and a write all
    //    answer 2xx (a server that keeps dead connections fails here).
    let c = world::client()?;
    let mut after = BTreeMap::<String, u64>::new();
    let job_ids: Vec<&String> = acked.iter().filter(|x| x.kind == "job").map(|x| &x.id).take(100).collect();
    for api in &a.api {
        let api = api.trim_end_matches('/');
        for id in &job_ids {
            let o = world::send(c.get(format!("{api}/v1/jobs/{id}")).bearer_auth(&world.county_key)).await;
            *after.entry(o.label()).or_default() += 1;
        }
        let body = json!({"title": "恢复检查", "work_county_code": "441900", "wage_min": 4000, "wage_max": 5000, "openings": 1});
        let o = world::send(c.post(format!("{api}/v1/jobs")).bearer_auth(&world.employer_key).json(&body)).await;
        *after.entry(o.label()).or_default() += 1;
    }
    let after_failed: u64 = after.iter().filter(|(k, _)| *k != "2xx").map(|(_, v)| v).sum();
    println!("after the faults: {} requests, {after_failed} failed {after:?}", after.values().sum::<u64>());
    if after_failed > 0 {
        problems.push(format!("{after_failed} requests failed after the faults were over: {after:?}"));
    }

    // 3. Each server's search index has every acknowledged job.
    let jobs: Vec<(String, String)> =
        acked.iter().filter(|x| x.kind == "job").filter_map(|x| Some((x.token.clone()?, x.id.clone()))).collect();
    let mut index_found = Vec::new();
    for api in &a.api {
        let api = api.trim_end_matches('/').to_owned();
        let mut missing: Vec<(String, String)> = jobs.clone();
        let started = Instant::now();
        loop {
            let mut still = Vec::new();
            for chunk in missing.chunks(16) {
                let mut set = tokio::task::JoinSet::new();
                for (token, id) in chunk.iter().cloned() {
                    let (c, api, key) = (c.clone(), api.clone(), world.county_key.clone());
                    set.spawn(async move { (searched(&c, &api, &key, &token, &id).await, token, id) });
                }
                while let Some(Ok((ok, token, id))) = set.join_next().await {
                    if !ok {
                        still.push((token, id));
                    }
                }
            }
            missing = still;
            if missing.is_empty() || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        println!(
            "search index of {api}: {} of {} acknowledged jobs found ({:.1} s)",
            jobs.len() - missing.len(),
            jobs.len(),
            started.elapsed().as_secs_f64()
        );
        if !missing.is_empty() {
            problems.push(format!(
                "{api}: {} acknowledged jobs are not in its search index, e.g. {:?}",
                missing.len(),
                &missing[..missing.len().min(3)]
            ));
        }
        index_found.push(json!({"api": api, "found": jobs.len() - missing.len(), "of": jobs.len()}));
    }

    // 4. The scan as of the end of 2024 (retried while another scan runs or a
    //    server is still coming back), then: the events due from what was
    //    acknowledged exist, and every event reached the stream.
    let api0 = a.api[0].trim_end_matches('/').to_owned();
    let scan_url = format!("{api0}/v1/milestones/scan?as_of=2024-12-31");
    loop {
        match world::send(c.post(&scan_url).bearer_auth(&world.admin_key)).await {
            Outcome::Ok(_) => break,
            o if Instant::now() > deadline => bail!("the final scan did not run: {}", o.label()),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
    let mut months: HashMap<&str, HashSet<&str>> = HashMap::new();
    for r in acked.iter().filter(|x| x.kind == "report") {
        if let (Some(p), Some(m)) = (r.of.as_deref(), r.month.as_deref()) {
            months.entry(p).or_default().insert(m);
        }
    }
    let complete: Vec<&str> = acked
        .iter()
        .filter(|x| x.kind == "placement")
        .map(|x| x.id.as_str())
        .filter(|p| months.get(p).is_some_and(|m| m.len() == 4))
        .collect();
    let events = db_events(&mut conn)?;
    let have: HashSet<(&str, &str)> = events.iter().map(|e| (e.rule_id.as_str(), e.placement_id.as_str())).collect();
    let mut due_missing = 0;
    for p in &complete {
        for rule in ["follow_up_service", "cross_province_transport"] {
            if !have.contains(&(rule, p)) {
                due_missing += 1;
            }
        }
    }
    println!(
        "subsidy events: {} due from acknowledged placements with four acknowledged reports, {} missing; {} in PostgreSQL in all",
        complete.len() * 2,
        due_missing,
        events.len()
    );
    if due_missing > 0 {
        problems.push(format!("{due_missing} subsidy events due from acknowledged writes were not written"));
    }
    let key = format!("{}subsidy-events", a.stores.prefix);
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let st = wait_stream(&a.stores.redis_url, &key, &ids, deadline).await;
    let (in_stream, dups, not_in_stream) = (st.found, st.duplicates, events.len() - st.found);
    println!(
        "event stream {key}: {in_stream} of {} events ({:.1} s), {dups} duplicate entries",
        events.len(),
        st.seconds
    );
    if not_in_stream > 0 {
        problems.push(format!("{not_in_stream} subsidy events never reached the stream"));
    }
    if dups > 0 {
        problems.push(format!("{dups} events appear more than once in the stream"));
    }

    // 5. The bot queue: every acknowledged offer was sent.
    let offers: Vec<String> = acked.iter().filter(|x| x.kind == "offer").map(|x| x.id.clone()).collect();
    let started = Instant::now();
    let (mut states, mut maybe_sent);
    loop {
        let rows: Vec<StateRow> = diesel::sql_query(
            "SELECT offer_id::text AS id, state, count(*) FILTER (WHERE maybe_sent) OVER () AS n \
               FROM bot_queue WHERE offer_id::text = ANY ($1)",
        )
        .bind::<Array<Text>, _>(&offers)
        .load(&mut conn)?;
        maybe_sent = rows.first().map(|r| r.n).unwrap_or(0);
        states = BTreeMap::<String, usize>::new();
        let queued: HashSet<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let unqueued = offers.iter().filter(|o| !queued.contains(o.as_str())).count();
        if unqueued > 0 {
            states.insert("not queued".into(), unqueued);
        }
        for r in &rows {
            *states.entry(r.state.clone()).or_default() += 1;
        }
        if states.keys().all(|s| s == "sent") || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "bot queue: {} acknowledged offers, by state {:?} ({:.1} s); {maybe_sent} resent after a crash (maybe_sent)",
        offers.len(),
        states,
        started.elapsed().as_secs_f64(),
    );
    let sent = states.get("sent").copied().unwrap_or(0);
    if sent != offers.len() {
        problems.push(format!(
            "{} of {} acknowledged offers were not sent by the bot",
            offers.len() - sent,
            offers.len()
        ));
    }
    // Every other push too (the monthly check-ins from the 25th on): none left behind.
    #[derive(QueryableByName)]
    struct ByState {
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let mut queue: BTreeMap<String, i64>;
    loop {
        let rows: Vec<ByState> =
            diesel::sql_query("SELECT state, count(*) AS n FROM bot_queue GROUP BY state").load(&mut conn)?;
        queue = rows.into_iter().map(|r| (r.state, r.n)).collect();
        if queue.keys().all(|s| s == "sent" || s == "skipped") || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    #[derive(QueryableByName)]
    struct Flagged {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let flagged =
        diesel::sql_query("SELECT count(*) AS n FROM bot_queue WHERE maybe_sent").get_result::<Flagged>(&mut conn)?.n;
    let sent_rows = queue.get("sent").copied().unwrap_or(0);
    println!("bot queue, every push: {queue:?}; {flagged} flagged maybe_sent");
    // The fake Telegram writes its count twice a second: let it settle, then
    // every push recorded as sent was delivered, and only a flagged one twice.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let delivered = a
        .telegram_stats
        .as_ref()
        .and_then(|f| std::fs::read_to_string(f).ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    if let Some(d) = delivered {
        println!("fake Telegram: {d} messages delivered for {sent_rows} pushes sent");
        if (d as i64) < sent_rows || d as i64 > sent_rows + flagged {
            problems.push(format!(
                "{d} messages delivered for {sent_rows} pushes sent ({flagged} flagged maybe_sent may go twice)"
            ));
        }
    }
    let left: i64 = queue.iter().filter(|(s, _)| *s != "sent" && *s != "skipped").map(|(_, n)| n).sum();
    if left > 0 {
        problems.push(format!("{left} bot pushes were left unsent: {queue:?}"));
    }

    if let Some(out) = &a.out {
        let figures = json!({
            "requests_after_faults": after.values().sum::<u64>(), "failed_after_faults": after_failed,
            "requests_sent": load.requests_sent, "writes_sent": load.writes_sent, "reads_sent": load.reads_sent,
            "reads_ok": load.reads_ok, "throttled": load.throttled, "failures": load.failures,
            "acknowledged": acked_n, "found": found_n, "lost": acked_n - found_n,
            "by_kind": by_kind.iter().map(|(k, (n, f))| (k.to_string(), json!({"acknowledged": n, "found": f}))).collect::<serde_json::Map<_, _>>(),
            "search_index": index_found,
            "events_due_from_acknowledged": complete.len() * 2, "events_due_missing": due_missing,
            "events_in_db": events.len(), "events_in_stream": in_stream, "stream_duplicates": dups,
            "offers_acknowledged": offers.len(), "offers_sent": sent, "offers_maybe_sent": maybe_sent,
            "telegram_delivered": delivered, "bot_queue": queue, "bot_maybe_sent": flagged,
        });
        std::fs::write(out, serde_json::to_string_pretty(&figures)?)?;
    }
    conclude(&problems, "nothing acknowledged was lost, and every consumer caught up")
}
