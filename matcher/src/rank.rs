//! Scoring a worker for a job, with reasons whose points add up to the score.
//!
//! The fast path (`explain = false`) allocates nothing per worker; reasons
//! with their Chinese texts are only written for the pairs that are shown.

use crate::model::{
    Fast, JobSnap, SLOW_PREFERRED, SLOW_TRAININGS, WILLING_CROSS_PROVINCE, WorkerSnap, ZERO_EMPLOYMENT, nearness,
    packed_date, placed_bit,
};
use crate::store::CandidateStore;
use crate::weights::Weights;
use chrono::{Datelike, NaiveDate};
use domain::synonyms::{Kinship, Synonyms};
use domain::worker::{Category, EmploymentStatus};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use uuid::Uuid;

/// One line of an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// skills, occupation, training, location, wage, priority, retention or fatigue
    pub factor: &'static str,
    pub points: f64,
    pub text: String,
    /// Shown to a job's poster: only reasons about fit for the job, never
    /// categories, household or poverty status.
    #[serde(skip)]
    pub job_fit: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    pub worker_id: Uuid,
    pub job_id: Uuid,
    pub score: f64,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "eligible", rename_all = "snake_case")]
pub enum Verdict {
    Eligible(Scored),
    /// Why the worker is filtered out of this job (Chinese texts).
    Filtered {
        reasons: Vec<String>,
    },
}

/// Everything ranking needs besides the worker and the job.
pub struct Context<'a> {
    pub weights: &'a Weights,
    pub synonyms: &'a Synonyms,
    pub today: NaiveDate,
    /// Division code → name, for texts.
    pub place_names: &'a HashMap<String, String>,
}

/// The job's skills and every word related to them, and the job's filters in
/// the form the inline copies are compared with, prepared once per job.
/// Worker skills are normalised (trimmed, lowercase) when snapshots are
/// loaded, so matching a word is one hash look-up with no allocation.
pub struct JobTerms {
    /// hash of a word → (kinship, the job names this very word)
    words: FxHashMap<u64, (Kinship, bool)>,
    county: u32,
    cross_province: bool,
    ages: bool,
    /// Today as yyyymmdd.
    today: i32,
    /// Trainings completed on or after this day (since the common era) are recent.
    recent_from: i32,
    /// Declines on or after this day count for fatigue.
    declines_from: i32,
    placed_bit: u64,
}

impl JobTerms {
    pub fn new(job: &JobSnap, ctx: &Context<'_>) -> Self {
        let syn = ctx.synonyms;
        let mut words: FxHashMap<u64, (Kinship, bool)> = FxHashMap::default();
        let mut add = |w: &str, k: Kinship, exact: bool| {
            let e = words.entry(crate::model::word_hash(w)).or_insert((k, exact));
            e.0 = e.0.max(k);
            e.1 |= exact;
        };
        for s in &job.skills {
            let n = normalize(s);
            for (w, k) in syn.of(&n) {
                add(w, *k, false);
            }
            add(&n, Kinship::Equivalent, true);
        }
        // The occupation's name also describes the skill wanted.
        for s in job.occupation_name.iter() {
            let n = normalize(s);
            for (w, _) in syn.of(&n) {
                add(w, Kinship::Related, false);
            }
            add(&n, Kinship::Related, false);
        }
        let today = ctx.today.num_days_from_ce();
        let clamp = |days: i64| i32::try_from(days).unwrap_or(if days < 0 { 0 } else { i32::MAX });
        Self {
            words,
            county: job.county_code.parse().unwrap_or(0),
            cross_province: job.cross_province(),
            ages: job.requirements.min_age.is_some() || job.requirements.max_age.is_some(),
            today: packed_date(ctx.today),
            recent_from: today.saturating_sub(clamp(ctx.weights.training_recent_years.saturating_mul(366))),
            declines_from: today.saturating_sub(clamp(ctx.weights.fatigue_window_days)),
            placed_bit: placed_bit(job.id),
        }
    }

    fn matches(&self, word: &str) -> Option<(Kinship, bool)> {
        self.by_hash(crate::model::word_hash(word))
    }

    fn by_hash(&self, h: u64) -> Option<(Kinship, bool)> {
        self.words.get(&h).copied()
    }
}

