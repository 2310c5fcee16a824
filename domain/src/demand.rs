//! The cooperation teams' yearly demand lists (plan measure 22): items of
//! three kinds, their validation, and the 31 October deadline.

use crate::calendar::YearMonth;
use crate::job::{JobDraft, clean_list, clean_text, is_occupation_code};
use crate::{DivisionCode, Problems};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Asia::Shanghai;
use serde::{Deserialize, Serialize};

/// The first instant after the window of `year`: 1 November, 00:00:00 in
/// Guizhou (a list for year Y can be edited until 31 October, 23:59:59).
pub fn deadline(year: i32) -> DateTime<Utc> {
    let local = NaiveDate::from_ymd_opt(year, 11, 1).and_then(|d| d.and_hms_opt(0, 0, 0)).unwrap_or_default();
    Shanghai.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

pub fn window_open(year: i32, now: DateTime<Utc>) -> bool {
    now < deadline(year)
}

/// An item as sent (JSON or a spreadsheet row); which fields apply depends on `kind`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemDraft {
    /// The team's own stable key, unique in its list.
    #[serde(rename = "ref")]
    pub ref_: Option<String>,
    /// enterprise, project or employment
    pub kind: Option<String>,
    // enterprise
    pub industry: Option<String>,
    pub enterprise_name: Option<String>,
    pub investment_cny: Option<i64>,
    pub expected_jobs: Option<i64>,
    pub target_county_code: Option<String>,
    // project
    pub name: Option<String>,
    pub county_code: Option<String>,
    pub funding_cny: Option<i64>,
    // employment
    pub title: Option<String>,
    pub occupation_code: Option<String>,
    pub skills: Option<Vec<String>>,
    pub headcount: Option<i64>,
    pub wage_min: Option<i64>,
    pub wage_max: Option<i64>,
    pub work_county_code: Option<String>,
    pub start_month: Option<String>,
    pub organised_export: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Item {
    Enterprise {
        #[serde(rename = "ref")]
        ref_: String,
        industry: String,
        enterprise_name: Option<String>,
        investment_cny: i64,
        expected_jobs: i64,
        target_county_code: String,
    },
    Project {
        #[serde(rename = "ref")]
        ref_: String,
        name: String,
        county_code: String,
        funding_cny: i64,
        expected_jobs: i64,
    },
    Employment {
        #[serde(rename = "ref")]
        ref_: String,
        title: String,
        occupation_code: Option<String>,
        skills: Vec<String>,
        headcount: i64,
        wage_min: i64,
        wage_max: i64,
        work_county_code: String,
        start_month: String,
        organised_export: bool,
    },
}

impl Item {
    pub fn ref_(&self) -> &str {
        match self {
            Item::Enterprise { ref_, .. } | Item::Project { ref_, .. } | Item::Employment { ref_, .. } => ref_,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Item::Enterprise { .. } => "enterprise",
            Item::Project { .. } => "project",
            Item::Employment { .. } => "employment",
        }
    }

    /// The county the item concerns (for consolidation and scoping).
    pub fn county(&self) -> &str {
        match self {
            Item::Enterprise { target_county_code, .. } => target_county_code,
            Item::Project { county_code, .. } => county_code,
            Item::Employment { work_county_code, .. } => work_county_code,
        }
    }

    pub fn expected_jobs(&self) -> i64 {
        match self {
            Item::Enterprise { expected_jobs, .. } | Item::Project { expected_jobs, .. } => *expected_jobs,
            Item::Employment { headcount, .. } => *headcount,
        }
    }

    /// The job an employment item becomes.
    pub fn job_draft(&self) -> Option<JobDraft> {
        match self {
            Item::Employment {
                title,
                occupation_code,
                skills,
                headcount,
                wage_min,
                wage_max,
                work_county_code,
                start_month,
                organised_export,
                ..
            } => {
                let start = YearMonth::parse(start_month).ok().map(YearMonth::first_day);
                Some(JobDraft {
                    title: Some(title.clone()),
                    description: Some(format!(
                        "粤黔协作就业需求{}，{}起用工{}人。",
                        if *organised_export { "（有组织劳务输出）" } else { "" },
                        start_month,
                        headcount
                    )),
                    occupation_code: occupation_code.clone(),
                    skills: Some(skills.clone()),
                    work_county_code: Some(work_county_code.clone()),
                    wage_min: Some(*wage_min),
                    wage_max: Some(*wage_max),
                    openings: Some(*headcount),
                    contract_months: None,
                    start_date: start,
                    expires_on: None,
                    requirements: None,
                })
            }
            _ => None,
        }
    }
}

fn need_i64(p: &mut Problems, f: &str, v: Option<i64>, min: i64, max: i64) -> i64 {
    match v {
        None => {
            p.push(f, "is required");
            0
        }
        Some(x) if x < min || x > max => {
            p.push(f, format!("must be between {min} and {max}"));
            0
        }
        Some(x) => x,
    }
}

fn need_code(p: &mut Problems, f: &str, v: Option<&str>) -> String {
    match v {
        None => {
            p.push(f, "is required");
            String::new()
        }
        Some(c) => p.check(f, DivisionCode::parse(c)).map(|c| c.as_str().to_owned()).unwrap_or_default(),
    }
}

impl ItemDraft {
    /// Validate; problems name fields as `items[i].field` via `prefix`.
    pub fn validate(&self, prefix: &str) -> Result<Item, Problems> {
        let mut p = Problems::new();
        let f = |name: &str| format!("{prefix}{name}");
        let ref_ = clean_text(&mut p, &f("ref"), self.ref_.as_deref(), true, 64);
        let item = match self.kind.as_deref() {
            Some("enterprise") => Item::Enterprise {
                industry: clean_text(&mut p, &f("industry"), self.industry.as_deref(), true, 100),
                enterprise_name: Some(clean_text(
                    &mut p,
                    &f("enterprise_name"),
                    self.enterprise_name.as_deref(),
                    false,
                    200,
                ))
                .filter(|s| !s.is_empty()),
                investment_cny: need_i64(&mut p, &f("investment_cny"), self.investment_cny, 0, 1_000_000_000_000),
                expected_jobs: need_i64(&mut p, &f("expected_jobs"), self.expected_jobs, 0, 1_000_000),
                target_county_code: need_code(&mut p, &f("target_county_code"), self.target_county_code.as_deref()),
                ref_,
            },
            Some("project") => Item::Project {
                name: clean_text(&mut p, &f("name"), self.name.as_deref(), true, 200),
                county_code: need_code(&mut p, &f("county_code"), self.county_code.as_deref()),
                funding_cny: need_i64(&mut p, &f("funding_cny"), self.funding_cny, 0, 1_000_000_000_000),
                expected_jobs: need_i64(&mut p, &f("expected_jobs"), self.expected_jobs, 0, 1_000_000),
                ref_,
            },
            Some("employment") => {
                let occupation_code =
                    self.occupation_code.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
                if occupation_code.as_deref().is_some_and(|c| !is_occupation_code(c)) {
                    p.push(f("occupation_code"), "must be a code of the 2022 occupation classification");
                }
                let wage_min = need_i64(&mut p, &f("wage_min"), self.wage_min, 0, crate::job::MAX_WAGE);
                let wage_max = need_i64(&mut p, &f("wage_max"), self.wage_max, 0, crate::job::MAX_WAGE);
                if wage_max < wage_min {
                    p.push(f("wage_max"), "must be at least wage_min");
                }
                let start_month = match self.start_month.as_deref() {
                    None => {
                        p.push(f("start_month"), "is required");
                        String::new()
                    }
                    Some(m) => {
                        p.check(&f("start_month"), YearMonth::parse(m)).map(|m| m.to_string()).unwrap_or_default()
                    }
                };
                if self.organised_export.is_none() {
                    p.push(f("organised_export"), "is required (true or false)");
                }
                Item::Employment {
                    title: clean_text(&mut p, &f("title"), self.title.as_deref(), true, 200),
                    occupation_code,
                    skills: clean_list(&mut p, &f("skills"), self.skills.as_deref().unwrap_or(&[]), 50, 50),
                    headcount: need_i64(&mut p, &f("headcount"), self.headcount, 1, 100_000),
                    wage_min,
                    wage_max,
                    work_county_code: need_code(&mut p, &f("work_county_code"), self.work_county_code.as_deref()),
                    start_month,
                    organised_export: self.organised_export.unwrap_or(false),
                    ref_,
                }
            }
            _ => {
                p.push(f("kind"), "must be enterprise, project or employment");
                return Err(p);
            }
        };
        if p.is_empty() { Ok(item) } else { Err(p) }
    }
}

/// Validate a whole list: every item, and refs unique in the list.
pub fn validate_items(drafts: &[ItemDraft]) -> Result<Vec<Item>, Problems> {
    let mut p = Problems::new();
    let mut out = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, d) in drafts.iter().enumerate() {
        match d.validate(&format!("items[{i}].")) {
            Ok(item) => out.push(item),
            Err(e) => p.0.extend(e.0),
        }
        if let Some(r) = d.ref_.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            if seen.contains(&r) {
                p.push(format!("items[{i}].ref"), format!("{r} appears twice in the list"));
            }
            seen.push(r);
        }
    }
    if out.len() > 10_000 {
        p.push("items", "at most 10000 items per list");
    }
    if p.is_empty() { Ok(out) } else { Err(p) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_closes_at_midnight_in_guizhou() {
        // 2027-10-31 23:59:59 in Guizhou is 15:59:59 UTC.
        let last = Utc.with_ymd_and_hms(2027, 10, 31, 15, 59, 59).unwrap();
        let closed = Utc.with_ymd_and_hms(2027, 10, 31, 16, 0, 0).unwrap();
        assert!(window_open(2027, last));
        assert!(!window_open(2027, closed));
        assert_eq!(deadline(2027), closed);
    }

    #[test]
    fn items_validate_by_kind_and_refs_are_unique() {
        let e = ItemDraft {
            ref_: Some("E1".into()),
            kind: Some("employment".into()),
            title: Some("电子厂普工".into()),
            skills: Some(vec!["装配".into()]),
            headcount: Some(30),
            wage_min: Some(4500),
            wage_max: Some(6000),
            work_county_code: Some("441900".into()),
            start_month: Some("2027-03".into()),
            organised_export: Some(true),
            ..ItemDraft::default()
        };
        let items = validate_items(std::slice::from_ref(&e)).unwrap();
        assert_eq!(items[0].expected_jobs(), 30);
        assert_eq!(items[0].job_draft().unwrap().openings, Some(30));
        let p = validate_items(&[e.clone(), e.clone()]).unwrap_err();
        assert_eq!(p.0[0].field, "items[1].ref");
        let mut bad = e;
        bad.start_month = Some("2027-3".into());
        bad.wage_min = Some(9000);
        let p = validate_items(&[bad]).unwrap_err();
        let fields: Vec<&str> = p.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["items[0].wage_max", "items[0].start_month"]);
        let p =
            validate_items(&[ItemDraft { ref_: Some("X".into()), kind: Some("loan".into()), ..ItemDraft::default() }])
                .unwrap_err();
        assert_eq!(p.0[0].field, "items[0].kind");
    }
}
