//! Exactly once under concurrency. `seed` registers placements and monthly
//! reports by a random plan (through the API, before faults are on);
//! `scan-storm` runs milestone scans on every server at once, round after
//! round, as of rising dates; `verify-once` computes from the plan alone —
//! with its own calendar arithmetic, not the engine's — which subsidy events
//! are due, and compares: each due event exists exactly once per (rule,
//! person), nothing else exists, the outbox announced each once, and the
//! Redis stream holds each once.

use crate::verify::{Stores, conclude, wait_stream};
use crate::world::{self, COUNTY, DONGGUAN, Outcome, World};
use anyhow::{Context, anyhow, bail};
use chrono::{Datelike, Months, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The last day the shipped rules are in force (rules/policies.json).
const RULES_END: (i32, u32, u32) = (2024, 12, 31);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Planned {
    pub id: String,
    pub worker: String,
    pub start: NaiveDate,
    pub contract_months: i32,
    pub county: String,
    pub insured: bool,
    /// Reports sent for this many months from the start month on (employed every month).
    pub months_reported: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub world: World,
    pub placements: Vec<Planned>,
}

#[derive(clap::Args, Debug)]
pub struct SeedArgs {
    #[arg(long)]
    pub api: String,
    #[arg(long)]
    pub admin_key: String,
    #[arg(long, default_value_t = 300)]
    pub placements: usize,
    #[arg(long, default_value_t = 11)]
    pub seed: u64,
    #[arg(long)]
    pub out: PathBuf,
}

fn ym(d: NaiveDate) -> (i32, u32) {
    (d.year(), d.month())
}

fn first_of(y: i32, m: u32) -> anyhow::Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| anyhow!("bad month {y}-{m}"))
}

/// Calendar months touched by [start, start + 3 months): each needs a report.
fn months_needed(start: NaiveDate) -> anyhow::Result<u32> {
    let milestone = start.checked_add_months(Months::new(3)).ok_or_else(|| anyhow!("date overflow"))?;
    let last = milestone.pred_opt().ok_or_else(|| anyhow!("date underflow"))?;
    let (y0, m0) = ym(start);
    let (y1, m1) = ym(last);
    Ok(((y1 - y0) * 12 + m1 as i32 - m0 as i32 + 1) as u32)
}

/// The rules each planned placement makes due, by this file's reading of
/// rules/policies.json: the 3-month milestone (start + 3 calendar months)
/// reached with every touched month reported, on or before the rules' end;
/// follow-up service needs a contract of 12+ months and social insurance;
/// transport needs work outside Guizhou. Once per person.
pub fn expected(plan: &Plan) -> anyhow::Result<BTreeSet<(String, String)>> {
    let end = NaiveDate::from_ymd_opt(RULES_END.0, RULES_END.1, RULES_END.2).ok_or_else(|| anyhow!("bad date"))?;
    let mut due = BTreeSet::new();
    for p in &plan.placements {
        let milestone = p.start.checked_add_months(Months::new(3)).ok_or_else(|| anyhow!("date overflow"))?;
        let reached = p.months_reported >= months_needed(p.start)? && milestone <= end;
        if !reached {
            continue;
        }
        if p.contract_months >= 12 && p.insured {
            due.insert(("follow_up_service".to_owned(), p.worker.clone()));
        }
        if !p.county.starts_with("52") {
            due.insert(("cross_province_transport".to_owned(), p.worker.clone()));
        }
    }
    Ok(due)
}