/// How worker and training skills are stored in snapshots: the one normalisation, shared with search.
pub use domain::text::normalize;

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn kind_label(kind: &str) -> &'static str {
    match kind {
        "order" => "订单培训",
        "position" => "定岗培训",
        "on_the_job" => "岗位技能提升培训",
        "apprenticeship" => "学徒制培训",
        "entrepreneurship" => "创业培训",
        _ => "培训",
    }
}

fn age_on(birth: NaiveDate, on: NaiveDate) -> i32 {
    domain::id_number::age_on(birth, on)
}

struct Acc<'r> {
    explain: bool,
    total: f64,
    reasons: &'r mut Vec<Reason>,
}

impl Acc<'_> {
    fn add(&mut self, factor: &'static str, points: f64, job_fit: bool, text: impl FnOnce() -> String) {
        let p = round1(points);
        if p == 0.0 {
            return;
        }
        self.total += p;
        if self.explain {
            self.reasons.push(Reason { factor, points: p, text: text(), job_fit });
        }
    }
}

/// May this worker hear of any job at all? (Job-independent: not unable to
/// work or a student, has not opted out, and is available: unemployed,
/// returning, or employed but opted in.) The store keeps the list of such
/// workers, so ranking never looks at the others.
pub fn available(w: &WorkerSnap) -> bool {
    w.accepts_offers
        && w.is_labour
        && w.birth_date.is_some()
        && !matches!(w.status, Some(EmploymentStatus::UnableToWork | EmploymentStatus::Student) | None)
        && (w.status == Some(EmploymentStatus::Unemployed)
            || w.has(Category::Returning)
            || (w.is_employed && w.seeking_while_employed))
}

/// The job's own hard filters for an available worker, fast: true when none applies.
/// Equivalent to `available(w) && filters(job, w, ctx, false).is_empty()` (tested).
pub fn fits(job: &JobSnap, w: &WorkerSnap, ctx: &Context<'_>) -> bool {
    let terms = JobTerms::new(job, ctx);
    fits_fast(job, &terms, &Fast::of(w, false), || Some(w), ctx)
}

/// `fits` on the inline copies; `cold` gives the snapshot for rare checks.
fn fits_fast<'w>(
    job: &JobSnap,
    terms: &JobTerms,
    f: &Fast,
    cold: impl Fn() -> Option<&'w WorkerSnap>,
    ctx: &Context<'_>,
) -> bool {
    if terms.cross_province && f.flags & WILLING_CROSS_PROVINCE == 0 {
        return false;
    }
    if f.min_wage.is_some_and(|min| job.wage_max < min) {
        return false;
    }
    if terms.ages {
        if f.birth == 0 {
            return false;
        }
        let age = (terms.today - f.birth).div_euclid(10_000);
        if job.requirements.min_age.is_some_and(|m| age < m) || job.requirements.max_age.is_some_and(|m| age > m) {
            return false;
        }
    }
    if !job.requirements.certificates.is_empty() && cold().is_none_or(|w| !filters(job, w, ctx, false).is_empty()) {
        return false;
    }
    if f.placed & terms.placed_bit != 0 && cold().is_none_or(|w| w.placed_jobs.contains(&job.id)) {
        return false;
    }
    true
}

/// Why a worker cannot be offered this job, if anything.
pub fn filters(job: &JobSnap, w: &WorkerSnap, ctx: &Context<'_>, explain: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut no = |t: &dyn Fn() -> String| {
        out.push(if explain { t() } else { String::new() });
    };
    match w.status {
        Some(EmploymentStatus::UnableToWork) => no(&|| "无劳动能力".into()),
        Some(EmploymentStatus::Student) => no(&|| "在校学生".into()),
        None => no(&|| "台账中没有就业状态".into()),
        _ => {}
    }
    if !w.accepts_offers {
        no(&|| "已退订岗位推送".into());
    }
    if !w.is_labour && !matches!(w.status, Some(EmploymentStatus::UnableToWork | EmploymentStatus::Student) | None) {
        no(&|| "不在劳动年龄（16–60岁）".into());
    }
    let available = w.status == Some(EmploymentStatus::Unemployed)
        || w.has(Category::Returning)
        || (w.is_employed && w.seeking_while_employed);
    if !available && !matches!(w.status, Some(EmploymentStatus::UnableToWork | EmploymentStatus::Student) | None) {
        no(&|| "已就业，未表示愿意换工作".into());
    }
    match w.birth_date {
        None => no(&|| "缺少出生日期".into()),
        Some(b) => {
            let age = age_on(b, ctx.today);
            if let Some(min) = job.requirements.min_age
                && age < min
            {
                no(&|| format!("年龄{age}岁，岗位要求{min}岁以上"));
            }
            if let Some(max) = job.requirements.max_age
                && age > max
            {
                no(&|| format!("年龄{age}岁，岗位要求{max}岁以下"));
            }
        }
    }
    for cert in &job.requirements.certificates {
        let c = cert.to_lowercase();
        let held =
            w.trainings.iter().filter_map(|t| t.certificate.as_deref()).chain(w.skills.iter().map(String::as_str)).any(
                |h| {
                    let h = h.to_lowercase();
                    h.contains(&c) || c.contains(&h)
                },
            );
        if !held {
            no(&|| format!("缺少岗位要求的证书：{cert}"));
        }
    }
    if job.cross_province() && !w.willing_cross_province {
        no(&|| "不愿意跨省务工".into());
    }
    if let Some(min) = w.min_wage
        && job.wage_max < min
    {
        no(&|| format!("岗位最高月薪{}元，低于期望{min}元", job.wage_max));
    }
    if w.placed_jobs.contains(&job.id) {
        no(&|| "已在该岗位就业".into());
    }
    out
}

