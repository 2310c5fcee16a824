//! Validation of a job posting: the shape of every field, and the rule
//! against discriminatory requirements. Whether a county or occupation code
//! exists is checked by the store against the reference tables.

use crate::discrimination::{Ground, find_discriminatory};
use crate::{DivisionCode, Problems};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub const MAX_WAGE: i64 = 1_000_000;

/// A posting as the client sent it (after JSON decoding). Required fields are
/// `Option` so that a missing one is reported by name, not as a parse error.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct JobDraft {
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub title: Option<String>,
    pub description: Option<String>,
    pub occupation_code: Option<String>,
    pub skills: Option<Vec<String>>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub work_county_code: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub wage_min: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub wage_max: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub openings: Option<i64>,
    pub contract_months: Option<i64>,
    pub start_date: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub requirements: Option<Requirements>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Requirements {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<String>,
}

/// A posting whose every field has the right shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidJob {
    pub title: String,
    pub description: String,
    pub occupation_code: Option<String>,
    pub skills: Vec<String>,
    pub work_county_code: DivisionCode,
    pub wage_min: i32,
    pub wage_max: i32,
    pub openings: i32,
    pub contract_months: Option<i32>,
    pub start_date: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub requirements: Requirements,
}

/// Why a posting was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobRejection {
    /// Field problems (422 `validation_failed`).
    Invalid(Problems),
    /// Discriminatory wording, per field (422 `discriminatory_requirement`).
    Discriminatory(Problems),
}

