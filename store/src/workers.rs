//! The worker ledger (台账): workers, households, resettlement sites,
//! employment facts and training records. ID and phone numbers are stored
//! encrypted, found by keyed hash and shown masked.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox;
use crate::schema::{divisions, employment_facts, households, resettlement_sites, training_records, workers};
use crate::vault::Vault;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Date, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use domain::Problems;
use domain::ledger::ValidWorker;
use domain::worker::FactSource;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// A worker as a ledger keeper sees them (personal data masked).
#[derive(Debug, Clone, QueryableByName)]
pub struct WorkerView {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    pub id_number_masked: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub phone_masked: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub birth_date: Option<NaiveDate>,
    #[diesel(sql_type = Nullable<Text>)]
    pub gender: Option<String>,
    #[diesel(sql_type = Text)]
    pub household_code: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub resettlement_site: Option<String>,
    #[diesel(sql_type = Text)]
    pub county_code: String,
    #[diesel(sql_type = Array<Text>)]
    pub categories: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub skills: Vec<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub education: Option<String>,
    #[diesel(sql_type = Nullable<Int4>)]
    pub graduation_year: Option<i32>,
    #[diesel(sql_type = Bool)]
    pub willing_cross_province: bool,
    #[diesel(sql_type = Bool)]
    pub accepts_offers: bool,
    #[diesel(sql_type = Bool)]
    pub seeking_while_employed: bool,
    #[diesel(sql_type = Nullable<Int4>)]
    pub min_wage: Option<i32>,
    #[diesel(sql_type = Array<Text>)]
    pub preferred_county_codes: Vec<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub erased_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    /// Current status and since when (from `worker_state`).
    #[diesel(sql_type = Nullable<Text>)]
    pub employment_status: Option<String>,
    #[diesel(sql_type = Nullable<Date>)]
    pub status_on: Option<NaiveDate>,
    #[diesel(sql_type = Bool)]
    pub is_labour: bool,
    #[diesel(sql_type = Bool)]
    pub is_employed: bool,
}

/// Every worker view is read through `worker_state(as_of)`, the one function
/// that decides status, labour and employed; filters on `ws.*` push down into it.
const VIEW_SQL: &str = "SELECT w.id, w.id_number_masked, w.name, w.phone_masked, w.birth_date, w.gender, \
       h.code AS household_code, s.name AS resettlement_site, w.county_code, w.categories, w.skills, \
       w.education, w.graduation_year, w.willing_cross_province, w.accepts_offers, w.seeking_while_employed, w.min_wage, \
       w.preferred_county_codes, w.erased_at, w.created_at, w.updated_at, \
       ws.status AS employment_status, ws.status_on, ws.is_labour, ws.is_employed \
  FROM worker_state($1) ws \
  JOIN workers w ON w.id = ws.worker_id \
  JOIN households h ON h.id = w.household_id \
  LEFT JOIN resettlement_sites s ON s.id = w.site_id";

/// Is `code` a county-level place (county, or a city without counties)?
pub fn is_county_level(conn: &mut PgConnection, code: &str) -> Result<bool, StoreError> {
    Ok(divisions::table.find(code).select(divisions::is_workplace).first::<bool>(conn).optional()?.unwrap_or(false))
}

/// All county-level codes (for bulk checks).
pub fn county_level_codes(conn: &mut PgConnection) -> Result<HashSet<String>, StoreError> {
    Ok(divisions::table
        .filter(divisions::is_workplace.eq(true))
        .select(divisions::code)
        .load::<String>(conn)?
        .into_iter()
        .collect())
}

fn check_codes(conn: &mut PgConnection, w: &ValidWorker) -> Result<Problems, StoreError> {
    let mut p = Problems::new();
    if !is_county_level(conn, w.county_code.as_str())? {
        p.push("county_code", "is not a county-level division code");
    }
    for c in &w.preferred_county_codes {
        if !is_county_level(conn, c.as_str())? {
            p.push("preferred_county_codes", format!("{c} is not a county-level division code"));
        }
    }
    Ok(p)
}

pub fn get(conn: &mut PgConnection, id: Uuid, today: NaiveDate) -> Result<WorkerView, StoreError> {
    Ok(diesel::sql_query(format!("{VIEW_SQL} WHERE ws.worker_id = $2"))
        .bind::<Date, _>(today)
        .bind::<SqlUuid, _>(id)
        .get_result(conn)?)
}

/// The county that keeps a worker's ledger.
pub fn county_of(conn: &mut PgConnection, id: Uuid) -> Result<String, StoreError> {
    Ok(workers::table.find(id).select(workers::county_code).first(conn)?)
}

pub struct ListFilter<'a> {
    pub county_code: Option<&'a str>,
    pub category: Option<&'a str>,
    pub employment_status: Option<&'a str>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn list(conn: &mut PgConnection, f: &ListFilter<'_>, today: NaiveDate) -> Result<Vec<WorkerView>, StoreError> {
    Ok(diesel::sql_query(format!(
        "{VIEW_SQL} WHERE w.erased_at IS NULL \
           AND ($2::text IS NULL OR ws.county_code = $2) \
           AND ($3::text IS NULL OR $3 = ANY (w.categories)) \
           AND ($4::text IS NULL OR ws.status = $4) \
           AND ($5::uuid IS NULL OR ws.worker_id > $5) \
         ORDER BY ws.worker_id LIMIT $6"
    ))
    .bind::<Date, _>(today)
    .bind::<Nullable<Text>, _>(f.county_code)
    .bind::<Nullable<Text>, _>(f.category)
    .bind::<Nullable<Text>, _>(f.employment_status)
    .bind::<Nullable<SqlUuid>, _>(f.after)
    .bind::<diesel::sql_types::BigInt, _>(f.limit)
    .load(conn)?)
}