/// One training record as scoring reads it.
struct Trained {
    occupation_near: u8,
    shares_skill: bool,
    certificate: bool,
    recent: bool,
}

/// Score an eligible worker from the inline copies; returns the total (sum
/// of the rounded points). `cold` gives the snapshot: read for rare data and,
/// when `explain`, for the texts — the points are the same either way.
pub fn score<'w>(
    job: &JobSnap,
    terms: &JobTerms,
    f: &Fast,
    cold: impl Fn() -> Option<&'w WorkerSnap>,
    ctx: &Context<'_>,
    explain: bool,
    reasons: &mut Vec<Reason>,
) -> f64 {
    let wt = ctx.weights;
    let mut acc = Acc { explain, total: 0.0, reasons };
    // Skills (the worker's own and those learnt in training).
    let mut skill_points = 0.0;
    // (hash, index in the worker's skills, kinship, exact)
    let mut matched: [(u64, usize, Kinship, bool); crate::model::FAST_SKILLS] =
        [(0, 0, Kinship::Related, false); crate::model::FAST_SKILLS];
    let mut n_matched = 0;
    for (i, h) in f.skills[..f.n_skills as usize].iter().enumerate() {
        if let Some((k, exact)) = terms.by_hash(*h) {
            if matched[..n_matched].iter().any(|(m, ..)| m == h) {
                continue;
            }
            skill_points += if exact {
                wt.skill_exact
            } else if k == Kinship::Equivalent {
                wt.skill_equivalent
            } else {
                wt.skill_related
            };
            matched[n_matched] = (*h, i, k, exact);
            n_matched += 1;
        }
    }
    if skill_points > 0.0 {
        acc.add("skills", skill_points.min(wt.skill_max), true, || {
            let w = cold();
            let parts: Vec<String> = matched[..n_matched]
                .iter()
                .map(|(_, i, k, exact)| {
                    let s = w.and_then(|w| w.skill_at(*i)).unwrap_or_default();
                    if *exact {
                        s.to_owned()
                    } else if *k == Kinship::Equivalent {
                        format!("{s}（同类技能）")
                    } else {
                        format!("{s}（相近技能）")
                    }
                })
                .collect();
            format!("技能匹配：{}", parts.join("、"))
        });
    }
    // Training records: inline, or from the snapshot when there are more.
    let code = job.occupation_code.as_deref().map(str::as_bytes);
    let mut trained = [const { None::<Trained> }; crate::model::FAST_TRAININGS];
    let slow: Vec<Trained>;
    let records: &[Option<Trained>];
    let slow_records: &[Trained];
    if f.flags & SLOW_TRAININGS == 0 {
        for (k, t) in f.trainings[..f.n_trainings as usize].iter().enumerate() {
            trained[k] = Some(Trained {
                occupation_near: match (code, &t.occupation) {
                    (Some(a), Some(b)) => nearness(a, b.as_bytes()),
                    _ => 0,
                },
                shares_skill: (0..crate::model::FAST_SKILLS)
                    .any(|i| t.skills & (1 << i) != 0 && terms.by_hash(f.skills[i]).is_some()),
                certificate: t.certificate,
                recent: t.completed >= terms.recent_from,
            });
        }
        records = &trained[..f.n_trainings as usize];
        slow_records = &[];
    } else {
        slow = cold()
            .map(|w| {
                w.trainings
                    .iter()
                    .map(|t| Trained {
                        occupation_near: match (code, &t.occupation_code) {
                            (Some(a), Some(b)) => nearness(a, b.as_bytes()),
                            _ => 0,
                        },
                        shares_skill: t.skills.iter().any(|s| terms.matches(s).is_some()),
                        certificate: t.certificate.is_some(),
                        recent: t.completed_on.num_days_from_ce() >= terms.recent_from,
                    })
                    .collect()
            })
            .unwrap_or_default();
        records = &[];
        slow_records = &slow;
    }
    let all = || records.iter().flatten().chain(slow_records.iter());
    // Occupation, through training records.
    if let Some(code) = &job.occupation_code {
        let best = all().map(|t| t.occupation_near).max().unwrap_or(0);
        let (points, what) = match best {
            3 => (wt.occupation_same, "相同职业"),
            2 => (wt.occupation_same_minor, "同一职业小类"),
            1 => (wt.occupation_same_middle, "同一职业中类"),
            _ => (0.0, ""),
        };
        acc.add("occupation", points, true, || {
            let name = job.occupation_name.clone().unwrap_or_else(|| code.clone());
            format!("培训职业与岗位{what}：{name}")
        });
    }
    // Training records relevant to the job.
    let mut training_points = 0.0;
    let mut first_relevant: Option<usize> = None;
    for (k, t) in all().enumerate() {
        if !(t.occupation_near >= 2 || t.shares_skill) {
            continue;
        }
        let mut p = wt.training_relevant;
        if t.certificate {
            p += wt.training_certificate;
        }
        if t.recent {
            p += wt.training_recent;
        }
        training_points += p;
        first_relevant.get_or_insert(k);
    }
    acc.add("training", training_points.min(wt.training_max), true, || {
        let Some(t) = first_relevant.and_then(|k| cold().and_then(|w| w.trainings.get(k))) else {
            return String::new();
        };
        let year = t.completed_on.year();
        match &t.certificate {
            Some(c) => format!("持有{c}（{year}年{}）", kind_label(&t.kind)),
            None => format!("参加{}（{year}年{}）", t.course, kind_label(&t.kind)),
        }
    });
    // Location.
    let name = |c: &str| ctx.place_names.get(c).cloned().unwrap_or_else(|| c.to_owned());
    if terms.county == f.county {
        acc.add("location", wt.location_same_county, true, || format!("本县就业：{}", name(&job.county_code)));
    } else if terms.county / 100 == f.county / 100 {
        acc.add("location", wt.location_same_prefecture, true, || {
            format!("本市（州）就业：{}", name(&job.county_code))
        });
    } else if !terms.cross_province {
        acc.add("location", wt.location_in_guizhou, true, || format!("省内就业：{}", name(&job.county_code)));
    } else if f.flags & WILLING_CROSS_PROVINCE != 0 {
        acc.add("location", wt.location_cross_province_willing, true, || "愿意跨省务工".into());
    }
    let preferred = if f.flags & SLOW_PREFERRED == 0 && terms.county != 0 {
        f.preferred[..f.n_preferred as usize].contains(&terms.county)
    } else {
        cold().is_some_and(|w| w.preferred_county_codes.contains(&job.county_code))
    };
    if preferred {
        acc.add("location", wt.location_preferred_county, true, || format!("意向务工地：{}", name(&job.county_code)));
    }
    // Wage against the worker's minimum.
    if let Some(min) = f.min_wage
        && job.wage_max >= min
    {
        let above = f64::from(job.wage_max - min) / 500.0 * wt.wage_per_500_above_minimum;
        acc.add("wage", wt.wage_meets_minimum + above.min(wt.wage_max_bonus), true, || {
            format!("期望月薪{min}元，岗位{}–{}元", job.wage_min, job.wage_max)
        });
    }
    // Priority the policy gives.
    if f.flags & ZERO_EMPLOYMENT != 0 {
        acc.add("priority", wt.priority_zero_employment_household, false, || "零就业家庭优先".into());
    }
    if f.has(Category::Monitored) {
        acc.add("priority", wt.priority_monitored, false, || "监测帮扶对象优先".into());
    }
    if f.has(Category::Hardship) {
        acc.add("priority", wt.priority_hardship, false, || "特殊困难群体优先".into());
    }
    if f.has(Category::Returning) {
        acc.add("priority", wt.priority_returning, false, || "返乡劳动力优先".into());
    }
    // Past retention.
    if f.stays_n > 0 {
        let avg = f64::from(f.stays_sum) / f64::from(f.stays_n);
        acc.add("retention", (avg * wt.retention_per_month).min(wt.retention_max), true, || {
            format!("以往岗位平均稳定就业{:.0}个月", avg)
        });
    }
    // Fatigue: similar offers declined recently.
    if f.last_decline >= terms.declines_from {
        let similar = cold().map_or(0, |w| {
            w.declines
                .iter()
                .filter(|d| d.on.num_days_from_ce() >= terms.declines_from)
                .filter(|d| {
                    matches!((code, &d.occupation_code), (Some(a), Some(b)) if nearness(a, b.as_bytes()) >= 2)
                        || d.skills.iter().any(|s| terms.matches(s).is_some())
                })
                .count()
        });
        if similar > 0 {
            acc.add("fatigue", wt.fatigue_per_similar_decline * similar as f64, false, || {
                format!("近{}天婉拒{}个同类岗位", wt.fatigue_window_days, similar)
            });
        }
    }
    round1(acc.total)
}

