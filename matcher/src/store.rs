//! The in-memory candidate store: every worker's snapshot, and per household
//! how many members are labour and how many are employed (so the
//! zero-employment flag costs nothing at ranking time).

use crate::model::WorkerSnap;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Default)]
pub struct CandidateStore {
    workers: Vec<Option<WorkerSnap>>,
    index: HashMap<Uuid, usize>,
    households: HashMap<Uuid, (u32, u32)>,
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

    /// Insert or replace a worker.
    pub fn upsert(&mut self, w: WorkerSnap) {
        match self.index.get(&w.id).copied() {
            Some(i) => {
                if let Some(old) = self.workers[i].take() {
                    self.count(&old, -1);
                }
                self.count(&w, 1);
                self.workers[i] = Some(w);
            }
            None => {
                self.count(&w, 1);
                self.index.insert(w.id, self.workers.len());
                self.workers.push(Some(w));
            }
        }
    }

    pub fn remove(&mut self, id: Uuid) {
        if let Some(i) = self.index.remove(&id)
            && let Some(old) = self.workers[i].take()
        {
            self.count(&old, -1);
        }
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
