//! Benchmark of the bot dispatcher (#6) against the fake Bot API server (not
//! a timed test; see docs/benchmarks.md, "Bot dispatcher").
//!
//! * `bot_bench <offers> <rate> [per_chat]`: seeds `<offers>` queued offers
//!   (`per_chat` offers for each of `<offers> / per_chat` workers with a bound
//!   chat; 1 by default) in a fresh database cloned from the test template,
//!   drains them with one dispatcher in this process at `<rate>`/s overall,
//!   and checks what the fake server received: none lost, none twice, no
//!   sliding one-second window above the rate, no chat above one message a
//!   second.
//! * `bot_bench <offers> <rate> failover`: the same with two dispatcher OS
//!   processes (this binary in `dispatcher` mode); one takes the lock and
//!   sends, the other stands by; the sender is killed with SIGKILL after a
//!   third of the messages and the standby must take over.
//! * `bot_bench dispatcher`: run one dispatcher until killed (used by
//!   `failover`; configured through `BENCH_*` variables).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bot::dispatch::DispatchConfig;
use bot::telegram::{Parts, TelegramConfig};
use diesel::prelude::*;
use qianlink_tests::TestApp;
use qianlink_tests::fake_telegram::FakeTelegram;
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, q: &str) -> i64 {
    diesel::sql_query(q).get_result::<N>(conn).unwrap().n
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "dispatcher") {
        return dispatcher().await;
    }
    let offers: i64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rate: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(25);
    let failover = args.get(3).is_some_and(|a| a == "failover");
    let per_chat: i64 = if failover { 1 } else { args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1).max(1) };
    let app = TestApp::spawn().await;
    let mut conn = app.conn();
    let workers = offers / per_chat;
    seed(&app, &mut conn, workers, per_chat).await;

    let tg = FakeTelegram::start().await;
    tg.quiet();
    let cfg = TelegramConfig {
        token: tg.token.clone(),
        api_url: Some(tg.url.clone()),
        webhook: None,
        dispatch: DispatchConfig { rate, ..Default::default() },
        backoff: bot::telegram::Backoff::default(),
    };
    let started = Instant::now();
    let mut in_process = None;
    let mut children: Vec<Child> = Vec::new();
    if failover {
        for n in 1..=2 {
            children.push(spawn_dispatcher(&app, &tg, rate, n));
            if n == 1 {
                // The first one takes the lock; the second stands by.
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    } else {
        let parts = Parts { polling: false, dispatcher: true };
        in_process = Some(bot::telegram::start_parts(app.state.services.clone(), cfg.clone(), parts).await.unwrap());
    }
    let mut killed: Option<(Instant, String)> = None;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let delivered = tg.delivered_count() as i64;
        if failover && killed.is_none() && delivered >= offers / 3 {
            let leader = leader_name(&mut conn);
            let idx: usize = leader.trim_start_matches("bench-d").parse::<usize>().unwrap() - 1;
            children[idx].kill().unwrap(); // SIGKILL
            let at = Instant::now();
            children[idx].wait().unwrap();
            eprintln!("killed {leader} (pid {}) with SIGKILL after {delivered} messages", children[idx].id());
            killed = Some((at, leader));
        }
        let open = count(&mut conn, "SELECT count(*) AS n FROM bot_queue WHERE state <> 'sent'");
        if open == 0 {
            break;
        }
        if started.elapsed() > Duration::from_secs(offers as u64 / u64::from(rate.max(1)) * 3 + 60) {
            eprintln!("gave up: {open} rows not sent");
            break;
        }
    }
    // Let the last requests land before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let new_leader = if failover { Some(leader_name(&mut conn)) } else { None };
    for mut c in children {
        let _ = c.kill();
        let _ = c.wait();
    }
    if let Some(b) = in_process {
        b.stop().await;
    }
    report(&tg, &mut conn, offers, workers, per_chat, rate, killed, new_leader);
    tg.stop().await;
}

