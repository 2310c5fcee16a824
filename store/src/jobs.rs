//! Jobs: posting, reading, changing and closing, each write with its outbox
//! row and audit entry in one transaction.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox;
use crate::schema::{divisions, jobs, occupations, organizations};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Int4, Nullable, Text, Uuid as SqlUuid};
use domain::Problems;
use domain::job::{Requirements, ValidJob};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = jobs)]
pub struct JobRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub title: String,
    pub description: String,
    pub occupation_code: Option<String>,
    pub skills: Vec<String>,
    pub work_county_code: String,
    pub wage_min: i32,
    pub wage_max: i32,
    pub openings: i32,
    pub contract_months: Option<i32>,
    pub start_date: Option<NaiveDate>,
    pub expires_on: Option<NaiveDate>,
    pub requirements: serde_json::Value,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

/// A job with the names and derived fields a reader needs.
#[derive(Debug, Clone)]
pub struct JobView {
    pub row: JobRow,
    pub org_name: String,
    pub work_county_name: String,
    pub work_province_code: String,
    pub occupation_name: Option<String>,
}

impl JobView {
    /// The place of work is outside Guizhou.
    pub fn cross_province(&self) -> bool {
        self.work_province_code != domain::division::GUIZHOU
    }

    pub fn requirements(&self) -> Requirements {
        serde_json::from_value(self.row.requirements.clone()).unwrap_or_default()
    }
}

type ViewTuple = (JobRow, String, String, String, Option<String>);

fn from_tuple((row, org_name, work_county_name, work_province_code, occupation_name): ViewTuple) -> JobView {
    JobView { row, org_name, work_county_name, work_province_code, occupation_name }
}

macro_rules! view_query {
    () => {
        jobs::table
            .inner_join(organizations::table)
            .inner_join(divisions::table.on(divisions::code.eq(jobs::work_county_code)))
            .left_join(occupations::table.on(occupations::code.nullable().eq(jobs::occupation_code)))
            .select((
                JobRow::as_select(),
                organizations::name,
                divisions::name,
                divisions::province_code,
                occupations::name.nullable(),
            ))
    };
}

/// Check the codes a posting refers to against the reference tables.
pub fn check_refs(conn: &mut PgConnection, job: &ValidJob) -> Result<Problems, StoreError> {
    let mut p = Problems::new();
    let place: Option<bool> =
        divisions::table.find(job.work_county_code.as_str()).select(divisions::is_workplace).first(conn).optional()?;
    match place {
        None => p.push("work_county_code", "is not a division code of the mainland"),
        Some(false) => p.push(
            "work_county_code",
            "must be a county-level code (or a city without counties, such as 东莞 441900), not a province or prefecture",
        ),
        Some(true) => {}
    }
    if let Some(code) = &job.occupation_code {
        let found: i64 = occupations::table.filter(occupations::code.eq(code)).count().get_result(conn)?;
        if found == 0 {
            p.push("occupation_code", "is not in the 2022 occupation classification");
        }
    }
    Ok(p)
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<JobView, StoreError> {
    Ok(from_tuple(view_query!().filter(jobs::id.eq(id)).first::<ViewTuple>(conn)?))
}

/// The columns a posting sets, for both insert and update.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = jobs, treat_none_as_null = true)]
struct JobFields<'a> {
    title: &'a str,
    description: &'a str,
    occupation_code: Option<&'a str>,
    skills: &'a [String],
    work_county_code: &'a str,
    wage_min: i32,
    wage_max: i32,
    openings: i32,
    contract_months: Option<i32>,
    start_date: Option<NaiveDate>,
    expires_on: Option<NaiveDate>,
    requirements: serde_json::Value,
}

impl<'a> From<&'a ValidJob> for JobFields<'a> {
    fn from(j: &'a ValidJob) -> Self {
        Self {
            title: &j.title,
            description: &j.description,
            occupation_code: j.occupation_code.as_deref(),
            skills: &j.skills,
            work_county_code: j.work_county_code.as_str(),
            wage_min: j.wage_min,
            wage_max: j.wage_max,
            openings: j.openings,
            contract_months: j.contract_months,
            start_date: j.start_date,
            expires_on: j.expires_on,
            requirements: serde_json::to_value(&j.requirements).unwrap_or_default(),
        }
    }
}

pub fn create(conn: &mut PgConnection, org_id: Uuid, job: &ValidJob, actor: &Actor) -> Result<JobView, StoreError> {
    let id = Uuid::now_v7();
    conn.transaction(|conn| {
        diesel::insert_into(jobs::table)
            .values((jobs::id.eq(id), jobs::org_id.eq(org_id), JobFields::from(job)))
            .execute(conn)?;
        outbox::publish(conn, crate::outbox::Topic::JobCreated, &id.to_string(), serde_json::json!({"job_id": id}))?;
        audit::record(conn, actor, "job.create", "job", &id.to_string(), serde_json::json!({"title": job.title}))?;
        get(conn, id)
    })
}

