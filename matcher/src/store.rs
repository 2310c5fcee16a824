//! The in-memory candidate store: every worker's snapshot, and per household
//! how many members are labour and how many are employed (so the
//! zero-employment flag costs nothing at ranking time).

use crate::model::WorkerSnap;
use crate::rank::available;
use rustc_hash::FxHashMap;
use uuid::Uuid;

const NOT_AVAILABLE: u32 = u32::MAX;

#[derive(Debug, Default)]
pub struct CandidateStore {
    workers: Vec<Option<WorkerSnap>>,
    index: FxHashMap<Uuid, usize>,
    households: FxHashMap<Uuid, (u32, u32)>,
    /// Slots of the workers who may hear of jobs at all (`rank::available`),
    /// and each slot's place in that list: ranking walks only these.
    available: Vec<u32>,
    available_at: Vec<u32>,
}

impl CandidateStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn count(&mut self, w: &WorkerSnap, sign: i64) {
        let e = self.households.entry(w.household_id).or_insert((0, 0));
        let add = |v: &mut u32, on: bool| {
            if on {
                *v = (i64::from(*v) + sign).max(0) as u32;
            }
        };
        add(&mut e.0, w.is_labour);
        add(&mut e.1, w.is_employed);
    }

    fn set_available(&mut self, slot: usize, on: bool) {
        let at = self.available_at[slot];
        if on && at == NOT_AVAILABLE {
            self.available_at[slot] = self.available.len() as u32;
            self.available.push(slot as u32);
        } else if !on && at != NOT_AVAILABLE {
            let last = self.available.len() - 1;
            self.available.swap(at as usize, last);
            let moved = self.available[at as usize] as usize;
            self.available_at[moved] = at;
            self.available.pop();
            self.available_at[slot] = NOT_AVAILABLE;
        }
    }

    /// Insert or replace a worker.
    pub fn upsert(&mut self, mut w: WorkerSnap) {
        w.fast = crate::model::Fast::of(&w);
        let avail = available(&w);
        let slot = match self.index.get(&w.id).copied() {
            Some(i) => {
                if let Some(old) = self.workers[i].take() {
                    self.count(&old, -1);
                }
                self.count(&w, 1);
                self.workers[i] = Some(w);
                i
            }
            None => {
                self.count(&w, 1);
                let i = self.workers.len();
                self.index.insert(w.id, i);
                self.workers.push(Some(w));
                self.available_at.push(NOT_AVAILABLE);
                i
            }
        };
        self.set_available(slot, avail);
    }

    pub fn remove(&mut self, id: Uuid) {
        if let Some(i) = self.index.remove(&id) {
            if let Some(old) = self.workers[i].take() {
                self.count(&old, -1);
            }
            self.set_available(i, false);
        }
    }

    /// The workers who may hear of jobs at all, in no particular order.
    pub fn available(&self) -> impl Iterator<Item = &WorkerSnap> {
        self.available.iter().filter_map(|s| self.workers[*s as usize].as_ref())
    }

    pub fn get(&self, id: Uuid) -> Option<&WorkerSnap> {
        self.index.get(&id).and_then(|i| self.workers[*i].as_ref())
    }

    pub fn iter(&self) -> impl Iterator<Item = &WorkerSnap> {
        self.workers.iter().flatten()
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// At least one member in labour and none employed (DESIGN.md).
    pub fn zero_employment(&self, household: Uuid) -> bool {
        self.households.get(&household).is_some_and(|(labour, employed)| *labour > 0 && *employed == 0)
    }
}