/// `workers` workers, each with a bound chat and `per_chat` queued offers
/// (offer and bot_queue row written in one transaction, as
/// `store::matching::queue` writes them).
async fn seed(app: &TestApp, conn: &mut PgConnection, workers: i64, per_chat: i64) {
    let seeded = Instant::now();
    let (_, employer) = app.org("基准测试电子厂", "employer", None).await;
    let mut jobs = Vec::new();
    for i in 0..per_chat {
        let job = serde_json::json!({"title": format!("普工{i}"), "description": "流水线", "work_county_code": "441900",
            "wage_min": 5000, "wage_max": 6000, "openings": 5, "contract_months": 12});
        let res = app.post_as(&employer, "/v1/jobs").json(&job).send().await.unwrap();
        assert_eq!(res.status(), 201);
        jobs.push(qianlink_tests::json(res).await["id"].as_str().unwrap().to_owned());
    }
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::sql_query(
            "INSERT INTO households (id, code, county_code) VALUES ('00000000-0000-0000-0000-000000000001', 'BENCH', '522301')",
        )
        .execute(c)?;
        diesel::sql_query(format!(
            "INSERT INTO workers (id, id_number_enc, id_number_hash, name, birth_date, phone_hash, household_id, county_code) \
             SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, '\\x00', sha256(('i' || i)::bytea), \
                    'B', '1990-01-01', sha256(('p' || i)::bytea), '00000000-0000-0000-0000-000000000001', '522301' \
               FROM generate_series(1, {workers}) i"
        ))
        .execute(c)?;
        diesel::sql_query(
            "INSERT INTO bot_chats (channel, chat_id, worker_id, bound_by) \
             SELECT 'telegram', (1000000 + row_number() OVER (ORDER BY id))::text, id, 'code' FROM workers WHERE name = 'B'",
        )
        .execute(c)?;
        for job in &jobs {
            diesel::sql_query(format!(
                "INSERT INTO offers (id, job_id, worker_id, score, expires_at) \
                 SELECT gen_random_uuid(), '{job}', id, 1, now() + interval '7 days' FROM workers WHERE name = 'B' ORDER BY id"
            ))
            .execute(c)?;
        }
        // A chat's offers follow each other in the queue: the per-chat limit is under pressure.
        diesel::sql_query(
            "INSERT INTO bot_queue (worker_id, kind, offer_id) \
             SELECT o.worker_id, 'offer', o.id FROM offers o JOIN jobs j ON j.id = o.job_id ORDER BY o.worker_id, j.title",
        )
        .execute(c)?;
        Ok(())
    })
    .unwrap();
    eprintln!("seeded {} offers for {workers} chats in {:.1} s", workers * per_chat, seeded.elapsed().as_secs_f64());
}

/// A dispatcher in a process of its own (this binary, `dispatcher` mode).
fn spawn_dispatcher(app: &TestApp, tg: &FakeTelegram, rate: u32, n: usize) -> Child {
    let exe = std::env::current_exe().unwrap();
    Command::new(exe)
        .arg("dispatcher")
        .env("BENCH_DATABASE_URL", format!("{}?application_name=bench-d{n}", app.db.url))
        .env("BENCH_REDIS_PREFIX", &app.redis_prefix)
        .env("BENCH_TG_URL", &tg.url)
        .env("BENCH_TG_TOKEN", &tg.token)
        .env("BENCH_RATE", rate.to_string())
        .stdin(Stdio::null())
        .spawn()
        .unwrap()
}