/// Replace the posting's fields (PATCH merges before validating). Open jobs only.
pub fn update(conn: &mut PgConnection, id: Uuid, job: &ValidJob, actor: &Actor) -> Result<JobView, StoreError> {
    conn.transaction(|conn| {
        let status: String = jobs::table.find(id).select(jobs::status).for_update().first(conn)?;
        if status != "open" {
            return Err(StoreError::Conflict("a closed job cannot be changed".into()));
        }
        diesel::update(jobs::table.find(id))
            .set((JobFields::from(job), jobs::updated_at.eq(diesel::dsl::now)))
            .execute(conn)?;
        outbox::publish(conn, crate::outbox::Topic::JobUpdated, &id.to_string(), serde_json::json!({"job_id": id}))?;
        audit::record(conn, actor, "job.update", "job", &id.to_string(), serde_json::json!({}))?;
        get(conn, id)
    })
}

pub fn close(conn: &mut PgConnection, id: Uuid, actor: &Actor) -> Result<JobView, StoreError> {
    conn.transaction(|conn| {
        let status: String = jobs::table.find(id).select(jobs::status).for_update().first(conn)?;
        if status != "open" {
            return Err(StoreError::Conflict("the job is already closed".into()));
        }
        diesel::update(jobs::table.find(id))
            .set((
                jobs::status.eq("closed"),
                jobs::closed_at.eq(diesel::dsl::now),
                jobs::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        outbox::publish(conn, crate::outbox::Topic::JobClosed, &id.to_string(), serde_json::json!({"job_id": id}))?;
        audit::record(conn, actor, "job.close", "job", &id.to_string(), serde_json::json!({}))?;
        get(conn, id)
    })
}

/// Newest first (ids are time-ordered UUIDv7), after the cursor id.
pub fn list(
    conn: &mut PgConnection,
    org_id: Option<Uuid>,
    status: Option<&str>,
    before: Option<Uuid>,
    limit: i64,
) -> Result<Vec<JobView>, StoreError> {
    let mut q = view_query!().into_boxed();
    if let Some(o) = org_id {
        q = q.filter(jobs::org_id.eq(o));
    }
    if let Some(s) = status {
        q = q.filter(jobs::status.eq(s.to_owned()));
    }
    if let Some(b) = before {
        q = q.filter(jobs::id.lt(b));
    }
    Ok(q.order(jobs::id.desc()).limit(limit).load::<ViewTuple>(conn)?.into_iter().map(from_tuple).collect())
}

/// Several jobs by id, in no particular order.
pub fn get_many(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<JobView>, StoreError> {
    Ok(view_query!().filter(jobs::id.eq_any(ids)).load::<ViewTuple>(conn)?.into_iter().map(from_tuple).collect())
}

/// How many jobs there are, open or closed (for the reindex's progress).
pub fn count_all(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(jobs::table.count().get_result(conn)?)
}

// ------------------------------------------------------------------ list lines

/// A job as a list line of `/jobs`.
#[derive(Debug, Clone)]
pub struct JobLine {
    pub job_id: Uuid,
    pub title: String,
    pub employer: String,
    pub place: String,
    pub wage_min: i32,
    pub wage_max: i32,
}

#[derive(QueryableByName)]
struct JobLineRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    employer: String,
    #[diesel(sql_type = Text)]
    county: String,
    #[diesel(sql_type = Nullable<Text>)]
    province: Option<String>,
    #[diesel(sql_type = Int4)]
    wage_min: i32,
    #[diesel(sql_type = Int4)]
    wage_max: i32,
}

/// Jobs by id, in the order given.
pub fn job_lines(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<JobLine>, StoreError> {
    let rows: Vec<JobLineRow> = diesel::sql_query(
        "SELECT j.id, j.title, org.name AS employer, d.name AS county, pr.name AS province, j.wage_min, j.wage_max \
           FROM jobs j JOIN organizations org ON org.id = j.org_id JOIN divisions d ON d.code = j.work_county_code \
           LEFT JOIN divisions pr ON pr.code = d.province_code WHERE j.id = ANY ($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)?;
    let mut by_id: HashMap<Uuid, JobLineRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|r| JobLine {
            job_id: r.id,
            title: r.title,
            employer: r.employer,
            place: format!("{}{}", r.province.unwrap_or_default(), r.county),
            wage_min: r.wage_min,
            wage_max: r.wage_max,
        })
        .collect())
}
