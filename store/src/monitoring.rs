//! Monthly monitoring rounds: opening, answers (latest wins, history kept),
//! and the report. "Labour", "employed" and "zero-employment" come from
//! `worker_state` (DESIGN.md's one truth); destination, industry and income
//! from the round's answers, with employer and broker reports of that month
//! counting as answers about employment.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::schema::{monitoring_responses, monitoring_rounds};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Double, Nullable, Text, Uuid as SqlUuid};
use domain::calendar::YearMonth;
use domain::worker::FactSource;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

pub fn open_round(conn: &mut PgConnection, period: YearMonth, scope: &str, actor: &Actor) -> Result<(), StoreError> {
    conn.transaction(|conn| {
        diesel::insert_into(monitoring_rounds::table)
            .values((
                monitoring_rounds::period.eq(period.first_day()),
                monitoring_rounds::scope_code.eq(scope),
                monitoring_rounds::opened_by_org_id.eq(actor.org_id),
            ))
            .execute(conn)
            .map_err(|e| match StoreError::from(e) {
                StoreError::Duplicate { .. } => {
                    StoreError::Conflict(format!("the {period} round for {scope} is already open"))
                }
                other => other,
            })?;
        // The bot's survey for the round, in the same transaction (once per worker and period).
        crate::push_queue::enqueue_surveys(conn)?;
        audit::record(
            conn,
            actor,
            "monitoring.open",
            "monitoring_round",
            &format!("{period}:{scope}"),
            serde_json::json!({}),
        )?;
        Ok(())
    })
}

/// Is a round open for this county (its own, or the province's)?
pub fn round_open(conn: &mut PgConnection, period: YearMonth, county: &str) -> Result<bool, StoreError> {
    let n: i64 = monitoring_rounds::table
        .filter(monitoring_rounds::period.eq(period.first_day()))
        .filter(
            monitoring_rounds::scope_code.eq(county).or(monitoring_rounds::scope_code.eq(domain::division::GUIZHOU)),
        )
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub struct Answer {
    pub worker_id: Uuid,
    pub employment_status: String,
    pub work_place: Option<String>,
    pub work_province_code: Option<String>,
    pub industry: Option<String>,
    pub monthly_income: Option<i32>,
    /// A band (`lt2000`, `2000_3000`, …, `ge8000`) instead of an exact income (bot answers).
    pub income_band: Option<String>,
    pub source: &'static str,
}

/// Record answers (all in one transaction); each is also a dated fact about the worker's status.
pub fn answer(
    conn: &mut PgConnection,
    period: YearMonth,
    answers: &[Answer],
    actor: &Actor,
    today: NaiveDate,
) -> Result<usize, StoreError> {
    conn.transaction(|conn| {
        for a in answers {
            diesel::insert_into(monitoring_responses::table)
                .values((
                    monitoring_responses::period.eq(period.first_day()),
                    monitoring_responses::worker_id.eq(a.worker_id),
                    monitoring_responses::employment_status.eq(&a.employment_status),
                    monitoring_responses::work_place.eq(&a.work_place),
                    monitoring_responses::work_province_code.eq(&a.work_province_code),
                    monitoring_responses::industry.eq(&a.industry),
                    monitoring_responses::monthly_income.eq(a.monthly_income),
                    monitoring_responses::income_band.eq(&a.income_band),
                    monitoring_responses::source.eq(a.source),
                    monitoring_responses::recorded_by_org_id.eq(actor.org_id),
                ))
                .execute(conn)?;
            crate::workers::add_fact(
                conn,
                a.worker_id,
                &a.employment_status,
                period.last_day().min(today),
                FactSource::Monitoring,
            )?;
            crate::outbox::publish(
                conn,
                crate::outbox::Topic::WorkerMonitored,
                &a.worker_id.to_string(),
                serde_json::json!({"worker_id": a.worker_id}),
            )?;
        }
        audit::record(
            conn,
            actor,
            "monitoring.answer",
            "monitoring_round",
            &period.to_string(),
            serde_json::json!({"answers": answers.len()}),
        )?;
        Ok(answers.len())
    })
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = monitoring_responses)]
pub struct Response {
    pub id: i64,
    pub period: NaiveDate,
    pub worker_id: Uuid,
    pub employment_status: String,
    pub work_place: Option<String>,
    pub work_province_code: Option<String>,
    pub industry: Option<String>,
    pub monthly_income: Option<i32>,
    pub source: String,
    pub recorded_by_org_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub income_band: Option<String>,
}