/// Which process holds the dispatcher lock (its connection's application_name).
fn leader_name(conn: &mut PgConnection) -> String {
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found: Option<Name> = diesel::sql_query(
            "SELECT a.application_name AS name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
              WHERE l.locktype = 'advisory' AND l.granted AND ((l.classid::bigint << 32) | l.objid::bigint) = $1",
        )
        .bind::<diesel::sql_types::BigInt, _>(store::push_queue::DISPATCHER_LOCK)
        .get_result(conn)
        .optional()
        .unwrap();
        if let Some(n) = found {
            return n.name;
        }
        assert!(Instant::now() < deadline, "no dispatcher holds the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `bot_bench dispatcher`: one dispatcher, no polling, until killed.
async fn dispatcher() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("QIANLINK_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,bot=info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let url = env("BENCH_DATABASE_URL");
    let vault = store::vault::Vault::from_hex(&store::vault::Vault::generate_hex()).unwrap();
    let mut settings = api::Settings::local(url.clone(), qianlink_tests::redis_url(), vault);
    settings.redis_prefix = env("BENCH_REDIS_PREFIX");
    settings.db_pool_size = 4;
    settings.index_dir = std::env::temp_dir().join(format!("qianlink-bench-index-{}", std::process::id()));
    let state = api::state::AppState::new(settings).unwrap();
    let cfg = TelegramConfig {
        token: env("BENCH_TG_TOKEN"),
        api_url: Some(env("BENCH_TG_URL")),
        webhook: None,
        dispatch: DispatchConfig { rate: env("BENCH_RATE").parse().unwrap(), ..Default::default() },
        backoff: bot::telegram::Backoff::default(),
    };
    let _bot =
        bot::telegram::start_parts(state.services, cfg, Parts { polling: false, dispatcher: true }).await.unwrap();
    std::future::pending::<()>().await;
}

#[allow(clippy::too_many_arguments)]
fn report(
    tg: &FakeTelegram,
    conn: &mut PgConnection,
    offers: i64,
    workers: i64,
    per_chat: i64,
    rate: u32,
    killed: Option<(Instant, String)>,
    new_leader: Option<String>,
) {
    let deliveries = tg.deliveries();
    let mut times: Vec<Instant> = deliveries.iter().map(|(_, t)| *t).collect();
    times.sort();
    let (t0, t1) = (times[0], times[times.len() - 1]);
    let span = t1.duration_since(t0).as_secs_f64();
    // The busiest one-second window (sliding): most arrivals in any [t, t + 1 s).
    let mut max_window = 0;
    let mut j = 0;
    for i in 0..times.len() {
        while times[i].duration_since(times[j]) >= Duration::from_secs(1) {
            j += 1;
        }
        max_window = max_window.max(i - j + 1);
    }
    // The busiest whole second counted from the first delivery (fixed buckets).
    let mut buckets: HashMap<u64, usize> = HashMap::new();
    for t in &times {
        *buckets.entry(t.duration_since(t0).as_secs()).or_default() += 1;
    }
    let max_bucket = buckets.values().copied().max().unwrap_or(0);
    let mut by_chat: HashMap<i64, Vec<Instant>> = HashMap::new();
    for (c, t) in &deliveries {
        by_chat.entry(*c).or_default().push(*t);
    }
    let per_chat_i = usize::try_from(per_chat).unwrap();
    let lost: usize = (workers as usize - by_chat.len()) * per_chat_i
        + by_chat.values().map(|ts| per_chat_i.saturating_sub(ts.len())).sum::<usize>();
    let twice: usize = by_chat.values().map(|ts| ts.len().saturating_sub(per_chat_i)).sum();
    let mut min_gap = Duration::MAX;
    let mut chat_over = 0;
    for ts in by_chat.values_mut() {
        ts.sort();
        let gap = ts.windows(2).map(|w| w[1].duration_since(w[0])).min();
        if let Some(g) = gap {
            min_gap = min_gap.min(g);
            if g < Duration::from_millis(1000) {
                chat_over += 1;
            }
        }
    }
    let sent = count(conn, "SELECT count(*) AS n FROM bot_queue WHERE state = 'sent'");
    let maybe = count(conn, "SELECT count(*) AS n FROM bot_queue WHERE maybe_sent");
    let offers_sent = count(conn, "SELECT count(*) AS n FROM offers WHERE status = 'sent'");
    let achieved = (deliveries.len() as f64 - 1.0) / span;
    let mut line = format!(
        "offers={offers} chats={workers} per_chat={per_chat} rate={rate}/s delivered={} lost={lost} sent_twice={twice} \
         (rows flagged maybe_sent: {maybe}) rows_sent={sent} offers_sent={offers_sent} drain={span:.1}s \
         achieved={achieved:.1}/s ({:.1}% of the rate) busiest_sliding_1s_window={max_window} \
         busiest_fixed_second={max_bucket} chats_above_1_per_s={chat_over}",
        deliveries.len(),
        achieved / f64::from(rate) * 100.0,
    );
    if per_chat > 1 {
        line.push_str(&format!(" closest_two_to_one_chat={:.3}s", min_gap.as_secs_f64()));
    }
    if let Some((at, who)) = killed {
        let before = times.iter().filter(|t| **t < at).count();
        let next = times.iter().find(|t| **t >= at).map(|t| t.duration_since(at).as_secs_f64());
        line.push_str(&format!(
            " killed={who} at={:.1}s after={before} takeover_to_next_delivery={} new_leader={}",
            at.duration_since(t0).as_secs_f64(),
            next.map(|s| format!("{s:.2}s")).unwrap_or_else(|| "none".into()),
            new_leader.unwrap_or_default(),
        ));
    }
    println!("{line}");
}