/// Find or create the resettlement site `name` in `county`.
pub fn ensure_site(conn: &mut PgConnection, county: &str, name: &str) -> Result<Uuid, StoreError> {
    diesel::insert_into(resettlement_sites::table)
        .values((
            resettlement_sites::id.eq(Uuid::now_v7()),
            resettlement_sites::county_code.eq(county),
            resettlement_sites::name.eq(name),
        ))
        .on_conflict((resettlement_sites::county_code, resettlement_sites::name))
        .do_nothing()
        .execute(conn)?;
    Ok(resettlement_sites::table
        .filter(resettlement_sites::county_code.eq(county).and(resettlement_sites::name.eq(name)))
        .select(resettlement_sites::id)
        .first(conn)?)
}

/// Find or create household `code` in `county`; a household of another county is refused.
pub fn ensure_household(
    conn: &mut PgConnection,
    code: &str,
    county: &str,
    site: Option<Uuid>,
) -> Result<Uuid, StoreError> {
    let found: Option<(Uuid, String)> = households::table
        .filter(households::code.eq(code))
        .select((households::id, households::county_code))
        .first(conn)
        .optional()?;
    match found {
        Some((id, c)) if c == county => Ok(id),
        Some((_, c)) => {
            let mut p = Problems::new();
            p.push("household_code", format!("household {code} belongs to county {c}"));
            Err(StoreError::Invalid(p))
        }
        None => {
            let id = Uuid::now_v7();
            diesel::insert_into(households::table)
                .values((
                    households::id.eq(id),
                    households::code.eq(code),
                    households::county_code.eq(county),
                    households::site_id.eq(site),
                ))
                .execute(conn)?;
            Ok(id)
        }
    }
}

/// Who holds this ID number already, if anyone.
pub fn find_by_id_number(
    conn: &mut PgConnection,
    vault: &Vault,
    id_number: &domain::IdNumber,
) -> Result<Option<(Uuid, String)>, StoreError> {
    Ok(workers::table
        .filter(workers::id_number_hash.eq(vault.lookup_hash("id", id_number.expose())))
        .select((workers::id, workers::county_code))
        .first(conn)
        .optional()?)
}

/// The workers holding these ID numbers (by keyed hash), in the order asked;
/// `None` where nobody does.
pub fn ids_by_id_number(
    conn: &mut PgConnection,
    vault: &Vault,
    numbers: &[domain::IdNumber],
) -> Result<Vec<Option<Uuid>>, StoreError> {
    let hashes: Vec<Vec<u8>> = numbers.iter().map(|n| vault.lookup_hash("id", n.expose())).collect();
    let mut found: HashMap<Vec<u8>, Uuid> = HashMap::new();
    for chunk in hashes.chunks(5000) {
        let rows: Vec<(Uuid, Option<Vec<u8>>)> = workers::table
            .filter(workers::id_number_hash.eq_any(chunk))
            .select((workers::id, workers::id_number_hash))
            .load(conn)?;
        found.extend(rows.into_iter().filter_map(|(id, h)| h.map(|h| (h, id))));
    }
    Ok(hashes.iter().map(|h| found.get(h).copied()).collect())
}

/// Workers whose phone number is this one (the bot binds by phone).
pub fn find_by_phone(conn: &mut PgConnection, vault: &Vault, phone: &domain::Phone) -> Result<Vec<Uuid>, StoreError> {
    Ok(workers::table
        .filter(workers::phone_hash.eq(vault.lookup_hash("phone", phone.expose())))
        .filter(workers::erased_at.is_null())
        .select(workers::id)
        .load(conn)?)
}

