//! Rows for the search index: each job with its employer, place names and
//! occupation names, denormalised.

use crate::StoreError;
use crate::schema::{divisions, jobs, occupations, organizations};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub skills: Vec<String>,
    pub occupation_code: Option<String>,
    /// The occupation's name and its parents' names.
    pub occupation_names: Vec<String>,
    pub employer_name: String,
    pub county_code: String,
    pub prefecture_code: String,
    pub province_code: String,
    /// County, prefecture and province names.
    pub place_names: Vec<String>,
    pub wage_min: i32,
    pub wage_max: i32,
    pub status: String,
    pub posted_at: DateTime<Utc>,
    pub expires_on: Option<NaiveDate>,
}

/// Names of every division and occupation, loaded once per indexer.
pub struct Names {
    divisions: HashMap<String, (String, Option<String>)>,
    occupations: HashMap<String, (String, Option<String>)>,
}

impl Names {
    pub fn load(conn: &mut PgConnection) -> Result<Self, StoreError> {
        Ok(Self {
            divisions: divisions::table
                .select((divisions::code, divisions::name, divisions::parent_code))
                .load::<(String, String, Option<String>)>(conn)?
                .into_iter()
                .map(|(c, n, p)| (c, (n, p)))
                .collect(),
            occupations: occupations::table
                .select((occupations::code, occupations::name, occupations::parent_code))
                .load::<(String, String, Option<String>)>(conn)?
                .into_iter()
                .map(|(c, n, p)| (c, (n, p)))
                .collect(),
        })
    }

    fn chain(map: &HashMap<String, (String, Option<String>)>, code: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut cur = Some(code.to_owned());
        while let Some(c) = cur {
            match map.get(&c) {
                Some((name, parent)) => {
                    out.push((c.clone(), name.clone()));
                    cur = parent.clone();
                }
                None => break,
            }
            if out.len() > 5 {
                break;
            }
        }
        out
    }
}

type Raw = (
    Uuid,
    String,
    String,
    Vec<String>,
    Option<String>,
    String,
    String,
    i32,
    i32,
    String,
    DateTime<Utc>,
    Option<NaiveDate>,
);

/// Jobs by id (changed jobs), or a page of all jobs in id order after `after`.
pub fn rows(
    conn: &mut PgConnection,
    names: &Names,
    ids: Option<&[Uuid]>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<JobRow>, StoreError> {
    let mut q = jobs::table
        .inner_join(organizations::table)
        .select((
            jobs::id,
            jobs::title,
            jobs::description,
            jobs::skills,
            jobs::occupation_code,
            organizations::name,
            jobs::work_county_code,
            jobs::wage_min,
            jobs::wage_max,
            jobs::status,
            jobs::created_at,
            jobs::expires_on,
        ))
        .into_boxed();
    if let Some(ids) = ids {
        q = q.filter(jobs::id.eq_any(ids.to_vec()));
    }
    if let Some(a) = after {
        q = q.filter(jobs::id.gt(a));
    }
    let raw: Vec<Raw> = q.order(jobs::id).limit(limit).load(conn)?;
    Ok(raw
        .into_iter()
        .map(
            |(
                id,
                title,
                description,
                skills,
                occupation_code,
                employer_name,
                county,
                wage_min,
                wage_max,
                status,
                posted_at,
                expires_on,
            )| {
                let places = Names::chain(&names.divisions, &county);
                let occupation_names =
                    occupation_code.as_deref().map(|c| Names::chain(&names.occupations, c)).unwrap_or_default();
                let code_at = |level: usize| places.get(level).map(|(c, _)| c.clone());
                // places: [county, prefecture, province] (or [city, province] for a city without counties)
                let province_code = format!("{}0000", &county[..2]);
                let prefecture_code = if places.len() >= 3 { code_at(1).unwrap_or_default() } else { county.clone() };
                JobRow {
                    id,
                    title,
                    description,
                    skills,
                    occupation_code,
                    occupation_names: occupation_names.into_iter().map(|(_, n)| n).collect(),
                    employer_name,
                    prefecture_code,
                    province_code,
                    place_names: places.into_iter().map(|(_, n)| n).collect(),
                    county_code: county,
                    wage_min,
                    wage_max,
                    status,
                    posted_at,
                    expires_on,
                }
            },
        )
        .collect())
}
