//! Subsidy rules, the milestone scanner and subsidy events.
//!
//! Exactly once by construction: `subsidy_events` has a unique key on
//! (rule, subject), where the subject is the person, placement or training
//! record of the rule's once-per scope; each event and its outbox row are
//! written in one transaction; a scan holds an advisory lock so that one
//! replica scans at a time, and a concurrent writer that slipped past it
//! would still hit the unique key.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox;
use crate::placements::{categories, load_cases};
use crate::schema::{policy_rules, subsidy_blocked_claims, subsidy_events, training_records, workers};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use domain::policy::{OncePer, Payee, Rule};
use domain::subsidy::{
    Claim, Due, TrainingCase, WorkerCase, graduate_decisions, placement_decisions, training_decisions,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

const SCAN_LOCK: i64 = 0x7169_7363_616e; // "qiscan"

// ------------------------------------------------------------------- rules

/// Insert the shipped rule versions that are not there yet.
pub fn seed_rules(conn: &mut PgConnection) -> Result<(), StoreError> {
    let rules = domain::subsidy::shipped_rules().map_err(|e| StoreError::Other(format!("rules/policies.json: {e}")))?;
    for r in rules {
        insert_rule(conn, &r, None)?;
    }
    Ok(())
}

fn insert_rule(conn: &mut PgConnection, r: &Rule, by: Option<Uuid>) -> Result<usize, StoreError> {
    let body = serde_json::to_value(r).map_err(|e| StoreError::Other(e.to_string()))?;
    Ok(diesel::insert_into(policy_rules::table)
        .values((
            policy_rules::id.eq(&r.id),
            policy_rules::version.eq(r.version),
            policy_rules::valid_from.eq(r.valid_from),
            policy_rules::valid_to.eq(r.valid_to),
            policy_rules::county_code.eq(&r.county_code),
            policy_rules::body.eq(body),
            policy_rules::created_by_org_id.eq(by),
        ))
        .on_conflict_do_nothing()
        .execute(conn)?)
}

pub fn rules(conn: &mut PgConnection) -> Result<Vec<Rule>, StoreError> {
    let bodies: Vec<serde_json::Value> =
        policy_rules::table.select(policy_rules::body).order((policy_rules::id, policy_rules::version)).load(conn)?;
    bodies
        .into_iter()
        .map(|b| serde_json::from_value(b).map_err(|e| StoreError::Other(format!("a stored rule is unreadable: {e}"))))
        .collect()
}

/// Add a new version of a rule; its number is one above the newest.
pub fn add_rule(conn: &mut PgConnection, mut r: Rule, actor: &Actor) -> Result<Rule, StoreError> {
    conn.transaction(|conn| {
        diesel::sql_query("LOCK TABLE policy_rules IN SHARE ROW EXCLUSIVE MODE").execute(conn)?;
        let max: Option<i32> = policy_rules::table
            .filter(policy_rules::id.eq(&r.id))
            .select(diesel::dsl::max(policy_rules::version))
            .first(conn)?;
        r.version = max.unwrap_or(0) + 1;
        insert_rule(conn, &r, actor.org_id)?;
        audit::record(
            conn,
            actor,
            "policy.create",
            "policy",
            &format!("{}:{}", r.id, r.version),
            serde_json::json!({}),
        )?;
        Ok(r)
    })
}

// -------------------------------------------------------------------- scan

#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ScanReport {
    pub as_of: Option<NaiveDate>,
    pub placements_scanned: usize,
    pub workers_scanned: usize,
    pub trainings_scanned: usize,
    pub events_created: usize,
    pub blocked_claims: usize,
    pub needs_review: usize,
    pub created_by_rule: BTreeMap<String, usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("another scan is running")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for ScanError {
    fn from(e: diesel::result::Error) -> Self {
        ScanError::Store(e.into())
    }
}

/// Events already written, by (rule, subject), with their placement.
type Existing = HashMap<(String, String), Option<Uuid>>;

struct Writer<'a> {
    existing: Existing,
    blocked: HashSet<(String, String)>,
    report: &'a mut ScanReport,
    as_of: NaiveDate,
    pending: Vec<Due>,
}

