//! Demand lists of the Guangdong–Guizhou cooperation teams: pairings, the
//! yearly list with its versions, submission (employment items become
//! jobs), reopening, consolidation.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::schema::{
    coop_team_extra_pairs, coop_teams, demand_items, demand_list_versions, demand_lists, jobs, organizations, pairings,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::demand::{Item, window_open};
use domain::job::ValidJob;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(serde::Deserialize)]
struct PairRow {
    level: String,
    guangdong_code: String,
    guizhou_code: String,
    confidence: String,
}

/// Load the confirmed pairings of `seed/yueqian_pairing.csv` (idempotent).
pub fn seed_pairings(conn: &mut PgConnection) -> Result<(), StoreError> {
    let mut rdr = csv::Reader::from_reader(crate::reference::PAIRINGS_CSV.as_bytes());
    let rows: Vec<PairRow> = rdr
        .deserialize()
        .collect::<Result<_, _>>()
        .map_err(|e| StoreError::Other(format!("seed/yueqian_pairing.csv: {e}")))?;
    for r in rows.into_iter().filter(|r| {
        r.confidence.starts_with("confirmed")
            && matches!(r.level.as_str(), "prefecture" | "county")
            && r.guangdong_code.len() == 6
            && r.guizhou_code.len() == 6
    }) {
        diesel::insert_into(pairings::table)
            .values((
                pairings::guangdong_code.eq(&r.guangdong_code),
                pairings::guizhou_code.eq(&r.guizhou_code),
                pairings::level.eq(&r.level),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(())
}

/// Link a cooperation team to its Guangdong city; `extra` are Guizhou codes admin adds.
pub fn set_team(
    conn: &mut PgConnection,
    org: Uuid,
    city: &str,
    extra: &[String],
    actor: &Actor,
) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::insert_into(coop_teams::table)
            .values((coop_teams::org_id.eq(org), coop_teams::guangdong_city_code.eq(city)))
            .on_conflict(coop_teams::org_id)
            .do_update()
            .set((coop_teams::guangdong_city_code.eq(city), coop_teams::updated_at.eq(diesel::dsl::now)))
            .execute(conn)?;
        diesel::delete(coop_team_extra_pairs::table.filter(coop_team_extra_pairs::org_id.eq(org))).execute(conn)?;
        for c in extra {
            diesel::insert_into(coop_team_extra_pairs::table)
                .values((coop_team_extra_pairs::org_id.eq(org), coop_team_extra_pairs::guizhou_code.eq(c)))
                .on_conflict_do_nothing()
                .execute(conn)?;
        }
        audit::record(
            conn,
            actor,
            "coop_team.set",
            "organization",
            &org.to_string(),
            serde_json::json!({"city": city, "extra": extra}),
        )?;
        Ok(())
    })
}

/// A team's city and the Guizhou prefectures and counties it pairs with.
pub fn team(conn: &mut PgConnection, org: Uuid) -> Result<Option<(String, Vec<String>)>, StoreError> {
    let city: Option<String> =
        coop_teams::table.find(org).select(coop_teams::guangdong_city_code).first(conn).optional()?;
    let Some(city) = city else { return Ok(None) };
    let prefix = format!("{}%", &city[..4]);
    let mut codes: Vec<String> =
        pairings::table.filter(pairings::guangdong_code.like(prefix)).select(pairings::guizhou_code).load(conn)?;
    codes.extend(
        coop_team_extra_pairs::table
            .filter(coop_team_extra_pairs::org_id.eq(org))
            .select(coop_team_extra_pairs::guizhou_code)
            .load::<String>(conn)?,
    );
    codes.sort();
    codes.dedup();
    Ok(Some((city, codes)))
}

