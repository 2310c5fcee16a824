//! Validation of a ledger entry (台账): one worker, from JSON or from a
//! spreadsheet row. The same rules serve both.

use crate::job::{clean_list, clean_text};
use crate::worker::{Category, EmploymentStatus};
use crate::{DivisionCode, Gender, IdNumber, Phone, Problems};
use chrono::NaiveDate;
use serde::Deserialize;

/// A worker as sent (required fields optional so that absence is named).
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkerDraft {
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub id_number: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub name: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub phone: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub household_code: Option<String>,
    pub resettlement_site: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub county_code: Option<String>,
    pub categories: Option<Vec<String>>,
    pub skills: Option<Vec<String>>,
    pub education: Option<String>,
    pub graduation_year: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(required, nullable = false))]
    pub employment_status: Option<String>,
    pub willing_cross_province: Option<bool>,
    pub accepts_offers: Option<bool>,
    /// Employed but wants to hear of other jobs (default false).
    pub seeking_while_employed: Option<bool>,
    pub min_wage: Option<i64>,
    pub preferred_county_codes: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidWorker {
    pub id_number: IdNumber,
    pub name: String,
    pub phone: Phone,
    pub household_code: String,
    pub resettlement_site: Option<String>,
    pub county_code: DivisionCode,
    pub categories: Vec<Category>,
    pub skills: Vec<String>,
    pub education: Option<String>,
    pub graduation_year: Option<i32>,
    pub employment_status: EmploymentStatus,
    pub willing_cross_province: bool,
    pub accepts_offers: bool,
    pub seeking_while_employed: bool,
    pub min_wage: Option<i32>,
    pub preferred_county_codes: Vec<DivisionCode>,
}

impl ValidWorker {
    pub fn birth_date(&self) -> NaiveDate {
        self.id_number.birth_date()
    }

    pub fn gender(&self) -> Gender {
        self.id_number.gender()
    }
}

/// A household code: letters, digits, `-` and `_`, 1 to 64 characters.
pub fn parse_household_code(p: &mut Problems, field: &str, v: Option<&str>) -> Option<String> {
    let s = v.unwrap_or("").trim();
    if s.is_empty() {
        p.push(field, "is required");
        None
    } else if s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        p.push(field, "must be 1-64 letters, digits, '-' or '_'");
        None
    } else {
        Some(s.to_owned())
    }
}

pub fn parse_categories(p: &mut Problems, field: &str, items: &[String]) -> Vec<Category> {
    let mut out = Vec::new();
    for s in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match Category::parse_any(s) {
            Some(c) if !out.contains(&c) => out.push(c),
            Some(_) => {}
            None => p.push(field, format!("unknown category {s:?}; expected {}", Category::expected())),
        }
    }
    out.sort();
    out
}

pub fn parse_status(p: &mut Problems, field: &str, v: Option<&str>) -> Option<EmploymentStatus> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => {
            p.push(field, "is required");
            None
        }
        Some(s) => {
            let parsed = EmploymentStatus::parse_any(s);
            if parsed.is_none() {
                p.push(field, format!("unknown status {s:?}; expected {}", EmploymentStatus::expected()));
            }
            parsed
        }
    }
}

pub fn parse_codes(p: &mut Problems, field: &str, items: &[String]) -> Vec<DivisionCode> {
    let mut out: Vec<DivisionCode> = Vec::new();
    for s in items.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        if let Some(c) = p.check(field, DivisionCode::parse(s))
            && !out.contains(&c)
        {
            out.push(c);
        }
    }
    if out.len() > 20 {
        p.push(field, "at most 20 counties");
    }
    out
}

pub fn check_wage(p: &mut Problems, field: &str, v: Option<i64>) -> Option<i32> {
    let v = v?;
    if !(0..=crate::job::MAX_WAGE).contains(&v) {
        p.push(field, format!("must be between 0 and {}", crate::job::MAX_WAGE));
        return None;
    }
    i32::try_from(v).ok()
}

