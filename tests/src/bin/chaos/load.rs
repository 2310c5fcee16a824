//! The load client: job posts, placements with their monthly reports, offers
//! and reads, from a few concurrent tasks, bounded in time. Every write
//! answered 2xx is appended to the `--acked` file (one JSON object a line,
//! written as it is acknowledged) with the id the server returned.

use crate::world::{self, DONGGUAN, Outcome, World};
use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One acknowledged write.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Acked {
    /// job, placement, report or offer
    pub kind: String,
    pub id: String,
    /// For a job: the word only it carries (searched for afterwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// For a report: its placement; for a placement: its worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub of: Option<String>,
    /// For a report: its month.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub month: Option<String>,
}

pub fn read_acked(path: &std::path::Path) -> anyhow::Result<Vec<Acked>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).with_context(|| format!("bad line in {}: {l}", path.display())))
        .collect()
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Summary {
    pub seconds: f64,
    pub requests_sent: u64,
    pub writes_sent: u64,
    pub writes_acked: u64,
    pub reads_sent: u64,
    pub reads_ok: u64,
    /// 429 answers (retried, not failures of the service).
    pub throttled: u64,
    pub scans_ok: u64,
    /// Scans refused because another one ran (409 scan_running): by design.
    pub scans_busy: u64,
    pub failures: BTreeMap<String, u64>,
    pub acked_by_kind: BTreeMap<String, u64>,
}

#[derive(clap::Args, Debug)]
pub struct LoadArgs {
    /// Base URLs of the servers (requests go round-robin).
    #[arg(long, value_delimiter = ',', required = true)]
    pub api: Vec<String>,
    #[arg(long)]
    pub world: PathBuf,
    #[arg(long)]
    pub acked: PathBuf,
    #[arg(long)]
    pub summary: PathBuf,
    /// Stop when this file appears.
    #[arg(long)]
    pub stop_file: Option<PathBuf>,
    /// Stop after this long in any case.
    #[arg(long, default_value_t = 120)]
    pub max_seconds: u64,
    #[arg(long, default_value_t = 4)]
    pub tasks: usize,
    /// Tells this run's job words apart from other runs'.
    #[arg(long, default_value = "a")]
    pub tag: String,
    /// Place workers from this index of the world's list ...
    #[arg(long, default_value_t = 0)]
    pub first_worker: usize,
    /// ... and at most this many.
    #[arg(long)]
    pub worker_count: Option<usize>,
    /// Offers go to workers from this index to the end of the list, two named
    /// per job (default: the first worker after those placed).
    #[arg(long)]
    pub offer_from: Option<usize>,
    /// Also run the milestone scan (as of 2024-12-31) every N iterations of a task (0: never).
    #[arg(long, default_value_t = 0)]
    pub scan_every: u64,
    /// Pause between two iterations of a task.
    #[arg(long, default_value_t = 50)]
    pub pause_ms: u64,
    /// Exit non-zero if any request failed (5xx or no answer; 429 is not a failure).
    #[arg(long)]
    pub no_failures: bool,
}

struct Shared {
    api: Vec<String>,
    next_api: AtomicUsize,
    client: reqwest::Client,
    world: World,
    acked: Mutex<std::fs::File>,
    summary: Mutex<Summary>,
    next_worker: AtomicUsize,
    last_worker: usize,
    offer_to: Vec<String>,
    next_offer: AtomicUsize,
    stop_file: Option<PathBuf>,
    deadline: Instant,
}

impl Shared {
    fn stopped(&self) -> bool {
        Instant::now() >= self.deadline || self.stop_file.as_ref().is_some_and(|f| f.exists())
    }

    fn url(&self, path: &str) -> String {
        let i = self.next_api.fetch_add(1, Ordering::Relaxed) % self.api.len();
        format!("{}{}", self.api[i], path)
    }

