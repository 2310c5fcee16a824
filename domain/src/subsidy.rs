//! Which subsidies a case makes due, as of a date: pure decisions that the
//! scanner writes as events. Every decision carries its trace.

use crate::employment::{Milestone, Report, Separation, milestone};
use crate::policy::{DecidingDate, Facts, OncePer, Payee, Rule, Trigger, select};
use crate::worker::Category;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// A worker as the rules see them (never gender, ethnicity or the ID number).
#[derive(Debug, Clone)]
pub struct WorkerCase {
    pub worker_id: Uuid,
    pub county_code: String,
    pub categories: Vec<Category>,
    pub graduation_year: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct PlacementCase {
    pub placement_id: Uuid,
    pub worker: WorkerCase,
    pub employer_org_id: Uuid,
    pub broker_org_id: Option<Uuid>,
    pub start_date: NaiveDate,
    pub contract_months: i32,
    pub work_province_code: String,
    pub organised_by: String,
    pub reports: Vec<Report>,
    pub separations: Vec<Separation>,
}

#[derive(Debug, Clone)]
pub struct TrainingCase {
    pub training_id: Uuid,
    pub worker: WorkerCase,
    pub provider_org_id: Option<Uuid>,
    pub kind: String,
    pub hours: i32,
    pub has_certificate: bool,
    pub completed_on: NaiveDate,
}

/// A subsidy that is due.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Due {
    pub rule_id: String,
    pub rule_version: i32,
    pub subject_key: String,
    pub payee_kind: Payee,
    pub payee_id: Uuid,
    pub amount: i64,
    pub worker_id: Uuid,
    pub placement_id: Option<Uuid>,
    pub training_id: Option<Uuid>,
    pub county_code: String,
    pub deciding_date: NaiveDate,
    pub trace: Value,
}

/// Why a rule did not fire for a case (for explanations).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotDue {
    pub rule_id: String,
    pub reason: String,
    pub detail: Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Decisions {
    pub due: Vec<Due>,
    pub not_due: Vec<NotDue>,
    /// Evidence conflicts: the placement needs an officer's review.
    pub needs_review: bool,
}

fn category_facts(f: &mut Facts, w: &WorkerCase) {
    for c in Category::ALL {
        f.insert(format!("category_{}", c.as_str()), json!(w.categories.contains(c)));
    }
    if let Some(y) = w.graduation_year {
        f.insert("graduation_year".into(), json!(y));
    }
}

fn subject(once: OncePer, worker: Uuid, placement: Option<Uuid>, training: Option<Uuid>) -> Option<String> {
    match once {
        OncePer::Person => Some(format!("person:{worker}")),
        OncePer::Placement => placement.map(|p| format!("placement:{p}")),
        OncePer::Training => training.map(|t| format!("training:{t}")),
    }
}