pub fn add_fact(
    conn: &mut PgConnection,
    worker_id: Uuid,
    status: &str,
    effective_on: NaiveDate,
    source: FactSource,
) -> Result<(), StoreError> {
    diesel::insert_into(employment_facts::table)
        .values((
            employment_facts::worker_id.eq(worker_id),
            employment_facts::status.eq(status),
            employment_facts::effective_on.eq(effective_on),
            employment_facts::source.eq(source.as_str()),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Insertable)]
#[diesel(table_name = workers)]
struct NewWorker {
    id: Uuid,
    id_number_enc: Option<Vec<u8>>,
    id_number_hash: Option<Vec<u8>>,
    id_number_masked: Option<String>,
    name: Option<String>,
    phone_enc: Option<Vec<u8>>,
    phone_hash: Option<Vec<u8>>,
    phone_masked: Option<String>,
    birth_date: Option<NaiveDate>,
    gender: Option<String>,
    household_id: Uuid,
    site_id: Option<Uuid>,
    county_code: String,
    categories: Vec<String>,
    skills: Vec<String>,
    education: Option<String>,
    graduation_year: Option<i32>,
    willing_cross_province: bool,
    accepts_offers: bool,
    seeking_while_employed: bool,
    min_wage: Option<i32>,
    preferred_county_codes: Vec<String>,
}

fn sealed(vault: &Vault, id: Uuid, w: &ValidWorker, household_id: Uuid, site_id: Option<Uuid>) -> NewWorker {
    NewWorker {
        id,
        id_number_enc: Some(vault.encrypt(w.id_number.expose())),
        id_number_hash: Some(vault.lookup_hash("id", w.id_number.expose())),
        id_number_masked: Some(w.id_number.masked()),
        name: Some(w.name.clone()),
        phone_enc: Some(vault.encrypt(w.phone.expose())),
        phone_hash: Some(vault.lookup_hash("phone", w.phone.expose())),
        phone_masked: Some(w.phone.masked()),
        birth_date: Some(w.birth_date()),
        gender: Some(w.gender().as_str().to_owned()),
        household_id,
        site_id,
        county_code: w.county_code.as_str().to_owned(),
        categories: w.categories.iter().map(|c| c.as_str().to_owned()).collect(),
        skills: w.skills.clone(),
        education: w.education.clone(),
        graduation_year: w.graduation_year,
        willing_cross_province: w.willing_cross_province,
        accepts_offers: w.accepts_offers,
        seeking_while_employed: w.seeking_while_employed,
        min_wage: w.min_wage,
        preferred_county_codes: w.preferred_county_codes.iter().map(|c| c.as_str().to_owned()).collect(),
    }
}

fn place(conn: &mut PgConnection, w: &ValidWorker) -> Result<(Uuid, Option<Uuid>), StoreError> {
    let site = match &w.resettlement_site {
        Some(name) => Some(ensure_site(conn, w.county_code.as_str(), name)?),
        None => None,
    };
    let household = ensure_household(conn, &w.household_code, w.county_code.as_str(), site)?;
    Ok((household, site))
}

/// Register a worker: one transaction with the officer's status fact, the
/// outbox row and the audit entry. A second worker with the same ID number
/// is refused with the id and county of the first.
pub fn create(
    conn: &mut PgConnection,
    vault: &Vault,
    w: &ValidWorker,
    actor: &Actor,
    today: NaiveDate,
) -> Result<WorkerView, StoreError> {
    conn.transaction(|conn| {
        let p = check_codes(conn, w)?;
        if !p.is_empty() {
            return Err(StoreError::Invalid(p));
        }
        if let Some((worker_id, county_code)) = find_by_id_number(conn, vault, &w.id_number)? {
            return Err(StoreError::DuplicateWorker { worker_id, county_code });
        }
        let (household, site) = place(conn, w)?;
        let id = Uuid::now_v7();
        let inserted = diesel::insert_into(workers::table).values(sealed(vault, id, w, household, site)).execute(conn);
        if let Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)) =
            inserted
        {
            // A concurrent registration won the race.
            if let Some((worker_id, county_code)) = find_by_id_number(conn, vault, &w.id_number)? {
                return Err(StoreError::DuplicateWorker { worker_id, county_code });
            }
        }
        inserted?;
        add_fact(conn, id, w.employment_status.as_str(), today, FactSource::Officer)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::WorkerCreated,
            &id.to_string(),
            serde_json::json!({"worker_id": id}),
        )?;
        audit::record(
            conn,
            actor,
            "worker.create",
            "worker",
            &id.to_string(),
            serde_json::json!({"county_code": w.county_code}),
        )?;
        get(conn, id, today)
    })
}

/// Full ID and phone numbers, for an audited reveal or to rebuild a draft.
pub fn personal(
    conn: &mut PgConnection,
    vault: &Vault,
    id: Uuid,
) -> Result<(Option<String>, Option<String>), StoreError> {
    let (idn, phone): (Option<Vec<u8>>, Option<Vec<u8>>) =
        workers::table.find(id).select((workers::id_number_enc, workers::phone_enc)).first(conn)?;
    let dec = |b: Option<Vec<u8>>| -> Result<Option<String>, StoreError> {
        b.map(|b| vault.decrypt(&b).map_err(|e| StoreError::Other(e.to_string()))).transpose()
    };
    Ok((dec(idn)?, dec(phone)?))
}

