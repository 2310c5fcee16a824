//! Placements and their evidence: monthly reports, separations and officer
//! resolutions, each with its source and time. Every write keeps the
//! placement's review state, the worker's employment facts, the outbox and
//! the audit log in the same transaction.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox;
use crate::schema::{divisions, jobs, organizations, placement_reports, placement_separations, placements, workers};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use domain::Problems;
use domain::calendar::YearMonth;
use domain::employment::{MonthVerdict, Report, Separation, verdicts};
use domain::subsidy::{PlacementCase, WorkerCase};
use domain::worker::{Category, FactSource};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = placements)]
pub struct Placement {
    pub id: Uuid,
    pub worker_id: Uuid,
    pub job_id: Option<Uuid>,
    pub employer_org_id: Uuid,
    pub broker_org_id: Option<Uuid>,
    pub registered_by_org_id: Uuid,
    pub start_date: NaiveDate,
    pub contract_months: i32,
    pub work_county_code: String,
    pub organised_by: String,
    pub review_state: String,
    pub separated_on: Option<NaiveDate>,
    pub separation_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = placement_reports)]
pub struct ReportRow {
    pub id: i64,
    pub placement_id: Uuid,
    pub month: NaiveDate,
    pub source: String,
    pub employed: bool,
    pub social_insurance_paid: Option<bool>,
    pub wage: Option<i32>,
    pub note: Option<String>,
    pub recorded_by_org_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = placement_separations)]
pub struct SeparationRow {
    pub id: i64,
    pub placement_id: Uuid,
    pub separated_on: NaiveDate,
    pub reason: String,
    pub source: String,
    pub recorded_by_org_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
}

impl ReportRow {
    pub fn to_domain(&self) -> Option<Report> {
        Some(Report {
            id: self.id,
            month: YearMonth::of(self.month),
            source: FactSource::parse(&self.source)?,
            employed: self.employed,
            insured: self.social_insurance_paid,
            recorded_at: self.recorded_at,
        })
    }
}

impl SeparationRow {
    pub fn to_domain(&self) -> Option<Separation> {
        Some(Separation { date: self.separated_on, source: FactSource::parse(&self.source)? })
    }
}

pub struct NewPlacement {
    pub worker_id: Uuid,
    pub job_id: Option<Uuid>,
    pub employer_org_id: Uuid,
    pub broker_org_id: Option<Uuid>,
    pub start_date: NaiveDate,
    pub contract_months: i32,
    pub work_county_code: String,
    pub organised_by: String,
}

fn org_kind(conn: &mut PgConnection, id: Uuid) -> Result<Option<String>, StoreError> {
    Ok(organizations::table.find(id).select(organizations::kind).first(conn).optional()?)
}

fn invalid(field: &str, problem: impl Into<String>) -> StoreError {
    let mut p = Problems::new();
    p.push(field, problem);
    StoreError::Invalid(p)
}

/// Register a placement. It fills one of its job's openings (the job row is
/// locked, so concurrent registrations cannot overfill it).
pub fn create(
    conn: &mut PgConnection,
    p: &NewPlacement,
    registered_by: Uuid,
    actor: &Actor,
) -> Result<Placement, StoreError> {
    conn.transaction(|conn| {
        let erased: Option<Option<DateTime<Utc>>> =
            workers::table.find(p.worker_id).select(workers::erased_at).first(conn).optional()?;
        match erased {
            None => return Err(invalid("worker_id", "no such worker")),
            Some(Some(_)) => return Err(invalid("worker_id", "the worker's record was erased")),
            Some(None) => {}
        }
        match org_kind(conn, p.employer_org_id)?.as_deref() {
            Some("employer" | "industrial_park") => {}
            Some(_) => return Err(invalid("employer_org_id", "must be an employer or industrial park")),
            None => return Err(invalid("employer_org_id", "no such organisation")),
        }
        if let Some(b) = p.broker_org_id {
            match org_kind(conn, b)?.as_deref() {
                Some("broker" | "coop_team") => {}
                Some(_) => return Err(invalid("broker_org_id", "must be a broker or cooperation team")),
                None => return Err(invalid("broker_org_id", "no such organisation")),
            }
        }
        let place: Option<bool> =
            divisions::table.find(&p.work_county_code).select(divisions::is_workplace).first(conn).optional()?;
        if place != Some(true) {
            return Err(invalid("work_county_code", "must be a county-level division code"));
        }
        if let Some(job_id) = p.job_id {
            let job: Option<(String, i32)> =
                jobs::table.find(job_id).select((jobs::status, jobs::openings)).for_update().first(conn).optional()?;
            let Some((status, openings)) = job else { return Err(invalid("job_id", "no such job")) };
            if status != "open" {
                return Err(StoreError::Conflict("the job is closed".into()));
            }
            let filled: i64 = placements::table
                .filter(placements::job_id.eq(job_id))
                .filter(placements::separated_on.is_null())
                .count()
                .get_result(conn)?;
            if filled >= i64::from(openings) {
                return Err(StoreError::Conflict(format!("all {openings} openings of the job are filled")));
            }
        }
        let id = Uuid::now_v7();
        let row = diesel::insert_into(placements::table)
            .values((
                placements::id.eq(id),
                placements::worker_id.eq(p.worker_id),
                placements::job_id.eq(p.job_id),
                placements::employer_org_id.eq(p.employer_org_id),
                placements::broker_org_id.eq(p.broker_org_id),
                placements::registered_by_org_id.eq(registered_by),
                placements::start_date.eq(p.start_date),
                placements::contract_months.eq(p.contract_months),
                placements::work_county_code.eq(&p.work_county_code),
                placements::organised_by.eq(&p.organised_by),
            ))
            .returning(Placement::as_returning())
            .get_result(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Duplicate { .. } => StoreError::Conflict("the worker is already placed in this job".into()),
                other => other,
            })?;
        crate::workers::add_fact(conn, p.worker_id, "employed", p.start_date, FactSource::EmployerReport)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::PlacementCreated,
            &id.to_string(),
            serde_json::json!({"placement_id": id, "worker_id": p.worker_id, "job_id": p.job_id}),
        )?;
        audit::record(
            conn,
            actor,
            "placement.create",
            "placement",
            &id.to_string(),
            serde_json::json!({"worker_id": p.worker_id}),
        )?;
        Ok(row)
    })
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<Placement, StoreError> {
    Ok(placements::table.find(id).select(Placement::as_select()).first(conn)?)
}

