//! The matcher inside the API process: the candidate store is loaded from
//! PostgreSQL at start and kept current from the outbox (each process keeps
//! its own cursor in memory: a restart loads everything again), so ranking
//! never scans the workers table per request.

use crate::{Cancelled, Services};
use domain::synonyms::Synonyms;
use matcher::{CandidateStore, Weights};
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, RwLock};
use store::outbox::{self, Aggregate, Cursor};
use store::{Pool, StoreError};
use uuid::Uuid;

/// The synonym dictionary shared with search (`seed/synonyms.txt`).
pub const SYNONYMS: &str = include_str!("../../seed/synonyms.txt");

pub struct Matcher {
    pub store: RwLock<CandidateStore>,
    pub weights: Weights,
    pub synonyms: Synonyms,
    pub place_names: HashMap<String, String>,
    cursor: Mutex<Cursor>,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Matcher(..)")
    }
}

fn today() -> chrono::NaiveDate {
    domain::calendar::today_in_china(chrono::Utc::now())
}

impl Matcher {
    /// Load every worker (blocking). Takes seconds for a million workers.
    pub fn load(pool: &Pool) -> Result<Self, StoreError> {
        let mut conn = pool.get()?;
        let weights = Weights::shipped().map_err(|e| StoreError::Other(format!("matcher/weights.json: {e}")))?;
        let cursor = outbox::horizon(&mut conn)?;
        let started = std::time::Instant::now();
        let snaps = store::matching::worker_snapshots(&mut conn, None, today())?;
        let mut cs = CandidateStore::new();
        let n = snaps.len();
        for s in snaps {
            cs.upsert(s);
        }
        tracing::info!(workers = n, ms = started.elapsed().as_millis() as u64, "candidate store loaded");
        Ok(Self {
            store: RwLock::new(cs),
            weights,
            synonyms: Synonyms::parse(SYNONYMS),
            place_names: store::matching::place_names(&mut conn)?,
            cursor: Mutex::new(cursor),
        })
    }

    /// Apply what the outbox says changed since our cursor (blocking).
    /// Returns the number of workers reloaded.
    pub fn catch_up(&self, pool: &Pool) -> Result<usize, StoreError> {
        let mut conn = pool.get()?;
        let mut cursor = self.cursor.lock().map_err(|_| StoreError::Other("matcher cursor poisoned".into()))?;
        let mut total = 0;
        loop {
            let rows = outbox::read_batch(&mut conn, *cursor, 2000)?;
            let Some(last) = rows.last().map(|r| r.cursor()) else { break };
            let ids: Vec<Uuid> = rows
                .iter()
                .filter(|r| {
                    r.is_about(Aggregate::Worker) || r.is_about(Aggregate::Placement) || r.is_about(Aggregate::Offer)
                })
                .filter_map(|r| {
                    r.payload.get("worker_id").and_then(|v| v.as_str()).and_then(|s| Uuid::parse_str(s).ok())
                })
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            if !ids.is_empty() {
                let snaps = store::matching::worker_snapshots(&mut conn, Some(&ids), today())?;
                let found: HashSet<Uuid> = snaps.iter().map(|s| s.id).collect();
                let mut cs = self.store.write().map_err(|_| StoreError::Other("candidate store poisoned".into()))?;
                for s in snaps {
                    cs.upsert(s);
                }
                for id in ids.iter().filter(|i| !found.contains(i)) {
                    cs.remove(*id);
                }
                total += ids.len();
            }
            *cursor = last;
        }
        Ok(total)
    }

    pub fn context(&self) -> matcher::Context<'_> {
        matcher::Context {
            weights: &self.weights,
            synonyms: &self.synonyms,
            today: today(),
            place_names: &self.place_names,
        }
    }
}

/// The matcher, loaded on first use (or at start by `serve`), so that a
/// process can start and answer `/readyz` while PostgreSQL is down.
#[derive(Default)]
pub struct MatcherCell(Mutex<Option<std::sync::Arc<Matcher>>>);

impl MatcherCell {
    pub fn get(&self, pool: &Pool) -> Result<std::sync::Arc<Matcher>, StoreError> {
        let mut g = self.0.lock().map_err(|_| StoreError::Other("matcher cell poisoned".into()))?;
        if let Some(m) = g.as_ref() {
            return Ok(m.clone());
        }
        let m = std::sync::Arc::new(Matcher::load(pool)?);
        *g = Some(m.clone());
        Ok(m)
    }

