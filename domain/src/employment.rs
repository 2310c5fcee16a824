//! Months of employment for a placement (DESIGN.md, "One truth, written once").
//!
//! A month counts when the employer, the broker (or cooperation team), a
//! social-insurance import or a county officer reports the worker employed.
//! A worker's check-in confirms or contradicts a month but never makes it
//! count alone. When sources disagree about a month, the month is in
//! conflict until an officer's report for it settles the matter.
//!
//! The N-month milestone of a placement that starts on S is the date
//! `S + N calendar months` (month-end clamped: 2023-11-30 + 3 months =
//! 2024-02-29). It is reached when every calendar month that the interval
//! [S, S + N months) touches has a month that counts, and no separation
//! happened before the milestone date. A placement starting on any day of
//! month M therefore needs a report for M.

use crate::calendar::{YearMonth, add_months};
use crate::worker::FactSource;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One report about one month of a placement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub id: i64,
    pub month: YearMonth,
    pub source: FactSource,
    pub employed: bool,
    /// Social insurance paid for the month (None: the source does not say).
    pub insured: Option<bool>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Separation {
    pub date: NaiveDate,
    pub source: FactSource,
}

/// What the evidence says about one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum MonthVerdict {
    /// Employed, reported by a source that counts.
    Counts { insured: bool, reports: Vec<i64> },
    /// A counting source reports the worker not employed.
    NotEmployed { reports: Vec<i64> },
    /// Only the worker said so: confirmed but not counted.
    WorkerOnly { reports: Vec<i64> },
    /// Sources disagree; an officer must resolve the month.
    Conflict { reports: Vec<i64> },
    /// Nothing was reported.
    Missing,
}

impl MonthVerdict {
    pub fn counts(&self) -> bool {
        matches!(self, MonthVerdict::Counts { .. })
    }

    pub fn insured(&self) -> bool {
        matches!(self, MonthVerdict::Counts { insured: true, .. })
    }

    pub fn reports(&self) -> &[i64] {
        match self {
            MonthVerdict::Counts { reports, .. }
            | MonthVerdict::NotEmployed { reports }
            | MonthVerdict::WorkerOnly { reports }
            | MonthVerdict::Conflict { reports } => reports,
            MonthVerdict::Missing => &[],
        }
    }
}

fn counting(source: FactSource) -> bool {
    matches!(source, FactSource::EmployerReport | FactSource::BrokerReport | FactSource::SocialInsuranceImport)
}

/// The verdict for one month from all its reports (any order).
pub fn month_verdict(reports: &[&Report]) -> MonthVerdict {
    if reports.is_empty() {
        return MonthVerdict::Missing;
    }
    let ids = |rs: &[&Report]| rs.iter().map(|r| r.id).collect::<Vec<_>>();
    // An officer's latest word settles the month.
    if let Some(officer) =
        reports.iter().filter(|r| r.source == FactSource::Officer).max_by_key(|r| (r.recorded_at, r.id))
    {
        return if officer.employed {
            let insured = officer.insured.unwrap_or(false)
                || reports.iter().any(|r| counting(r.source) && r.insured == Some(true) && r.employed);
            MonthVerdict::Counts { insured, reports: vec![officer.id] }
        } else {
            MonthVerdict::NotEmployed { reports: vec![officer.id] }
        };
    }
    // The latest report of each source speaks for that source.
    let mut latest: BTreeMap<&'static str, &Report> = BTreeMap::new();
    for r in reports {
        let e = latest.entry(r.source.as_str()).or_insert(r);
        if (r.recorded_at, r.id) > (e.recorded_at, e.id) {
            *e = r;
        }
    }
    let current: Vec<&Report> = latest.values().copied().collect();
    let counted: Vec<&Report> = current.iter().copied().filter(|r| counting(r.source)).collect();
    let worker: Vec<&Report> = current.iter().copied().filter(|r| r.source == FactSource::WorkerCheckin).collect();
    if counted.is_empty() {
        return MonthVerdict::WorkerOnly { reports: ids(&worker) };
    }
    let all_yes = counted.iter().all(|r| r.employed);
    let all_no = counted.iter().all(|r| !r.employed);
    let worker_disagrees = worker.iter().any(|w| w.employed != all_yes);
    if (!all_yes && !all_no) || worker_disagrees {
        return MonthVerdict::Conflict { reports: ids(&current) };
    }
    if all_no {
        return MonthVerdict::NotEmployed { reports: ids(&counted) };
    }
    let insured = counted.iter().any(|r| r.insured == Some(true));
    MonthVerdict::Counts { insured, reports: ids(&current) }
}