pub fn reports(conn: &mut PgConnection, id: Uuid) -> Result<Vec<ReportRow>, StoreError> {
    Ok(placement_reports::table
        .filter(placement_reports::placement_id.eq(id))
        .select(ReportRow::as_select())
        .order((placement_reports::month, placement_reports::id))
        .load(conn)?)
}

pub fn separations(conn: &mut PgConnection, id: Uuid) -> Result<Vec<SeparationRow>, StoreError> {
    Ok(placement_separations::table
        .filter(placement_separations::placement_id.eq(id))
        .select(SeparationRow::as_select())
        .order(placement_separations::id)
        .load(conn)?)
}

/// Recompute and store the review state from all the evidence; the placement as it is now.
fn refresh_review_state(conn: &mut PgConnection, id: Uuid) -> Result<Placement, StoreError> {
    let reps: Vec<Report> = reports(conn, id)?.iter().filter_map(ReportRow::to_domain).collect();
    let v = verdicts(&reps, YearMonth::new(9999, 12).unwrap_or(YearMonth::of(NaiveDate::MAX)));
    let conflict = v.values().any(|m| matches!(m, MonthVerdict::Conflict { .. }));
    Ok(diesel::update(placements::table.find(id))
        .set((
            placements::review_state.eq(if conflict { "needs_review" } else { "ok" }),
            placements::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Placement::as_returning())
        .get_result(conn)?)
}

pub struct NewReport {
    pub month: YearMonth,
    pub source: FactSource,
    pub employed: bool,
    pub social_insurance_paid: Option<bool>,
    pub wage: Option<i32>,
    pub note: Option<String>,
}

/// Record one report about one month.
pub fn add_report(
    conn: &mut PgConnection,
    id: Uuid,
    r: &NewReport,
    by_org: Option<Uuid>,
    actor: &Actor,
    today: NaiveDate,
) -> Result<(ReportRow, Placement), StoreError> {
    conn.transaction(|conn| {
        let p: Placement = placements::table.find(id).select(Placement::as_select()).for_update().first(conn)?;
        if r.month < YearMonth::of(p.start_date) {
            return Err(invalid("month", format!("is before the placement started ({})", p.start_date)));
        }
        if r.month > YearMonth::of(today) {
            return Err(invalid("month", "is in the future"));
        }
        let row = diesel::insert_into(placement_reports::table)
            .values((
                placement_reports::placement_id.eq(id),
                placement_reports::month.eq(r.month.first_day()),
                placement_reports::source.eq(r.source.as_str()),
                placement_reports::employed.eq(r.employed),
                placement_reports::social_insurance_paid.eq(r.social_insurance_paid),
                placement_reports::wage.eq(r.wage),
                placement_reports::note.eq(&r.note),
                placement_reports::recorded_by_org_id.eq(by_org),
            ))
            .returning(ReportRow::as_returning())
            .get_result(conn)?;
        let placement = refresh_review_state(conn, id)?;
        // A counting report is also a dated fact about the worker's status.
        if r.source != FactSource::WorkerCheckin || !r.employed {
            let on = r.month.last_day().min(today);
            let status = if r.employed { "employed" } else { "unemployed" };
            crate::workers::add_fact(conn, p.worker_id, status, on, r.source)?;
        }
        outbox::publish(
            conn,
            crate::outbox::Topic::PlacementReported,
            &id.to_string(),
            serde_json::json!({"placement_id": id, "report_id": row.id, "worker_id": p.worker_id}),
        )?;
        audit::record(
            conn,
            actor,
            "placement.report",
            "placement",
            &id.to_string(),
            serde_json::json!({"month": r.month, "source": r.source.as_str(), "employed": r.employed}),
        )?;
        Ok((row, placement))
    })
}

pub struct NewSeparation<'a> {
    pub on: NaiveDate,
    pub reason: &'a str,
    pub source: FactSource,
}

