//! What the matcher needs from PostgreSQL: worker snapshots (loaded whole at
//! start, then per changed worker), job snapshots, and offers with their
//! per-worker caps enforced under row locks.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox;
use crate::schema::{divisions, jobs, occupations, offers, placements};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Date, Int4, Nullable, Text, Uuid as SqlUuid};
use domain::job::Requirements;
use domain::matching::{DeclineSnap, JobSnap, Load, TrainingSnap, WorkerSnap};
use domain::text::normalize;
use domain::worker::{Category, EmploymentStatus};
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    county_code: String,
    #[diesel(sql_type = SqlUuid)]
    household_id: Uuid,
    #[diesel(sql_type = Nullable<Date>)]
    birth_date: Option<NaiveDate>,
    #[diesel(sql_type = Array<Text>)]
    categories: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    skills: Vec<String>,
    #[diesel(sql_type = Bool)]
    willing_cross_province: bool,
    #[diesel(sql_type = Bool)]
    accepts_offers: bool,
    #[diesel(sql_type = Bool)]
    seeking_while_employed: bool,
    #[diesel(sql_type = Nullable<Int4>)]
    min_wage: Option<i32>,
    #[diesel(sql_type = Array<Text>)]
    preferred_county_codes: Vec<String>,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Bool)]
    is_labour: bool,
    #[diesel(sql_type = Bool)]
    is_employed: bool,
}

/// Snapshots of (some or all) workers who are not erased, as of `today`.
/// `ids = None` loads everyone (at start); erased or missing ids are absent.
pub fn worker_snapshots(
    conn: &mut PgConnection,
    ids: Option<&[Uuid]>,
    today: NaiveDate,
) -> Result<Vec<WorkerSnap>, StoreError> {
    let filter = ids.map(<[Uuid]>::to_vec);
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT w.id, w.county_code, w.household_id, w.birth_date, w.categories, w.skills, w.willing_cross_province, \
                w.accepts_offers, w.seeking_while_employed, w.min_wage, w.preferred_county_codes, \
                ws.status, ws.is_labour, ws.is_employed \
           FROM worker_state($1) ws JOIN workers w ON w.id = ws.worker_id \
          WHERE w.erased_at IS NULL AND ($2::uuid[] IS NULL OR ws.worker_id = ANY ($2))",
    )
    .bind::<Date, _>(today)
    .bind::<Nullable<Array<SqlUuid>>, _>(filter.clone())
    .load(conn)?;
    let mut trainings: HashMap<Uuid, Vec<TrainingSnap>> = HashMap::new();
    type T = (Uuid, String, String, Option<String>, Vec<String>, Option<String>, NaiveDate);
    {
        use crate::schema::training_records as t;
        let mut q = t::table
            .select((t::worker_id, t::course, t::kind, t::occupation_code, t::skills, t::certificate, t::completed_on))
            .into_boxed();
        if let Some(f) = &filter {
            q = q.filter(t::worker_id.eq_any(f.clone()));
        }
        for (w, course, kind, occupation_code, skills, certificate, completed_on) in q.load::<T>(conn)? {
            trainings.entry(w).or_default().push(TrainingSnap {
                course,
                kind,
                occupation_code,
                skills: skills.iter().map(|s| normalize(s)).collect(),
                certificate,
                completed_on,
            });
        }
    }
    let mut placed: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    let mut stays: HashMap<Uuid, Vec<u32>> = HashMap::new();
    {
        let mut q = placements::table
            .select((placements::worker_id, placements::job_id, placements::start_date, placements::separated_on))
            .into_boxed();
        if let Some(f) = &filter {
            q = q.filter(placements::worker_id.eq_any(f.clone()));
        }
        for (w, job, start, sep) in q.load::<(Uuid, Option<Uuid>, NaiveDate, Option<NaiveDate>)>(conn)? {
            if let Some(j) = job {
                placed.entry(w).or_default().push(j);
            }
            if let Some(end) = sep {
                let months = domain::calendar::months_apart(start, end);
                stays.entry(w).or_default().push(months.max(0) as u32);
            }
        }
    }
    let mut declines: HashMap<Uuid, Vec<DeclineSnap>> = HashMap::new();
    {
        let since: DateTime<Utc> = Utc::now() - chrono::Duration::days(60);
        let mut q = offers::table
            .inner_join(jobs::table)
            .filter(offers::status.eq("declined"))
            .filter(offers::responded_at.gt(since))
            .select((offers::worker_id, jobs::occupation_code, jobs::skills, offers::responded_at))
            .into_boxed();
        if let Some(f) = &filter {
            q = q.filter(offers::worker_id.eq_any(f.clone()));
        }
        for (w, occ, skills, at) in q.load::<(Uuid, Option<String>, Vec<String>, Option<DateTime<Utc>>)>(conn)? {
            declines.entry(w).or_default().push(DeclineSnap {
                occupation_code: occ,
                skills: skills.iter().map(|s| normalize(s)).collect(),
                on: at.map(|t| t.date_naive()).unwrap_or(today),
            });
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| WorkerSnap {
            id: r.id,
            county_code: r.county_code,
            household_id: r.household_id,
            birth_date: r.birth_date,
            categories: r.categories.iter().filter_map(|c| Category::parse(c)).collect(),
            skills: r.skills.iter().map(|s| normalize(s)).collect(),
            willing_cross_province: r.willing_cross_province,
            accepts_offers: r.accepts_offers,
            seeking_while_employed: r.seeking_while_employed,
            min_wage: r.min_wage,
            preferred_county_codes: r.preferred_county_codes,
            status: r.status.as_deref().and_then(EmploymentStatus::parse),
            is_labour: r.is_labour,
            is_employed: r.is_employed,
            trainings: trainings.remove(&r.id).unwrap_or_default(),
            past_stays_months: stays.remove(&r.id).unwrap_or_default(),
            placed_jobs: placed.remove(&r.id).unwrap_or_default(),
            declines: declines.remove(&r.id).unwrap_or_default(),
        })
        .collect())
}