/// Verdicts for every month that has a report, up to and including `up_to`.
pub fn verdicts(reports: &[Report], up_to: YearMonth) -> BTreeMap<YearMonth, MonthVerdict> {
    let mut by_month: BTreeMap<YearMonth, Vec<&Report>> = BTreeMap::new();
    for r in reports.iter().filter(|r| r.month <= up_to) {
        by_month.entry(r.month).or_default().push(r);
    }
    by_month.into_iter().map(|(m, rs)| (m, month_verdict(&rs))).collect()
}

/// Months touched by [start, end): the months that need a counting report.
pub fn months_between(start: NaiveDate, end: NaiveDate) -> Vec<YearMonth> {
    let mut out = Vec::new();
    if end <= start {
        return out;
    }
    let last = YearMonth::of(end.pred_opt().unwrap_or(end));
    let mut m = YearMonth::of(start);
    while m <= last {
        out.push(m);
        m = m.succ();
    }
    out
}

/// The outcome of looking for an N-month milestone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Milestone {
    /// Reached on `date`, with every month counted and how many were insured.
    Reached { date: NaiveDate, months: Vec<YearMonth>, insured_months: u32 },
    /// The date lies after `as_of`.
    NotYet { date: NaiveDate },
    /// A needed month does not count (first such month given).
    Broken { date: NaiveDate, month: YearMonth, verdict: MonthVerdict },
    /// The worker left before the milestone date.
    Separated { date: NaiveDate, separated_on: NaiveDate },
    /// Evidence conflicts: nothing fires until an officer resolves it.
    NeedsReview { date: NaiveDate, months: Vec<YearMonth> },
}