/// Record that the worker left. Only one separation ends a placement.
pub fn separate(
    conn: &mut PgConnection,
    id: Uuid,
    s: &NewSeparation<'_>,
    by_org: Option<Uuid>,
    actor: &Actor,
    today: NaiveDate,
) -> Result<Placement, StoreError> {
    let NewSeparation { on, reason, source } = *s;
    conn.transaction(|conn| {
        let p: Placement = placements::table.find(id).select(Placement::as_select()).for_update().first(conn)?;
        if p.separated_on.is_some() {
            return Err(StoreError::Conflict("the placement has already ended".into()));
        }
        if on < p.start_date {
            return Err(invalid("date", "is before the placement started"));
        }
        if on > today {
            return Err(invalid("date", "is in the future"));
        }
        diesel::insert_into(placement_separations::table)
            .values((
                placement_separations::placement_id.eq(id),
                placement_separations::separated_on.eq(on),
                placement_separations::reason.eq(reason),
                placement_separations::source.eq(source.as_str()),
                placement_separations::recorded_by_org_id.eq(by_org),
            ))
            .execute(conn)?;
        diesel::update(placements::table.find(id))
            .set((
                placements::separated_on.eq(on),
                placements::separation_reason.eq(reason),
                placements::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        crate::workers::add_fact(conn, p.worker_id, "unemployed", on, source)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::PlacementSeparated,
            &id.to_string(),
            serde_json::json!({"placement_id": id, "worker_id": p.worker_id}),
        )?;
        audit::record(
            conn,
            actor,
            "placement.separate",
            "placement",
            &id.to_string(),
            serde_json::json!({"date": on, "source": source.as_str()}),
        )?;
        get(conn, id)
    })
}

#[derive(QueryableByName)]
struct CaseRow {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    worker_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Text)]
    worker_county: String,
    #[diesel(sql_type = diesel::sql_types::Array<diesel::sql_types::Text>)]
    categories: Vec<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Int4>)]
    graduation_year: Option<i32>,
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    employer_org_id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Uuid>)]
    broker_org_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Date)]
    start_date: NaiveDate,
    #[diesel(sql_type = diesel::sql_types::Int4)]
    contract_months: i32,
    #[diesel(sql_type = diesel::sql_types::Text)]
    work_province_code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    organised_by: String,
}

pub fn categories(raw: &[String]) -> Vec<Category> {
    raw.iter().filter_map(|c| Category::parse(c)).collect()
}

/// Placements started by `as_of`, after `after` in id order, with their evidence.
pub fn load_cases(
    conn: &mut PgConnection,
    after: Uuid,
    limit: i64,
    as_of: NaiveDate,
) -> Result<Vec<PlacementCase>, StoreError> {
    let rows: Vec<CaseRow> = diesel::sql_query(
        "SELECT p.id, p.worker_id, w.county_code AS worker_county, w.categories, w.graduation_year, \
                p.employer_org_id, p.broker_org_id, p.start_date, p.contract_months, \
                d.province_code AS work_province_code, p.organised_by \
           FROM placements p JOIN workers w ON w.id = p.worker_id \
           JOIN divisions d ON d.code = p.work_county_code \
          WHERE p.id > $1 AND p.start_date <= $2 ORDER BY p.id LIMIT $3",
    )
    .bind::<diesel::sql_types::Uuid, _>(after)
    .bind::<diesel::sql_types::Date, _>(as_of)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let last_month = YearMonth::of(as_of).first_day();
    let mut reps: HashMap<Uuid, Vec<Report>> = HashMap::new();
    for r in placement_reports::table
        .filter(placement_reports::placement_id.eq_any(&ids))
        .filter(placement_reports::month.le(last_month))
        .select(ReportRow::as_select())
        .load::<ReportRow>(conn)?
    {
        if let Some(d) = r.to_domain() {
            reps.entry(r.placement_id).or_default().push(d);
        }
    }
    let mut seps: HashMap<Uuid, Vec<Separation>> = HashMap::new();
    for s in placement_separations::table
        .filter(placement_separations::placement_id.eq_any(&ids))
        .filter(placement_separations::separated_on.le(as_of))
        .select(SeparationRow::as_select())
        .load::<SeparationRow>(conn)?
    {
        if let Some(d) = s.to_domain() {
            seps.entry(s.placement_id).or_default().push(d);
        }
    }
    Ok(rows
        .into_iter()
        .map(|r| PlacementCase {
            placement_id: r.id,
            worker: WorkerCase {
                worker_id: r.worker_id,
                county_code: r.worker_county,
                categories: categories(&r.categories),
                graduation_year: r.graduation_year,
            },
            employer_org_id: r.employer_org_id,
            broker_org_id: r.broker_org_id,
            start_date: r.start_date,
            contract_months: r.contract_months,
            work_province_code: r.work_province_code,
            organised_by: r.organised_by,
            reports: reps.remove(&r.id).unwrap_or_default(),
            separations: seps.remove(&r.id).unwrap_or_default(),
        })
        .collect())
}