/// Every answer of a worker for a period, oldest first (the last one counts).
pub fn history(conn: &mut PgConnection, period: YearMonth, worker: Uuid) -> Result<Vec<Response>, StoreError> {
    Ok(monitoring_responses::table
        .filter(monitoring_responses::period.eq(period.first_day()).and(monitoring_responses::worker_id.eq(worker)))
        .select(Response::as_select())
        .order(monitoring_responses::id)
        .load(conn)?)
}

/// One row per worker in scope: state (from `worker_state`), this round's
/// latest answer, this month's counting placement report, last round's place.
const ROWS_SQL: &str = "
WITH ws AS (
  SELECT s.worker_id, s.county_code, s.status, s.is_labour, s.is_employed, s.household_id AS household
    FROM worker_state($1) s JOIN workers w ON w.id = s.worker_id
    LEFT JOIN resettlement_sites rs ON rs.id = w.site_id
   WHERE w.erased_at IS NULL AND ($2::text IS NULL OR s.county_code = $2) AND ($3::text IS NULL OR rs.name = $3)),
r AS (SELECT DISTINCT ON (worker_id) worker_id, employment_status, work_place, work_province_code, industry, monthly_income, income_band
        FROM monitoring_responses WHERE period = $4 ORDER BY worker_id, id DESC),
prev AS (SELECT DISTINCT ON (worker_id) worker_id, work_place FROM monitoring_responses WHERE period = $5 ORDER BY worker_id, id DESC),
pr AS (SELECT DISTINCT ON (p.worker_id) p.worker_id, p.work_county_code, rep.wage, rep.employed
         FROM placement_reports rep JOIN placements p ON p.id = rep.placement_id
        WHERE rep.month = $4 AND rep.source IN ('employer_report', 'broker_report', 'social_insurance_import', 'officer')
        ORDER BY p.worker_id, rep.recorded_at DESC)
SELECT ws.worker_id, ws.household, ws.county_code, ws.status, ws.is_labour, ws.is_employed,
       r.employment_status, r.work_place, r.work_province_code, r.industry, r.monthly_income,
       pr.work_county_code, pr.wage, pr.employed, prev.work_place, r.income_band
  FROM ws LEFT JOIN r ON r.worker_id = ws.worker_id LEFT JOIN pr ON pr.worker_id = ws.worker_id
  LEFT JOIN prev ON prev.worker_id = ws.worker_id";

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct Person {
    pub worker_id: Uuid,
    pub name: Option<String>,
    pub county_code: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    pub period: String,
    pub county_code: Option<String>,
    pub site: Option<String>,
    /// Workers able to work in scope (DESIGN.md "labour").
    pub labour: i64,
    pub employed: i64,
    pub employment_rate: f64,
    pub by_destination: BTreeMap<String, i64>,
    pub by_province: BTreeMap<String, i64>,
    pub by_industry: BTreeMap<String, i64>,
    /// Workers in work who gave an income band instead of an amount (bot
    /// answers); bands are not in the median or the mean.
    pub by_income_band: BTreeMap<String, i64>,
    pub income_median: Option<f64>,
    pub income_mean: Option<f64>,
    pub returning_labour: Vec<Person>,
    pub households_with_labour: i64,
    pub households_with_employed: i64,
    pub zero_employment_households: Vec<String>,
    pub public_welfare_post: i64,
    pub respondents: i64,
    pub response_rate: f64,
    pub non_respondents: Vec<Person>,
    pub previous: Option<Previous>,
    pub income_growth: Vec<IncomeGrowth>,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct Previous {
    pub period: String,
    pub employment_rate: f64,
    pub employed: i64,
    pub zero_employment_households: i64,
    pub employment_rate_change: f64,
    pub employed_change: i64,
    pub zero_employment_change: i64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Serialize, Default)]
pub struct IncomeGrowth {
    pub county_code: String,
    pub mean_income: Option<f64>,
    pub mean_income_year_before: Option<f64>,
    pub growth: Option<f64>,
    /// +15 % a year or more (the plan's target).
    pub meets_target: Option<bool>,
}

fn rate(a: i64, b: i64) -> f64 {
    if b == 0 { 0.0 } else { ((a as f64 / b as f64) * 10000.0).round() / 10000.0 }
}