fn rule_ids_for(rules: &[Rule], triggers: &[Trigger]) -> Vec<String> {
    let mut ids: Vec<String> = rules.iter().filter(|r| triggers.contains(&r.trigger)).map(|r| r.id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}

/// Decisions for one placement as of `as_of`.
pub fn placement_decisions(case: &PlacementCase, rules: &[Rule], as_of: NaiveDate) -> Decisions {
    let mut out = Decisions::default();
    for id in rule_ids_for(rules, &[Trigger::Milestone3, Trigger::Milestone6]) {
        // The trigger of the rule's versions decides which milestone to look for.
        let Some(any_version) = rules.iter().find(|r| r.id == id) else { continue };
        let n = if any_version.trigger == Trigger::Milestone6 { 6 } else { 3 };
        let m = milestone(case.start_date, n, &case.reports, &case.separations, as_of);
        let (date, months, insured) = match &m {
            Milestone::Reached { date, months, insured_months } => (*date, months.clone(), *insured_months),
            Milestone::NeedsReview { .. } => {
                out.needs_review = true;
                out.not_due.push(NotDue { rule_id: id, reason: "needs_review".into(), detail: json!(m) });
                continue;
            }
            other => {
                out.not_due.push(NotDue { rule_id: id, reason: "milestone_not_reached".into(), detail: json!(other) });
                continue;
            }
        };
        let deciding = match any_version.deciding_date {
            DecidingDate::HireDate => case.start_date,
            _ => date,
        };
        let Some(rule) = select(rules, &id, deciding, &case.worker.county_code) else {
            out.not_due.push(NotDue {
                rule_id: id,
                reason: "no_rule_in_force".into(),
                detail: json!({"deciding_date": deciding}),
            });
            continue;
        };
        let mut f = Facts::new();
        category_facts(&mut f, &case.worker);
        f.insert("contract_months".into(), json!(case.contract_months));
        f.insert("insured_months".into(), json!(insured));
        f.insert("employed_months".into(), json!(n));
        f.insert("cross_province".into(), json!(case.work_province_code != crate::division::GUIZHOU));
        f.insert("work_province_code".into(), json!(case.work_province_code));
        f.insert("organised_by".into(), json!(case.organised_by));
        f.insert("has_broker".into(), json!(case.broker_org_id.is_some()));
        f.insert("hire_date".into(), json!(case.start_date));
        f.insert("milestone_date".into(), json!(date));
        let e = rule.evaluate(&f);
        let payee_id = match rule.payee {
            Payee::Broker => case.broker_org_id,
            Payee::Worker => Some(case.worker.worker_id),
            Payee::Employer => Some(case.employer_org_id),
        };
        let subject_key = subject(rule.once_per, case.worker.worker_id, Some(case.placement_id), None);
        match (e.passed, e.amount, payee_id, subject_key) {
            (true, Some(amount), Some(payee_id), Some(subject_key)) => {
                let evidence: Vec<&Report> = case.reports.iter().filter(|r| months.contains(&r.month)).collect();
                let mut trace = e.trace;
                trace["deciding_date"] = json!(deciding);
                trace["milestone"] = json!({"months": n, "date": date, "start_date": case.start_date,
                                            "counted_months": months, "insured_months": insured});
                trace["evidence"] = json!(evidence);
                trace["amount"] = json!({"amount": amount, "tier": e.tier});
                out.due.push(Due {
                    rule_id: rule.id.clone(),
                    rule_version: rule.version,
                    subject_key,
                    payee_kind: rule.payee,
                    payee_id,
                    amount,
                    worker_id: case.worker.worker_id,
                    placement_id: Some(case.placement_id),
                    training_id: None,
                    county_code: case.worker.county_code.clone(),
                    deciding_date: deciding,
                    trace,
                });
            }
            _ => out.not_due.push(NotDue {
                rule_id: rule.id.clone(),
                reason: "conditions_not_met".into(),
                detail: e.trace,
            }),
        }
    }
    out
}

/// The graduate job-seeking subsidy, decided from the ledger (1 July of the
/// graduation year is the deciding date).
pub fn graduate_decisions(w: &WorkerCase, rules: &[Rule], as_of: NaiveDate) -> Decisions {
    let mut out = Decisions::default();
    let Some(year) = w.graduation_year else { return out };
    let Some(deciding) = NaiveDate::from_ymd_opt(year, 7, 1) else { return out };
    if deciding > as_of {
        return out;
    }
    for id in rule_ids_for(rules, &[Trigger::Graduation]) {
        let Some(rule) = select(rules, &id, deciding, &w.county_code) else { continue };
        let mut f = Facts::new();
        category_facts(&mut f, w);
        let e = rule.evaluate(&f);
        if let (true, Some(amount), Some(subject_key)) =
            (e.passed, e.amount, subject(rule.once_per, w.worker_id, None, None))
        {
            let mut trace = e.trace;
            trace["deciding_date"] = json!(deciding);
            trace["amount"] = json!({"amount": amount, "tier": e.tier});
            out.due.push(Due {
                rule_id: rule.id.clone(),
                rule_version: rule.version,
                subject_key,
                payee_kind: rule.payee,
                payee_id: w.worker_id,
                amount,
                worker_id: w.worker_id,
                placement_id: None,
                training_id: None,
                county_code: w.county_code.clone(),
                deciding_date: deciding,
                trace,
            });
        }
    }
    out
}

/// The enterprise training subsidy, decided from a training record.
pub fn training_decisions(t: &TrainingCase, rules: &[Rule], as_of: NaiveDate) -> Decisions {
    let mut out = Decisions::default();
    if t.completed_on > as_of {
        return out;
    }
    for id in rule_ids_for(rules, &[Trigger::Training]) {
        let Some(rule) = select(rules, &id, t.completed_on, &t.worker.county_code) else { continue };
        let mut f = Facts::new();
        category_facts(&mut f, &t.worker);
        f.insert("training_kind".into(), json!(t.kind));
        f.insert("training_hours".into(), json!(t.hours));
        f.insert("has_certificate".into(), json!(t.has_certificate));
        f.insert("provider_is_enterprise".into(), json!(t.provider_org_id.is_some()));
        let e = rule.evaluate(&f);
        let payee = match rule.payee {
            Payee::Employer | Payee::Broker => t.provider_org_id,
            Payee::Worker => Some(t.worker.worker_id),
        };
        let key = subject(rule.once_per, t.worker.worker_id, None, Some(t.training_id));
        if let (true, Some(amount), Some(payee_id), Some(subject_key)) = (e.passed, e.amount, payee, key) {
            let mut trace = e.trace;
            trace["deciding_date"] = json!(t.completed_on);
            trace["training"] = json!({"id": t.training_id, "kind": t.kind, "completed_on": t.completed_on, "year": t.completed_on.year()});
            trace["amount"] = json!({"amount": amount, "tier": e.tier});
            out.due.push(Due {
                rule_id: rule.id.clone(),
                rule_version: rule.version,
                subject_key,
                payee_kind: rule.payee,
                payee_id,
                amount,
                worker_id: t.worker.worker_id,
                placement_id: None,
                training_id: Some(t.training_id),
                county_code: t.worker.county_code.clone(),
                deciding_date: t.completed_on,
                trace,
            });
        }
    }
    out
}

/// The rules shipped with the project (`rules/policies.json`).
pub fn shipped_rules() -> Result<Vec<Rule>, serde_json::Error> {
    serde_json::from_str(include_str!("../../rules/policies.json"))
}

/// What an event found due becomes, given the event already written for its
/// rule and subject (`already`: `None` when there is none, else the
/// placement it was granted through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nothing written yet: write it (the unique key on rule and subject still guards the insert).
    Fire,
    /// Written already, through the same placement (or the rule is not once per person): nothing to do.
    AlreadyFired,
    /// A once-per-person subsidy the person already got through another
    /// placement: refused, and the refusal recorded (`already_granted_for_person`).
    Blocked { granted_through: Option<Uuid> },
}