impl Writer<'_> {
    fn offer(&mut self, conn: &mut PgConnection, due: Due, once: OncePer) -> Result<(), StoreError> {
        let key = (due.rule_id.clone(), due.subject_key.clone());
        match domain::subsidy::claim(once, self.existing.get(&key).copied(), due.placement_id) {
            Claim::Fire => {
                self.existing.insert(key, due.placement_id);
                self.pending.push(due);
            }
            Claim::Blocked { granted_through: first } => {
                // Due again for the same person through another placement: record why it is refused.
                let claim_key = domain::subsidy::blocked_claim_key(&due);
                if self.blocked.insert((due.rule_id.clone(), claim_key.clone())) {
                    let n = diesel::insert_into(subsidy_blocked_claims::table)
                        .values((
                            subsidy_blocked_claims::rule_id.eq(&due.rule_id),
                            subsidy_blocked_claims::claim_key.eq(&claim_key),
                            subsidy_blocked_claims::reason_code.eq("already_granted_for_person"),
                            subsidy_blocked_claims::payee_kind.eq(payee_str(due.payee_kind)),
                            subsidy_blocked_claims::payee_id.eq(due.payee_id),
                            subsidy_blocked_claims::worker_id.eq(due.worker_id),
                            subsidy_blocked_claims::placement_id.eq(due.placement_id),
                            subsidy_blocked_claims::county_code.eq(&due.county_code),
                            subsidy_blocked_claims::as_of.eq(self.as_of),
                            subsidy_blocked_claims::detail.eq(serde_json::json!({
                                "message": "一次性补贴：此人已因另一岗位获得该项补贴",
                                "granted_through_placement": first,
                                "trace": due.trace,
                            })),
                        ))
                        .on_conflict_do_nothing()
                        .execute(conn)?;
                    self.report.blocked_claims += n;
                }
            }
            Claim::AlreadyFired => {}
        }
        Ok(())
    }

    /// Write pending events with their outbox rows, in one transaction.
    fn flush(&mut self, conn: &mut PgConnection) -> Result<(), StoreError> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.pending);
        let as_of = self.as_of;
        let created: Vec<(Uuid, String)> = conn.transaction(|conn| {
            let rows: Vec<_> = batch
                .iter()
                .map(|d| {
                    (
                        subsidy_events::id.eq(Uuid::now_v7()),
                        subsidy_events::rule_id.eq(&d.rule_id),
                        subsidy_events::rule_version.eq(d.rule_version),
                        subsidy_events::subject_key.eq(&d.subject_key),
                        subsidy_events::payee_kind.eq(payee_str(d.payee_kind)),
                        subsidy_events::payee_id.eq(d.payee_id),
                        subsidy_events::amount.eq(i32::try_from(d.amount).unwrap_or(i32::MAX)),
                        subsidy_events::worker_id.eq(d.worker_id),
                        subsidy_events::placement_id.eq(d.placement_id),
                        subsidy_events::training_id.eq(d.training_id),
                        subsidy_events::county_code.eq(&d.county_code),
                        subsidy_events::deciding_date.eq(d.deciding_date),
                        subsidy_events::as_of.eq(as_of),
                        subsidy_events::trace.eq(&d.trace),
                    )
                })
                .collect();
            let mut created = Vec::new();
            for chunk in rows.chunks(1000) {
                let ids: Vec<(Uuid, String)> = diesel::insert_into(subsidy_events::table)
                    .values(chunk)
                    .on_conflict((subsidy_events::rule_id, subsidy_events::subject_key))
                    .do_nothing()
                    .returning((subsidy_events::id, subsidy_events::rule_id))
                    .get_results(conn)?;
                created.extend(ids);
            }
            let ob: Vec<_> = created
                .iter()
                .map(|(id, _)| {
                    (crate::outbox::Topic::SubsidyEventCreated, id.to_string(), serde_json::json!({"event_id": id}))
                })
                .collect();
            for chunk in ob.chunks(1000) {
                crate::outbox::publish_many(conn, chunk)?;
            }
            Ok::<_, StoreError>(created)
        })?;
        self.report.events_created += created.len();
        for (_, rule) in created {
            *self.report.created_by_rule.entry(rule).or_default() += 1;
        }
        Ok(())
    }
}

pub fn payee_str(p: Payee) -> &'static str {
    match p {
        Payee::Broker => "broker",
        Payee::Worker => "worker",
        Payee::Employer => "employer",
    }
}