pub async fn seed(a: SeedArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let c = world::client()?;
    let api = a.api.trim_end_matches('/').to_owned();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(a.seed);
    // About one placement in seven is a second one for an earlier worker.
    let mut owner = Vec::new();
    let mut persons = 0;
    for k in 0..a.placements {
        if k > 0 && rng.random_bool(0.15) {
            owner.push(owner[rng.random_range(0..k)]);
        } else {
            owner.push(persons);
            persons += 1;
        }
    }
    let world = world::create_world(&c, &api, &a.admin_key, persons).await?;
    let mut planned = Vec::new();
    for (k, w) in owner.iter().enumerate() {
        let start = NaiveDate::from_ymd_opt(2024, rng.random_range(1..=11), if rng.random_bool(0.5) { 1 } else { 15 })
            .ok_or_else(|| anyhow!("bad start"))?;
        let needed = months_needed(start)?;
        planned.push(Planned {
            id: format!("planned-{k}"),
            worker: world.workers[*w].clone(),
            start,
            contract_months: if rng.random_bool(0.8) { 12 } else { 6 },
            county: if rng.random_bool(0.75) { DONGGUAN.to_owned() } else { COUNTY.to_owned() },
            insured: rng.random_bool(0.85),
            months_reported: if rng.random_bool(0.7) { needed } else { needed - 1 },
        });
    }
    // Register them, 8 at a time.
    let plan = Arc::new(Mutex::new(planned));
    let n = a.placements;
    let mut set = tokio::task::JoinSet::new();
    for t in 0..8 {
        let (c, api, world, plan) = (c.clone(), api.clone(), world.clone(), plan.clone());
        set.spawn(async move {
            for k in (t..n).step_by(8) {
                let p = plan.lock().map_err(|_| anyhow!("poisoned"))?[k].clone();
                let body = json!({"worker_id": p.worker, "employer_org_id": world.employer_id,
                    "broker_org_id": world.broker_id, "start_date": p.start, "contract_months": p.contract_months,
                    "work_county_code": p.county, "organised_by": "broker"});
                let v = world::must_post(&c, &format!("{api}/v1/placements"), &world.broker_key, &body).await?;
                let id = v["id"].as_str().ok_or_else(|| anyhow!("no placement id"))?.to_owned();
                let (y, m) = ym(p.start);
                let mut month = first_of(y, m)?;
                for _ in 0..p.months_reported {
                    let body = json!({"month": format!("{}-{:02}", month.year(), month.month()), "employed": true,
                        "social_insurance_paid": p.insured, "wage": 5200});
                    world::must_post(&c, &format!("{api}/v1/placements/{id}/reports"), &world.employer_key, &body)
                        .await?;
                    month = month.checked_add_months(Months::new(1)).ok_or_else(|| anyhow!("date overflow"))?;
                }
                plan.lock().map_err(|_| anyhow!("poisoned"))?[k].id = id;
            }
            Ok::<_, anyhow::Error>(())
        });
    }
    while let Some(r) = set.join_next().await {
        r.context("a seeding task panicked")??;
    }
    let placements = plan.lock().map_err(|_| anyhow!("poisoned"))?.clone();
    let plan = Plan { world, placements };
    let due = expected(&plan)?;
    std::fs::write(&a.out, serde_json::to_string_pretty(&plan)?)?;
    eprintln!(
        "seed: {} placements of {} workers with their reports in {:.1} s; {} subsidy events due by the plan",
        plan.placements.len(),
        plan.world.workers.len(),
        started.elapsed().as_secs_f64(),
        due.len()
    );
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct StormArgs {
    /// Every server to scan on.
    #[arg(long, value_delimiter = ',', required = true)]
    pub api: Vec<String>,
    #[arg(long)]
    pub admin_key: String,
    #[arg(long, default_value_t = 40)]
    pub rounds: u32,
    /// Concurrent scan requests per server per round.
    #[arg(long, default_value_t = 2)]
    pub per_server: usize,
    /// Pause between rounds (the relays publish meanwhile).
    #[arg(long, default_value_t = 150)]
    pub pause_ms: u64,
    #[arg(long)]
    pub out: PathBuf,
}

pub async fn storm(a: StormArgs) -> anyhow::Result<()> {
    let c = world::client()?;
    let started = Instant::now();
    let first = NaiveDate::from_ymd_opt(2024, 2, 1).ok_or_else(|| anyhow!("bad date"))?;
    let span = 334i64; // to 2024-12-31
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let mut created: u64 = 0;
    for r in 0..a.rounds {
        let as_of = first + chrono::Duration::days(span * i64::from(r) / i64::from(a.rounds.max(2) - 1));
        let mut set = tokio::task::JoinSet::new();
        for api in &a.api {
            for _ in 0..a.per_server {
                let url = format!("{}/v1/milestones/scan?as_of={as_of}", api.trim_end_matches('/'));
                let (c, key) = (c.clone(), a.admin_key.clone());
                set.spawn(async move { world::send(c.post(url).bearer_auth(key)).await });
            }
        }
        while let Some(o) = set.join_next().await {
            let o = o.context("a scan task panicked")?;
            if let Outcome::Ok(v) = &o {
                created += v["events_created"].as_u64().unwrap_or(0);
            }
            *outcomes.entry(o.label()).or_default() += 1;
        }
        tokio::time::sleep(Duration::from_millis(a.pause_ms)).await;
    }
    eprintln!(
        "scan storm: {} rounds x {} servers x {} in {:.1} s; {created} events created by the storm; outcomes {outcomes:?}",
        a.rounds,
        a.api.len(),
        a.per_server,
        started.elapsed().as_secs_f64()
    );
    let v = json!({"rounds": a.rounds, "servers": a.api.len(), "per_server": a.per_server,
        "scans": u64::from(a.rounds) * (a.api.len() * a.per_server) as u64, "created": created, "outcomes": outcomes});
    std::fs::write(&a.out, serde_json::to_string_pretty(&v)?)?;
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct VerifyOnceArgs {
    /// The server that runs the last scan (after the faults).
    #[arg(long)]
    pub api: String,
    #[arg(long)]
    pub plan: PathBuf,
    #[command(flatten)]
    pub stores: Stores,
    #[arg(long, default_value_t = 120)]
    pub timeout: u64,
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(QueryableByName)]
struct Ev {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    rule_id: String,
    #[diesel(sql_type = Text)]
    worker_id: String,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn count(conn: &mut PgConnection, q: &str) -> anyhow::Result<i64> {
    Ok(diesel::sql_query(q).get_result::<N>(conn)?.n)
}

pub async fn verify(a: VerifyOnceArgs) -> anyhow::Result<()> {
    let plan: Plan = serde_json::from_str(&std::fs::read_to_string(&a.plan).context("reading the plan")?)?;
    let due = expected(&plan)?;
    let deadline = Instant::now() + Duration::from_secs(a.timeout);
    let c = world::client()?;
    // One last scan, so that what the storm's cuts interrupted is written now.
    let url = format!("{}/v1/milestones/scan?as_of=2024-12-31", a.api.trim_end_matches('/'));
    let last = loop {
        match world::send(c.post(&url).bearer_auth(&plan.world.admin_key)).await {
            Outcome::Ok(v) => break v,
            o if Instant::now() > deadline => bail!("the last scan did not run: {}", o.label()),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    let mut conn = PgConnection::establish(&a.stores.database_url).context("connecting to PostgreSQL")?;
    let mut problems = Vec::new();
    let twice = count(
        &mut conn,
        "SELECT count(*) AS n FROM (SELECT 1 FROM subsidy_events GROUP BY rule_id, subject_key HAVING count(*) > 1) d",
    )?;
    let events: Vec<Ev> = diesel::sql_query(
        "SELECT id::text AS id, rule_id, worker_id::text AS worker_id FROM subsidy_events ORDER BY id",
    )
    .load(&mut conn)?;
    let fired: BTreeSet<(String, String)> = events.iter().map(|e| (e.rule_id.clone(), e.worker_id.clone())).collect();
    let per_person_twice = events.len() - fired.len();
    let missing = due.difference(&fired).count();
    let unexpected = fired.difference(&due).count();
    let announced = count(&mut conn, "SELECT count(*) AS n FROM outbox WHERE topic = 'subsidy_event.created'")?;
    let announced_twice = count(
        &mut conn,
        "SELECT count(*) AS n FROM (SELECT 1 FROM outbox WHERE topic = 'subsidy_event.created' \
           GROUP BY aggregate_id HAVING count(*) > 1) d",
    )?;
    println!(
        "events: {} due by the plan, {} in PostgreSQL ({} by (rule, subject) more than once, {} by (rule, person) more than once); {missing} missing, {unexpected} not due; the last scan created {}",
        due.len(),
        events.len(),
        twice,
        per_person_twice,
        last["events_created"]
    );
    println!("outbox: {announced} subsidy_event.created rows, {announced_twice} events announced more than once");
    if twice > 0 || per_person_twice > 0 {
        problems.push(format!("{} events fired twice", twice.max(per_person_twice as i64)));
    }
    if missing > 0 || unexpected > 0 {
        problems.push(format!("{missing} due events missing, {unexpected} events not due"));
    }
    if announced != events.len() as i64 || announced_twice > 0 {
        problems.push(format!("{announced} announcements for {} events", events.len()));
    }
    // The stream: every event, once.
    let key = format!("{}subsidy-events", a.stores.prefix);
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let st = wait_stream(&a.stores.redis_url, &key, &ids, deadline).await;
    let (in_stream, dups, entries) = (st.found, st.duplicates, st.entries);
    println!(
        "stream {key}: {entries} entries, {in_stream} of {} events ({:.1} s), {dups} duplicate entries",
        events.len(),
        st.seconds
    );
    if in_stream != events.len() {
        problems.push(format!("{} events never reached the stream", events.len() - in_stream));
    }
    if dups > 0 {
        problems.push(format!("{dups} duplicate entries in the stream"));
    }
    if let Some(out) = &a.out {
        let v = json!({"placements": plan.placements.len(), "workers": plan.world.workers.len(), "due": due.len(),
            "events": events.len(), "fired_twice": twice, "missing": missing, "not_due": unexpected,
            "announced": announced, "stream_entries": entries, "stream_events": in_stream, "stream_duplicates": dups});
        std::fs::write(out, serde_json::to_string_pretty(&v)?)?;
    }
    conclude(&problems, "every due subsidy event exists exactly once, in PostgreSQL and in the stream")
}