struct Counts {
    labour: i64,
    employed: i64,
    zero: i64,
}

/// Labour, employed and zero-employment households of a period, aggregated in SQL.
fn core_counts(
    conn: &mut PgConnection,
    period: YearMonth,
    county: Option<&str>,
    site: Option<&str>,
) -> Result<Counts, StoreError> {
    #[derive(QueryableByName)]
    struct C {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        labour: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        employed: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        zero: i64,
    }
    // Live workers, plus what erased workers counted for (unattributed totals).
    let c: C = diesel::sql_query(
        "WITH ws AS (
           SELECT s.household_id, s.is_labour, s.is_employed
             FROM worker_state($1) s JOIN workers w ON w.id = s.worker_id
             LEFT JOIN resettlement_sites rs ON rs.id = w.site_id
            WHERE w.erased_at IS NULL AND ($2::text IS NULL OR s.county_code = $2) AND ($3::text IS NULL OR rs.name = $3)
           UNION ALL
           SELECT NULL, g.is_labour, g.is_employed
             FROM monitoring_erased_totals g CROSS JOIN generate_series(1, g.n)
             LEFT JOIN resettlement_sites rs ON rs.id = g.site_id
            WHERE g.period = $4 AND ($2::text IS NULL OR g.county_code = $2) AND ($3::text IS NULL OR rs.name = $3)),
         members AS (
           SELECT household_id, is_labour, is_employed FROM ws WHERE household_id IS NOT NULL
           UNION ALL
           SELECT g.household_id, g.is_labour, g.is_employed
             FROM monitoring_erased_households g LEFT JOIN resettlement_sites rs ON rs.id = g.site_id
            WHERE g.period = $4 AND ($2::text IS NULL OR g.county_code = $2) AND ($3::text IS NULL OR rs.name = $3)),
         hh AS (SELECT bool_or(is_labour) AS l, bool_or(is_employed) AS e FROM members GROUP BY household_id)
         SELECT (SELECT count(*) FROM ws WHERE is_labour) AS labour,
                (SELECT count(*) FROM ws WHERE is_labour AND is_employed) AS employed,
                (SELECT count(*) FROM hh WHERE l AND NOT e) AS zero",
    )
    .bind::<Date, _>(period.last_day())
    .bind::<Nullable<Text>, _>(county)
    .bind::<Nullable<Text>, _>(site)
    .bind::<Date, _>(period.first_day())
    .get_result(conn)?;
    Ok(Counts { labour: c.labour, employed: c.employed, zero: c.zero })
}

/// Mean income of the answers for `period`, by county.
fn mean_income_by_county(
    conn: &mut PgConnection,
    period: YearMonth,
    county: Option<&str>,
) -> Result<HashMap<String, f64>, StoreError> {
    #[derive(QueryableByName)]
    struct M {
        #[diesel(sql_type = Text)]
        county_code: String,
        #[diesel(sql_type = Nullable<diesel::sql_types::Double>)]
        mean: Option<f64>,
    }
    let rows: Vec<M> = diesel::sql_query(
        "SELECT county_code, avg(monthly_income)::float8 AS mean FROM ( \
           SELECT w.county_code, r.monthly_income FROM \
             (SELECT DISTINCT ON (worker_id) worker_id, monthly_income FROM monitoring_responses WHERE period = $1 ORDER BY worker_id, id DESC) r \
             JOIN workers w ON w.id = r.worker_id WHERE r.monthly_income IS NOT NULL AND ($2::text IS NULL OR w.county_code = $2) \
           UNION ALL \
           SELECT g.county_code, g.monthly_income FROM monitoring_erased_totals g CROSS JOIN generate_series(1, g.n) \
            WHERE g.period = $1 AND g.r_status IS NOT NULL AND g.monthly_income IS NOT NULL \
              AND ($2::text IS NULL OR g.county_code = $2)) a \
          GROUP BY county_code",
    )
    .bind::<Date, _>(period.first_day())
    .bind::<Nullable<Text>, _>(county)
    .load(conn)?;
    Ok(rows.into_iter().filter_map(|m| m.mean.map(|v| (m.county_code, v))).collect())
}