/// Does the team pair with this Guizhou county (directly or through its prefecture)?
pub fn pairs_with(codes: &[String], county: &str) -> bool {
    codes.iter().any(|c| c == county || (c.ends_with("00") && county.get(..4) == c.get(..4)))
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = demand_lists)]
pub struct DemandList {
    pub id: Uuid,
    pub team_org_id: Uuid,
    pub year: i32,
    pub state: String,
    pub version: i32,
    pub submitted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredItem {
    pub item: Item,
    pub job_id: Option<Uuid>,
}

pub fn list(
    conn: &mut PgConnection,
    team: Uuid,
    year: i32,
) -> Result<Option<(DemandList, Vec<StoredItem>)>, StoreError> {
    let l: Option<DemandList> = demand_lists::table
        .filter(demand_lists::team_org_id.eq(team).and(demand_lists::year.eq(year)))
        .select(DemandList::as_select())
        .first(conn)
        .optional()?;
    let Some(l) = l else { return Ok(None) };
    let items = items(conn, l.id)?;
    Ok(Some((l, items)))
}

fn items(conn: &mut PgConnection, list: Uuid) -> Result<Vec<StoredItem>, StoreError> {
    let rows: Vec<(serde_json::Value, Option<Uuid>)> = demand_items::table
        .filter(demand_items::list_id.eq(list))
        .select((demand_items::data, demand_items::job_id))
        .order(demand_items::ref_)
        .load(conn)?;
    rows.into_iter()
        .map(|(d, job_id)| {
            serde_json::from_value::<Item>(d)
                .map(|item| StoredItem { item, job_id })
                .map_err(|e| StoreError::Other(format!("stored demand item unreadable: {e}")))
        })
        .collect()
}

/// The list row, locked, created when missing.
fn lock_list(conn: &mut PgConnection, team: Uuid, year: i32) -> Result<DemandList, StoreError> {
    diesel::insert_into(demand_lists::table)
        .values((demand_lists::id.eq(Uuid::now_v7()), demand_lists::team_org_id.eq(team), demand_lists::year.eq(year)))
        .on_conflict((demand_lists::team_org_id, demand_lists::year))
        .do_nothing()
        .execute(conn)?;
    Ok(demand_lists::table
        .filter(demand_lists::team_org_id.eq(team).and(demand_lists::year.eq(year)))
        .select(DemandList::as_select())
        .for_update()
        .first(conn)?)
}

fn editable(l: &DemandList, now: DateTime<Utc>) -> Result<(), StoreError> {
    if l.state == "reopened" || window_open(l.year, now) {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "the {} list is locked since 31 October {} 23:59:59 (Asia/Shanghai); an admin may reopen it",
            l.year, l.year
        )))
    }
}