/// Scan everything as of `as_of`: placements that reached a milestone,
/// graduates in the ledger, enterprise training records. One scan at a time.
pub fn scan(conn: &mut PgConnection, as_of: NaiveDate, batch: i64) -> Result<ScanReport, ScanError> {
    if !crate::locks::try_lock(conn, SCAN_LOCK)? {
        return Err(ScanError::Busy);
    }
    let result = scan_locked(conn, as_of, batch);
    let _ = crate::locks::unlock(conn, SCAN_LOCK);
    result
}

fn scan_locked(conn: &mut PgConnection, as_of: NaiveDate, batch: i64) -> Result<ScanReport, ScanError> {
    let rules = rules(conn)?;
    let once: HashMap<String, OncePer> = rules.iter().map(|r| (r.id.clone(), r.once_per)).collect();
    let existing: Existing = subsidy_events::table
        .select((subsidy_events::rule_id, subsidy_events::subject_key, subsidy_events::placement_id))
        .load::<(String, String, Option<Uuid>)>(conn)?
        .into_iter()
        .map(|(r, s, p)| ((r, s), p))
        .collect();
    let blocked: HashSet<(String, String)> = subsidy_blocked_claims::table
        .select((subsidy_blocked_claims::rule_id, subsidy_blocked_claims::claim_key))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect();
    let mut report = ScanReport { as_of: Some(as_of), ..ScanReport::default() };
    let mut w = Writer { existing, blocked, report: &mut report, as_of, pending: Vec::new() };
    // Placements.
    let mut after = Uuid::nil();
    loop {
        let cases = load_cases(conn, after, batch, as_of)?;
        let Some(last) = cases.last() else { break };
        after = last.placement_id;
        w.report.placements_scanned += cases.len();
        for c in &cases {
            let d = placement_decisions(c, &rules, as_of);
            if d.needs_review {
                w.report.needs_review += 1;
            }
            for due in d.due {
                let o = once.get(&due.rule_id).copied().unwrap_or(OncePer::Person);
                w.offer(conn, due, o)?;
            }
        }
        w.flush(conn)?;
    }
    // Graduates.
    let grads: Vec<(Uuid, String, Vec<String>, Option<i32>)> = workers::table
        .filter(workers::graduation_year.is_not_null())
        .filter(workers::erased_at.is_null())
        .select((workers::id, workers::county_code, workers::categories, workers::graduation_year))
        .load(conn)?;
    w.report.workers_scanned = grads.len();
    for (id, county, cats, year) in grads {
        let wc =
            WorkerCase { worker_id: id, county_code: county, categories: categories(&cats), graduation_year: year };
        for due in graduate_decisions(&wc, &rules, as_of).due {
            let o = once.get(&due.rule_id).copied().unwrap_or(OncePer::Person);
            w.offer(conn, due, o)?;
        }
    }
    w.flush(conn)?;
    // Enterprise training.
    type TrainingRow =
        (Uuid, Uuid, Option<Uuid>, String, i32, Option<String>, NaiveDate, String, Vec<String>, Option<i32>);
    let trainings: Vec<TrainingRow> = training_records::table
        .inner_join(workers::table)
        .filter(training_records::provider_org_id.is_not_null())
        .filter(training_records::completed_on.le(as_of))
        .select((
            training_records::id,
            training_records::worker_id,
            training_records::provider_org_id,
            training_records::kind,
            training_records::hours,
            training_records::certificate,
            training_records::completed_on,
            workers::county_code,
            workers::categories,
            workers::graduation_year,
        ))
        .load(conn)?;
    w.report.trainings_scanned = trainings.len();
    for (id, worker_id, provider, kind, hours, cert, completed_on, county, cats, year) in trainings {
        let t = TrainingCase {
            training_id: id,
            worker: WorkerCase { worker_id, county_code: county, categories: categories(&cats), graduation_year: year },
            provider_org_id: provider,
            kind,
            hours,
            has_certificate: cert.is_some(),
            completed_on,
        };
        for due in training_decisions(&t, &rules, as_of).due {
            let o = once.get(&due.rule_id).copied().unwrap_or(OncePer::Training);
            w.offer(conn, due, o)?;
        }
    }
    w.flush(conn)?;
    Ok(report)
}