/// Trim, drop empties and duplicates, check lengths.
pub fn clean_list(p: &mut Problems, field: &str, items: &[String], max_items: usize, max_len: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in items {
        let s = s.trim();
        if s.is_empty() {
            continue;
        }
        if s.chars().count() > max_len {
            p.push(field, format!("each entry must be at most {max_len} characters"));
            continue;
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    if out.len() > max_items {
        p.push(field, format!("at most {max_items} entries"));
    }
    out
}

pub fn clean_text(p: &mut Problems, field: &str, v: Option<&str>, required: bool, max_len: usize) -> String {
    let s = v.unwrap_or("").trim().to_owned();
    if s.is_empty() && required {
        p.push(field, "is required");
    } else if s.chars().count() > max_len {
        p.push(field, format!("must be at most {max_len} characters"));
    } else if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        p.push(field, "must not contain control characters");
    }
    s
}

fn int_in(p: &mut Problems, field: &str, v: Option<i64>, min: i64, max: i64) -> Option<i32> {
    let v = v?;
    if v < min || v > max {
        p.push(field, format!("must be between {min} and {max}"));
        None
    } else {
        i32::try_from(v).ok()
    }
}

fn required<T: Copy>(p: &mut Problems, field: &str, v: Option<T>) -> Option<T> {
    if v.is_none() {
        p.push(field, "is required");
    }
    v
}

impl JobDraft {
    /// Check every field; discrimination is checked only once the fields are sound.
    pub fn validate(&self) -> Result<ValidJob, JobRejection> {
        let mut p = Problems::new();
        let title = clean_text(&mut p, "title", self.title.as_deref(), true, 200);
        let description = clean_text(&mut p, "description", self.description.as_deref(), false, 20_000);
        let occupation_code =
            self.occupation_code.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        if let Some(code) = &occupation_code
            && !is_occupation_code(code)
        {
            p.push("occupation_code", "must be a code of the 2022 occupation classification, such as 6-18-02-04");
        }
        let skills = clean_list(&mut p, "skills", self.skills.as_deref().unwrap_or(&[]), 50, 50);
        let county = match self.work_county_code.as_deref() {
            None => {
                p.push("work_county_code", "is required");
                None
            }
            Some(c) => p.check("work_county_code", DivisionCode::parse(c)),
        };
        let wage_min = required(&mut p, "wage_min", self.wage_min);
        let wage_min = int_in(&mut p, "wage_min", wage_min, 0, MAX_WAGE);
        let wage_max = required(&mut p, "wage_max", self.wage_max);
        let wage_max = int_in(&mut p, "wage_max", wage_max, 0, MAX_WAGE);
        if let (Some(lo), Some(hi)) = (wage_min, wage_max)
            && hi < lo
        {
            p.push("wage_max", "must be at least wage_min");
        }
        let openings = required(&mut p, "openings", self.openings);
        let openings = int_in(&mut p, "openings", openings, 1, 100_000);
        let contract_months = int_in(&mut p, "contract_months", self.contract_months, 1, 600);
        if let (Some(s), Some(e)) = (self.start_date, self.expires_on)
            && e < s
        {
            p.push("expires_on", "must not be before start_date");
        }
        let mut req = self.requirements.clone().unwrap_or_default();
        for (field, age) in [("requirements.min_age", req.min_age), ("requirements.max_age", req.max_age)] {
            if let Some(a) = age
                && !(16..=70).contains(&a)
            {
                p.push(field, "must be between 16 and 70");
            }
        }
        if let (Some(lo), Some(hi)) = (req.min_age, req.max_age)
            && hi < lo
        {
            p.push("requirements.max_age", "must be at least min_age");
        }
        req.certificates = clean_list(&mut p, "requirements.certificates", &req.certificates, 20, 100);
        if !p.is_empty() {
            return Err(JobRejection::Invalid(p));
        }
        let mut d = Problems::new();
        let texts: Vec<(&str, String)> = vec![
            ("title", title.clone()),
            ("description", description.clone()),
            ("skills", skills.join("，")),
            ("requirements.certificates", req.certificates.join("，")),
        ];
        for (field, text) in texts {
            for f in find_discriminatory(&text) {
                let ground = match f.ground {
                    Ground::Gender => "性别",
                    Ground::Ethnicity => "民族",
                    Ground::Origin => "地域或户籍",
                };
                d.push(field, format!("「{}」按{}限制或优先录用，属就业歧视", f.words, ground));
            }
        }
        if !d.is_empty() {
            return Err(JobRejection::Discriminatory(d));
        }
        match (county, wage_min, wage_max, openings) {
            (Some(work_county_code), Some(wage_min), Some(wage_max), Some(openings)) => Ok(ValidJob {
                title,
                description,
                occupation_code,
                skills,
                work_county_code,
                wage_min,
                wage_max,
                openings,
                contract_months,
                start_date: self.start_date,
                expires_on: self.expires_on,
                requirements: req,
            }),
            _ => Err(JobRejection::Invalid(p)),
        }
    }
}

/// `6`, `6-18`, `6-18-02` or `6-18-02-04`.
pub fn is_occupation_code(s: &str) -> bool {
    let mut parts = s.split('-');
    let first_ok = parts.next().is_some_and(|f| f.len() == 1 && f.bytes().all(|b| b.is_ascii_digit()));
    let rest: Vec<&str> = parts.collect();
    first_ok && rest.len() <= 3 && rest.iter().all(|r| r.len() == 2 && r.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> JobDraft {
        JobDraft {
            title: Some("电子厂普工".into()),
            description: Some("长白班，包吃住，搬迁群众优先".into()),
            skills: Some(vec!["焊接".into(), " 焊接 ".into(), "".into()]),
            work_county_code: Some("441900".into()),
            wage_min: Some(4500),
            wage_max: Some(6000),
            openings: Some(20),
            ..JobDraft::default()
        }
    }

    #[test]
    fn a_sound_posting_passes_and_is_cleaned() {
        let v = draft().validate().unwrap();
        assert_eq!(v.skills, vec!["焊接"]);
        assert_eq!(v.work_county_code.as_str(), "441900");
    }

    #[test]
    fn every_missing_and_bad_field_is_named() {
        let mut d = draft();
        d.title = None;
        d.wage_min = Some(7000);
        d.openings = Some(0);
        d.occupation_code = Some("6-18-2".into());
        d.requirements = Some(Requirements { min_age: Some(15), max_age: Some(60), certificates: vec![] });
        let Err(JobRejection::Invalid(p)) = d.validate() else { panic!() };
        let fields: Vec<&str> = p.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["title", "occupation_code", "wage_max", "openings", "requirements.min_age"]);
    }

    #[test]
    fn discriminatory_wording_is_refused_with_the_words() {
        let mut d = draft();
        d.description = Some("限男性，只招汉族".into());
        let Err(JobRejection::Discriminatory(p)) = d.validate() else { panic!() };
        assert_eq!(p.0.len(), 2);
        assert!(p.0[0].problem.contains("限男性"));
        assert!(p.0[1].problem.contains("只招汉族"));
    }

    #[test]
    fn occupation_codes() {
        for ok in ["6", "6-18", "6-18-02", "6-18-02-04"] {
            assert!(is_occupation_code(ok), "{ok}");
        }
        for bad in ["", "66", "6-1", "6-18-02-04-01", "a-18"] {
            assert!(!is_occupation_code(bad), "{bad}");
        }
    }
}
