//! What the matcher knows of workers and jobs. A worker snapshot carries no
//! gender, no ethnicity and no ID number: they cannot be inputs.

use chrono::NaiveDate;
pub use domain::matching::{DeclineSnap, JobSnap, TrainingSnap, WorkerSnap};
use domain::worker::Category;
use uuid::Uuid;

/// At most this many skills (own and trained) take part in ranking.
pub const FAST_SKILLS: usize = 8;
/// Training records and preferred counties kept inline; a worker with more
/// is ranked through the snapshot for that part (rare, and still correct).
pub const FAST_TRAININGS: usize = 2;
pub const FAST_PREFERRED: usize = 2;

/// An occupation code's ASCII bytes (2022 codes such as `6-18-02-04`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Occ {
    bytes: [u8; 10],
    len: u8,
}

impl Occ {
    pub fn of(code: &str) -> Option<Self> {
        let b = code.as_bytes();
        if b.is_empty() || b.len() > 10 {
            return None;
        }
        let mut bytes = [0u8; 10];
        bytes[..b.len()].copy_from_slice(b);
        Some(Self { bytes, len: b.len() as u8 })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// How near two occupation codes are: 3 same 细类, 2 same 小类, 1 same 中类.
pub fn nearness(a: &[u8], b: &[u8]) -> u8 {
    if a == b && a.len() == 10 {
        3
    } else if a.len() >= 7 && b.len() >= 7 && a[..7] == b[..7] {
        2
    } else if a.len() >= 4 && b.len() >= 4 && a[..4] == b[..4] {
        1
    } else {
        0
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastTraining {
    pub occupation: Option<Occ>,
    pub certificate: bool,
    /// Which of `Fast::skills` this training's skills are.
    pub skills: u8,
    /// Completion as days since the common era.
    pub completed: i32,
}

/// The flags of `Fast`.
pub const WILLING_CROSS_PROVINCE: u8 = 1;
pub const ZERO_EMPLOYMENT: u8 = 2;
/// More training records than inline, or skills beyond `FAST_SKILLS`.
pub const SLOW_TRAININGS: u8 = 4;
/// More preferred counties than inline.
pub const SLOW_PREFERRED: u8 = 8;

/// Inline copies of everything ranking reads for a worker, so that the fast
/// path reads one small record per worker from a contiguous array and only
/// goes to the snapshot for rare data (long training histories, recent
/// declines, a possible earlier placement in the same job) and for texts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fast {
    /// The county code as a number (520102).
    pub county: u32,
    /// One bit per `Category` (in `Category::ALL` order).
    pub categories: u8,
    pub flags: u8,
    pub n_skills: u8,
    pub n_trainings: u8,
    pub n_preferred: u8,
    pub min_wage: Option<i32>,
    /// The birth date as yyyymmdd (0 when unknown): whole years between two
    /// such numbers are their difference divided by 10,000.
    pub birth: i32,
    /// The latest decline, in days since the common era (`i32::MIN`: none).
    pub last_decline: i32,
    /// One bit per job the worker was placed in (a job id's hash mod 64).
    pub placed: u64,
    pub stays_sum: u32,
    pub stays_n: u32,
    pub preferred: [u32; FAST_PREFERRED],
    /// Hashes of the normalised skills, own first, then those of trainings.
    pub skills: [u64; FAST_SKILLS],
    pub trainings: [FastTraining; FAST_TRAININGS],
}

/// The hash under which a normalised word is matched.
pub fn word_hash(word: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    word.hash(&mut h);
    h.finish()
}

/// `yyyymmdd` of a date.
pub fn packed_date(d: NaiveDate) -> i32 {
    use chrono::Datelike;
    d.year() * 10_000 + d.month() as i32 * 100 + d.day() as i32
}

/// The bit of `Fast::placed` a job sets.
pub fn placed_bit(job: Uuid) -> u64 {
    let v = job.as_u128();
    1 << (((v as u64) ^ ((v >> 64) as u64)) % 64)
}

impl Fast {
    pub fn of(w: &WorkerSnap, zero_employment: bool) -> Self {
        use chrono::Datelike;
        let mut f = Fast {
            county: w.county_code.parse().unwrap_or(0),
            min_wage: w.min_wage,
            birth: w.birth_date.map(packed_date).unwrap_or(0),
            last_decline: w.declines.iter().map(|d| d.on.num_days_from_ce()).max().unwrap_or(i32::MIN),
            stays_sum: w.past_stays_months.iter().sum(),
            stays_n: w.past_stays_months.len() as u32,
            ..Fast::default()
        };
        for (i, c) in Category::ALL.iter().enumerate() {
            if w.categories.contains(c) {
                f.categories |= 1 << i;
            }
        }
        if w.willing_cross_province {
            f.flags |= WILLING_CROSS_PROVINCE;
        }
        if zero_employment {
            f.flags |= ZERO_EMPLOYMENT;
        }
        for j in &w.placed_jobs {
            f.placed |= placed_bit(*j);
        }
        for s in w.skills.iter().take(FAST_SKILLS) {
            f.skills[f.n_skills as usize] = word_hash(s);
            f.n_skills += 1;
        }
        if w.trainings.len() > FAST_TRAININGS {
            f.flags |= SLOW_TRAININGS;
        }
        for (k, t) in w.trainings.iter().enumerate() {
            let mut mask = 0u8;
            for s in &t.skills {
                if (f.n_skills as usize) < FAST_SKILLS {
                    f.skills[f.n_skills as usize] = word_hash(s);
                    mask |= 1 << f.n_skills;
                    f.n_skills += 1;
                } else {
                    f.flags |= SLOW_TRAININGS;
                }
            }
            let occupation = t.occupation_code.as_deref().map(Occ::of);
            if matches!(occupation, Some(None)) {
                f.flags |= SLOW_TRAININGS;
            }
            if k < FAST_TRAININGS {
                f.trainings[k] = FastTraining {
                    occupation: occupation.flatten(),
                    certificate: t.certificate.is_some(),
                    skills: mask,
                    completed: t.completed_on.num_days_from_ce(),
                };
                f.n_trainings += 1;
            }
        }
        for c in &w.preferred_county_codes {
            match c.parse::<u32>() {
                Ok(n) if (f.n_preferred as usize) < FAST_PREFERRED && n != 0 => {
                    f.preferred[f.n_preferred as usize] = n;
                    f.n_preferred += 1;
                }
                _ => f.flags |= SLOW_PREFERRED,
            }
        }
        f
    }

    pub fn has(&self, c: Category) -> bool {
        Category::ALL.iter().position(|x| *x == c).is_some_and(|i| self.categories & (1 << i) != 0)
    }
}