/// The once-per-person rule (DESIGN.md: a one-off subsidy is paid once per
/// person, whichever placement makes it due again).
pub fn claim(once: OncePer, already: Option<Option<Uuid>>, placement: Option<Uuid>) -> Claim {
    match already {
        None => Claim::Fire,
        Some(first) if once == OncePer::Person && first != placement => Claim::Blocked { granted_through: first },
        Some(_) => Claim::AlreadyFired,
    }
}

/// The key a refused claim is recorded under: its placement, else its subject.
pub fn blocked_claim_key(due: &Due) -> String {
    match due.placement_id {
        Some(p) => format!("placement:{p}"),
        None => due.subject_key.clone(),
    }
}

#[cfg(test)]
mod claim_tests {
    use super::*;

    #[test]
    fn once_per_person_blocks_a_second_placement_only() {
        let (a, b) = (Some(Uuid::from_u128(1)), Some(Uuid::from_u128(2)));
        assert_eq!(claim(OncePer::Person, None, a), Claim::Fire);
        assert_eq!(claim(OncePer::Person, Some(a), a), Claim::AlreadyFired, "the same placement again");
        assert_eq!(claim(OncePer::Person, Some(a), b), Claim::Blocked { granted_through: a });
        assert_eq!(claim(OncePer::Placement, Some(a), b), Claim::AlreadyFired, "keyed by placement: its own subject");
        assert_eq!(claim(OncePer::Training, Some(None), None), Claim::AlreadyFired);
        assert_eq!(claim(OncePer::Person, Some(None), a), Claim::Blocked { granted_through: None });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{YearMonth, add_months};
    use crate::worker::FactSource;
    use chrono::{TimeZone, Utc};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rules() -> Vec<Rule> {
        shipped_rules().unwrap()
    }

    fn worker(cats: &[Category]) -> WorkerCase {
        WorkerCase {
            worker_id: Uuid::from_u128(1),
            county_code: "522328".into(),
            categories: cats.to_vec(),
            graduation_year: None,
        }
    }

    /// Employer reports for `n` months from the start month.
    fn case(
        start: &str,
        months: usize,
        insured: usize,
        contract: i32,
        province: &str,
        cats: &[Category],
    ) -> PlacementCase {
        let start = d(start);
        let mut m = YearMonth::of(start);
        let reports = (0..months)
            .map(|i| {
                let r = Report {
                    id: i as i64,
                    month: m,
                    source: FactSource::EmployerReport,
                    employed: true,
                    insured: Some(i < insured),
                    recorded_at: Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
                };
                m = m.succ();
                r
            })
            .collect();
        PlacementCase {
            placement_id: Uuid::from_u128(7),
            worker: worker(cats),
            employer_org_id: Uuid::from_u128(2),
            broker_org_id: Some(Uuid::from_u128(3)),
            start_date: start,
            contract_months: contract,
            work_province_code: province.into(),
            organised_by: "broker".into(),
            reports,
            separations: vec![],
        }
    }

    fn due(c: &PlacementCase, as_of: &str) -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> =
            placement_decisions(c, &rules(), d(as_of)).due.into_iter().map(|d| (d.rule_id, d.amount)).collect();
        v.sort();
        v
    }