/// Look for the `n`-month milestone of a placement starting on `start`, as of `as_of`.
pub fn milestone(
    start: NaiveDate,
    n: u32,
    reports: &[Report],
    separations: &[Separation],
    as_of: NaiveDate,
) -> Milestone {
    let date = add_months(start, n);
    let v = verdicts(reports, YearMonth::of(as_of));
    let conflicts: Vec<YearMonth> =
        v.iter().filter(|(_, m)| matches!(m, MonthVerdict::Conflict { .. })).map(|(k, _)| *k).collect();
    if !conflicts.is_empty() {
        return Milestone::NeedsReview { date, months: conflicts };
    }
    if let Some(s) = separations.iter().filter(|s| s.date <= as_of && s.date < date).map(|s| s.date).min() {
        return Milestone::Separated { date, separated_on: s };
    }
    if date > as_of {
        return Milestone::NotYet { date };
    }
    let months = months_between(start, date);
    for m in &months {
        let verdict = v.get(m).cloned().unwrap_or(MonthVerdict::Missing);
        if !verdict.counts() {
            return Milestone::Broken { date, month: *m, verdict };
        }
    }
    let insured_months = months.iter().filter(|m| v.get(m).is_some_and(MonthVerdict::insured)).count() as u32;
    Milestone::Reached { date, months, insured_months }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn rep(id: i64, month: &str, source: FactSource, employed: bool, insured: Option<bool>) -> Report {
        Report {
            id,
            month: YearMonth::parse(month).unwrap(),
            source,
            employed,
            insured,
            recorded_at: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(id),
        }
    }

    fn employer_months(from: &str, n: usize, insured: bool) -> Vec<Report> {
        let mut m = YearMonth::parse(from).unwrap();
        (0..n)
            .map(|i| {
                let r = rep(i as i64 + 1, &m.to_string(), FactSource::EmployerReport, true, Some(insured));
                m = m.succ();
                r
            })
            .collect()
    }

    #[test]
    fn a_worker_checkin_alone_never_counts() {
        let r = rep(1, "2024-03", FactSource::WorkerCheckin, true, None);
        assert!(matches!(month_verdict(&[&r]), MonthVerdict::WorkerOnly { .. }));
        let e = rep(2, "2024-03", FactSource::EmployerReport, true, Some(true));
        assert!(month_verdict(&[&r, &e]).counts());
        assert!(month_verdict(&[&e]).insured());
    }

    #[test]
    fn disagreement_is_a_conflict_until_an_officer_settles_it() {
        let w = rep(1, "2024-03", FactSource::WorkerCheckin, false, None);
        let e = rep(2, "2024-03", FactSource::EmployerReport, true, Some(true));
        assert!(matches!(month_verdict(&[&w, &e]), MonthVerdict::Conflict { .. }));
        let b = rep(3, "2024-03", FactSource::BrokerReport, false, None);
        assert!(matches!(month_verdict(&[&e, &b]), MonthVerdict::Conflict { .. }));
        let o = rep(4, "2024-03", FactSource::Officer, true, None);
        let v = month_verdict(&[&w, &e, &o]);
        assert!(v.counts() && v.insured());
        // A later report from the same source replaces the earlier one.
        let e2 = rep(5, "2024-03", FactSource::EmployerReport, false, None);
        assert!(matches!(month_verdict(&[&e, &e2, &w]), MonthVerdict::NotEmployed { .. }));
    }

    #[test]
    fn months_touched_by_the_period() {
        let ms = months_between(d(2023, 11, 30), add_months(d(2023, 11, 30), 3));
        let names: Vec<String> = ms.iter().map(|m| m.to_string()).collect();
        assert_eq!(names, ["2023-11", "2023-12", "2024-01", "2024-02"]);
        let ms = months_between(d(2024, 1, 1), add_months(d(2024, 1, 1), 3));
        assert_eq!(ms.len(), 3);
    }

    #[test]
    fn three_months_reached_exactly_on_the_date_and_not_a_day_before() {
        let start = d(2024, 1, 1);
        let reports = employer_months("2024-01", 3, true);
        assert_eq!(milestone(start, 3, &reports, &[], d(2024, 3, 31)), Milestone::NotYet { date: d(2024, 4, 1) });
        let m = milestone(start, 3, &reports, &[], d(2024, 4, 1));
        assert!(matches!(m, Milestone::Reached { date, insured_months: 3, .. } if date == d(2024, 4, 1)), "{m:?}");
    }

    #[test]
    fn month_end_start_needs_the_partial_last_month() {
        let start = d(2023, 11, 30);
        let reports = employer_months("2023-11", 3, false);
        let m = milestone(start, 3, &reports, &[], d(2024, 3, 15));
        assert!(matches!(m, Milestone::Broken { month, .. } if month.to_string() == "2024-02"), "{m:?}");
        let reports = employer_months("2023-11", 4, false);
        let m = milestone(start, 3, &reports, &[], d(2024, 2, 29));
        assert!(matches!(m, Milestone::Reached { date, insured_months: 0, .. } if date == d(2024, 2, 29)), "{m:?}");
    }

    #[test]
    fn a_gap_or_separation_breaks_continuity() {
        let mut reports = employer_months("2024-01", 6, true);
        reports.remove(2);
        assert!(matches!(milestone(d(2024, 1, 10), 6, &reports, &[], d(2024, 12, 31)), Milestone::Broken { .. }));
        let reports = employer_months("2024-01", 6, true);
        let sep = [Separation { date: d(2024, 6, 30), source: FactSource::EmployerReport }];
        assert!(matches!(milestone(d(2024, 1, 10), 6, &reports, &sep, d(2024, 12, 31)), Milestone::Separated { .. }));
        // Leaving after the milestone date does not undo it.
        let sep = [Separation { date: d(2024, 7, 15), source: FactSource::EmployerReport }];
        assert!(matches!(milestone(d(2024, 1, 10), 6, &reports, &sep, d(2024, 12, 31)), Milestone::Broken { .. }));
        let sep = [Separation { date: d(2024, 7, 11), source: FactSource::EmployerReport }];
        let mut reports = employer_months("2024-01", 7, true);
        reports.truncate(7);
        assert!(matches!(milestone(d(2024, 1, 10), 6, &reports, &sep, d(2024, 12, 31)), Milestone::Reached { .. }));
    }

    #[test]
    fn conflicts_block_until_resolved() {
        let mut reports = employer_months("2024-01", 3, true);
        reports.push(rep(10, "2024-02", FactSource::WorkerCheckin, false, None));
        assert!(matches!(milestone(d(2024, 1, 1), 3, &reports, &[], d(2024, 6, 1)), Milestone::NeedsReview { .. }));
        reports.push(rep(11, "2024-02", FactSource::Officer, true, None));
        assert!(matches!(milestone(d(2024, 1, 1), 3, &reports, &[], d(2024, 6, 1)), Milestone::Reached { .. }));
    }

    #[test]
    fn later_months_do_not_change_a_past_as_of() {
        let mut reports = employer_months("2024-01", 3, true);
        let before = milestone(d(2024, 1, 1), 3, &reports, &[], d(2024, 4, 30));
        // A conflict about a month after the as-of date is not looked at.
        reports.push(rep(20, "2024-06", FactSource::WorkerCheckin, false, None));
        reports.push(rep(21, "2024-06", FactSource::EmployerReport, true, None));
        assert_eq!(milestone(d(2024, 1, 1), 3, &reports, &[], d(2024, 4, 30)), before);
    }
}