fn version(
    conn: &mut PgConnection,
    l: &DemandList,
    state: &str,
    action: &str,
    reason: Option<&str>,
    actor: &Actor,
) -> Result<i32, StoreError> {
    let items: Vec<Item> = items(conn, l.id)?.into_iter().map(|s| s.item).collect();
    let v = l.version + 1;
    diesel::insert_into(demand_list_versions::table)
        .values((
            demand_list_versions::list_id.eq(l.id),
            demand_list_versions::version.eq(v),
            demand_list_versions::state.eq(state),
            demand_list_versions::action.eq(action),
            demand_list_versions::items.eq(serde_json::to_value(&items).unwrap_or_default()),
            demand_list_versions::reason.eq(reason),
            demand_list_versions::changed_by_org_id.eq(actor.org_id),
        ))
        .execute(conn)?;
    diesel::update(demand_lists::table.find(l.id))
        .set((
            demand_lists::version.eq(v),
            demand_lists::state.eq(state),
            demand_lists::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        &format!("demand_list.{action}"),
        "demand_list",
        &l.id.to_string(),
        serde_json::json!({"version": v, "year": l.year}),
    )?;
    Ok(v)
}

/// Replace the team's items for the year (upsert by ref; refs that are gone
/// are removed and their jobs closed). A submitted list goes back to draft.
pub fn save(
    conn: &mut PgConnection,
    team: Uuid,
    year: i32,
    new: &[Item],
    action: &str,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(DemandList, Vec<StoredItem>), StoreError> {
    conn.transaction(|conn| {
        let l = lock_list(conn, team, year)?;
        editable(&l, now)?;
        let old: HashMap<String, Option<Uuid>> = demand_items::table
            .filter(demand_items::list_id.eq(l.id))
            .select((demand_items::ref_, demand_items::job_id))
            .load::<(String, Option<Uuid>)>(conn)?
            .into_iter()
            .collect();
        for (r, job) in &old {
            if !new.iter().any(|i| i.ref_() == r) {
                diesel::delete(
                    demand_items::table.filter(demand_items::list_id.eq(l.id).and(demand_items::ref_.eq(r))),
                )
                .execute(conn)?;
                if let Some(j) = job {
                    let open: Option<String> = jobs::table.find(j).select(jobs::status).first(conn).optional()?;
                    if open.as_deref() == Some("open") {
                        crate::jobs::close(conn, *j, actor)?;
                    }
                }
            }
        }
        for i in new {
            let data = serde_json::to_value(i).map_err(|e| StoreError::Other(e.to_string()))?;
            diesel::insert_into(demand_items::table)
                .values((
                    demand_items::list_id.eq(l.id),
                    demand_items::ref_.eq(i.ref_()),
                    demand_items::kind.eq(i.kind()),
                    demand_items::data.eq(&data),
                ))
                .on_conflict((demand_items::list_id, demand_items::ref_))
                .do_update()
                .set((demand_items::kind.eq(i.kind()), demand_items::data.eq(&data)))
                .execute(conn)?;
        }
        let state = if l.state == "reopened" { "reopened" } else { "draft" };
        version(conn, &l, state, action, None, actor)?;
        let l = lock_list(conn, team, year)?;
        let items = items(conn, l.id)?;
        Ok((l, items))
    })
}

/// Submit: every employment item becomes an open job owned by the team (or
/// updates the job its ref made before). `jobs_by_ref` holds the validated
/// postings of the employment items.
pub fn submit(
    conn: &mut PgConnection,
    team: Uuid,
    year: i32,
    jobs_by_ref: &HashMap<String, ValidJob>,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Result<(DemandList, Vec<StoredItem>), StoreError> {
    conn.transaction(|conn| {
        let l = lock_list(conn, team, year)?;
        editable(&l, now)?;
        let current: Vec<(String, Option<Uuid>)> = demand_items::table
            .filter(demand_items::list_id.eq(l.id))
            .select((demand_items::ref_, demand_items::job_id))
            .load(conn)?;
        for (r, job) in current {
            let Some(v) = jobs_by_ref.get(&r) else { continue };
            let status: Option<String> = match job {
                Some(j) => jobs::table.find(j).select(jobs::status).first(conn).optional()?,
                None => None,
            };
            let id = match (job, status.as_deref()) {
                (Some(j), Some("open")) => crate::jobs::update(conn, j, v, actor)?.row.id,
                _ => crate::jobs::create(conn, team, v, actor)?.row.id,
            };
            diesel::update(demand_items::table.filter(demand_items::list_id.eq(l.id).and(demand_items::ref_.eq(&r))))
                .set(demand_items::job_id.eq(id))
                .execute(conn)?;
        }
        diesel::update(demand_lists::table.find(l.id))
            .set(demand_lists::submitted_at.eq(diesel::dsl::now))
            .execute(conn)?;
        version(conn, &l, "submitted", "submit", None, actor)?;
        let l = lock_list(conn, team, year)?;
        let items = items(conn, l.id)?;
        Ok((l, items))
    })
}

/// Reopen a list after the deadline (admin), with the reason recorded.
pub fn reopen(
    conn: &mut PgConnection,
    team: Uuid,
    year: i32,
    reason: &str,
    actor: &Actor,
) -> Result<DemandList, StoreError> {
    conn.transaction(|conn| {
        let l = lock_list(conn, team, year)?;
        if l.state == "reopened" {
            return Err(StoreError::Conflict("the list is already reopened".into()));
        }
        version(conn, &l, "reopened", "reopen", Some(reason), actor)?;
        lock_list(conn, team, year)
    })
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = demand_list_versions)]
pub struct Version {
    pub version: i32,
    pub state: String,
    pub action: String,
    pub items: serde_json::Value,
    pub reason: Option<String>,
    pub changed_by_org_id: Option<Uuid>,
    pub changed_at: DateTime<Utc>,
}

pub fn versions(conn: &mut PgConnection, list: Uuid) -> Result<Vec<Version>, StoreError> {
    Ok(demand_list_versions::table
        .filter(demand_list_versions::list_id.eq(list))
        .select(Version::as_select())
        .order(demand_list_versions::version)
        .load(conn)?)
}

/// A team (id, name) and its list for a year, if any.
pub type TeamList = (Uuid, String, Option<(DemandList, Vec<StoredItem>)>);

/// Every team of the year: (team id, name, its list if any).
pub fn all_teams(conn: &mut PgConnection, year: i32) -> Result<Vec<TeamList>, StoreError> {
    let teams: Vec<(Uuid, String)> = organizations::table
        .filter(organizations::kind.eq("coop_team"))
        .select((organizations::id, organizations::name))
        .order(organizations::name)
        .load(conn)?;
    let mut out = Vec::new();
    for (id, name) in teams {
        let l = list(conn, id, year)?;
        out.push((id, name, l));
    }
    Ok(out)
}