// ------------------------------------------------------------------ events

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = subsidy_events)]
pub struct Event {
    pub id: Uuid,
    pub rule_id: String,
    pub rule_version: i32,
    pub subject_key: String,
    pub payee_kind: String,
    pub payee_id: Uuid,
    pub amount: i32,
    pub worker_id: Uuid,
    pub placement_id: Option<Uuid>,
    pub training_id: Option<Uuid>,
    pub county_code: String,
    pub deciding_date: NaiveDate,
    pub as_of: NaiveDate,
    pub status: String,
    pub trace: serde_json::Value,
    pub reviewed_by_org_id: Option<Uuid>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = subsidy_blocked_claims)]
pub struct BlockedClaim {
    pub id: i64,
    pub rule_id: String,
    pub claim_key: String,
    pub reason_code: String,
    pub payee_kind: String,
    pub payee_id: Uuid,
    pub worker_id: Uuid,
    pub placement_id: Option<Uuid>,
    pub county_code: String,
    pub as_of: NaiveDate,
    pub detail: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct EventFilter {
    pub rule_id: Option<String>,
    pub status: Option<String>,
    pub county_code: Option<String>,
    /// Only events paid to this organisation or worker.
    pub payee_id: Option<Uuid>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub after: Option<Uuid>,
    pub limit: i64,
}

pub fn events(conn: &mut PgConnection, f: &EventFilter) -> Result<Vec<Event>, StoreError> {
    let mut q = subsidy_events::table.select(Event::as_select()).into_boxed();
    if let Some(r) = &f.rule_id {
        q = q.filter(subsidy_events::rule_id.eq(r.clone()));
    }
    if let Some(s) = &f.status {
        q = q.filter(subsidy_events::status.eq(s.clone()));
    }
    if let Some(c) = &f.county_code {
        q = q.filter(subsidy_events::county_code.eq(c.clone()));
    }
    if let Some(p) = f.payee_id {
        q = q.filter(subsidy_events::payee_id.eq(p));
    }
    if let Some(d) = f.from {
        q = q.filter(subsidy_events::deciding_date.ge(d));
    }
    if let Some(d) = f.to {
        q = q.filter(subsidy_events::deciding_date.le(d));
    }
    if let Some(a) = f.after {
        q = q.filter(subsidy_events::id.gt(a));
    }
    Ok(q.order(subsidy_events::id).limit(f.limit).load(conn)?)
}

pub fn event(conn: &mut PgConnection, id: Uuid) -> Result<Event, StoreError> {
    Ok(subsidy_events::table.find(id).select(Event::as_select()).first(conn)?)
}

pub fn events_by_ids(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<Event>, StoreError> {
    Ok(subsidy_events::table.filter(subsidy_events::id.eq_any(ids)).select(Event::as_select()).load(conn)?)
}

pub fn blocked_claims(
    conn: &mut PgConnection,
    payee: Option<Uuid>,
    county: Option<&str>,
    limit: i64,
) -> Result<Vec<BlockedClaim>, StoreError> {
    let mut q = subsidy_blocked_claims::table.select(BlockedClaim::as_select()).into_boxed();
    if let Some(p) = payee {
        q = q.filter(subsidy_blocked_claims::payee_id.eq(p));
    }
    if let Some(c) = county {
        q = q.filter(subsidy_blocked_claims::county_code.eq(c.to_owned()));
    }
    Ok(q.order(subsidy_blocked_claims::id).limit(limit).load(conn)?)
}

/// Approve or reject a pending event.
pub fn review(
    conn: &mut PgConnection,
    id: Uuid,
    approve: bool,
    note: &str,
    actor: &Actor,
) -> Result<Event, StoreError> {
    conn.transaction(|conn| {
        let status: String = subsidy_events::table.find(id).select(subsidy_events::status).for_update().first(conn)?;
        if status != "pending_review" {
            return Err(StoreError::Conflict(format!("the event was already reviewed ({status})")));
        }
        let new = if approve { "approved" } else { "rejected" };
        diesel::update(subsidy_events::table.find(id))
            .set((
                subsidy_events::status.eq(new),
                subsidy_events::reviewed_by_org_id.eq(actor.org_id),
                subsidy_events::reviewed_at.eq(diesel::dsl::now),
                subsidy_events::review_note.eq(note),
            ))
            .execute(conn)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::SubsidyEventReviewed,
            &id.to_string(),
            serde_json::json!({"event_id": id, "status": new}),
        )?;
        audit::record(
            conn,
            actor,
            "subsidy_event.review",
            "subsidy_event",
            &id.to_string(),
            serde_json::json!({"decision": new}),
        )?;
        event(conn, id)
    })
}