/// Replace the ledger fields of a worker (the ID number never changes).
pub fn update(
    conn: &mut PgConnection,
    vault: &Vault,
    id: Uuid,
    w: &ValidWorker,
    actor: &Actor,
    today: NaiveDate,
) -> Result<WorkerView, StoreError> {
    conn.transaction(|conn| {
        let before = get(conn, id, today)?;
        if before.erased_at.is_some() {
            return Err(StoreError::Conflict("the worker's personal data was erased".into()));
        }
        let p = check_codes(conn, w)?;
        if !p.is_empty() {
            return Err(StoreError::Invalid(p));
        }
        let (household, site) = place(conn, w)?;
        let new = sealed(vault, id, w, household, site);
        diesel::update(workers::table.find(id))
            .set((
                workers::name.eq(new.name),
                workers::phone_enc.eq(new.phone_enc),
                workers::phone_hash.eq(new.phone_hash),
                workers::phone_masked.eq(new.phone_masked),
                workers::household_id.eq(new.household_id),
                workers::site_id.eq(new.site_id),
                workers::categories.eq(new.categories),
                workers::skills.eq(new.skills),
                workers::education.eq(new.education),
                workers::graduation_year.eq(new.graduation_year),
                workers::willing_cross_province.eq(new.willing_cross_province),
                workers::accepts_offers.eq(new.accepts_offers),
                workers::seeking_while_employed.eq(new.seeking_while_employed),
                workers::min_wage.eq(new.min_wage),
                workers::preferred_county_codes.eq(new.preferred_county_codes),
                workers::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        if before.employment_status.as_deref() != Some(w.employment_status.as_str()) {
            add_fact(conn, id, w.employment_status.as_str(), today, FactSource::Officer)?;
        }
        outbox::publish(
            conn,
            crate::outbox::Topic::WorkerUpdated,
            &id.to_string(),
            serde_json::json!({"worker_id": id}),
        )?;
        audit::record(conn, actor, "worker.update", "worker", &id.to_string(), serde_json::json!({}))?;
        get(conn, id, today)
    })
}

/// Move a worker to another county's ledger (admin).
pub fn transfer(
    conn: &mut PgConnection,
    id: Uuid,
    county: &str,
    household_code: &str,
    site: Option<&str>,
    actor: &Actor,
    today: NaiveDate,
) -> Result<WorkerView, StoreError> {
    conn.transaction(|conn| {
        let before = get(conn, id, today)?;
        if before.erased_at.is_some() {
            return Err(StoreError::Conflict("the worker's personal data was erased".into()));
        }
        if !is_county_level(conn, county)? {
            let mut p = Problems::new();
            p.push("county_code", "is not a county-level division code");
            return Err(StoreError::Invalid(p));
        }
        let site_id = match site {
            Some(s) => Some(ensure_site(conn, county, s)?),
            None => None,
        };
        let household = ensure_household(conn, household_code, county, site_id)?;
        diesel::update(workers::table.find(id))
            .set((
                workers::county_code.eq(county),
                workers::household_id.eq(household),
                workers::site_id.eq(site_id),
                workers::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::WorkerUpdated,
            &id.to_string(),
            serde_json::json!({"worker_id": id}),
        )?;
        audit::record(
            conn,
            actor,
            "worker.transfer",
            "worker",
            &id.to_string(),
            serde_json::json!({"from": before.county_code, "to": county}),
        )?;
        get(conn, id, today)
    })
}

/// What an erasure did.
#[derive(Debug)]
pub struct Erasure {
    /// The anonymous placeholder that stays.
    pub view: WorkerView,
    /// The chats (channel, chat id) that were bound to the worker: the
    /// caller forgets their dialogue state in Redis once this has committed.
    pub chats: Vec<(String, String)>,
    /// The worker had been erased before: nothing was written.
    pub already: bool,
}

/// Erase a worker (PIPL): one transaction removes or anonymises everything
/// that identifies them, and keeps an anonymous placeholder row (no name, ID
/// or phone number, birth date, gender, categories, skills, education or
/// preferences) so that the records of public money stay consistent.
///
/// * removed: chat bindings on every channel, binding codes, queued pushes,
///   offers, monitoring answers, employment facts, training records (except
///   one a subsidy event was paid on, which stays as its evidence);
/// * kept as unattributed totals: the worker's part in every published
///   monitoring report ([`crate::monitoring`]);
/// * kept, pointing to the placeholder: placements, their monthly reports and
///   separations (free-text notes and reasons blanked), subsidy events and
///   blocked claims.
///
/// Idempotent: erasing an erased worker writes nothing and answers the same
/// placeholder. The matcher drops the worker on the outbox's `worker.erased`.
pub fn erase(conn: &mut PgConnection, id: Uuid, actor: &Actor, today: NaiveDate) -> Result<Erasure, StoreError> {
    use crate::schema::{
        bot_binding_codes, bot_chats, bot_queue, monitoring_responses, offers, placement_reports,
        placement_separations, placements, subsidy_events,
    };
    conn.transaction(|conn| {
        let erased: Option<Option<DateTime<Utc>>> =
            workers::table.find(id).select(workers::erased_at).for_update().first(conn).optional()?;
        match erased {
            None => return Err(StoreError::NotFound),
            Some(Some(_)) => return Ok(Erasure { view: get(conn, id, today)?, chats: vec![], already: true }),
            Some(None) => {}
        }
        // The report's totals first: they need the answers, facts and birth date.
        let periods = crate::monitoring::keep_erased_totals(conn, id, today)?;
        let chats: Vec<(String, String)> = diesel::delete(bot_chats::table.filter(bot_chats::worker_id.eq(id)))
            .returning((bot_chats::channel, bot_chats::chat_id))
            .get_results(conn)?;
        let codes =
            diesel::delete(bot_binding_codes::table.filter(bot_binding_codes::worker_id.eq(id))).execute(conn)?;
        let pushes = diesel::delete(bot_queue::table.filter(bot_queue::worker_id.eq(id))).execute(conn)?;
        let offers = diesel::delete(offers::table.filter(offers::worker_id.eq(id))).execute(conn)?;
        let answers =
            diesel::delete(monitoring_responses::table.filter(monitoring_responses::worker_id.eq(id))).execute(conn)?;
        let facts = diesel::delete(employment_facts::table.filter(employment_facts::worker_id.eq(id))).execute(conn)?;
        let paid_on: Vec<Uuid> = subsidy_events::table
            .filter(subsidy_events::worker_id.eq(id))
            .filter(subsidy_events::training_id.is_not_null())
            .select(subsidy_events::training_id.assume_not_null())
            .load(conn)?;
        let trainings = diesel::delete(
            training_records::table
                .filter(training_records::worker_id.eq(id))
                .filter(diesel::dsl::not(training_records::id.eq_any(&paid_on))),
        )
        .execute(conn)?;
        // Free text about the worker on the records that stay.
        let theirs = placements::table.filter(placements::worker_id.eq(id)).select(placements::id);
        diesel::update(placement_reports::table.filter(placement_reports::placement_id.eq_any(theirs)))
            .filter(placement_reports::note.is_not_null())
            .set(placement_reports::note.eq(None::<String>))
            .execute(conn)?;
        diesel::update(placement_separations::table.filter(placement_separations::placement_id.eq_any(theirs)))
            .set(placement_separations::reason.eq(ERASED_TEXT))
            .execute(conn)?;
        diesel::update(placements::table.filter(placements::worker_id.eq(id)))
            .filter(placements::separation_reason.is_not_null())
            .set(placements::separation_reason.eq(ERASED_TEXT))
            .execute(conn)?;
        diesel::update(workers::table.find(id))
            .set((
                workers::id_number_enc.eq(None::<Vec<u8>>),
                workers::id_number_hash.eq(None::<Vec<u8>>),
                workers::id_number_masked.eq(None::<String>),
                workers::name.eq(None::<String>),
                workers::phone_enc.eq(None::<Vec<u8>>),
                workers::phone_hash.eq(None::<Vec<u8>>),
                workers::phone_masked.eq(None::<String>),
                workers::birth_date.eq(None::<NaiveDate>),
                workers::gender.eq(None::<String>),
                workers::categories.eq(Vec::<String>::new()),
                workers::skills.eq(Vec::<String>::new()),
                workers::education.eq(None::<String>),
                workers::graduation_year.eq(None::<i32>),
                workers::willing_cross_province.eq(false),
                workers::accepts_offers.eq(false),
                workers::seeking_while_employed.eq(false),
                workers::min_wage.eq(None::<i32>),
                workers::preferred_county_codes.eq(Vec::<String>::new()),
                workers::erased_at.eq(diesel::dsl::now),
                workers::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::WorkerErased,
            &id.to_string(),
            serde_json::json!({"worker_id": id}),
        )?;
        audit::record(
            conn,
            actor,
            "worker.erase",
            "worker",
            &id.to_string(),
            serde_json::json!({
                "chats": chats.len(), "binding_codes": codes, "pushes": pushes, "offers": offers,
                "monitoring_answers": answers, "employment_facts": facts, "training_records": trainings,
                "monitoring_periods_kept_as_totals": periods,
            }),
        )?;
        Ok(Erasure { view: get(conn, id, today)?, chats, already: false })
    })
}

/// What replaces free text about an erased worker on the records that stay.
pub const ERASED_TEXT: &str = "（已删除）";

// ---------------------------------------------------------------- trainings

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = training_records)]
pub struct Training {
    pub id: Uuid,
    pub worker_id: Uuid,
    pub course: String,
    pub kind: String,
    pub occupation_code: Option<String>,
    pub skills: Vec<String>,
    pub hours: i32,
    pub certificate: Option<String>,
    pub completed_on: NaiveDate,
    pub provider: String,
    pub created_at: DateTime<Utc>,
    pub provider_org_id: Option<Uuid>,
}

pub struct NewTraining {
    pub course: String,
    pub kind: String,
    pub occupation_code: Option<String>,
    pub skills: Vec<String>,
    pub hours: i32,
    pub certificate: Option<String>,
    pub completed_on: NaiveDate,
    pub provider: String,
    /// The enterprise that gave the training, when it is registered in Qianlink.
    pub provider_org_id: Option<Uuid>,
}

pub fn add_training(
    conn: &mut PgConnection,
    worker_id: Uuid,
    t: &NewTraining,
    actor: &Actor,
) -> Result<Training, StoreError> {
    conn.transaction(|conn| {
        if let Some(code) = &t.occupation_code {
            let n: i64 = crate::schema::occupations::table
                .filter(crate::schema::occupations::code.eq(code))
                .count()
                .get_result(conn)?;
            if n == 0 {
                let mut p = Problems::new();
                p.push("occupation_code", "is not in the 2022 occupation classification");
                return Err(StoreError::Invalid(p));
            }
        }
        if let Some(org) = t.provider_org_id {
            let kind: Option<String> = crate::schema::organizations::table
                .find(org)
                .select(crate::schema::organizations::kind)
                .first(conn)
                .optional()?;
            if !matches!(kind.as_deref(), Some("employer" | "industrial_park")) {
                let mut p = Problems::new();
                p.push("provider_org_id", "must be an employer or industrial park registered here");
                return Err(StoreError::Invalid(p));
            }
        }
        let id = Uuid::now_v7();
        let row = diesel::insert_into(training_records::table)
            .values((
                training_records::id.eq(id),
                training_records::worker_id.eq(worker_id),
                training_records::course.eq(&t.course),
                training_records::kind.eq(&t.kind),
                training_records::occupation_code.eq(&t.occupation_code),
                training_records::skills.eq(&t.skills),
                training_records::hours.eq(t.hours),
                training_records::certificate.eq(&t.certificate),
                training_records::completed_on.eq(t.completed_on),
                training_records::provider.eq(&t.provider),
                training_records::provider_org_id.eq(t.provider_org_id),
            ))
            .returning(Training::as_returning())
            .get_result(conn)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::WorkerTrainingAdded,
            &worker_id.to_string(),
            serde_json::json!({"worker_id": worker_id, "training_id": id}),
        )?;
        audit::record(
            conn,
            actor,
            "training.create",
            "worker",
            &worker_id.to_string(),
            serde_json::json!({"training_id": id}),
        )?;
        Ok(row)
    })
}

pub fn trainings(conn: &mut PgConnection, worker_id: Uuid) -> Result<Vec<Training>, StoreError> {
    Ok(training_records::table
        .filter(training_records::worker_id.eq(worker_id))
        .select(Training::as_select())
        .order((training_records::completed_on.desc(), training_records::id))
        .load(conn)?)
}

// --------------------------------------------------------------- households

#[derive(Debug, Clone, QueryableByName)]
pub struct HouseholdSummary {
    #[diesel(sql_type = Text)]
    pub code: String,
    #[diesel(sql_type = Text)]
    pub county_code: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub resettlement_site: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub members: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub labour: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub employed: i64,
}

impl HouseholdSummary {
    /// At least one member in labour and none employed (DESIGN.md).
    pub fn zero_employment(&self) -> bool {
        self.labour > 0 && self.employed == 0
    }
}

const HOUSEHOLD_SQL: &str = "SELECT h.code, h.county_code, s.name AS resettlement_site, \
       count(ws.worker_id) AS members, \
       count(*) FILTER (WHERE ws.is_labour) AS labour, \
       count(*) FILTER (WHERE ws.is_employed) AS employed \
  FROM households h \
  LEFT JOIN resettlement_sites s ON s.id = h.site_id \
  JOIN worker_state($1) ws ON ws.household_id = h.id";

pub fn household(
    conn: &mut PgConnection,
    code: &str,
    today: NaiveDate,
) -> Result<(HouseholdSummary, Vec<WorkerView>), StoreError> {
    let summary: HouseholdSummary =
        diesel::sql_query(format!("{HOUSEHOLD_SQL} WHERE h.code = $2 GROUP BY h.id, s.name"))
            .bind::<Date, _>(today)
            .bind::<Text, _>(code)
            .get_result(conn)?;
    let members = diesel::sql_query(format!("{VIEW_SQL} WHERE h.code = $2 ORDER BY w.id"))
        .bind::<Date, _>(today)
        .bind::<Text, _>(code)
        .load(conn)?;
    Ok((summary, members))
}

pub fn households(
    conn: &mut PgConnection,
    county: Option<&str>,
    zero_employment: Option<bool>,
    after: Option<&str>,
    limit: i64,
    today: NaiveDate,
) -> Result<Vec<HouseholdSummary>, StoreError> {
    Ok(diesel::sql_query(format!(
        "{HOUSEHOLD_SQL} WHERE ($2::text IS NULL OR h.county_code = $2) AND ($3::text IS NULL OR h.code > $3) \
         GROUP BY h.id, s.name \
         HAVING $4::bool IS NULL OR ((count(*) FILTER (WHERE ws.is_labour) > 0 \
            AND count(*) FILTER (WHERE ws.is_employed) = 0) = $4) \
         ORDER BY h.code LIMIT $5"
    ))
    .bind::<Date, _>(today)
    .bind::<Nullable<Text>, _>(county)
    .bind::<Nullable<Text>, _>(after)
    .bind::<Nullable<Bool>, _>(zero_employment)
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(conn)?)
}

// ------------------------------------------------------------------- import

/// One validated row of a ledger file.
pub struct ImportRow {
    pub row: usize,
    pub worker: ValidWorker,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowProblem {
    pub row: usize,
    /// The field identifier (the API maps it to the file's column header).
    pub field: String,
    pub problem: String,
}

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ImportOutcome {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub errors: Vec<RowProblem>,
}

enum TxEnd {
    Store(StoreError),
    Rollback(ImportOutcome),
}

impl From<diesel::result::Error> for TxEnd {
    fn from(e: diesel::result::Error) -> Self {
        TxEnd::Store(e.into())
    }
}

impl From<StoreError> for TxEnd {
    fn from(e: StoreError) -> Self {
        TxEnd::Store(e)
    }
}

#[derive(QueryableByName)]
struct Existing {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Bytea)]
    id_number_hash: Vec<u8>,
    #[diesel(sql_type = Text)]
    county_code: String,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<diesel::sql_types::Bytea>)]
    phone_hash: Option<Vec<u8>>,
    #[diesel(sql_type = Text)]
    household_code: String,
    #[diesel(sql_type = Nullable<Text>)]
    site: Option<String>,
    #[diesel(sql_type = Array<Text>)]
    categories: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    skills: Vec<String>,
    #[diesel(sql_type = Nullable<Text>)]
    education: Option<String>,
    #[diesel(sql_type = Nullable<Int4>)]
    graduation_year: Option<i32>,
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
}