/// The report of one round, for the province, one county, or one site.
///
/// Everything is read from one repeatable-read snapshot. With a second
/// connection (`side`), the previous round's counts — a second pass of
/// `worker_state` — are computed on it at the same time, in the same
/// snapshot (`pg_export_snapshot`), so the two passes use both cores.
/// (JIT compilation is turned off: it costs more than it saves on these
/// one-pass scans.)
pub fn report(
    conn: &mut PgConnection,
    side: Option<&mut PgConnection>,
    period: YearMonth,
    county: Option<&str>,
    site: Option<&str>,
    list_cap: usize,
) -> Result<Report, StoreError> {
    #[derive(QueryableByName)]
    struct Snap {
        #[diesel(sql_type = Text)]
        s: String,
    }
    let prev_period = period.pred();
    conn.build_transaction().repeatable_read().run(|conn| {
        diesel::sql_query("SET LOCAL jit = off").execute(conn)?;
        diesel::sql_query("SET LOCAL work_mem = '256MB'").execute(conn)?;
        let Some(side) = side else {
            let prev = core_counts(conn, prev_period, county, site)?;
            report_rows(conn, period, county, site)?;
            return report_in(conn, period, county, site, list_cap, prev);
        };
        let snap: Snap = diesel::sql_query("SELECT pg_export_snapshot() AS s").get_result(conn)?;
        if !snap.s.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(StoreError::Other(format!("unexpected snapshot id {:?}", snap.s)));
        }
        std::thread::scope(|scope| {
            let prev = scope.spawn(|| {
                side.build_transaction().repeatable_read().read_only().run(|side| {
                    diesel::sql_query(format!("SET TRANSACTION SNAPSHOT '{}'", snap.s)).execute(side)?;
                    diesel::sql_query("SET LOCAL jit = off").execute(side)?;
                    diesel::sql_query("SET LOCAL work_mem = '256MB'").execute(side)?;
                    core_counts(side, prev_period, county, site)
                })
            });
            let rows = report_rows(conn, period, county, site);
            let prev = prev.join().map_err(|_| StoreError::Other("the previous round's counts failed".into()))??;
            rows?;
            report_in(conn, period, county, site, list_cap, prev)
        })
    })
}

/// One pass over `worker_state` into a temporary table; every figure is an
/// aggregate over it, so a million workers never leave PostgreSQL.
fn report_rows(
    conn: &mut PgConnection,
    period: YearMonth,
    county: Option<&str>,
    site: Option<&str>,
) -> Result<(), StoreError> {
    diesel::sql_query(
        "CREATE TEMP TABLE report_rows (worker_id uuid, household uuid, county_code text, status text, is_labour bool, \
           is_employed bool, r_status text, work_place text, work_province_code text, industry text, monthly_income int, \
           p_county text, p_wage int, p_employed bool, prev_place text, income_band text, \
           person bool NOT NULL DEFAULT true) ON COMMIT DROP",
    )
    .execute(conn)?;
    const COLUMNS: &str = "worker_id, household, county_code, status, is_labour, is_employed, r_status, work_place, \
        work_province_code, industry, monthly_income, p_county, p_wage, p_employed, prev_place, income_band";
    diesel::sql_query(format!("INSERT INTO report_rows ({COLUMNS}) {ROWS_SQL}"))
        .bind::<Date, _>(period.last_day())
        .bind::<Nullable<Text>, _>(county)
        .bind::<Nullable<Text>, _>(site)
        .bind::<Date, _>(period.first_day())
        .bind::<Date, _>(period.pred().first_day())
        .execute(conn)?;
    // Erased workers: their rows without them (no worker, no household), as
    // many as there were, and the households they counted in.
    diesel::sql_query(format!(
        "INSERT INTO report_rows ({COLUMNS}) \
         SELECT NULL, NULL, g.county_code, g.status, g.is_labour, g.is_employed, g.r_status, g.work_place, \
                g.work_province_code, g.industry, g.monthly_income, g.p_county, g.p_wage, g.p_employed, g.prev_place, \
                g.income_band \
           FROM monitoring_erased_totals g CROSS JOIN generate_series(1, g.n) \
           LEFT JOIN resettlement_sites rs ON rs.id = g.site_id \
          WHERE g.period = $1 AND ($2::text IS NULL OR g.county_code = $2) AND ($3::text IS NULL OR rs.name = $3)"
    ))
    .bind::<Date, _>(period.first_day())
    .bind::<Nullable<Text>, _>(county)
    .bind::<Nullable<Text>, _>(site)
    .execute(conn)?;
    diesel::sql_query(
        "INSERT INTO report_rows (household, county_code, is_labour, is_employed, person) \
         SELECT g.household_id, g.county_code, g.is_labour, g.is_employed, false \
           FROM monitoring_erased_households g LEFT JOIN resettlement_sites rs ON rs.id = g.site_id \
          WHERE g.period = $1 AND ($2::text IS NULL OR g.county_code = $2) AND ($3::text IS NULL OR rs.name = $3)",
    )
    .bind::<Date, _>(period.first_day())
    .bind::<Nullable<Text>, _>(county)
    .bind::<Nullable<Text>, _>(site)
    .execute(conn)?;
    Ok(())
}