type JobRowT = (
    Uuid,
    String,
    Option<String>,
    Vec<String>,
    String,
    i32,
    i32,
    i32,
    serde_json::Value,
    String,
    Option<NaiveDate>,
    String,
    Option<String>,
    Uuid,
);

fn job_snaps(conn: &mut PgConnection, rows: Vec<JobRowT>, today: NaiveDate) -> Result<Vec<JobSnap>, StoreError> {
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let filled: HashMap<Uuid, i64> = placements::table
        .filter(placements::job_id.eq_any(&ids))
        .filter(placements::separated_on.is_null())
        .group_by(placements::job_id)
        .select((placements::job_id, diesel::dsl::count_star()))
        .load::<(Option<Uuid>, i64)>(conn)?
        .into_iter()
        .filter_map(|(j, n)| j.map(|j| (j, n)))
        .collect();
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                title,
                occupation_code,
                skills,
                county,
                wage_min,
                wage_max,
                openings,
                req,
                status,
                expires_on,
                province,
                occ_name,
                poster_org_id,
            )| {
                let used = filled.get(&id).copied().unwrap_or(0);
                JobSnap {
                    id,
                    poster_org_id,
                    title,
                    occupation_code,
                    occupation_name: occ_name,
                    skills,
                    county_code: county,
                    province_code: province,
                    wage_min,
                    wage_max,
                    requirements: serde_json::from_value::<Requirements>(req).unwrap_or_default(),
                    open_slots: (i64::from(openings) - used).max(0) as i32,
                    open: status == "open" && expires_on.is_none_or(|e| e >= today),
                }
            },
        )
        .collect())
}

macro_rules! job_query {
    () => {
        jobs::table
            .inner_join(divisions::table.on(divisions::code.eq(jobs::work_county_code)))
            .left_join(occupations::table.on(occupations::code.nullable().eq(jobs::occupation_code)))
            .select((
                jobs::id,
                jobs::title,
                jobs::occupation_code,
                jobs::skills,
                jobs::work_county_code,
                jobs::wage_min,
                jobs::wage_max,
                jobs::openings,
                jobs::requirements,
                jobs::status,
                jobs::expires_on,
                divisions::province_code,
                occupations::name.nullable(),
                jobs::org_id,
            ))
    };
}