    fn has(c: &PlacementCase, as_of: &str, rule: &str) -> Option<i64> {
        due(c, as_of).into_iter().find(|(r, _)| r == rule).map(|(_, a)| a)
    }

    const RELOCATED: &[Category] = &[Category::Relocated];

    #[test]
    fn shipped_rules_are_valid() {
        for r in rules() {
            assert!(r.problems().is_empty(), "{}: {:?}", r.id, r.problems());
        }
    }

    #[test]
    fn follow_up_service_thresholds() {
        let ok = case("2024-01-01", 3, 3, 12, "520000", RELOCATED);
        assert_eq!(has(&ok, "2024-04-01", "follow_up_service"), Some(500));
        // Contract 11 months vs 12.
        let c = case("2024-01-01", 3, 3, 11, "520000", RELOCATED);
        assert_eq!(has(&c, "2024-04-01", "follow_up_service"), None);
        // 2 insured months vs 3.
        let c = case("2024-01-01", 3, 2, 12, "520000", RELOCATED);
        assert_eq!(has(&c, "2024-04-01", "follow_up_service"), None);
        // Three months minus a day.
        assert_eq!(has(&ok, "2024-03-31", "follow_up_service"), None);
        // No broker: nobody to pay.
        let mut c = case("2024-01-01", 3, 3, 12, "520000", RELOCATED);
        c.broker_org_id = None;
        c.organised_by = "self".into();
        assert_eq!(has(&c, "2024-04-01", "follow_up_service"), None);
        // Milestone on 2024-12-31 is inside the window; 2025-01-01 is not.
        let inside = case("2024-09-30", 4, 4, 12, "520000", RELOCATED);
        assert_eq!(add_months(d("2024-09-30"), 3), d("2024-12-30"));
        assert_eq!(has(&inside, "2025-03-01", "follow_up_service"), Some(500));
        let outside = case("2024-10-01", 3, 3, 12, "520000", RELOCATED);
        assert_eq!(has(&outside, "2025-03-01", "follow_up_service"), None);
    }

    #[test]
    fn transport_subsidy_window_and_tiers() {
        // Started 2024-09-30: milestone 2024-12-30 (inside). Started 2024-10-01: 2025-01-01 (outside).
        let on_31 = case("2024-09-30", 4, 0, 12, "440000", RELOCATED);
        assert_eq!(has(&on_31, "2025-01-31", "cross_province_transport"), Some(100));
        let after = case("2024-10-01", 3, 0, 12, "440000", RELOCATED);
        assert_eq!(has(&after, "2025-01-31", "cross_province_transport"), None);
        let poor = case("2024-01-01", 3, 0, 6, "440000", &[Category::Relocated, Category::PovertyAlleviated]);
        assert_eq!(has(&poor, "2024-06-01", "cross_province_transport"), Some(500));
        let monitored = case("2024-01-01", 3, 0, 6, "440000", &[Category::Relocated, Category::Monitored]);
        assert_eq!(has(&monitored, "2024-06-01", "cross_province_transport"), Some(500));
        let home = case("2024-01-01", 3, 0, 6, "520000", &[Category::Relocated, Category::PovertyAlleviated]);
        assert_eq!(has(&home, "2024-06-01", "cross_province_transport"), None);
        // Month-end starts clamp: 2024-07-31 + 3 months = 2024-10-31.
        let exact = case("2024-07-31", 6, 0, 12, "440000", RELOCATED);
        assert_eq!(add_months(d("2024-07-31"), 3), d("2024-10-31"));
        assert_eq!(has(&exact, "2025-01-31", "cross_province_transport"), Some(100));
    }