/// One placement as a case (for explanations).
pub fn case(conn: &mut PgConnection, id: Uuid, as_of: NaiveDate) -> Result<Option<PlacementCase>, StoreError> {
    let before = Uuid::from_u128(id.as_u128().saturating_sub(1));
    Ok(load_cases(conn, before, 1, as_of)?.into_iter().find(|c| c.placement_id == id))
}

// ------------------------------------------------------------------ check-ins

/// What became of a check-in answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckinAnswer {
    Recorded,
    /// The placement has ended already (or is not the worker's).
    Closed,
    /// The date is before the placement started or in the future.
    BadDate,
}

fn own_active_placement(
    conn: &mut PgConnection,
    worker_id: Uuid,
    placement_id: Uuid,
) -> Result<Option<NaiveDate>, StoreError> {
    Ok(placements::table
        .filter(placements::id.eq(placement_id))
        .filter(placements::worker_id.eq(worker_id))
        .filter(placements::separated_on.is_null())
        .select(placements::start_date)
        .first(conn)
        .optional()?)
}

/// "还在": evidence for this month, source `worker_checkin` (once per month).
pub fn checkin_still(
    conn: &mut PgConnection,
    worker_id: Uuid,
    placement_id: Uuid,
    today: NaiveDate,
) -> Result<CheckinAnswer, StoreError> {
    conn.transaction(|conn| {
        let Some(start) = own_active_placement(conn, worker_id, placement_id)? else {
            return Ok(CheckinAnswer::Closed);
        };
        if start > today {
            return Ok(CheckinAnswer::BadDate);
        }
        let month = YearMonth::of(today);
        let already: i64 = placement_reports::table
            .filter(placement_reports::placement_id.eq(placement_id))
            .filter(placement_reports::month.eq(month.first_day()))
            .filter(placement_reports::source.eq(FactSource::WorkerCheckin.as_str()))
            .filter(placement_reports::employed.eq(true))
            .count()
            .get_result(conn)?;
        if already == 0 {
            add_report(
                conn,
                placement_id,
                &NewReport {
                    month,
                    source: FactSource::WorkerCheckin,
                    employed: true,
                    social_insurance_paid: None,
                    wage: None,
                    note: Some("本人通过机器人确认在岗".into()),
                },
                None,
                &Actor::system(),
                today,
            )?;
        }
        Ok(CheckinAnswer::Recorded)
    })
}

/// "已离职" / "换了工作": the separation, source `worker_checkin`; the worker
/// goes back into matching. For a changed job the worker is employed again
/// (elsewhere) from the same day.
pub fn checkin_left(
    conn: &mut PgConnection,
    worker_id: Uuid,
    placement_id: Uuid,
    on: NaiveDate,
    reason: &str,
    changed_job: bool,
    today: NaiveDate,
) -> Result<CheckinAnswer, StoreError> {
    conn.transaction(|conn| {
        let Some(start) = own_active_placement(conn, worker_id, placement_id)? else {
            return Ok(CheckinAnswer::Closed);
        };
        if on < start || on > today {
            return Ok(CheckinAnswer::BadDate);
        }
        separate(
            conn,
            placement_id,
            &NewSeparation { on, reason, source: FactSource::WorkerCheckin },
            None,
            &Actor::system(),
            today,
        )?;
        if changed_job {
            crate::workers::add_fact(conn, worker_id, "employed", on, FactSource::WorkerCheckin)?;
        }
        Ok(CheckinAnswer::Recorded)
    })
}