pub fn check_graduation_year(p: &mut Problems, field: &str, v: Option<i64>) -> Option<i32> {
    let v = v?;
    if !(1950..=2100).contains(&v) {
        p.push(field, "must be a year between 1950 and 2100");
        return None;
    }
    i32::try_from(v).ok()
}

impl WorkerDraft {
    pub fn validate(&self) -> Result<ValidWorker, Problems> {
        let mut p = Problems::new();
        let id_number = match self.id_number.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                p.push("id_number", "is required");
                None
            }
            Some(s) => p.check("id_number", IdNumber::parse(s)),
        };
        let name = clean_text(&mut p, "name", self.name.as_deref(), true, 50);
        let phone = match self.phone.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => {
                p.push("phone", "is required");
                None
            }
            Some(s) => p.check("phone", Phone::parse(s)),
        };
        let household_code = parse_household_code(&mut p, "household_code", self.household_code.as_deref());
        let site = clean_text(&mut p, "resettlement_site", self.resettlement_site.as_deref(), false, 200);
        let county_code = match self.county_code.as_deref() {
            None => {
                p.push("county_code", "is required");
                None
            }
            Some(c) => p.check("county_code", DivisionCode::parse(c)),
        };
        let categories = parse_categories(&mut p, "categories", self.categories.as_deref().unwrap_or(&[]));
        let skills = clean_list(&mut p, "skills", self.skills.as_deref().unwrap_or(&[]), 50, 50);
        let education = clean_text(&mut p, "education", self.education.as_deref(), false, 50);
        let graduation_year = check_graduation_year(&mut p, "graduation_year", self.graduation_year);
        let status = parse_status(&mut p, "employment_status", self.employment_status.as_deref());
        let min_wage = check_wage(&mut p, "min_wage", self.min_wage);
        let preferred =
            parse_codes(&mut p, "preferred_county_codes", self.preferred_county_codes.as_deref().unwrap_or(&[]));
        if self.willing_cross_province.is_none() {
            p.push("willing_cross_province", "is required (true or false)");
        }
        match (id_number, phone, household_code, county_code, status, self.willing_cross_province) {
            (
                Some(id_number),
                Some(phone),
                Some(household_code),
                Some(county_code),
                Some(employment_status),
                Some(w),
            ) if p.is_empty() => Ok(ValidWorker {
                id_number,
                name,
                phone,
                household_code,
                resettlement_site: (!site.is_empty()).then_some(site),
                county_code,
                categories,
                skills,
                education: (!education.is_empty()).then_some(education),
                graduation_year,
                employment_status,
                willing_cross_province: w,
                accepts_offers: self.accepts_offers.unwrap_or(true),
                seeking_while_employed: self.seeking_while_employed.unwrap_or(false),
                min_wage,
                preferred_county_codes: preferred,
            }),
            _ => Err(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id_number::with_check_char;

    pub fn draft() -> WorkerDraft {
        WorkerDraft {
            id_number: with_check_char("52232819900101123"),
            name: Some("王小明".into()),
            phone: Some("13812345678".into()),
            household_code: Some("HH-522328-0001".into()),
            county_code: Some("522328".into()),
            categories: Some(vec!["relocated".into(), "搬迁劳动力".into(), "returning".into()]),
            employment_status: Some("unemployed".into()),
            willing_cross_province: Some(true),
            ..WorkerDraft::default()
        }
    }

    #[test]
    fn valid_entry_derives_and_cleans() {
        let w = draft().validate().unwrap();
        assert_eq!(w.categories, vec![Category::Relocated, Category::Returning]);
        assert_eq!(w.birth_date(), NaiveDate::from_ymd_opt(1990, 1, 1).unwrap());
        assert!(w.accepts_offers);
    }

    #[test]
    fn problems_name_each_field() {
        let mut d = draft();
        d.id_number = Some("52232819900101123X".into());
        d.phone = Some("1234".into());
        d.categories = Some(vec!["retired".into()]);
        d.willing_cross_province = None;
        let p = d.validate().unwrap_err();
        let fields: Vec<&str> = p.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["id_number", "phone", "categories", "willing_cross_province"]);
    }
}