    #[test]
    fn transport_milestone_on_the_last_day_of_the_window() {
        // No start date puts a 3-month milestone on 2024-12-31 (September has 30 days:
        // 2024-09-30 + 3 months = 2024-12-30), so the window's last day is checked with a
        // version ending on the milestone date, and one ending the day before.
        let mut rs = rules();
        for r in rs.iter_mut().filter(|r| r.id == "cross_province_transport") {
            r.valid_to = Some(d("2024-12-30"));
        }
        let c = case("2024-09-30", 4, 0, 12, "440000", RELOCATED);
        let due = placement_decisions(&c, &rs, d("2025-01-31")).due;
        assert!(due.iter().any(|x| x.rule_id == "cross_province_transport"));
        for r in rs.iter_mut().filter(|r| r.id == "cross_province_transport") {
            r.valid_to = Some(d("2024-12-29"));
        }
        let due = placement_decisions(&c, &rs, d("2025-01-31")).due;
        assert!(!due.iter().any(|x| x.rule_id == "cross_province_transport"));
    }

    #[test]
    fn absorption_goes_by_the_hire_date() {
        let returning = &[Category::Relocated, Category::Returning];
        let on_last_day = case("2023-06-30", 7, 0, 12, "520000", returning);
        assert_eq!(has(&on_last_day, "2024-01-31", "employer_absorption"), Some(500));
        let day_after = case("2023-07-01", 7, 0, 12, "520000", returning);
        assert_eq!(has(&day_after, "2024-01-31", "employer_absorption"), None);
        let not_returning = case("2023-01-01", 7, 0, 12, "520000", RELOCATED);
        assert_eq!(has(&not_returning, "2024-01-31", "employer_absorption"), None);
        // Five months are not six.
        let five = case("2023-01-01", 5, 0, 12, "520000", returning);
        assert_eq!(has(&five, "2024-01-31", "employer_absorption"), None);
    }

    #[test]
    fn graduates_of_2023_in_difficulty() {
        let mut w = worker(&[Category::Graduate, Category::Hardship]);
        w.graduation_year = Some(2023);
        let due = graduate_decisions(&w, &rules(), d("2023-12-31")).due;
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].amount, 1500);
        assert!(graduate_decisions(&w, &rules(), d("2023-06-30")).due.is_empty());
        w.graduation_year = Some(2022);
        assert!(graduate_decisions(&w, &rules(), d("2023-12-31")).due.is_empty());
        let mut easy = worker(&[Category::Graduate]);
        easy.graduation_year = Some(2023);
        assert!(graduate_decisions(&easy, &rules(), d("2023-12-31")).due.is_empty());
    }

    #[test]
    fn enterprise_training_by_type() {
        let t = |kind: &str, cert: bool, provider: bool, on: &str| TrainingCase {
            training_id: Uuid::from_u128(9),
            worker: worker(RELOCATED),
            provider_org_id: provider.then(|| Uuid::from_u128(4)),
            kind: kind.into(),
            hours: 80,
            has_certificate: cert,
            completed_on: d(on),
        };
        let amount = |c: TrainingCase| training_decisions(&c, &rules(), d("2025-06-30")).due.first().map(|x| x.amount);
        assert_eq!(amount(t("apprenticeship", true, true, "2024-05-01")), Some(8000));
        assert_eq!(amount(t("apprenticeship", false, true, "2024-05-01")), Some(4000));
        assert_eq!(amount(t("position", true, true, "2024-05-01")), Some(1500));
        assert_eq!(amount(t("on_the_job", false, true, "2024-05-01")), Some(500));
        assert_eq!(amount(t("position", false, false, "2024-05-01")), None);
        assert_eq!(amount(t("entrepreneurship", false, true, "2024-05-01")), None);
        assert_eq!(amount(t("position", false, true, "2025-01-02")), None);
    }

    #[test]
    fn traces_name_conditions_values_and_evidence() {
        let c = case("2024-01-01", 3, 3, 12, "440000", RELOCATED);
        let d = placement_decisions(&c, &rules(), d("2024-06-01"));
        let f = d.due.iter().find(|x| x.rule_id == "follow_up_service").unwrap();
        assert_eq!(f.subject_key, format!("person:{}", Uuid::from_u128(1)));
        assert_eq!(f.payee_id, Uuid::from_u128(3));
        let conds = f.trace["condition"]["all"].as_array().unwrap();
        assert!(conds.iter().any(|c| c["fact"] == "insured_months" && c["actual"] == 3 && c["result"] == true));
        assert_eq!(f.trace["evidence"].as_array().unwrap().len(), 3);
        assert_eq!(f.trace["evidence"][0]["source"], "employer_report");
    }
}
