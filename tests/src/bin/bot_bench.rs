//! Benchmark of the bot dispatcher (#6) against the fake Bot API server (not
//! a timed test; see docs/benchmarks.md, "Bot dispatcher").
//!
//! `bot_bench <offers> <rate> [failover]`: seeds `<offers>` workers with a
//! bound chat and one queued offer each (a fresh database cloned from the
//! test template), drains them with the overall limit set to `<rate>`/s, and
//! checks that none is lost, none is sent twice, no one-second window goes
//! above the rate and no chat gets more than one message a second. With
//! `failover`, two dispatchers run (one sends, one stands by) and the sender
//! is killed at a third of the run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bot::dispatch::DispatchConfig;
use bot::telegram::{Parts, TelegramConfig};
use diesel::prelude::*;
use qianlink_tests::TestApp;
use qianlink_tests::fake_telegram::FakeTelegram;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, q: &str) -> i64 {
    diesel::sql_query(q).get_result::<N>(conn).unwrap().n
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let offers: i64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let rate: u32 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(25);
    let failover = args.get(3).is_some_and(|a| a == "failover");
    let app = TestApp::spawn().await;
    let mut conn = app.conn();
    let seeded = Instant::now();
    let (_, employer) = app.org("基准测试电子厂", "employer", None).await;
    let job = serde_json::json!({"title": "普工", "description": "流水线", "work_county_code": "441900",
        "wage_min": 5000, "wage_max": 6000, "openings": 5, "contract_months": 12});
    let res = app.post_as(&employer, "/v1/jobs").json(&job).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let job_id = qianlink_tests::json(res).await["id"].as_str().unwrap().to_owned();
    conn.transaction::<_, diesel::result::Error, _>(|c| {
        diesel::sql_query(
            "INSERT INTO households (id, code, county_code) VALUES ('00000000-0000-0000-0000-000000000001', 'BENCH', '522301')",
        )
        .execute(c)?;
        diesel::sql_query(format!(
            "INSERT INTO workers (id, id_number_enc, id_number_hash, name, birth_date, phone_hash, household_id, county_code) \
             SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, '\\x00', sha256(('i' || i)::bytea), \
                    'B', '1990-01-01', sha256(('p' || i)::bytea), '00000000-0000-0000-0000-000000000001', '522301' \
               FROM generate_series(1, {offers}) i"
        ))
        .execute(c)?;
        diesel::sql_query(
            "INSERT INTO bot_chats (channel, chat_id, worker_id, bound_by) \
             SELECT 'telegram', (1000000 + row_number() OVER (ORDER BY id))::text, id, 'code' FROM workers WHERE name = 'B'",
        )
        .execute(c)?;
        // Offers and their pushes in one transaction, as store::matching::queue writes them.
        diesel::sql_query(format!(
            "INSERT INTO offers (id, job_id, worker_id, score, expires_at) \
             SELECT gen_random_uuid(), '{job_id}', id, 1, now() + interval '7 days' FROM workers WHERE name = 'B'"
        ))
        .execute(c)?;
        diesel::sql_query("INSERT INTO bot_queue (worker_id, kind, offer_id) SELECT worker_id, 'offer', id FROM offers")
            .execute(c)?;
        Ok(())
    })
    .unwrap();
    eprintln!("seeded {offers} offers in {:.1} s", seeded.elapsed().as_secs_f64());

    let tg = FakeTelegram::start().await;
    tg.quiet();
    let cfg = TelegramConfig {
        token: tg.token.clone(),
        api_url: Some(tg.url.clone()),
        dispatch: DispatchConfig { rate, housekeeping: false, ..Default::default() },
    };
    let parts = Parts { polling: false, dispatcher: true };
    let first = bot::telegram::start_parts(app.state.clone(), cfg.clone(), parts).await.unwrap();
    let second = if failover {
        tokio::time::sleep(Duration::from_millis(500)).await;
        Some(bot::telegram::start_parts(app.state.clone(), cfg.clone(), parts).await.unwrap())
    } else {
        None
    };
    let started = Instant::now();
    let mut first = Some(first);
    let mut killed_at = None;
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let delivered = tg.delivered_count() as i64;
        if failover && first.is_some() && delivered >= offers / 3 {
            first.take().unwrap().stop().await; // the sender dies; the standby must take over
            killed_at = Some(started.elapsed());
            eprintln!("killed the sending dispatcher after {delivered} messages");
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
    let deliveries = tg.deliveries();
    let mut times: Vec<Instant> = deliveries.iter().map(|(_, t)| *t).collect();
    times.sort();
    let (t0, t1) = (times[0], times[times.len() - 1]);
    let span = t1.duration_since(t0).as_secs_f64();
    // The busiest one-second window (sliding).
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
    let mut per_chat: HashMap<i64, Vec<Instant>> = HashMap::new();
    for (c, t) in &deliveries {
        per_chat.entry(*c).or_default().push(*t);
    }
    let dup = deliveries.len() - per_chat.len();
    let chat_over = per_chat
        .values()
        .filter(|ts| ts.windows(2).any(|w| w[1].duration_since(w[0]) < Duration::from_millis(1000)))
        .count();
    let sent = count(&mut conn, "SELECT count(*) AS n FROM bot_queue WHERE state = 'sent'");
    let maybe = count(&mut conn, "SELECT count(*) AS n FROM bot_queue WHERE maybe_sent");
    let offers_sent = count(&mut conn, "SELECT count(*) AS n FROM offers WHERE status = 'sent'");
    println!(
        "offers={offers} rate={rate}/s failover={failover} delivered={} distinct_chats={} lost={} duplicates={dup} \
         (rows flagged maybe_sent: {maybe}) rows_sent={sent} offers_sent={offers_sent} \
         drain={span:.1}s achieved={:.1}/s ({:.1}% of the rate) busiest_sliding_1s_window={max_window} busiest_fixed_second={max_bucket} \
         chats_above_1_per_s={chat_over}{}",
        deliveries.len(),
        per_chat.len(),
        offers - per_chat.len() as i64,
        (deliveries.len() as f64 - 1.0) / span,
        (deliveries.len() as f64 - 1.0) / span / f64::from(rate) * 100.0,
        killed_at.map(|k| format!(" killed_at={:.1}s", k.as_secs_f64())).unwrap_or_default(),
    );
    if let Some(s) = second {
        s.stop().await;
    }
    if let Some(f) = first {
        f.stop().await;
    }
    tg.stop().await;
}
