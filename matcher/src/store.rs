//! The in-memory candidate store: every worker's snapshot, per household how
//! many members are labour and how many are employed, and — in one
//! contiguous array — the inline copies (`Fast`) of the workers who may hear
//! of jobs at all, with their household's zero-employment flag kept current.
//! Ranking walks that array front to back and touches a snapshot only for
//! rare data and for the texts of the pairs it shows.

use crate::model::{Fast, WorkerSnap, ZERO_EMPLOYMENT};
use crate::rank::available;
use rustc_hash::FxHashMap;
use uuid::Uuid;

const NOT_AVAILABLE: u32 = u32::MAX;

/// A worker who may hear of jobs, as ranking reads them.
#[derive(Debug, Clone, Copy)]
pub struct Hot {
    pub id: Uuid,
    pub slot: u32,
    pub fast: Fast,
}

#[derive(Debug, Default)]
struct Household {
    labour: u32,
    employed: u32,
    /// Slots of the members.
    members: Vec<u32>,
}

impl Household {
    fn zero_employment(&self) -> bool {
        self.labour > 0 && self.employed == 0
    }
}

#[derive(Debug, Default)]
pub struct CandidateStore {
    workers: Vec<Option<WorkerSnap>>,
    index: FxHashMap<Uuid, usize>,
    households: FxHashMap<Uuid, Household>,
    /// The workers who may hear of jobs (`rank::available`), and each slot's
    /// place in that array.
    hot: Vec<Hot>,
    hot_at: Vec<u32>,
}

impl CandidateStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn count(&mut self, w: &WorkerSnap, slot: usize, sign: i64) {
        let h = self.households.entry(w.household_id).or_default();
        let add = |v: &mut u32, on: bool| {
            if on {
                *v = (i64::from(*v) + sign).max(0) as u32;
            }
        };
        add(&mut h.labour, w.is_labour);
        add(&mut h.employed, w.is_employed);
        if sign > 0 {
            h.members.push(slot as u32);
        } else {
            h.members.retain(|m| *m as usize != slot);
            if h.members.is_empty() {
                self.households.remove(&w.household_id);
            }
        }
    }

    fn set_hot(&mut self, slot: usize) {
        let at = self.hot_at[slot];
        let entry = self.workers[slot].as_ref().filter(|w| available(w)).map(|w| Hot {
            id: w.id,
            slot: slot as u32,
            fast: Fast::of(w, self.zero_employment(w.household_id)),
        });
        match (entry, at) {
            (Some(h), NOT_AVAILABLE) => {
                self.hot_at[slot] = self.hot.len() as u32;
                self.hot.push(h);
            }
            (Some(h), at) => self.hot[at as usize] = h,
            (None, NOT_AVAILABLE) => {}
            (None, at) => {
                self.hot.swap_remove(at as usize);
                if let Some(moved) = self.hot.get(at as usize) {
                    self.hot_at[moved.slot as usize] = at;
                }
                self.hot_at[slot] = NOT_AVAILABLE;
            }
        }
    }

    /// Bring the members' zero-employment flags in line with the household.
    fn refresh_household(&mut self, household: Uuid) {
        let Some(h) = self.households.get(&household) else { return };
        let zero = h.zero_employment();
        for m in &h.members {
            let at = self.hot_at[*m as usize];
            if let Some(hot) = self.hot.get_mut(at as usize) {
                hot.fast.flags = (hot.fast.flags & !ZERO_EMPLOYMENT) | if zero { ZERO_EMPLOYMENT } else { 0 };
            }
        }
    }

    /// Insert or replace a worker.
    pub fn upsert(&mut self, w: WorkerSnap) {
        let household = w.household_id;
        let (slot, old_household) = match self.index.get(&w.id).copied() {
            Some(i) => {
                let old = self.workers[i].take();
                if let Some(old) = &old {
                    self.count(old, i, -1);
                }
                (i, old.map(|o| o.household_id))
            }
            None => {
                let i = self.workers.len();
                self.index.insert(w.id, i);
                self.workers.push(None);
                self.hot_at.push(NOT_AVAILABLE);
                (i, None)
            }
        };
        self.count(&w, slot, 1);
        self.workers[slot] = Some(w);
        self.set_hot(slot);
        self.refresh_household(household);
        if let Some(old) = old_household.filter(|o| *o != household) {
            self.refresh_household(old);
        }
    }

    pub fn remove(&mut self, id: Uuid) {
        if let Some(i) = self.index.remove(&id) {
            if let Some(old) = self.workers[i].take() {
                self.count(&old, i, -1);
                self.refresh_household(old.household_id);
            }
            self.set_hot(i);
        }
    }

    /// The inline copies of the workers who may hear of jobs, in no particular order.
    pub fn hot(&self) -> &[Hot] {
        &self.hot
    }

    /// The snapshot in a slot (`Hot::slot`).
    pub fn slot(&self, slot: u32) -> Option<&WorkerSnap> {
        self.workers.get(slot as usize).and_then(Option::as_ref)
    }

    /// The workers who may hear of jobs at all, in no particular order.
    pub fn available(&self) -> impl Iterator<Item = &WorkerSnap> {
        self.hot.iter().filter_map(|h| self.slot(h.slot))
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
        self.households.get(&household).is_some_and(Household::zero_employment)
    }

    /// The zero-employment households that these planned offers reach.
    pub fn zero_employment_reached(&self, planned: &[crate::rank::Scored]) -> std::collections::HashSet<Uuid> {
        planned
            .iter()
            .filter_map(|s| self.get(s.worker_id))
            .filter(|w| self.zero_employment(w.household_id))
            .map(|w| w.household_id)
            .collect()
    }
}