fn report_in(
    conn: &mut PgConnection,
    period: YearMonth,
    county: Option<&str>,
    site: Option<&str>,
    list_cap: usize,
    prev: Counts,
) -> Result<Report, StoreError> {
    diesel::sql_query(
        "CREATE TEMP VIEW report_view AS SELECT *, \
           CASE WHEN r_status IS NOT NULL THEN employed_status(r_status) \
                ELSE coalesce(p_employed, false) END AS answered_employed, \
           coalesce(work_place, CASE WHEN p_county = county_code THEN 'in_county' WHEN p_county LIKE '52%' THEN 'in_province' \
                                     WHEN p_county IS NOT NULL THEN 'out_of_province' END) AS destination \
         FROM report_rows WHERE person",
    )
    .execute(conn)?;
    #[derive(QueryableByName)]
    struct Totals {
        #[diesel(sql_type = BigInt)]
        labour: i64,
        #[diesel(sql_type = BigInt)]
        employed: i64,
        #[diesel(sql_type = BigInt)]
        pwp: i64,
        #[diesel(sql_type = BigInt)]
        respondents: i64,
        #[diesel(sql_type = Nullable<Double>)]
        median: Option<f64>,
        #[diesel(sql_type = Nullable<Double>)]
        mean: Option<f64>,
    }
    let t: Totals = diesel::sql_query(
        "SELECT count(*) FILTER (WHERE is_labour) AS labour, count(*) FILTER (WHERE is_labour AND is_employed) AS employed, \
                count(*) FILTER (WHERE status = 'public_welfare_post') AS pwp, \
                count(*) FILTER (WHERE is_labour AND (r_status IS NOT NULL OR p_employed IS NOT NULL)) AS respondents, \
                percentile_cont(0.5) WITHIN GROUP (ORDER BY coalesce(monthly_income, p_wage)) \
                  FILTER (WHERE answered_employed AND coalesce(monthly_income, p_wage) IS NOT NULL) AS median, \
                avg(coalesce(monthly_income, p_wage)) FILTER (WHERE answered_employed)::float8 AS mean \
           FROM report_view",
    )
    .get_result(conn)?;
    // Destinations, provinces, industries (of those employed) and the mean
    // income per county (of every answer with an income) in one scan.
    #[derive(QueryableByName)]
    struct G {
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Nullable<Text>)]
        k: Option<String>,
        #[diesel(sql_type = BigInt)]
        n: i64,
        #[diesel(sql_type = Nullable<Double>)]
        mean: Option<f64>,
    }
    let groups: Vec<G> = diesel::sql_query(
        "SELECT CASE WHEN grouping(d) = 0 THEN 'destination' WHEN grouping(p) = 0 THEN 'province' \
                     WHEN grouping(i) = 0 THEN 'industry' WHEN grouping(b) = 0 THEN 'band' ELSE 'county' END AS kind, \
                coalesce(d, p, i, b, c) AS k, count(*) FILTER (WHERE answered_employed) AS n, \
                avg(monthly_income)::float8 AS mean \
           FROM (SELECT answered_employed, monthly_income, county_code AS c, destination AS d, \
                        CASE WHEN destination = 'out_of_province' \
                             THEN coalesce(work_province_code, left(p_county, 2) || '0000', 'unknown') END AS p, \
                        coalesce(industry, '未填报') AS i, income_band AS b FROM report_view) v \
          GROUP BY GROUPING SETS ((d), (p), (i), (b), (c))",
    )
    .load(conn)?;
    let (mut by_destination, mut by_province, mut by_industry) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    // Workers in work who gave an income band instead of an amount (bot answers).
    let mut by_income_band = BTreeMap::new();
    let mut now: HashMap<String, f64> = HashMap::new();
    for g in groups {
        let Some(k) = g.k else { continue };
        match g.kind.as_str() {
            "county" => {
                if let Some(m) = g.mean {
                    now.insert(k, m);
                }
            }
            _ if g.n == 0 => {}
            "destination" => _ = by_destination.insert(k, g.n),
            "province" => _ = by_province.insert(k, g.n),
            "band" => _ = by_income_band.insert(k, g.n),
            _ => _ = by_industry.insert(k, g.n),
        }
    }
    #[derive(QueryableByName)]
    struct P {
        #[diesel(sql_type = SqlUuid)]
        worker_id: Uuid,
        #[diesel(sql_type = Nullable<Text>)]
        name: Option<String>,
        #[diesel(sql_type = Text)]
        county_code: String,
    }
    let people = |conn: &mut PgConnection, filter: &str| -> Result<Vec<Person>, StoreError> {
        Ok(diesel::sql_query(format!(
            "SELECT r.worker_id, w.name, r.county_code FROM report_view r JOIN workers w ON w.id = r.worker_id WHERE {filter} ORDER BY r.worker_id LIMIT $1"
        ))
        .bind::<BigInt, _>(list_cap as i64)
        .load::<P>(conn)?
        .into_iter()
        .map(|p| Person { worker_id: p.worker_id, name: p.name, county_code: p.county_code })
        .collect())
    };
    let returning = people(
        conn,
        "r.prev_place = 'out_of_province' AND (r.work_place IN ('in_county', 'in_province') OR r.r_status = 'unemployed')",
    )?;
    let non_respondents = people(conn, "r.is_labour AND r.r_status IS NULL AND r.p_employed IS NULL")?;
    #[derive(QueryableByName)]
    struct H {
        #[diesel(sql_type = BigInt)]
        with_labour: i64,
        #[diesel(sql_type = BigInt)]
        with_employed: i64,
        #[diesel(sql_type = BigInt)]
        zero: i64,
        #[diesel(sql_type = Nullable<diesel::sql_types::Array<Text>>)]
        codes: Option<Vec<String>>,
    }
    let h: H = diesel::sql_query(
        "WITH hh AS MATERIALIZED (SELECT household, bool_or(is_labour) AS l, bool_or(is_employed) AS e \
                                    FROM report_rows WHERE household IS NOT NULL GROUP BY household) \
         SELECT count(*) FILTER (WHERE l) AS with_labour, count(*) FILTER (WHERE l AND e) AS with_employed, \
                count(*) FILTER (WHERE l AND NOT e) AS zero, \
                (SELECT array_agg(code ORDER BY code) FROM (SELECT h.code FROM hh JOIN households h ON h.id = hh.household \
                   WHERE l AND NOT e ORDER BY h.code LIMIT $1) z) AS codes \
           FROM hh",
    )
    .bind::<BigInt, _>(list_cap as i64)
    .get_result(conn)?;
    let zero = h.codes.clone().unwrap_or_default();
    diesel::sql_query("DROP VIEW report_view").execute(conn)?;
    let mut rep = Report {
        period: period.to_string(),
        county_code: county.map(str::to_owned),
        site: site.map(str::to_owned),
        labour: t.labour,
        employed: t.employed,
        employment_rate: rate(t.employed, t.labour),
        by_destination,
        by_province,
        by_industry,
        by_income_band,
        income_median: t.median,
        income_mean: t.mean.map(|m| (m * 100.0).round() / 100.0),
        returning_labour: returning,
        households_with_labour: h.with_labour,
        households_with_employed: h.with_employed,
        zero_employment_households: zero,
        public_welfare_post: t.pwp,
        respondents: t.respondents,
        response_rate: rate(t.respondents, t.labour),
        non_respondents,
        previous: None,
        income_growth: vec![],
    };
    // Changes since the previous round (counts only).
    let prev_period = period.pred();
    let p = prev;
    let prev_rate = rate(p.employed, p.labour);
    rep.previous = Some(Previous {
        period: prev_period.to_string(),
        employment_rate: prev_rate,
        employed: p.employed,
        zero_employment_households: p.zero,
        employment_rate_change: ((rep.employment_rate - prev_rate) * 10000.0).round() / 10000.0,
        employed_change: rep.employed - p.employed,
        zero_employment_change: h.zero - p.zero,
    });
    // Income growth against the same period a year earlier, per county.
    let year_before = YearMonth::new(period.year() - 1, period.month()).unwrap_or(period);
    let before = mean_income_by_county(conn, year_before, county)?;
    let counties: std::collections::BTreeSet<&String> = now.keys().chain(before.keys()).collect();
    for cc in counties {
        let (a, b) = (now.get(cc).copied(), before.get(cc).copied());
        let growth = match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(((a / b - 1.0) * 10000.0).round() / 10000.0),
            _ => None,
        };
        rep.income_growth.push(IncomeGrowth {
            county_code: cc.clone(),
            mean_income: a.map(|v| (v * 100.0).round() / 100.0),
            mean_income_year_before: b.map(|v| (v * 100.0).round() / 100.0),
            growth,
            meets_target: growth.map(|g| g >= 0.15),
        });
    }
    Ok(rep)
}

