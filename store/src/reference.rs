//! Reference data compiled into the binary from `seed/` (see seed/README.md)
//! and loaded idempotently after the migrations.

use crate::StoreError;
use crate::schema::{divisions, occupations};
use diesel::prelude::*;
use diesel::upsert::excluded;
use std::collections::HashSet;

const DIVISIONS_CSV: &str = include_str!("../../seed/divisions.csv");
const OCCUPATIONS_CSV: &str = include_str!("../../seed/occupations.csv");
/// The Guangdong–Guizhou pairings (confirmed rows only are used).
pub const PAIRINGS_CSV: &str = include_str!("../../seed/yueqian_pairing.csv");
/// Skill certificates (特种作业 / 特种设备 / 职业技能等级).
pub const SKILLS_CSV: &str = include_str!("../../seed/skills.csv");

#[derive(Debug, Clone, Insertable, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = divisions)]
pub struct Division {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub province_code: String,
    pub is_workplace: bool,
}

#[derive(Debug, Clone, Insertable, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = occupations)]
pub struct Occupation {
    pub code: String,
    pub name: String,
    pub level: i16,
    pub parent_code: Option<String>,
}

#[derive(serde::Deserialize)]
struct DivisionRow {
    code: String,
    name: String,
    level: String,
    parent_code: String,
    province_code: String,
}

#[derive(serde::Deserialize)]
struct OccupationRow {
    code: String,
    name: String,
    level: i16,
    parent_code: String,
}

fn bad_seed(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("seed/{what} is unreadable: {e}"))
}

/// Every division from the seed, with `is_workplace` worked out: a county, or
/// a prefecture that has no county below it.
pub fn seed_divisions() -> Result<Vec<Division>, StoreError> {
    let rows: Vec<DivisionRow> = csv::Reader::from_reader(DIVISIONS_CSV.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| bad_seed("divisions.csv", e))?;
    let parents: HashSet<&str> = rows.iter().filter(|r| r.level == "county").map(|r| r.parent_code.as_str()).collect();
    Ok(rows
        .iter()
        .map(|r| Division {
            code: r.code.clone(),
            name: r.name.clone(),
            level: r.level.clone(),
            parent_code: (!r.parent_code.is_empty()).then(|| r.parent_code.clone()),
            province_code: r.province_code.clone(),
            is_workplace: r.level == "county" || (r.level == "prefecture" && !parents.contains(r.code.as_str())),
        })
        .collect())
}

pub fn seed_occupations() -> Result<Vec<Occupation>, StoreError> {
    let rows: Vec<OccupationRow> = csv::Reader::from_reader(OCCUPATIONS_CSV.as_bytes())
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| bad_seed("occupations.csv", e))?;
    Ok(rows
        .into_iter()
        .map(|r| Occupation {
            code: r.code,
            name: r.name,
            level: r.level,
            parent_code: (!r.parent_code.is_empty()).then_some(r.parent_code),
        })
        .collect())
}

/// Insert or refresh the reference tables. Cheap when they are current.
pub fn load(conn: &mut PgConnection) -> Result<(), StoreError> {
    let divs = seed_divisions()?;
    let occs = seed_occupations()?;
    let have_divs: i64 = divisions::table.count().get_result(conn)?;
    let have_occs: i64 = occupations::table.count().get_result(conn)?;
    if have_divs == divs.len() as i64 && have_occs == occs.len() as i64 {
        return Ok(());
    }
    conn.transaction::<_, StoreError, _>(|conn| {
        // Parents before children: provinces, prefectures, counties.
        for level in ["province", "prefecture", "county"] {
            let batch: Vec<&Division> = divs.iter().filter(|d| d.level == level).collect();
            for chunk in batch.chunks(1000) {
                diesel::insert_into(divisions::table)
                    .values(chunk.iter().copied().cloned().collect::<Vec<_>>())
                    .on_conflict(divisions::code)
                    .do_update()
                    .set((
                        divisions::name.eq(excluded(divisions::name)),
                        divisions::is_workplace.eq(excluded(divisions::is_workplace)),
                    ))
                    .execute(conn)?;
            }
        }
        for level in 1..=4 {
            let batch: Vec<Occupation> = occs.iter().filter(|o| o.level == level).cloned().collect();
            for chunk in batch.chunks(1000) {
                diesel::insert_into(occupations::table)
                    .values(chunk)
                    .on_conflict(occupations::code)
                    .do_update()
                    .set(occupations::name.eq(excluded(occupations::name)))
                    .execute(conn)?;
            }
        }
        Ok(())
    })
}

/// One division by code.
pub fn division(conn: &mut PgConnection, code: &str) -> Result<Option<Division>, StoreError> {
    Ok(divisions::table.find(code).select(Division::as_select()).first(conn).optional()?)
}

/// Divisions filtered by province and level, ordered by code.
pub fn list_divisions(
    conn: &mut PgConnection,
    province_code: Option<&str>,
    level: Option<&str>,
    parent_code: Option<&str>,
) -> Result<Vec<Division>, StoreError> {
    let mut q = divisions::table.select(Division::as_select()).into_boxed();
    if let Some(p) = province_code {
        q = q.filter(divisions::province_code.eq(p.to_owned()));
    }
    if let Some(l) = level {
        q = q.filter(divisions::level.eq(l.to_owned()));
    }
    if let Some(p) = parent_code {
        q = q.filter(divisions::parent_code.eq(p.to_owned()));
    }
    Ok(q.order(divisions::code).load(conn)?)
}

pub fn occupation(conn: &mut PgConnection, code: &str) -> Result<Option<Occupation>, StoreError> {
    Ok(occupations::table.find(code).select(Occupation::as_select()).first(conn).optional()?)
}

/// Occupations whose name or code contains `q` (all when `q` is empty), ordered by code.
pub fn search_occupations(conn: &mut PgConnection, q: &str, limit: i64) -> Result<Vec<Occupation>, StoreError> {
    let mut query = occupations::table.select(Occupation::as_select()).into_boxed();
    let q = q.trim();
    if !q.is_empty() {
        let pattern = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        query = query.filter(occupations::name.like(pattern.clone()).or(occupations::code.like(pattern)));
    }
    Ok(query.order(occupations::code).limit(limit).load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_parses_and_knows_cities_without_counties() {
        let divs = seed_divisions().unwrap();
        assert_eq!(divs.iter().filter(|d| d.level == "province").count(), 31);
        let find = |c: &str| divs.iter().find(|d| d.code == c).unwrap();
        assert!(find("441900").is_workplace, "东莞 has no counties");
        assert!(find("442000").is_workplace, "中山 has no counties");
        assert!(!find("522300").is_workplace, "黔西南州 has counties");
        assert!(find("522301").is_workplace);
        let guizhou_counties = divs.iter().filter(|d| d.province_code == "520000" && d.level == "county").count();
        assert_eq!(guizhou_counties, 88);
        let occs = seed_occupations().unwrap();
        assert_eq!(occs.iter().filter(|o| o.level == 1).count(), 8);
        assert!(occs.iter().any(|o| o.code == "6-18-02-04" || o.name.contains("焊工")));
    }
}