pub fn job_snapshot(conn: &mut PgConnection, id: Uuid, today: NaiveDate) -> Result<JobSnap, StoreError> {
    let rows: Vec<JobRowT> = job_query!().filter(jobs::id.eq(id)).load(conn)?;
    job_snaps(conn, rows, today)?.into_iter().next().ok_or(StoreError::NotFound)
}

/// Open, unexpired jobs (newest first), optionally only in Guizhou.
pub fn open_jobs(
    conn: &mut PgConnection,
    guizhou_only: bool,
    limit: i64,
    today: NaiveDate,
) -> Result<Vec<JobSnap>, StoreError> {
    let mut q = job_query!()
        .filter(jobs::status.eq("open"))
        .filter(jobs::expires_on.is_null().or(jobs::expires_on.ge(today)))
        .into_boxed();
    if guizhou_only {
        q = q.filter(divisions::province_code.eq(domain::division::GUIZHOU));
    }
    let rows: Vec<JobRowT> = q.order(jobs::id.desc()).limit(limit).load(conn)?;
    job_snaps(conn, rows, today)
}

/// Division names for explanation texts.
pub fn place_names(conn: &mut PgConnection) -> Result<HashMap<String, String>, StoreError> {
    Ok(divisions::table
        .select((divisions::code, divisions::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

// ------------------------------------------------------------------ offers

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = offers)]
pub struct Offer {
    pub id: Uuid,
    pub job_id: Uuid,
    pub worker_id: Uuid,
    pub status: String,
    pub score: f32,
    pub reasons: serde_json::Value,
    pub decline_reason: Option<String>,
    pub planned_by_org_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct LoadRow {
    #[diesel(sql_type = SqlUuid)]
    worker_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    open: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    week: i64,
}

/// Open offers and offers of the last 7 days, per worker.
pub fn loads(conn: &mut PgConnection, workers: &[Uuid]) -> Result<HashMap<Uuid, Load>, StoreError> {
    let rows: Vec<LoadRow> = diesel::sql_query(
        "SELECT worker_id, count(*) FILTER (WHERE status IN ('queued', 'sent')) AS open, \
                count(*) FILTER (WHERE created_at > now() - interval '7 days') AS week \
           FROM offers WHERE worker_id = ANY ($1) GROUP BY worker_id",
    )
    .bind::<Array<SqlUuid>, _>(workers)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.worker_id, Load { open: r.open, last_7_days: r.week })).collect())
}

/// (job, worker) pairs already offered, for these jobs.
pub fn offered(conn: &mut PgConnection, jobs: &[Uuid]) -> Result<HashSet<(Uuid, Uuid)>, StoreError> {
    Ok(offers::table
        .filter(offers::job_id.eq_any(jobs))
        .select((offers::job_id, offers::worker_id))
        .load::<(Uuid, Uuid)>(conn)?
        .into_iter()
        .collect())
}

/// A planned offer to write.
pub struct NewOffer {
    pub job_id: Uuid,
    pub worker_id: Uuid,
    pub score: f64,
    pub reasons: serde_json::Value,
}