/// Which months of a year each county has a round for (its own or the province's).
pub fn year_view(
    conn: &mut PgConnection,
    year: i32,
    county: Option<&str>,
) -> Result<BTreeMap<String, Vec<u32>>, StoreError> {
    let from = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or_default();
    let to = NaiveDate::from_ymd_opt(year, 12, 1).unwrap_or_default();
    let rounds: Vec<(NaiveDate, String)> = monitoring_rounds::table
        .filter(monitoring_rounds::period.ge(from).and(monitoring_rounds::period.le(to)))
        .select((monitoring_rounds::period, monitoring_rounds::scope_code))
        .load(conn)?;
    let counties: Vec<String> = match county {
        Some(c) => vec![c.to_owned()],
        None => crate::reference::list_divisions(conn, Some(domain::division::GUIZHOU), Some("county"), None)?
            .into_iter()
            .map(|d| d.code)
            .collect(),
    };
    let province: HashSet<u32> =
        rounds.iter().filter(|(_, s)| s == domain::division::GUIZHOU).map(|(p, _)| p.month()).collect();
    let mut out = BTreeMap::new();
    for c in counties {
        let mut months: Vec<u32> =
            rounds.iter().filter(|(_, s)| *s == c).map(|(p, _)| p.month()).chain(province.iter().copied()).collect();
        months.sort_unstable();
        months.dedup();
        out.insert(c, months);
    }
    Ok(out)
}