impl Existing {
    fn same_as(&self, n: &NewWorker, w: &ValidWorker) -> bool {
        self.name == n.name
            && self.phone_hash == n.phone_hash
            && self.household_code == w.household_code
            && self.site == w.resettlement_site
            && self.categories == n.categories
            && self.skills == n.skills
            && self.education == n.education
            && self.graduation_year == n.graduation_year
            && self.willing_cross_province == n.willing_cross_province
            && self.accepts_offers == n.accepts_offers
            && self.seeking_while_employed == n.seeking_while_employed
            && self.min_wage == n.min_wage
            && self.preferred_county_codes == n.preferred_county_codes
            && self.status.as_deref() == Some(w.employment_status.as_str())
    }
}

/// Upsert ledger rows by ID number, all or nothing unless `partial`.
/// Row problems that need the database (unknown county, a household or ID
/// number held by another county, the caller's county scope) are found
/// before anything is written. `dry_run` rolls everything back.
/// What to import and how.
pub struct ImportRequest<'a> {
    pub rows: Vec<ImportRow>,
    /// Problems already found while parsing the file.
    pub errors: Vec<RowProblem>,
    /// A county office may import its own county only.
    pub scope_county: Option<&'a str>,
    pub partial: bool,
    pub dry_run: bool,
}

