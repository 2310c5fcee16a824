//! Offer planning across jobs: a greedy pass that serves zero-employment
//! households first and never floods a worker (see README for why greedy).

use crate::model::JobSnap;
use crate::rank::{Context, Scored, top_candidates};
use crate::store::CandidateStore;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

pub use domain::matching::Load;

#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub max_open: i64,
    pub max_7_days: i64,
}

impl Caps {
    pub fn allows(&self, l: Load) -> bool {
        l.open < self.max_open && l.last_7_days < self.max_7_days
    }
}

/// A job to plan for and how many offers it wants.
pub struct Want<'a> {
    pub job: &'a JobSnap,
    pub offers: usize,
}

/// Plan offers for many jobs at once. `already` holds (job, worker) pairs that
/// were offered before; `load` the workers' current offers.
pub fn plan(
    store: &CandidateStore,
    ctx: &Context<'_>,
    wants: &[Want<'_>],
    already: &HashSet<(Uuid, Uuid)>,
    load: &HashMap<Uuid, Load>,
    caps: Caps,
) -> Vec<Scored> {
    // Candidates per job (a few more than wanted, so the caps can skip some),
    // ranked on every core: jobs are independent.
    let active: Vec<&Want<'_>> = wants.iter().filter(|w| w.offers > 0 && w.job.open).collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 16);
    let chunk = active.len().div_ceil(threads).max(1);
    let ranked: Vec<Vec<Scored>> = std::thread::scope(|scope| {
        let handles: Vec<_> = active
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|want| top_candidates(store, want.job, ctx, want.offers * 4 + 10))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    let mut pool: Vec<(bool, Scored, Uuid)> = Vec::new();
    for (want, candidates) in active.iter().zip(ranked) {
        for s in candidates {
            if already.contains(&(want.job.id, s.worker_id)) {
                continue;
            }
            let household = store.get(s.worker_id).map(|w| w.household_id).unwrap_or_default();
            let zero = store.zero_employment(household);
            pool.push((zero, s, household));
        }
    }
    // Zero-employment households first, then score; stable tie-breaks.
    pool.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| b.1.score.partial_cmp(&a.1.score).unwrap_or(std::cmp::Ordering::Equal))
            .then_with(|| a.1.job_id.cmp(&b.1.job_id))
            .then_with(|| a.1.worker_id.cmp(&b.1.worker_id))
    });
    let mut wanted: HashMap<Uuid, usize> = wants.iter().map(|w| (w.job.id, w.offers)).collect();
    let mut load = load.clone();
    let mut covered: HashSet<Uuid> = HashSet::new();
    let mut out = Vec::new();
    let mut taken: HashSet<(Uuid, Uuid)> = HashSet::new();
    // Two rounds: first one offer per zero-employment household, then the rest.
    for round in 0..2 {
        for (zero, s, household) in &pool {
            if round == 0 && (!*zero || covered.contains(household)) {
                continue;
            }
            if taken.contains(&(s.job_id, s.worker_id)) {
                continue;
            }
            let left = wanted.get(&s.job_id).copied().unwrap_or(0);
            if left == 0 {
                continue;
            }
            let l = load.entry(s.worker_id).or_default();
            if !caps.allows(*l) {
                continue;
            }
            l.open += 1;
            l.last_7_days += 1;
            wanted.insert(s.job_id, left - 1);
            if *zero {
                covered.insert(*household);
            }
            taken.insert((s.job_id, s.worker_id));
            out.push(s.clone());
        }
    }
    out
}