/// Mean answered income for each month of a year (the workbook's trend chart).
pub fn income_trend(
    conn: &mut PgConnection,
    year: i32,
    county: Option<&str>,
) -> Result<Vec<(String, Option<f64>)>, StoreError> {
    let mut out = Vec::new();
    for m in 1..=12 {
        let Some(p) = YearMonth::new(year, m) else { continue };
        let means = mean_income_by_county(conn, p, county)?;
        let v = if means.is_empty() { None } else { Some(means.values().sum::<f64>() / means.len() as f64) };
        out.push((p.to_string(), v.map(|x| (x * 100.0).round() / 100.0)));
    }
    Ok(out)
}

/// The periods whose reports an erasure must leave as they were: every
/// period a round covering `county` (its own or the province's) was opened
/// for, up to this month, and the period before each (a report compares
/// with it).
fn published_periods(conn: &mut PgConnection, county: &str, today: NaiveDate) -> Result<Vec<YearMonth>, StoreError> {
    let this_month = YearMonth::of(today).first_day();
    let rounds: Vec<NaiveDate> = monitoring_rounds::table
        .filter(
            monitoring_rounds::scope_code.eq(county).or(monitoring_rounds::scope_code.eq(domain::division::GUIZHOU)),
        )
        .filter(monitoring_rounds::period.le(this_month))
        .select(monitoring_rounds::period)
        .load(conn)?;
    let mut periods: Vec<YearMonth> =
        rounds.into_iter().map(YearMonth::of).flat_map(|p| [p, p.pred()]).collect::<Vec<_>>();
    periods.sort_unstable();
    periods.dedup();
    Ok(periods)
}

