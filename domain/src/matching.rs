//! What ranking knows of workers and jobs (the matcher's input), read from
//! PostgreSQL by `store` and ranked by `matcher`. A worker snapshot carries
//! no gender, no ethnicity and no ID number: they cannot be inputs. Skills
//! are normalised by [`crate::text::normalize`].

use crate::job::Requirements;
use crate::worker::{Category, EmploymentStatus};
use chrono::NaiveDate;
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
}

impl WorkerSnap {
    pub fn has(&self, c: Category) -> bool {
        self.categories.contains(&c)
    }

    /// The i-th skill as `Fast::skills` counts them.
    pub fn skill_at(&self, i: usize) -> Option<&str> {
        self.skills.iter().chain(self.trainings.iter().flat_map(|t| t.skills.iter())).nth(i).map(String::as_str)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobSnap {
    pub id: Uuid,
    /// The organisation that posted it (nil for a demand list's line, which no one posted yet).
    pub poster_org_id: Uuid,
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
        self.province_code != crate::division::GUIZHOU
    }
}

/// Offers a worker already has: open ones and those made in the last 7 days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Load {
    pub open: i64,
    pub last_7_days: i64,
}