/// Write offers as `queued`, re-checking the caps with the workers' rows
/// locked, so that concurrent planners can never exceed them. Offers over a
/// cap, to workers who opted out, or already made are skipped.
pub fn queue(
    conn: &mut PgConnection,
    planned: &[NewOffer],
    max_open: i64,
    max_week: i64,
    by_org: Option<Uuid>,
    actor: &Actor,
) -> Result<Vec<Offer>, StoreError> {
    conn.transaction(|conn| {
        let mut ids: Vec<Uuid> = planned.iter().map(|p| p.worker_id).collect();
        ids.sort();
        ids.dedup();
        let accepting: HashSet<Uuid> = crate::schema::workers::table
            .filter(crate::schema::workers::id.eq_any(&ids))
            .filter(crate::schema::workers::accepts_offers.eq(true))
            .filter(crate::schema::workers::erased_at.is_null())
            .select(crate::schema::workers::id)
            .order(crate::schema::workers::id)
            .for_update()
            .load::<Uuid>(conn)?
            .into_iter()
            .collect();
        let mut load = loads(conn, &ids)?;
        let jobs: Vec<Uuid> = planned.iter().map(|p| p.job_id).collect();
        let already = offered(conn, &jobs)?;
        let mut out = Vec::new();
        for p in planned {
            if !accepting.contains(&p.worker_id) || already.contains(&(p.job_id, p.worker_id)) {
                continue;
            }
            let l = load.entry(p.worker_id).or_default();
            if l.open >= max_open || l.last_7_days >= max_week {
                continue;
            }
            l.open += 1;
            l.last_7_days += 1;
            let id = Uuid::now_v7();
            let row = diesel::insert_into(offers::table)
                .values((
                    offers::id.eq(id),
                    offers::job_id.eq(p.job_id),
                    offers::worker_id.eq(p.worker_id),
                    offers::score.eq(p.score as f32),
                    offers::reasons.eq(&p.reasons),
                    offers::planned_by_org_id.eq(by_org),
                    offers::expires_at.eq(Utc::now() + chrono::Duration::days(7)),
                ))
                .on_conflict((offers::job_id, offers::worker_id))
                .do_nothing()
                .returning(Offer::as_returning())
                .get_result::<Offer>(conn)
                .optional()?;
            if let Some(o) = row {
                outbox::publish(
                    conn,
                    crate::outbox::Topic::OfferQueued,
                    &id.to_string(),
                    serde_json::json!({"offer_id": id, "worker_id": p.worker_id, "job_id": p.job_id}),
                )?;
                // The bot's push, in the same transaction (#6).
                crate::push_queue::enqueue_offer(conn, id, p.worker_id)?;
                out.push(o);
            }
        }
        if !out.is_empty() {
            audit::record(
                conn,
                actor,
                "offer.plan",
                "job",
                &jobs.first().map(Uuid::to_string).unwrap_or_default(),
                serde_json::json!({"offers": out.len()}),
            )?;
        }
        Ok(out)
    })
}

pub struct OfferFilter {
    pub job_id: Option<Uuid>,
    pub worker_id: Option<Uuid>,
    pub status: Option<String>,
    /// Only offers for jobs of this organisation.
    pub job_org: Option<Uuid>,
    /// Only offers to workers of this county.
    pub county: Option<String>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn list_offers(conn: &mut PgConnection, f: &OfferFilter) -> Result<Vec<Offer>, StoreError> {
    use crate::schema::workers;
    let mut q = offers::table
        .inner_join(jobs::table)
        .inner_join(workers::table.on(workers::id.eq(offers::worker_id)))
        .select(Offer::as_select())
        .into_boxed();
    if let Some(j) = f.job_id {
        q = q.filter(offers::job_id.eq(j));
    }
    if let Some(w) = f.worker_id {
        q = q.filter(offers::worker_id.eq(w));
    }
    if let Some(s) = &f.status {
        q = q.filter(offers::status.eq(s.clone()));
    }
    if let Some(o) = f.job_org {
        q = q.filter(jobs::org_id.eq(o));
    }
    if let Some(c) = &f.county {
        q = q.filter(workers::county_code.eq(c.clone()));
    }
    if let Some(a) = f.after {
        q = q.filter(offers::id.gt(a));
    }
    Ok(q.order(offers::id).limit(f.limit).load(conn)?)
}

/// Has the worker accepted this job's offer? (Then its poster sees who they are.)
pub fn accepted(conn: &mut PgConnection, job: Uuid, workers: &[Uuid]) -> Result<HashSet<Uuid>, StoreError> {
    Ok(offers::table
        .filter(offers::job_id.eq(job))
        .filter(offers::worker_id.eq_any(workers))
        .filter(offers::status.eq("accepted"))
        .select(offers::worker_id)
        .load::<Uuid>(conn)?
        .into_iter()
        .collect())
}
