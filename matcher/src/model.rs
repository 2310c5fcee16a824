//! What the matcher knows of workers and jobs. A worker snapshot carries no
//! gender, no ethnicity and no ID number: they cannot be inputs.

use chrono::NaiveDate;
use domain::job::Requirements;
use domain::worker::{Category, EmploymentStatus};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct TrainingSnap {
    pub course: String,
    pub kind: String,
    pub occupation_code: Option<String>,
    pub skills: Vec<String>,
    pub certificate: Option<String>,
    pub completed_on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeclineSnap {
    pub occupation_code: Option<String>,
    pub skills: Vec<String>,
    pub on: NaiveDate,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorkerSnap {
    pub id: Uuid,
    pub county_code: String,
    pub household_id: Uuid,
    pub birth_date: Option<NaiveDate>,
    pub categories: Vec<Category>,
    pub skills: Vec<String>,
    pub willing_cross_province: bool,
    pub accepts_offers: bool,
    pub seeking_while_employed: bool,
    pub min_wage: Option<i32>,
    pub preferred_county_codes: Vec<String>,
    pub status: Option<EmploymentStatus>,
    pub is_labour: bool,
    pub is_employed: bool,
    pub trainings: Vec<TrainingSnap>,
    /// Months stayed in each earlier (ended) placement.
    pub past_stays_months: Vec<u32>,
    /// Jobs the worker is or was placed in.
    pub placed_jobs: Vec<Uuid>,
    pub declines: Vec<DeclineSnap>,
    /// Inline copies of what ranking reads for every worker, so that the fast
    /// path does not chase the pointers above (filled by the candidate store).
    pub fast: Fast,
}

/// At most this many skills (own and trained) take part in ranking.
pub const FAST_SKILLS: usize = 8;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fast {
    /// The county code as a number (520102).
    pub county: u32,
    /// One bit per `Category` (in `Category::ALL` order).
    pub categories: u8,
    pub n_skills: u8,
    /// Hashes of the normalised skills, own first, then those of trainings.
    pub skills: [u64; FAST_SKILLS],
}

/// The hash under which a normalised word is matched.
pub fn word_hash(word: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    word.hash(&mut h);
    h.finish()
}

impl Fast {
    pub fn of(w: &WorkerSnap) -> Self {
        let mut f = Fast { county: w.county_code.parse().unwrap_or(0), ..Fast::default() };
        for (i, c) in Category::ALL.iter().enumerate() {
            if w.categories.contains(c) {
                f.categories |= 1 << i;
            }
        }
        for s in w.skills.iter().chain(w.trainings.iter().flat_map(|t| t.skills.iter())).take(FAST_SKILLS) {
            f.skills[f.n_skills as usize] = word_hash(s);
            f.n_skills += 1;
        }
        f
    }
}

impl WorkerSnap {
    pub fn has(&self, c: Category) -> bool {
        match Category::ALL.iter().position(|x| *x == c) {
            Some(i) if self.fast != Fast::default() => self.fast.categories & (1 << i) != 0,
            _ => self.categories.contains(&c),
        }
    }

    /// The i-th skill as `Fast::skills` counts them.
    pub fn skill_at(&self, i: usize) -> Option<&str> {
        self.skills.iter().chain(self.trainings.iter().flat_map(|t| t.skills.iter())).nth(i).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobSnap {
    pub id: Uuid,
    pub title: String,
    pub occupation_code: Option<String>,
    pub occupation_name: Option<String>,
    pub skills: Vec<String>,
    pub county_code: String,
    pub province_code: String,
    pub wage_min: i32,
    pub wage_max: i32,
    pub requirements: Requirements,
    /// Openings not yet filled by placements.
    pub open_slots: i32,
    pub open: bool,
}

impl JobSnap {
    pub fn cross_province(&self) -> bool {
        self.province_code != domain::division::GUIZHOU
    }
}
