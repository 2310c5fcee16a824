//! Subsidy rules as data, and the pure engine that evaluates them.
//!
//! A rule version has a validity window, an optional county scope, a payee,
//! a trigger (what makes it due), the date that decides which version is in
//! force, a once-per scope, a condition in a small JSON language and amounts
//! by tier. Conditions:
//!
//! ```json
//! {"all": [ {"fact": "contract_months", "op": ">=", "value": 12},
//!           {"any": [ {"fact": "category_poverty_alleviated", "op": "==", "value": true},
//!                     {"not": {"fact": "organised_by", "op": "in", "value": ["self"]}} ]} ]}
//! ```
//!
//! `op` is one of `==`, `!=`, `>=`, `>`, `<=`, `<`, `in`; facts are named
//! values (numbers, booleans, strings, ISO dates) listed in [`FACTS`].
//! Evaluation returns a trace naming each condition, the fact's value and
//! the result, so that every subsidy event explains itself.

use crate::Problems;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Public rule ids: downstream finance systems filter on them.
pub const RULE_IDS: [&str; 5] = [
    "follow_up_service",
    "cross_province_transport",
    "employer_absorption",
    "graduate_job_seeking",
    "enterprise_training",
];

/// Facts a condition may name, with what they mean.
pub const FACTS: &[(&str, &str)] = &[
    ("contract_months", "length of the labour contract in months"),
    ("insured_months", "months with social insurance paid within the milestone period"),
    ("employed_months", "months of continuous counted employment at the milestone (3 or 6)"),
    ("cross_province", "the place of work is outside Guizhou"),
    ("work_province_code", "province code of the place of work"),
    ("organised_by", "broker, coop_team or self"),
    ("has_broker", "a broker or cooperation team organised the placement"),
    ("hire_date", "the placement's start date (ISO)"),
    ("milestone_date", "the date the milestone was reached (ISO)"),
    ("category_relocated", "ledger category"),
    ("category_returning", "ledger category"),
    ("category_graduate", "ledger category"),
    ("category_hardship", "ledger category"),
    ("category_poverty_alleviated", "ledger category"),
    ("category_monitored", "ledger category"),
    ("graduation_year", "year of graduation from the ledger"),
    ("training_kind", "order, position, on_the_job, apprenticeship, entrepreneurship or other"),
    ("training_hours", "hours of the training"),
    ("has_certificate", "the training ended with a certificate"),
    ("provider_is_enterprise", "the training was given by an enterprise registered in Qianlink"),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Condition {
    All { all: Vec<Condition> },
    Any { any: Vec<Condition> },
    Not { not: Box<Condition> },
    Compare { fact: String, op: String, value: Value },
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payee {
    Broker,
    Worker,
    Employer,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// 3 months of continuous employment in a placement.
    Milestone3,
    /// 6 months of continuous employment in a placement.
    Milestone6,
    /// The ledger says the worker graduated (graduate job-seeking subsidy).
    Graduation,
    /// An enterprise's training record.
    Training,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidingDate {
    HireDate,
    MilestoneDate,
    GraduationDate,
    TrainingDate,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OncePer {
    /// Once per person, whatever the placement (一次性).
    Person,
    Placement,
    Training,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmountTier {
    /// The first tier whose condition holds (or that has none) gives the amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub when: Option<Condition>,
    /// CNY, whole yuan.
    pub amount: i64,
    pub label: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub version: i32,
    pub description: String,
    pub valid_from: NaiveDate,
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
    /// A county's version wins over the province's for that county.
    #[serde(default)]
    pub county_code: Option<String>,
    pub payee: Payee,
    pub trigger: Trigger,
    pub deciding_date: DecidingDate,
    pub once_per: OncePer,
    /// The condition language of rules/README.md.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub condition: Condition,
    pub amounts: Vec<AmountTier>,
}

/// The named facts about one case.
pub type Facts = BTreeMap<String, Value>;

/// The result of evaluating a rule on facts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub passed: bool,
    pub amount: Option<i64>,
    pub tier: Option<String>,
    pub trace: Value,
}

fn compare(actual: &Value, op: &str, expected: &Value) -> bool {
    match op {
        "==" => actual == expected || matches!((actual.as_f64(), expected.as_f64()), (Some(a), Some(b)) if a == b),
        "!=" => !compare(actual, "==", expected),
        "in" => expected.as_array().is_some_and(|xs| xs.iter().any(|x| compare(actual, "==", x))),
        ">=" | ">" | "<=" | "<" => {
            let ord = match (actual, expected) {
                (Value::Number(a), Value::Number(b)) => a.as_f64().zip(b.as_f64()).and_then(|(a, b)| a.partial_cmp(&b)),
                (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
                _ => None,
            };
            match ord {
                None => false,
                Some(o) => match op {
                    ">=" => o.is_ge(),
                    ">" => o.is_gt(),
                    "<=" => o.is_le(),
                    _ => o.is_lt(),
                },
            }
        }
        _ => false,
    }
}

impl Condition {
    /// Evaluate with a trace of every node.
    pub fn eval(&self, facts: &Facts) -> (bool, Value) {
        match self {
            Condition::All { all } => {
                let parts: Vec<(bool, Value)> = all.iter().map(|c| c.eval(facts)).collect();
                let ok = parts.iter().all(|(b, _)| *b);
                (ok, json!({"all": parts.into_iter().map(|(_, t)| t).collect::<Vec<_>>(), "result": ok}))
            }
            Condition::Any { any } => {
                let parts: Vec<(bool, Value)> = any.iter().map(|c| c.eval(facts)).collect();
                let ok = parts.iter().any(|(b, _)| *b);
                (ok, json!({"any": parts.into_iter().map(|(_, t)| t).collect::<Vec<_>>(), "result": ok}))
            }
            Condition::Not { not } => {
                let (b, t) = not.eval(facts);
                (!b, json!({"not": t, "result": !b}))
            }
            Condition::Compare { fact, op, value } => {
                let actual = facts.get(fact).cloned().unwrap_or(Value::Null);
                let ok = !actual.is_null() && compare(&actual, op, value);
                (ok, json!({"fact": fact, "op": op, "value": value, "actual": actual, "result": ok}))
            }
        }
    }

    fn check(&self, p: &mut Problems, path: &str) {
        match self {
            Condition::All { all } | Condition::Any { any: all } => {
                if all.is_empty() {
                    p.push(path, "all/any needs at least one condition");
                }
                for (i, c) in all.iter().enumerate() {
                    c.check(p, &format!("{path}[{i}]"));
                }
            }
            Condition::Not { not } => not.check(p, &format!("{path}.not")),
            Condition::Compare { fact, op, value } => {
                if !FACTS.iter().any(|(f, _)| f == fact) {
                    p.push(path, format!("unknown fact {fact:?}"));
                }
                match op.as_str() {
                    "==" | "!=" | ">=" | ">" | "<=" | "<" => {
                        if value.is_array() || value.is_object() || value.is_null() {
                            p.push(path, format!("{op} compares with a number, string or boolean"));
                        }
                    }
                    "in" if value.is_array() => {}
                    "in" => p.push(path, "in needs an array value"),
                    other => p.push(path, format!("unknown op {other:?}")),
                }
            }
        }
    }
}

impl Rule {
    /// Problems with this rule as data (the API answers them with 422).
    pub fn problems(&self) -> Problems {
        let mut p = Problems::new();
        if !RULE_IDS.contains(&self.id.as_str()) {
            p.push("id", format!("must be one of {}", RULE_IDS.join(", ")));
        }
        if self.valid_to.is_some_and(|t| t < self.valid_from) {
            p.push("valid_to", "must not be before valid_from");
        }
        if let Some(c) = &self.county_code
            && crate::DivisionCode::parse(c).is_err()
        {
            p.push("county_code", "must be a 6-digit county code");
        }
        if self.amounts.is_empty() {
            p.push("amounts", "at least one tier");
        }
        for (i, t) in self.amounts.iter().enumerate() {
            if !(0..=100_000).contains(&t.amount) {
                p.push(format!("amounts[{i}].amount"), "must be between 0 and 100000 CNY");
            }
            if let Some(w) = &t.when {
                w.check(&mut p, &format!("amounts[{i}].when"));
            }
        }
        if self.amounts.last().is_some_and(|t| t.when.is_some()) {
            p.push("amounts", "the last tier must have no condition, so that every passing case has an amount");
        }
        self.condition.check(&mut p, "condition");
        p
    }

    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.valid_from <= date && self.valid_to.is_none_or(|t| date <= t)
    }

    /// Evaluate the condition, then the amount tiers.
    pub fn evaluate(&self, facts: &Facts) -> Evaluation {
        let (passed, cond_trace) = self.condition.eval(facts);
        let mut tier_traces = Vec::new();
        let mut chosen = None;
        if passed {
            for t in &self.amounts {
                let (ok, tr) = match &t.when {
                    None => (true, json!({"result": true})),
                    Some(c) => c.eval(facts),
                };
                tier_traces.push(json!({"label": t.label, "amount": t.amount, "when": tr}));
                if ok {
                    chosen = Some(t);
                    break;
                }
            }
        }
        Evaluation {
            passed,
            amount: chosen.map(|t| t.amount),
            tier: chosen.map(|t| t.label.clone()),
            trace: json!({
                "rule": {"id": self.id, "version": self.version, "valid_from": self.valid_from,
                         "valid_to": self.valid_to, "county_code": self.county_code},
                "condition": cond_trace,
                "amount_tiers": tier_traces,
                "facts": facts,
            }),
        }
    }
}

/// The version of rule `id` in force on `date` for `county`: a county's own
/// version wins over the province's; between versions, the newest wins.
pub fn select<'a>(rules: &'a [Rule], id: &str, date: NaiveDate, county: &str) -> Option<&'a Rule> {
    let in_force = |r: &&Rule| r.id == id && r.in_force(date);
    rules
        .iter()
        .filter(in_force)
        .filter(|r| r.county_code.as_deref() == Some(county))
        .max_by_key(|r| r.version)
        .or_else(|| rules.iter().filter(in_force).filter(|r| r.county_code.is_none()).max_by_key(|r| r.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn rule(version: i32, county: Option<&str>, from: &str, to: &str, amount: i64) -> Rule {
        serde_json::from_value(json!({
            "id": "cross_province_transport", "version": version, "description": "t",
            "valid_from": from, "valid_to": to, "county_code": county,
            "payee": "worker", "trigger": "milestone3", "deciding_date": "milestone_date", "once_per": "person",
            "condition": {"all": [{"fact": "cross_province", "op": "==", "value": true}]},
            "amounts": [{"when": {"fact": "category_poverty_alleviated", "op": "==", "value": true}, "amount": amount, "label": "脱贫人口"},
                        {"amount": 100, "label": "其他农村劳动力"}]
        }))
        .unwrap()
    }

    #[test]
    fn selection_prefers_the_county_then_the_newest() {
        let rules = vec![
            rule(1, None, "2022-01-01", "2024-12-31", 500),
            rule(2, None, "2024-01-01", "2024-12-31", 450),
            rule(3, Some("522328"), "2022-01-01", "2024-12-31", 300),
        ];
        assert_eq!(select(&rules, "cross_province_transport", d("2023-05-01"), "522301").unwrap().version, 1);
        assert_eq!(select(&rules, "cross_province_transport", d("2024-05-01"), "522301").unwrap().version, 2);
        assert_eq!(select(&rules, "cross_province_transport", d("2024-05-01"), "522328").unwrap().version, 3);
        assert!(select(&rules, "cross_province_transport", d("2025-01-01"), "522301").is_none());
    }

    #[test]
    fn tiers_and_trace() {
        let r = rule(1, None, "2022-01-01", "2024-12-31", 500);
        let mut f = Facts::new();
        f.insert("cross_province".into(), json!(true));
        f.insert("category_poverty_alleviated".into(), json!(true));
        let e = r.evaluate(&f);
        assert!(e.passed);
        assert_eq!(e.amount, Some(500));
        f.insert("category_poverty_alleviated".into(), json!(false));
        assert_eq!(r.evaluate(&f).amount, Some(100));
        f.insert("cross_province".into(), json!(false));
        let e = r.evaluate(&f);
        assert!(!e.passed);
        assert_eq!(e.amount, None);
        assert_eq!(e.trace["condition"]["all"][0]["actual"], json!(false));
    }

    #[test]
    fn comparisons() {
        let c: Condition = serde_json::from_value(json!({"all": [
            {"fact": "contract_months", "op": ">=", "value": 12},
            {"fact": "hire_date", "op": "<=", "value": "2023-06-30"},
            {"fact": "organised_by", "op": "in", "value": ["broker", "coop_team"]},
            {"not": {"fact": "category_hardship", "op": "==", "value": true}}
        ]}))
        .unwrap();
        let mut f = Facts::new();
        f.insert("contract_months".into(), json!(12));
        f.insert("hire_date".into(), json!("2023-06-30"));
        f.insert("organised_by".into(), json!("broker"));
        f.insert("category_hardship".into(), json!(false));
        assert!(c.eval(&f).0);
        f.insert("contract_months".into(), json!(11));
        assert!(!c.eval(&f).0);
        f.insert("contract_months".into(), json!(12));
        f.insert("hire_date".into(), json!("2023-07-01"));
        assert!(!c.eval(&f).0);
        // A missing fact is false, never an error.
        f.remove("organised_by");
        f.insert("hire_date".into(), json!("2023-01-01"));
        assert!(!c.eval(&f).0);
    }

    #[test]
    fn bad_rules_are_named() {
        let mut r = rule(1, None, "2022-01-01", "2021-12-31", 500);
        r.condition = serde_json::from_value(json!({"fact": "shoe_size", "op": "~", "value": 1})).unwrap();
        r.amounts.pop();
        let p = r.problems();
        let fields: Vec<&str> = p.0.iter().map(|x| x.field.as_str()).collect();
        assert!(
            fields.contains(&"valid_to") && fields.contains(&"condition") && fields.contains(&"amounts"),
            "{fields:?}"
        );
    }
}