/// Before a worker's answers, facts and birth date go (erasure), add their
/// part in every published period's report to the unattributed totals
/// (`monitoring_erased_totals`, `monitoring_erased_households`), which the
/// report adds back: the figures of a published month do not change.
///
/// The row is the one `ROWS_SQL` computes for this worker, looked up by
/// worker instead of scanning the period (the same latest answer, the same
/// counting placement report, the same previous place).
pub(crate) fn keep_erased_totals(conn: &mut PgConnection, worker: Uuid, today: NaiveDate) -> Result<usize, StoreError> {
    let county: String =
        crate::schema::workers::table.find(worker).select(crate::schema::workers::county_code).first(conn)?;
    let periods = published_periods(conn, &county, today)?;
    for p in &periods {
        diesel::sql_query(
            "INSERT INTO monitoring_erased_totals AS t (period, county_code, site_id, status, is_labour, is_employed, \
                    r_status, work_place, work_province_code, industry, monthly_income, p_county, p_wage, p_employed, \
                    prev_place, income_band, n) \
             SELECT $3, s.county_code, w.site_id, s.status, s.is_labour, s.is_employed, \
                    r.employment_status, r.work_place, r.work_province_code, r.industry, r.monthly_income, \
                    pr.work_county_code, pr.wage, pr.employed, prev.work_place, r.income_band, 1 \
               FROM worker_state($1) s JOIN workers w ON w.id = s.worker_id \
               LEFT JOIN LATERAL (SELECT m.employment_status, m.work_place, m.work_province_code, m.industry, \
                                         m.monthly_income, m.income_band \
                                    FROM monitoring_responses m WHERE m.period = $3 AND m.worker_id = w.id \
                                   ORDER BY m.id DESC LIMIT 1) r ON true \
               LEFT JOIN LATERAL (SELECT m.work_place FROM monitoring_responses m \
                                   WHERE m.period = $4 AND m.worker_id = w.id ORDER BY m.id DESC LIMIT 1) prev ON true \
               LEFT JOIN LATERAL (SELECT pl.work_county_code, rep.wage, rep.employed \
                                    FROM placement_reports rep JOIN placements pl ON pl.id = rep.placement_id \
                                   WHERE pl.worker_id = w.id AND rep.month = $3 \
                                     AND rep.source IN ('employer_report', 'broker_report', 'social_insurance_import', 'officer') \
                                   ORDER BY rep.recorded_at DESC LIMIT 1) pr ON true \
              WHERE s.worker_id = $2 AND w.erased_at IS NULL \
             ON CONFLICT ON CONSTRAINT monitoring_erased_totals_key DO UPDATE SET n = t.n + 1",
        )
        .bind::<Date, _>(p.last_day())
        .bind::<SqlUuid, _>(worker)
        .bind::<Date, _>(p.first_day())
        .bind::<Date, _>(p.pred().first_day())
        .execute(conn)?;
        diesel::sql_query(
            "INSERT INTO monitoring_erased_households AS t (period, household_id, county_code, site_id, is_labour, is_employed) \
             SELECT $3, s.household_id, s.county_code, w.site_id, s.is_labour, s.is_employed \
               FROM worker_state($1) s JOIN workers w ON w.id = s.worker_id \
              WHERE s.worker_id = $2 AND w.erased_at IS NULL AND (s.is_labour OR s.is_employed) \
             ON CONFLICT (period, household_id) DO UPDATE \
                SET is_labour = t.is_labour OR excluded.is_labour, is_employed = t.is_employed OR excluded.is_employed",
        )
        .bind::<Date, _>(p.last_day())
        .bind::<SqlUuid, _>(worker)
        .bind::<Date, _>(p.first_day())
        .execute(conn)?;
    }
    Ok(periods.len())
}

// ------------------------------------------------------------------ the bot's survey

/// What became of a finished survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurveyAnswer {
    /// Written as the worker's monitoring answer for the period.
    Recorded,
    /// No round is open for that period in the worker's county.
    Closed,
}

/// A survey finished in the bot: the worker's answer to the monitoring
/// round of `period` (source `bot`), if a round is open for their county.
pub fn record_survey(
    conn: &mut PgConnection,
    period: YearMonth,
    answer: &crate::monitoring::Answer,
    today: NaiveDate,
) -> Result<SurveyAnswer, StoreError> {
    conn.transaction(|conn| {
        let county = crate::workers::county_of(conn, answer.worker_id)?;
        if !crate::monitoring::round_open(conn, period, &county)? {
            return Ok(SurveyAnswer::Closed);
        }
        crate::monitoring::answer(conn, period, std::slice::from_ref(answer), &Actor::system(), today)?;
        Ok(SurveyAnswer::Recorded)
    })
}