    /// Drop an erased worker from this process's candidate store at once
    /// (other processes drop them when they read `worker.erased` from the
    /// outbox, which a transaction still running may hold back a moment).
    pub fn forget(&self, id: Uuid) {
        let loaded = self.0.lock().ok().and_then(|g| g.clone());
        if let Some(m) = loaded
            && let Ok(mut cs) = m.store.write()
        {
            cs.remove(id);
        }
    }
}

/// Catch up with the outbox, then run `f` over the matcher on the blocking pool.
pub async fn with_matcher<T, E, F>(services: &Services, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<StoreError> + From<Cancelled> + Send + 'static,
    F: FnOnce(&Matcher, &mut diesel::PgConnection) -> Result<T, E> + Send + 'static,
{
    let cell = services.matcher.clone();
    let pool = services.pool.clone();
    crate::blocking(move || {
        let m = cell.get(&pool)?;
        m.catch_up(&pool)?;
        let mut conn = pool.get().map_err(StoreError::from)?;
        f(&m, &mut conn)
    })
    .await
}

/// What a province-wide offer plan did.
#[derive(Debug, Clone, Default)]
pub struct PlanOutcome {
    /// Workers in the candidate store.
    pub workers: usize,
    /// Open jobs with free openings.
    pub jobs: usize,
    pub planned: usize,
    /// Offers queued (fewer than planned when a cap or an answer got there first).
    pub written: usize,
    /// Zero-employment households with a member among the planned offers.
    pub households: usize,
}

/// Plan offers across all open jobs with free openings at once (zero-employment
/// households first, within each worker's caps) and queue them for the bot,
/// unless `dry_run`. `progress(written, total)` after each batch of 1,000.
/// `qianlink plan-offers` and the demo run it.
pub fn plan_all(
    m: &Matcher,
    conn: &mut diesel::PgConnection,
    per_opening: usize,
    dry_run: bool,
    actor: &store::audit::Actor,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<PlanOutcome, StoreError> {
    use matcher::plan::{Caps, Want};
    let jobs: Vec<_> =
        store::matching::open_jobs(conn, false, i64::MAX, today())?.into_iter().filter(|j| j.open_slots > 0).collect();
    let cs = m.store.read().map_err(|_| StoreError::Other("candidate store poisoned".into()))?;
    let ids: Vec<Uuid> = jobs.iter().map(|j| j.id).collect();
    let already = store::matching::offered(conn, &ids)?;
    let all: Vec<Uuid> = cs.iter().map(|w| w.id).collect();
    let mut load = HashMap::new();
    for chunk in all.chunks(50_000) {
        load.extend(store::matching::loads(conn, chunk)?);
    }
    let wants: Vec<Want<'_>> =
        jobs.iter().map(|j| Want { job: j, offers: j.open_slots as usize * per_opening }).collect();
    let caps =
        Caps { max_open: m.weights.max_open_offers_per_worker, max_7_days: m.weights.max_offers_per_worker_per_7_days };
    let planned = matcher::plan::plan(&cs, &m.context(), &wants, &already, &load, caps);
    let households = cs.zero_employment_reached(&planned);
    let mut out = PlanOutcome {
        workers: cs.len(),
        jobs: jobs.len(),
        planned: planned.len(),
        written: 0,
        households: households.len(),
    };
    if dry_run {
        return Ok(out);
    }
    let new: Vec<store::matching::NewOffer> = planned
        .iter()
        .map(|s| store::matching::NewOffer {
            job_id: s.job_id,
            worker_id: s.worker_id,
            score: s.score,
            reasons: serde_json::to_value(&s.reasons).unwrap_or_default(),
        })
        .collect();
    drop(cs);
    for chunk in new.chunks(1000) {
        out.written += store::matching::queue(conn, chunk, caps.max_open, caps.max_7_days, None, actor)?.len();
        progress(out.written, new.len());
    }
    Ok(out)
}

/// An open job ranked for a worker, with its title.
#[derive(Debug, Clone)]
pub struct Recommendation {
    pub scored: matcher::Scored,
    pub title: String,
}

/// The recommend-jobs use case: open jobs ranked for a worker, best first, at most `limit`
/// (the API's job recommendations and the bot's `/jobs`). Empty for a worker the matcher does
/// not rank (erased, or not in the candidate store).
pub fn recommend_jobs(
    m: &Matcher,
    conn: &mut diesel::PgConnection,
    worker_id: Uuid,
    limit: usize,
    today: chrono::NaiveDate,
) -> Result<Vec<Recommendation>, StoreError> {
    let cs = m.store.read().map_err(|_| StoreError::Other("candidate store poisoned".into()))?;
    let Some(w) = cs.get(worker_id) else { return Ok(vec![]) };
    let jobs = store::matching::open_jobs(conn, !w.willing_cross_province, 5000, today)?;
    let titles: HashMap<Uuid, String> = jobs.iter().map(|j| (j.id, j.title.clone())).collect();
    Ok(matcher::rank::recommend(&jobs, w, cs.zero_employment(w.household_id), &m.context(), limit)
        .into_iter()
        .map(|scored| Recommendation { title: titles.get(&scored.job_id).cloned().unwrap_or_default(), scored })
        .collect())
}

/// Whom to offer a job to.
#[derive(Debug, Clone)]
pub enum Offerees {
    /// The best eligible workers not yet offered it, within their caps (`None`: one per free opening).
    Best(Option<usize>),
    /// These workers, each of whom must be eligible.
    These(Vec<Uuid>),
}

/// Why a job's offers could not be planned.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("The job is closed or expired.")]
    JobClosed,
    #[error("All openings of the job are filled by placements; no new offers.")]
    NoOpenings,
    /// Named workers who are not eligible, each with the reasons.
    #[error("some workers are not eligible")]
    NotEligible(domain::Problems),
}

/// The plan-offers-for-a-job use case: rank, plan within each worker's caps (zero-employment
/// households first) and queue the offers for the bot, in one transaction with their pushes.
pub fn plan_for_job(
    m: &Matcher,
    conn: &mut diesel::PgConnection,
    job: &domain::matching::JobSnap,
    who: &Offerees,
    by_org: Option<Uuid>,
    actor: &store::audit::Actor,
) -> Result<Vec<store::matching::Offer>, PlanError> {
    use matcher::plan::{Caps, Want};
    use matcher::rank::Verdict;
    let job_id = job.id;
    if !job.open {
        return Err(PlanError::JobClosed);
    }
    if job.open_slots <= 0 {
        return Err(PlanError::NoOpenings);
    }
    let caps =
        Caps { max_open: m.weights.max_open_offers_per_worker, max_7_days: m.weights.max_offers_per_worker_per_7_days };
    let planned: Vec<matcher::Scored> = {
        let cs = m.store.read().map_err(|_| StoreError::Other("candidate store poisoned".into()))?;
        let ctx = m.context();
        match who {
            Offerees::These(ids) => {
                let mut out = Vec::new();
                let mut problems = domain::Problems::new();
                for id in ids {
                    match cs.get(*id).map(|w| matcher::rank::explain(job, w, cs.zero_employment(w.household_id), &ctx))
                    {
                        Some(Verdict::Eligible(s)) => out.push(s),
                        Some(Verdict::Filtered { reasons }) => {
                            problems.push("worker_ids", format!("{id}: {}", reasons.join("；")))
                        }
                        None => problems.push("worker_ids", format!("{id}: no such worker")),
                    }
                }
                if !problems.is_empty() {
                    return Err(PlanError::NotEligible(problems));
                }
                out
            }
            Offerees::Best(count) => {
                let n = count.unwrap_or(job.open_slots as usize);
                let already = store::matching::offered(conn, &[job_id])?;
                let pool: Vec<Uuid> =
                    matcher::rank::top_candidates(&cs, job, &ctx, n * 4 + 10).iter().map(|s| s.worker_id).collect();
                let load = store::matching::loads(conn, &pool)?;
                matcher::plan::plan(&cs, &ctx, &[Want { job, offers: n }], &already, &load, caps)
            }
        }
    };
    let new: Vec<store::matching::NewOffer> = planned
        .iter()
        .map(|s| store::matching::NewOffer {
            job_id,
            worker_id: s.worker_id,
            score: s.score,
            reasons: serde_json::to_value(&s.reasons).unwrap_or_default(),
        })
        .collect();
    Ok(store::matching::queue(conn, &new, caps.max_open, caps.max_7_days, by_org, actor)?)
}