    fn ack(&self, a: Acked) {
        if let Ok(line) = serde_json::to_string(&a)
            && let Ok(mut f) = self.acked.lock()
        {
            // One write per line, unbuffered: what is acknowledged is on disk.
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
        if let Ok(mut s) = self.summary.lock() {
            s.writes_acked += 1;
            *s.acked_by_kind.entry(a.kind).or_default() += 1;
        }
    }

    /// Send one request; count it; back off a little after a failure.
    async fn call(&self, write: bool, req: reqwest::RequestBuilder) -> Option<Value> {
        let o = world::send(req).await;
        let mut pause = None;
        if let Ok(mut s) = self.summary.lock() {
            s.requests_sent += 1;
            if write {
                s.writes_sent += 1;
            } else {
                s.reads_sent += 1;
            }
            match &o {
                Outcome::Ok(_) if !write => s.reads_ok += 1,
                Outcome::Ok(_) => {}
                Outcome::Status(429, _) => {
                    s.throttled += 1;
                    pause = Some(Duration::from_millis(500));
                }
                Outcome::Status(409, code) if code == "scan_running" => s.scans_busy += 1,
                other => {
                    *s.failures.entry(other.label()).or_default() += 1;
                    pause = Some(Duration::from_millis(100));
                }
            }
        }
        if let Some(p) = pause {
            tokio::time::sleep(p).await;
        }
        match o {
            Outcome::Ok(v) => Some(v),
            _ => None,
        }
    }
}

fn month_of(i: usize) -> String {
    format!("2024-{:02}", 1 + i)
}

async fn task(s: Arc<Shared>, t: usize, tag: String, scan_every: u64, pause: Duration) {
    let w = &s.world;
    let mut n: u64 = 0;
    while !s.stopped() {
        n += 1;
        // A job post, with a word only it carries.
        let token = format!("qlchaos{tag}t{t}n{n}");
        let job = json!({"title": "电子厂普工", "description": format!("流水线装配 {token}"), "skills": ["装配"],
            "work_county_code": DONGGUAN, "wage_min": 4500, "wage_max": 6000, "openings": 5, "contract_months": 12});
        let job_id = match s.call(true, s.client.post(s.url("/v1/jobs")).bearer_auth(&w.employer_key).json(&job)).await
        {
            Some(v) => {
                let id = v["id"].as_str().unwrap_or_default().to_owned();
                s.ack(Acked { kind: "job".into(), id: id.clone(), token: Some(token), of: None, month: None });
                Some(id)
            }
            None => None,
        };
        // A placement of the next worker, then its four monthly reports.
        let wi = s.next_worker.fetch_add(1, Ordering::Relaxed);
        if wi < s.last_worker && !s.stopped() {
            let worker = &w.workers[wi];
            let body = json!({"worker_id": worker, "employer_org_id": w.employer_id, "broker_org_id": w.broker_id,
                "start_date": "2024-01-15", "contract_months": 12, "work_county_code": DONGGUAN, "organised_by": "broker"});
            let placed =
                s.call(true, s.client.post(s.url("/v1/placements")).bearer_auth(&w.broker_key).json(&body)).await;
            if let Some(p) = placed.and_then(|v| v["id"].as_str().map(str::to_owned)) {
                s.ack(Acked {
                    kind: "placement".into(),
                    id: p.clone(),
                    token: None,
                    of: Some(worker.clone()),
                    month: None,
                });
                for m in 0..4 {
                    let month = month_of(m);
                    let body = json!({"month": month, "employed": true, "social_insurance_paid": true, "wage": 5200});
                    // Retried until acknowledged (a report sent twice is harmless: the month counts once).
                    for _ in 0..40 {
                        if s.stopped() {
                            break;
                        }
                        let req = s
                            .client
                            .post(s.url(&format!("/v1/placements/{p}/reports")))
                            .bearer_auth(&w.employer_key)
                            .json(&body);
                        if let Some(r) = s.call(true, req).await {
                            s.ack(Acked {
                                kind: "report".into(),
                                id: r["id"].as_i64().unwrap_or(-1).to_string(),
                                token: None,
                                of: Some(p.clone()),
                                month: Some(month.clone()),
                            });
                            break;
                        }
                    }
                }
            }
        }
        // Offers for the job (two workers named, each up to the matcher's
        // caps): queued for the bot in the offer's transaction.
        if let Some(job_id) = &job_id
            && !s.offer_to.is_empty()
        {
            let k = s.next_offer.fetch_add(2, Ordering::Relaxed);
            let to = [&s.offer_to[k % s.offer_to.len()], &s.offer_to[(k + 1) % s.offer_to.len()]];
            let req = s
                .client
                .post(s.url(&format!("/v1/jobs/{job_id}/offers")))
                .bearer_auth(&w.employer_key)
                .json(&json!({"worker_ids": to}));
            if let Some(v) = s.call(true, req).await {
                for o in v["items"].as_array().into_iter().flatten() {
                    if let Some(id) = o["id"].as_str() {
                        s.ack(Acked { kind: "offer".into(), id: id.to_owned(), token: None, of: None, month: None });
                    }
                }
            }
            s.call(false, s.client.get(s.url(&format!("/v1/jobs/{job_id}"))).bearer_auth(&w.county_key)).await;
        }
        s.call(false, s.client.get(s.url("/v1/jobs/search?q=%E6%99%AE%E5%B7%A5&limit=5")).bearer_auth(&w.county_key))
            .await;
        if scan_every > 0 && n.is_multiple_of(scan_every) {
            let req = s.client.post(s.url("/v1/milestones/scan?as_of=2024-12-31")).bearer_auth(&w.admin_key);
            if s.call(false, req).await.is_some()
                && let Ok(mut sm) = s.summary.lock()
            {
                sm.scans_ok += 1;
            }
        }
        tokio::time::sleep(pause).await;
    }
}

pub async fn run(a: LoadArgs) -> anyhow::Result<()> {
    let world = World::load(&a.world)?;
    let last_worker = match a.worker_count {
        Some(n) => (a.first_worker + n).min(world.workers.len()),
        None => world.workers.len(),
    };
    let offer_to = world.workers[a.offer_from.unwrap_or(last_worker).min(world.workers.len())..].to_vec();
    let acked = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&a.acked)
        .with_context(|| format!("opening {}", a.acked.display()))?;
    let started = Instant::now();
    let s = Arc::new(Shared {
        api: a.api.iter().map(|u| u.trim_end_matches('/').to_owned()).collect(),
        next_api: AtomicUsize::new(0),
        client: world::client()?,
        world,
        acked: Mutex::new(acked),
        summary: Mutex::new(Summary::default()),
        next_worker: AtomicUsize::new(a.first_worker),
        last_worker,
        offer_to,
        next_offer: AtomicUsize::new(0),
        stop_file: a.stop_file.clone(),
        deadline: started + Duration::from_secs(a.max_seconds),
    });
    let mut set = tokio::task::JoinSet::new();
    for t in 0..a.tasks.max(1) {
        set.spawn(task(s.clone(), t, a.tag.clone(), a.scan_every, Duration::from_millis(a.pause_ms)));
    }
    while set.join_next().await.is_some() {}
    let text = {
        let mut sm = s.summary.lock().map_err(|_| anyhow::anyhow!("summary poisoned"))?;
        sm.seconds = started.elapsed().as_secs_f64();
        eprintln!(
            "load: {} requests in {:.0} s; writes {} sent, {} acknowledged {:?}; reads {} of {} ok; {} throttled; scans {} run, {} refused as busy; failures {:?}",
            sm.requests_sent,
            sm.seconds,
            sm.writes_sent,
            sm.writes_acked,
            sm.acked_by_kind,
            sm.reads_ok,
            sm.reads_sent,
            sm.throttled,
            sm.scans_ok,
            sm.scans_busy,
            sm.failures
        );
        (serde_json::to_string_pretty(&*sm)?, sm.failures.values().sum::<u64>())
    };
    std::fs::write(&a.summary, text.0)?;
    if a.no_failures && text.1 > 0 {
        anyhow::bail!("{} requests failed", text.1);
    }
    Ok(())
}

