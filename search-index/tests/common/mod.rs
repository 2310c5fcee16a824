//! Shared by the integration tests: the hand-written fixture and the seed reference data.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use search_index::JobDoc;
use uuid::Uuid;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

pub fn fixture_id(n: u32) -> Uuid {
    Uuid::from_u128(0x5131_0000_0000_0000_0000_0000_0000_0000 + u128::from(n))
}

pub fn fixture_number(id: Uuid) -> u32 {
    (id.as_u128() - 0x5131_0000_0000_0000_0000_0000_0000_0000) as u32
}

/// `divisions.csv`: code -> (name, level, parent_code, province_code).
pub struct Divisions(HashMap<String, (String, String, String, String)>);

impl Divisions {
    pub fn load() -> Self {
        let mut rdr = csv::Reader::from_path(workspace_root().join("seed/divisions.csv")).unwrap();
        let mut map = HashMap::new();
        for rec in rdr.records() {
            let r = rec.unwrap();
            map.insert(r[0].to_string(), (r[1].to_string(), r[2].to_string(), r[3].to_string(), r[4].to_string()));
        }
        Divisions(map)
    }

    pub fn name(&self, code: &str) -> &str {
        &self.0[code].0
    }

    /// (county, prefecture, province) codes and the place names, county first.
    pub fn place(&self, county: &str) -> (String, String, String, Vec<String>) {
        let (name, level, parent, province) = &self.0[county];
        let prefecture = if level == "prefecture" { county.to_string() } else { parent.clone() };
        let mut names = vec![name.clone()];
        if prefecture != county {
            names.push(self.0[&prefecture].0.clone());
        }
        names.push(self.0[province].0.clone());
        (county.to_string(), prefecture, province.clone(), names)
    }

    /// All county-level places (and prefecture-level cities without counties) of a province.
    pub fn places_of(&self, province: &str) -> Vec<String> {
        let has_children: std::collections::HashSet<&str> =
            self.0.values().filter(|v| v.1 == "county").map(|v| v.2.as_str()).collect();
        let mut out: Vec<String> = self
            .0
            .iter()
            .filter(|(code, v)| {
                v.3 == province && (v.1 == "county" || (v.1 == "prefecture" && !has_children.contains(code.as_str())))
            })
            .map(|(code, _)| code.clone())
            .collect();
        out.sort();
        out
    }
}

/// `occupations.csv`: code -> (name, parent_code).
pub struct Occupations(HashMap<String, (String, String)>);

impl Occupations {
    pub fn load() -> Self {
        let mut rdr = csv::Reader::from_path(workspace_root().join("seed/occupations.csv")).unwrap();
        let mut map = HashMap::new();
        for rec in rdr.records() {
            let r = rec.unwrap();
            map.insert(r[0].to_string(), (r[1].to_string(), r[4].to_string()));
        }
        Occupations(map)
    }

    /// The occupation's name and its parents' names, most specific first.
    pub fn names(&self, code: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut cur = code.to_string();
        while let Some((name, parent)) = self.0.get(&cur) {
            if !out.contains(name) {
                out.push(name.clone());
            }
            if parent.is_empty() {
                break;
            }
            cur = parent.clone();
        }
        out
    }
}

pub struct Posting {
    pub number: u32,
    pub job: JobDoc,
    pub tags: Vec<String>,
}

/// The hand-written relevance fixture, as open jobs posted over the 30 days before `today()`.
pub fn load_postings() -> Vec<Posting> {
    let divisions = Divisions::load();
    let occupations = Occupations::load();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/postings.csv");
    let mut rdr = csv::Reader::from_path(path).unwrap();
    let base = Utc.with_ymd_and_hms(2026, 2, 28, 9, 0, 0).unwrap();
    let mut out = Vec::new();
    for rec in rdr.records() {
        let r = rec.unwrap();
        let number: u32 = r[0].parse().unwrap();
        let (county, prefecture, province, place_names) = divisions.place(&r[6]);
        let occupation_code = r[4].to_string();
        let job = JobDoc {
            id: fixture_id(number),
            title: r[1].to_string(),
            description: r[2].to_string(),
            skills: r[3].split('|').map(str::to_string).collect(),
            occupation_names: occupations.names(&occupation_code),
            occupation_code: Some(occupation_code),
            employer_name: r[5].to_string(),
            cross_province: province == "440000",
            county_code: county,
            prefecture_code: prefecture,
            province_code: province,
            place_names,
            wage_min: r[7].parse().unwrap(),
            wage_max: r[8].parse().unwrap(),
            status: "open".to_string(),
            posted_at: base - Duration::hours(i64::from(number * 7 % 720)),
            expires_on: None,
        };
        let tags = r[9].split('|').map(str::to_string).collect();
        out.push(Posting { number, job, tags });
    }
    out
}