pub fn import(
    conn: &mut PgConnection,
    vault: &Vault,
    req: ImportRequest<'_>,
    actor: &Actor,
    today: NaiveDate,
) -> Result<ImportOutcome, StoreError> {
    let ImportRequest { rows, mut errors, scope_county, partial, dry_run } = req;
    let result = conn.transaction::<ImportOutcome, TxEnd, _>(|conn| {
        let counties = county_level_codes(conn)?;
        let mut bad: HashSet<usize> = errors.iter().map(|e| e.row).collect();
        let mut err = |row: usize, field: &str, problem: String, bad: &mut HashSet<usize>| {
            errors.push(RowProblem { row, field: field.into(), problem });
            bad.insert(row);
        };
        // Sealing (encryption) and hashing, once per row.
        let sealed_rows: Vec<(usize, &ValidWorker, NewWorker)> = rows
            .iter()
            .map(|r| (r.row, &r.worker, sealed(vault, Uuid::now_v7(), &r.worker, Uuid::nil(), None)))
            .collect();
        let mut first_row_of: HashMap<&[u8], usize> = HashMap::new();
        for (row, w, n) in &sealed_rows {
            let hash = n.id_number_hash.as_deref().unwrap_or(&[]);
            if let Some(first) = first_row_of.get(hash) {
                err(*row, "id_number", format!("the same ID number as row {first}"), &mut bad);
            } else {
                first_row_of.insert(hash, *row);
            }
            if !counties.contains(w.county_code.as_str()) {
                err(*row, "county_code", "is not a county-level division code".into(), &mut bad);
            }
            if let Some(scope) = scope_county
                && w.county_code.as_str() != scope
            {
                err(*row, "county_code", format!("your office keeps county {scope} only"), &mut bad);
            }
            for c in &w.preferred_county_codes {
                if !counties.contains(c.as_str()) {
                    err(*row, "preferred_county_codes", format!("{c} is not a county-level division code"), &mut bad);
                }
            }
        }
        // Existing workers and households, in chunks.
        let mut existing: HashMap<Vec<u8>, Existing> = HashMap::new();
        let hashes: Vec<Vec<u8>> = sealed_rows.iter().filter_map(|(_, _, n)| n.id_number_hash.clone()).collect();
        for chunk in hashes.chunks(5000) {
            let found: Vec<Existing> = diesel::sql_query(
                "SELECT w.id, w.id_number_hash, w.county_code, w.name, w.phone_hash, h.code AS household_code, \
                        s.name AS site, w.categories, w.skills, w.education, w.graduation_year, \
                        w.willing_cross_province, w.accepts_offers, w.seeking_while_employed, w.min_wage, w.preferred_county_codes, ws.status \
                   FROM workers w JOIN households h ON h.id = w.household_id \
                   LEFT JOIN resettlement_sites s ON s.id = w.site_id \
                   JOIN worker_state($2) ws ON ws.worker_id = w.id \
                  WHERE w.id_number_hash = ANY ($1)",
            )
            .bind::<Array<diesel::sql_types::Bytea>, _>(chunk)
            .bind::<Date, _>(today)
            .load(conn)?;
            existing.extend(found.into_iter().map(|e| (e.id_number_hash.clone(), e)));
        }
        let codes: Vec<String> = sealed_rows.iter().map(|(_, w, _)| w.household_code.clone()).collect();
        let mut household_of: HashMap<String, (Uuid, String)> = HashMap::new();
        for chunk in codes.chunks(5000) {
            let found: Vec<(Uuid, String, String)> = households::table
                .filter(households::code.eq_any(chunk))
                .select((households::id, households::code, households::county_code))
                .load(conn)?;
            household_of.extend(found.into_iter().map(|(id, code, county)| (code, (id, county))));
        }
        for (row, w, n) in &sealed_rows {
            if let Some(e) = n.id_number_hash.as_ref().and_then(|h| existing.get(h))
                && e.county_code != w.county_code.as_str()
            {
                err(
                    *row,
                    "id_number",
                    format!(
                        "already in the ledger of county {} (worker {}); ask admin to transfer",
                        e.county_code, e.id
                    ),
                    &mut bad,
                );
            }
            if let Some((_, county)) = household_of.get(&w.household_code)
                && county != w.county_code.as_str()
            {
                err(
                    *row,
                    "household_code",
                    format!("household {} belongs to county {county}", w.household_code),
                    &mut bad,
                );
            }
        }
        errors.sort_by(|a, b| (a.row, &a.field).cmp(&(b.row, &b.field)));
        let mut outcome = ImportOutcome { errors: errors.clone(), ..ImportOutcome::default() };
        if !bad.is_empty() && !partial {
            return Err(TxEnd::Rollback(outcome));
        }
        // Write the good rows.
        let mut sites: HashMap<(String, String), Uuid> = HashMap::new();
        let mut new_workers = Vec::new();
        let mut new_facts = Vec::new();
        let mut touched: Vec<(Uuid, outbox::Topic)> = Vec::new();
        for (row, w, n) in sealed_rows {
            if bad.contains(&row) {
                continue;
            }
            let county = w.county_code.as_str().to_owned();
            let site = match &w.resettlement_site {
                Some(name) => {
                    let key = (county.clone(), name.clone());
                    match sites.get(&key) {
                        Some(id) => Some(*id),
                        None => {
                            let id = ensure_site(conn, &county, name)?;
                            sites.insert(key, id);
                            Some(id)
                        }
                    }
                }
                None => None,
            };
            let household = match household_of.get(&w.household_code) {
                Some((id, _)) => *id,
                None => {
                    let id = ensure_household(conn, &w.household_code, &county, site)?;
                    household_of.insert(w.household_code.clone(), (id, county.clone()));
                    id
                }
            };
            match n.id_number_hash.as_ref().and_then(|h| existing.get(h)) {
                Some(e) if e.same_as(&n, w) => outcome.unchanged += 1,
                Some(e) => {
                    let id = e.id;
                    diesel::update(workers::table.find(id))
                        .set((
                            workers::name.eq(&n.name),
                            workers::phone_enc.eq(&n.phone_enc),
                            workers::phone_hash.eq(&n.phone_hash),
                            workers::phone_masked.eq(&n.phone_masked),
                            workers::household_id.eq(household),
                            workers::site_id.eq(site),
                            workers::categories.eq(&n.categories),
                            workers::skills.eq(&n.skills),
                            workers::education.eq(&n.education),
                            workers::graduation_year.eq(n.graduation_year),
                            workers::willing_cross_province.eq(n.willing_cross_province),
                            workers::accepts_offers.eq(n.accepts_offers),
                            workers::seeking_while_employed.eq(n.seeking_while_employed),
                            workers::min_wage.eq(n.min_wage),
                            workers::preferred_county_codes.eq(&n.preferred_county_codes),
                            workers::updated_at.eq(diesel::dsl::now),
                        ))
                        .execute(conn)?;
                    if e.status.as_deref() != Some(w.employment_status.as_str()) {
                        new_facts.push((id, w.employment_status.as_str()));
                    }
                    outcome.updated += 1;
                    touched.push((id, outbox::Topic::WorkerUpdated));
                }
                None => {
                    let id = n.id;
                    new_facts.push((id, w.employment_status.as_str()));
                    new_workers.push(NewWorker { household_id: household, site_id: site, ..n });
                    outcome.created += 1;
                    touched.push((id, outbox::Topic::WorkerCreated));
                }
            }
        }
        for chunk in new_workers.chunks(1000) {
            diesel::insert_into(workers::table).values(chunk).execute(conn)?;
        }
        for chunk in new_facts.chunks(5000) {
            let values: Vec<_> = chunk
                .iter()
                .map(|(id, status)| {
                    (
                        employment_facts::worker_id.eq(*id),
                        employment_facts::status.eq(*status),
                        employment_facts::effective_on.eq(today),
                        employment_facts::source.eq(FactSource::Officer.as_str()),
                    )
                })
                .collect();
            diesel::insert_into(employment_facts::table).values(values).execute(conn)?;
        }
        for chunk in touched.chunks(5000) {
            let ob: Vec<_> =
                chunk.iter().map(|(id, topic)| (*topic, id.to_string(), serde_json::json!({"worker_id": id}))).collect();
            outbox::publish_many(conn, &ob)?;
            let au: Vec<_> = chunk
                .iter()
                .map(|(id, topic)| {
                    (
                        crate::schema::audit_log::actor_org_id.eq(actor.org_id),
                        crate::schema::audit_log::actor_key_id.eq(actor.key_id),
                        crate::schema::audit_log::action.eq(if *topic == outbox::Topic::WorkerCreated {
                            "worker.import_create"
                        } else {
                            "worker.import_update"
                        }),
                        crate::schema::audit_log::entity.eq("worker"),
                        crate::schema::audit_log::entity_id.eq(id.to_string()),
                        crate::schema::audit_log::request_id.eq(actor.request_id.clone()),
                    )
                })
                .collect();
            diesel::insert_into(crate::schema::audit_log::table).values(au).execute(conn)?;
        }
        if dry_run {
            return Err(TxEnd::Rollback(outcome));
        }
        Ok(outcome)
    });
    match result {
        Ok(o) => Ok(o),
        Err(TxEnd::Rollback(o)) => Ok(o),
        Err(TxEnd::Store(e)) => Err(e),
    }
}

/// Ledger rows for export (masked), by county, ordered by id.
pub fn export(conn: &mut PgConnection, county: Option<&str>, today: NaiveDate) -> Result<Vec<WorkerView>, StoreError> {
    Ok(diesel::sql_query(format!(
        "{VIEW_SQL} WHERE w.erased_at IS NULL AND ($2::text IS NULL OR ws.county_code = $2) ORDER BY ws.worker_id"
    ))
    .bind::<Date, _>(today)
    .bind::<Nullable<Text>, _>(county)
    .load(conn)?)
}