/// The verdict for one pair, explained.
pub fn explain(job: &JobSnap, w: &WorkerSnap, zero_employment: bool, ctx: &Context<'_>) -> Verdict {
    let f = filters(job, w, ctx, true);
    if !f.is_empty() {
        return Verdict::Filtered { reasons: f };
    }
    let terms = JobTerms::new(job, ctx);
    let mut reasons = Vec::new();
    let score = score(job, &terms, &Fast::of(w, zero_employment), || Some(w), ctx, true, &mut reasons);
    Verdict::Eligible(Scored { worker_id: w.id, job_id: job.id, score, reasons })
}

#[derive(PartialEq)]
struct Ranked(f64, Uuid);

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    /// "Greater" is better: higher score, then smaller id (a stable tie-break).
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.partial_cmp(&other.0).unwrap_or(Ordering::Equal).then_with(|| other.1.cmp(&self.1))
    }
}

/// The best `limit` eligible workers for a job, explained, best first.
pub fn top_candidates(store: &CandidateStore, job: &JobSnap, ctx: &Context<'_>, limit: usize) -> Vec<Scored> {
    let terms = JobTerms::new(job, ctx);
    let mut heap: BinaryHeap<std::cmp::Reverse<Ranked>> = BinaryHeap::with_capacity(limit + 1);
    let mut scratch = Vec::new();
    for h in store.hot() {
        let cold = || store.slot(h.slot);
        if !fits_fast(job, &terms, &h.fast, cold, ctx) {
            continue;
        }
        let s = score(job, &terms, &h.fast, cold, ctx, false, &mut scratch);
        let r = Ranked(s, h.id);
        if heap.len() < limit {
            heap.push(std::cmp::Reverse(r));
        } else if heap.peek().is_some_and(|worst| r > worst.0) {
            heap.pop();
            heap.push(std::cmp::Reverse(r));
        }
    }
    let mut best: Vec<Ranked> = heap.into_iter().map(|r| r.0).collect();
    best.sort_by(|a, b| b.cmp(a));
    best.into_iter()
        .filter_map(|Ranked(_, id)| store.get(id))
        .filter_map(|w| match explain(job, w, store.zero_employment(w.household_id), ctx) {
            Verdict::Eligible(s) => Some(s),
            Verdict::Filtered { .. } => None,
        })
        .collect()
}

/// The best `limit` jobs for a worker, explained, best first.
pub fn recommend(
    jobs: &[JobSnap],
    w: &WorkerSnap,
    zero_employment: bool,
    ctx: &Context<'_>,
    limit: usize,
) -> Vec<Scored> {
    let mut out: Vec<Scored> = jobs
        .iter()
        .filter(|j| j.open)
        .filter_map(|j| match explain(j, w, zero_employment, ctx) {
            Verdict::Eligible(s) => Some(s),
            Verdict::Filtered { .. } => None,
        })
        .collect();
    out.sort_by(|a, b| b.score.partial_cmp(&a.score).unwrap_or(Ordering::Equal).then_with(|| a.job_id.cmp(&b.job_id)));
    out.truncate(limit);
    out
}