#[derive(clap::Args, Debug)]
pub struct BurstArgs {
    #[arg(long)]
    pub api: String,
    #[arg(long)]
    pub key: String,
    #[arg(long, default_value_t = 400)]
    pub requests: usize,
    /// Fail unless at least one request was refused with 429 and at least `--min-ok` passed.
    #[arg(long, default_value_t = 1)]
    pub min_ok: usize,
    /// Where to write {ok, throttled, failed}.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// A burst on one key from 8 connections: the limiter (shared or per-process) must refuse some.
pub async fn burst(a: BurstArgs) -> anyhow::Result<()> {
    let c = world::client()?;
    let url = format!("{}/v1/jobs?limit=1", a.api.trim_end_matches('/'));
    let counts = Arc::new(Mutex::new((0usize, 0usize, 0usize)));
    let mut set = tokio::task::JoinSet::new();
    let per = a.requests.div_ceil(8);
    for _ in 0..8 {
        let (c, url, key, counts) = (c.clone(), url.clone(), a.key.clone(), counts.clone());
        set.spawn(async move {
            for _ in 0..per {
                let o = world::send(c.get(&url).bearer_auth(&key)).await;
                if let Ok(mut n) = counts.lock() {
                    match o {
                        Outcome::Ok(_) => n.0 += 1,
                        Outcome::Status(429, _) => n.1 += 1,
                        _ => n.2 += 1,
                    }
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    let (ok, throttled, failed) = *counts.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
    eprintln!("burst: {ok} ok, {throttled} refused with 429, {failed} failed");
    if let Some(out) = &a.out {
        std::fs::write(out, json!({"ok": ok, "throttled": throttled, "failed": failed}).to_string())?;
    }
    if failed > 0 || throttled == 0 || ok < a.min_ok {
        anyhow::bail!("the rate limiter did not hold: {ok} ok, {throttled} throttled, {failed} failed");
    }
    Ok(())
}
