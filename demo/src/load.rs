//! Writing a [`World`] through the store: the same functions the API's
//! handlers call (ledger import, trainings, jobs, placements and their
//! reports and separations, monitoring answers, demand lists), so the
//! outbox, the audit log and the encryption of ID and phone numbers apply.
//! Each phase runs in batches, one transaction per batch, and reports a line
//! with its counts and time.

use crate::world::{self, Person, Place, World};
use anyhow::{Context, anyhow, bail};
use chrono::{NaiveDate, TimeZone, Utc};
use diesel::{Connection, PgConnection};
use domain::calendar::YearMonth;
use domain::job::JobRejection;
use domain::ledger::WorkerDraft;
use domain::worker::{Category, EmploymentStatus, FactSource};
use domain::{IdNumber, OrgKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;
use store::StoreError;
use store::audit::Actor;
use store::vault::Vault;
use uuid::Uuid;

/// A key issued to a demo organisation (shown once, kept in `.local/demo-keys.json`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct DemoKey {
    pub org_id: Uuid,
    pub name: String,
    pub kind: String,
    pub key: String,
}

/// What a generation wrote (or found).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    pub organisations: usize,
    pub organisations_by_kind: BTreeMap<String, usize>,
    pub households: usize,
    pub workers: usize,
    pub sites: usize,
    pub counties: usize,
    pub zero_employment_prone_households: usize,
    pub trainings: usize,
    pub jobs: usize,
    pub jobs_in_guangdong: usize,
    pub jobs_closed: usize,
    pub placements: usize,
    pub separations: usize,
    pub reports: usize,
    pub rounds_opened: usize,
    pub monitoring_answers: usize,
    pub demand_items: usize,
    pub seconds: f64,
}

/// The outcome of [`generate`].
#[derive(Debug, Clone)]
pub struct Generated {
    /// False when the database already held this demo (nothing was written).
    pub fresh: bool,
    pub spec: world::Spec,
    pub counts: Counts,
    /// Keys of every organisation, when `fresh`.
    pub keys: Vec<DemoKey>,
    pub world: World,
    /// The worker to play in `qianlink chat`, and their (synthetic) phone number.
    pub demo_worker: Uuid,
    pub demo_phone: String,
    pub admin_org: Uuid,
}

fn store_err(what: &str) -> impl FnOnce(StoreError) -> anyhow::Error + '_ {
    move |e| anyhow!("{what}: {e}")
}

struct Ids {
    orgs: Vec<Uuid>,
    keys: Vec<Uuid>,
    people: Vec<Uuid>,
    jobs: Vec<Uuid>,
    placements: Vec<Uuid>,
}

impl Ids {
    fn actor(&self, org: usize) -> Actor {
        Actor { org_id: Some(self.orgs[org]), key_id: Some(self.keys[org]), request_id: Some("demo-generate".into()) }
    }
}

/// Generate the demo province into an empty, migrated database, or find the
/// one generated before (never twice). `say` gets one line per phase.
pub fn generate(
    database_url: &str,
    vault: &Vault,
    spec: &world::Spec,
    say: &mut dyn FnMut(&str),
) -> anyhow::Result<Generated> {
    let started = Instant::now();
    let connect = || store::connect(database_url).map_err(store_err("connecting to PostgreSQL (DATABASE_URL)"));
    let conn = &mut connect()?;
    if let Some(detail) = store::demo::marker(conn).map_err(store_err("reading the demo marker"))? {
        let spec: world::Spec = serde_json::from_value(detail["spec"].clone())
            .context("the demo marker in the audit log is unreadable; use a fresh database")?;
        let counts: Counts = serde_json::from_value(detail["counts"].clone()).unwrap_or_default();
        let world = world::build(&spec);
        let (demo_worker, demo_phone, admin_org) = find_demo_worker(conn, vault, &detail, &world)?;
        return Ok(Generated { fresh: false, spec, counts, keys: vec![], world, demo_worker, demo_phone, admin_org });
    }
    let existing = store::demo::worker_count(conn).map_err(store_err("counting workers"))?;
    if existing > 0 {
        bail!(
            "the database already holds {existing} workers that no finished demo generation wrote; \
             the demo writes only into an empty database: point DATABASE_URL at a new one (createdb) or drop this one"
        );
    }
    store::demo::fast_writes(conn).map_err(store_err("setting up the session"))?;
    let mut writers = Vec::new();
    for _ in 0..REPORT_WRITERS {
        let mut c = connect()?;
        store::demo::fast_writes(&mut c).map_err(store_err("setting up the session"))?;
        writers.push(c);
    }
    let world = world::build(spec);
    let mut counts = Counts::default();
    let (divisions, occupations, pairings) =
        store::demo::reference_counts(conn).map_err(store_err("reading the reference data"))?;
    say(&format!(
        "reference data    {divisions} divisions, {occupations} occupations (2022), {pairings} confirmed Guangdong–Guizhou pairings (loaded by the migrations)"
    ));
    let (mut ids, keys) = phase(say, "organisations", |_| write_orgs(conn, &world, &mut counts))?;
    phase(say, "ledger", |_| write_ledger(conn, vault, &world, &mut ids, &mut counts))?;
    phase(say, "trainings", |_| write_trainings(conn, &world, &ids, &mut counts))?;
    phase(say, "jobs", |_| write_jobs(conn, &world, &mut ids, &mut counts))?;
    phase(say, "placements", |say| write_placements(conn, &mut writers, &world, &mut ids, &mut counts, say))?;
    phase(say, "monitoring", |_| write_monitoring(conn, &world, &ids, &mut counts))?;
    phase(say, "demand lists", |_| write_demand(conn, &world, &ids, &mut counts))?;
    counts.seconds = (started.elapsed().as_secs_f64() * 10.0).round() / 10.0;
    store::audit::record(
        conn,
        &ids.actor(world.admin),
        store::demo::MARKER_ACTION,
        "demo",
        &format!("seed:{}", spec.seed),
        serde_json::json!({"spec": spec, "counts": counts, "demo_worker": ids.people[world.demo_person], "admin_org": ids.orgs[world.admin]}),
    )
    .map_err(store_err("writing the demo marker"))?;
    let demo_worker = ids.people[world.demo_person];
    let demo_phone = world.people[world.demo_person].phone.clone();
    let admin_org = ids.orgs[world.admin];
    Ok(Generated { fresh: true, spec: spec.clone(), counts, keys, world, demo_worker, demo_phone, admin_org })
}

fn phase<T>(
    say: &mut dyn FnMut(&str),
    name: &str,
    f: impl FnOnce(&mut dyn FnMut(&str)) -> anyhow::Result<(T, String)>,
) -> anyhow::Result<T> {
    let started = Instant::now();
    let (out, line) = f(&mut *say).with_context(|| format!("demo generation, phase {name}"))?;
    say(&format!("{name:<17} {line}  ({:.1} s)", started.elapsed().as_secs_f64()));
    Ok(out)
}

/// The chat worker and the admin organisation of a demo generated before
/// (by id, as the marker says; the phone number is decrypted from the ledger).
fn find_demo_worker(
    conn: &mut PgConnection,
    vault: &Vault,
    detail: &serde_json::Value,
    world: &World,
) -> anyhow::Result<(Uuid, String, Uuid)> {
    let id = |k: &str| detail[k].as_str().and_then(|s| Uuid::parse_str(s).ok());
    let worker =
        id("demo_worker").ok_or_else(|| anyhow!("the demo marker names no chat worker; use a fresh database"))?;
    let (_, phone) = store::workers::personal(conn, vault, worker).map_err(|_| {
        anyhow!(
            "the demo worker's phone number cannot be decrypted: QIANLINK_DATA_KEY differs from the key the demo data \
             was encrypted with; use the same data key (.local/data_key) or a fresh database"
        )
    })?;
    let phone = phone.ok_or_else(|| anyhow!("the demo worker's record was erased; use a fresh database"))?;
    let admin = match id("admin_org") {
        Some(a) => a,
        None => store::orgs::find_by_name(conn, &world.orgs[world.admin].name)
            .map_err(store_err("finding the demo admin"))?
            .map(|o| o.id)
            .ok_or_else(|| anyhow!("the demo admin organisation is missing; use a fresh database"))?,
    };
    Ok((worker, phone, admin))
}

fn in_tx<T>(conn: &mut PgConnection, f: impl FnOnce(&mut PgConnection) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let mut out = None;
    conn.transaction::<(), TxErr, _>(|conn| {
        out = Some(f(conn).map_err(TxErr::Other)?);
        Ok(())
    })
    .map_err(|e| match e {
        TxErr::Other(e) => e,
        TxErr::Db(e) => anyhow!("database: {e}"),
    })?;
    out.ok_or_else(|| anyhow!("transaction produced nothing"))
}

enum TxErr {
    Other(anyhow::Error),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TxErr {
    fn from(e: diesel::result::Error) -> Self {
        TxErr::Db(e)
    }
}

fn write_orgs(
    conn: &mut PgConnection,
    w: &World,
    counts: &mut Counts,
) -> anyhow::Result<((Ids, Vec<DemoKey>), String)> {
    let (ids, keys) = in_tx(conn, |conn| {
        let mut orgs = Vec::new();
        let mut key_ids = Vec::new();
        let mut keys = Vec::new();
        for o in &w.orgs {
            let (org, key) = store::orgs::create_org_and_key(conn, &o.name, o.kind, o.county, "黔联演示")
                .map_err(store_err("creating an organisation"))?;
            store::audit::record(
                conn,
                &Actor { request_id: Some("demo-generate".into()), ..Actor::system() },
                "organization.create",
                "organization",
                &org.id.to_string(),
                serde_json::json!({"kind": org.kind, "via": "demo"}),
            )
            .map_err(store_err("auditing an organisation"))?;
            orgs.push(org.id);
            key_ids.push(key.info.id);
            keys.push(DemoKey { org_id: org.id, name: org.name, kind: org.kind, key: key.secret });
        }
        let ids = Ids { orgs, keys: key_ids, people: vec![], jobs: vec![], placements: vec![] };
        for (i, o) in w.orgs.iter().enumerate() {
            if o.kind == OrgKind::CoopTeam
                && let Some(c) = o.city
            {
                store::demand::set_team(conn, ids.orgs[i], crate::words::GD_CITIES[c].code, &[], &ids.actor(w.admin))
                    .map_err(store_err("linking a cooperation team to its city"))?;
            }
        }
        Ok((ids, keys))
    })?;
    counts.organisations = w.orgs.len();
    for o in &w.orgs {
        *counts.organisations_by_kind.entry(o.kind.as_str().to_owned()).or_default() += 1;
    }
    let by = counts.organisations_by_kind.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ");
    Ok((
        (ids, keys),
        format!("{} with an API key each ({by}); cooperation teams linked to their Guangdong cities", w.orgs.len()),
    ))
}

fn draft_of(p: &Person, status: EmploymentStatus) -> WorkerDraft {
    WorkerDraft {
        id_number: Some(p.id_number.clone()),
        name: Some(p.name.clone()),
        phone: Some(p.phone.clone()),
        household_code: None,
        resettlement_site: Some(p.site.to_owned()),
        county_code: Some(p.county.to_owned()),
        categories: Some(p.categories.iter().map(|c| c.as_str().to_owned()).collect()),
        skills: Some(p.trade.skills().iter().map(|s| (*s).to_owned()).collect()),
        education: p.education.map(str::to_owned),
        graduation_year: p.graduation_year.map(i64::from),
        employment_status: Some(status.as_str().to_owned()),
        willing_cross_province: Some(p.willing_cross),
        accepts_offers: Some(true),
        seeking_while_employed: Some(p.seeking_while_employed),
        min_wage: p.min_wage.map(i64::from),
        preferred_county_codes: None,
    }
}

/// Import one county's rows as its county office would (the `POST /v1/workers/import` path).
fn import(
    conn: &mut PgConnection,
    vault: &Vault,
    w: &World,
    rows: &[(usize, EmploymentStatus)],
    office: usize,
    actor: &Actor,
    on: NaiveDate,
) -> anyhow::Result<usize> {
    let mut import_rows = Vec::new();
    for (n, (i, status)) in rows.iter().enumerate() {
        let p = &w.people[*i];
        let mut d = draft_of(p, *status);
        d.household_code = Some(w.households[p.household].code.clone());
        let worker = d.validate().map_err(|e| anyhow!("a generated ledger row is invalid: {e:?}"))?;
        import_rows.push(store::workers::ImportRow { row: n + 2, worker });
    }
    let outcome = store::workers::import(
        conn,
        vault,
        store::workers::ImportRequest {
            rows: import_rows,
            errors: vec![],
            scope_county: w.orgs[office].county,
            partial: false,
            dry_run: false,
        },
        actor,
        on,
    )
    .map_err(store_err("importing the ledger"))?;
    if let Some(e) = outcome.errors.first() {
        bail!("the ledger import refused row {} ({}: {})", e.row, e.field, e.problem);
    }
    Ok(outcome.created + outcome.updated)
}

fn write_ledger(
    conn: &mut PgConnection,
    vault: &Vault,
    w: &World,
    ids: &mut Ids,
    counts: &mut Counts,
) -> anyhow::Result<((), String)> {
    let offices: HashMap<&str, usize> =
        w.orgs.iter().enumerate().filter_map(|(i, o)| o.county.map(|c| (c, i))).collect();
    let mut by_county: BTreeMap<&str, Vec<(usize, EmploymentStatus)>> = BTreeMap::new();
    for (i, p) in w.people.iter().enumerate() {
        by_county.entry(p.county).or_default().push((i, p.status));
    }
    for (county, rows) in &by_county {
        let office = *offices.get(county).ok_or_else(|| anyhow!("no county office for {county}"))?;
        let actor = ids.actor(office);
        in_tx(conn, |conn| import(conn, vault, w, rows, office, &actor, world::ledger_date()))?;
    }
    // The yearly ledger update: graduates of the year are now looking for work.
    let mut graduates = 0;
    for year in 2022..=2024 {
        let mut by_county: BTreeMap<&str, Vec<(usize, EmploymentStatus)>> = BTreeMap::new();
        for (i, p) in w.people.iter().enumerate().filter(|(_, p)| p.graduation_year == Some(year)) {
            by_county.entry(p.county).or_default().push((i, EmploymentStatus::Unemployed));
        }
        for (county, rows) in &by_county {
            let office = *offices.get(county).ok_or_else(|| anyhow!("no county office for {county}"))?;
            let actor = ids.actor(office);
            graduates += in_tx(conn, |conn| import(conn, vault, w, rows, office, &actor, world::date(year, 7, 1)))?;
        }
    }
    let numbers: Vec<IdNumber> = w
        .people
        .iter()
        .map(|p| IdNumber::parse(&p.id_number).map_err(|e| anyhow!("a generated ID number is invalid: {e}")))
        .collect::<anyhow::Result<_>>()?;
    ids.people = store::workers::ids_by_id_number(conn, vault, &numbers)
        .map_err(store_err("reading back the worker ids"))?
        .into_iter()
        .enumerate()
        .map(|(i, id)| id.ok_or_else(|| anyhow!("worker {i} was not imported")))
        .collect::<anyhow::Result<_>>()?;
    counts.workers = w.people.len();
    counts.households = w.households.len();
    counts.zero_employment_prone_households = w.households.iter().filter(|h| h.hard).count();
    let sites: std::collections::BTreeSet<(&str, &str)> = w.people.iter().map(|p| (p.county, p.site)).collect();
    counts.sites = sites.len();
    counts.counties = by_county.len();
    let prefectures: std::collections::BTreeSet<&str> = w.people.iter().map(|p| &p.county[..4]).collect();
    let cat = |c: Category| w.people.iter().filter(|p| p.has(c)).count();
    Ok((
        (),
        format!(
            "{} workers in {} households at {} resettlement sites in {} counties of {} prefectures \
             (returning {}, graduates {}, hardship {}, poverty-alleviated {}, monitored {}); \
             imported by each county office as of {}, {graduates} graduates updated on 1 July of their year",
            w.people.len(),
            w.households.len(),
            sites.len(),
            by_county.len(),
            prefectures.len(),
            cat(Category::Returning),
            cat(Category::Graduate),
            cat(Category::Hardship),
            cat(Category::PovertyAlleviated),
            cat(Category::Monitored),
            world::ledger_date()
        ),
    ))
}

fn write_trainings(conn: &mut PgConnection, w: &World, ids: &Ids, counts: &mut Counts) -> anyhow::Result<((), String)> {
    let offices: HashMap<&str, usize> =
        w.orgs.iter().enumerate().filter_map(|(i, o)| o.county.map(|c| (c, i))).collect();
    for chunk in w.trainings.chunks(500) {
        in_tx(conn, |conn| {
            for t in chunk {
                let p = &w.people[t.person];
                let office = offices.get(p.county).copied().unwrap_or(w.admin);
                let provider = match t.provider_org {
                    Some(o) => w.orgs[o].name.clone(),
                    None => t.provider.clone(),
                };
                store::workers::add_training(
                    conn,
                    ids.people[t.person],
                    &store::workers::NewTraining {
                        course: t.course.clone(),
                        kind: t.kind.to_owned(),
                        occupation_code: Some(t.occupation.to_owned()),
                        skills: t.skills.clone(),
                        hours: t.hours,
                        certificate: t.certificate.map(str::to_owned),
                        completed_on: t.completed_on,
                        provider,
                        provider_org_id: t.provider_org.map(|o| ids.orgs[o]),
                    },
                    &ids.actor(office),
                )
                .map_err(store_err("adding a training record"))?;
            }
            Ok(())
        })?;
    }
    counts.trainings = w.trainings.len();
    let by_enterprise = w.trainings.iter().filter(|t| t.provider_org.is_some()).count();
    Ok(((), format!("{} training records ({by_enterprise} given by enterprises)", w.trainings.len())))
}

fn write_jobs(conn: &mut PgConnection, w: &World, ids: &mut Ids, counts: &mut Counts) -> anyhow::Result<((), String)> {
    for chunk in w.jobs.chunks(250) {
        let made = in_tx(conn, |conn| {
            let mut made = Vec::new();
            for j in chunk {
                let valid = match j.draft.validate() {
                    Ok(v) => v,
                    Err(JobRejection::Invalid(p) | JobRejection::Discriminatory(p)) => {
                        bail!("a generated job was refused: {p:?}")
                    }
                };
                let problems = store::jobs::check_refs(conn, &valid).map_err(store_err("checking a job's codes"))?;
                if !problems.is_empty() {
                    bail!("a generated job has unknown codes: {problems:?}");
                }
                let job = store::jobs::create(conn, ids.orgs[j.poster], &valid, &ids.actor(j.poster))
                    .map_err(store_err("posting a job"))?;
                made.push(job.row.id);
            }
            Ok(made)
        })?;
        ids.jobs.extend(made);
    }
    counts.jobs = w.jobs.len();
    counts.jobs_in_guangdong = w.jobs.iter().filter(|j| j.gd()).count();
    Ok((
        (),
        format!(
            "{} jobs ({} in Guangdong posted by the cooperation teams, {} in Guizhou)",
            w.jobs.len(),
            counts.jobs_in_guangdong,
            w.jobs.len() - counts.jobs_in_guangdong
        ),
    ))
}

/// Connections that write the monthly reports at once (disjoint workers each).
const REPORT_WRITERS: usize = 2;

enum Event {
    Leave(usize),
    Start(usize),
}

fn write_placements(
    conn: &mut PgConnection,
    writers: &mut [PgConnection],
    w: &World,
    ids: &mut Ids,
    counts: &mut Counts,
    say: &mut dyn FnMut(&str),
) -> anyhow::Result<((), String)> {
    let as_of = world::as_of();
    let mut by_month: BTreeMap<YearMonth, Vec<(NaiveDate, u8, Event)>> = BTreeMap::new();
    let mut reports: BTreeMap<YearMonth, Vec<usize>> = BTreeMap::new();
    for (i, pl) in w.placements.iter().enumerate() {
        by_month.entry(YearMonth::of(pl.start)).or_default().push((pl.start, 1, Event::Start(i)));
        if let Some((e, _)) = pl.end {
            by_month.entry(YearMonth::of(e)).or_default().push((e, 0, Event::Leave(i)));
        }
        for m in pl.report_months() {
            reports.entry(m).or_default().push(i);
        }
    }
    let mut placement_ids: Vec<Option<Uuid>> = vec![None; w.placements.len()];
    let first = YearMonth::new(2022, 1).ok_or_else(|| anyhow!("bad month"))?;
    let mut month = first;
    let (mut n_reports, mut n_leaves) = (0usize, 0usize);
    let started = Instant::now();
    while month <= YearMonth::of(as_of) {
        let mut events = by_month.remove(&month).unwrap_or_default();
        events.sort_by_key(|(d, order, e)| {
            (
                *d,
                *order,
                match e {
                    Event::Leave(i) | Event::Start(i) => *i,
                },
            )
        });
        let month_reports = reports.remove(&month).unwrap_or_default();
        in_tx(conn, |conn| {
            for (_, _, e) in &events {
                match e {
                    Event::Start(i) => {
                        let pl = &w.placements[*i];
                        let new = store::placements::NewPlacement {
                            worker_id: ids.people[pl.person],
                            job_id: pl.job.map(|j| ids.jobs[j]),
                            employer_org_id: ids.orgs[pl.employer],
                            broker_org_id: pl.broker.map(|b| ids.orgs[b]),
                            start_date: pl.start,
                            contract_months: pl.contract_months,
                            work_county_code: pl.county.to_owned(),
                            organised_by: pl.organised_by.to_owned(),
                        };
                        let row =
                            store::placements::create(conn, &new, ids.orgs[pl.registrar], &ids.actor(pl.registrar))
                                .map_err(store_err("registering a placement"))?;
                        placement_ids[*i] = Some(row.id);
                    }
                    Event::Leave(i) => {
                        let pl = &w.placements[*i];
                        let (on, reason) = pl.end.ok_or_else(|| anyhow!("a separation without a date"))?;
                        let id = placement_ids[*i].ok_or_else(|| anyhow!("a separation before its placement"))?;
                        let (by, source) = reporter(pl);
                        store::placements::separate(
                            conn,
                            id,
                            &store::placements::NewSeparation { on, reason, source },
                            Some(ids.orgs[by]),
                            &ids.actor(by),
                            as_of,
                        )
                        .map_err(store_err("recording a separation"))?;
                        n_leaves += 1;
                    }
                }
            }
            Ok(())
        })?;
        // The month's reports, on several connections at once (disjoint workers).
        let n = writers.len().max(1);
        let mut parts: Vec<Vec<usize>> = vec![Vec::new(); n];
        for i in &month_reports {
            parts[w.placements[*i].person % n].push(*i);
        }
        let (pids, shared): (&[Option<Uuid>], &Ids) = (&placement_ids, ids);
        let written: Vec<anyhow::Result<usize>> = std::thread::scope(|sc| {
            let handles: Vec<_> = writers
                .iter_mut()
                .zip(&parts)
                .map(|(c, part)| sc.spawn(move || in_tx(c, |c| write_reports(c, w, shared, pids, month, part))))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err(anyhow!("a report writer panicked")))).collect()
        });
        for r in written {
            n_reports += r?;
        }
        if month.month() == 12 {
            say(&format!(
                "  placements {}: {n_reports} monthly reports and {n_leaves} separations so far ({:.1} s)",
                month.year(),
                started.elapsed().as_secs_f64()
            ));
        }
        month = month.succ();
    }
    ids.placements = placement_ids.into_iter().map(|p| p.unwrap_or_default()).collect();
    // Jobs that were filled or withdrawn are closed at the end.
    let mut closed = 0;
    in_tx(conn, |conn| {
        for (j, job) in w.jobs.iter().enumerate().filter(|(_, j)| j.close_at_end) {
            store::jobs::close(conn, ids.jobs[j], &ids.actor(job.poster)).map_err(store_err("closing a job"))?;
            closed += 1;
        }
        Ok(())
    })?;
    counts.placements = w.placements.len();
    counts.separations = n_leaves;
    counts.reports = n_reports;
    counts.jobs_closed = closed;
    let gd = w.placements.iter().filter(|p| p.county.starts_with("44")).count();
    let brokered = w.placements.iter().filter(|p| p.broker.is_some()).count();
    let gaps = w.placements.iter().filter(|p| p.gap.is_some()).count();
    let conflicts = w.placements.iter().filter(|p| p.conflict.is_some()).count();
    Ok((
        (),
        format!(
            "{} placements 2022–2024 ({gd} in Guangdong, {brokered} organised by brokers or teams), {n_reports} monthly reports \
             ({gaps} placements miss a month, {conflicts} have a contradicting check-in), {n_leaves} separations; {closed} jobs closed",
            w.placements.len()
        ),
    ))
}

/// One month's reports for these placements (the employer's or broker's, and
/// a worker's contradicting check-in where the world has one).
fn write_reports(
    conn: &mut PgConnection,
    w: &World,
    ids: &Ids,
    pids: &[Option<Uuid>],
    month: YearMonth,
    list: &[usize],
) -> anyhow::Result<usize> {
    let as_of = world::as_of();
    let mut n = 0;
    for i in list {
        let pl = &w.placements[*i];
        let id = pids[*i].ok_or_else(|| anyhow!("a report before its placement"))?;
        let (by, source) = reporter(pl);
        let r = store::placements::NewReport {
            month,
            source,
            employed: true,
            social_insurance_paid: Some(pl.insured),
            wage: Some(pl.wage_in(month)),
            note: None,
        };
        store::placements::add_report(conn, id, &r, Some(ids.orgs[by]), &ids.actor(by), as_of)
            .map_err(store_err("recording a monthly report"))?;
        n += 1;
        if pl.conflict == Some(month) {
            let r = store::placements::NewReport {
                month,
                source: FactSource::WorkerCheckin,
                employed: false,
                social_insurance_paid: None,
                wage: None,
                note: Some("工人在月度在岗确认中说已不在该单位".into()),
            };
            store::placements::add_report(conn, id, &r, None, &Actor::system(), as_of)
                .map_err(store_err("recording a check-in"))?;
        }
    }
    Ok(n)
}

/// Who reports on a placement, and as what source.
fn reporter(pl: &world::Placement) -> (usize, FactSource) {
    match pl.broker {
        Some(b) if pl.broker_reports => (b, FactSource::BrokerReport),
        _ => (pl.employer, FactSource::EmployerReport),
    }
}

/// What a worker would answer in the round of `m` (None: not asked).
fn truth(w: &World, spells: &[Vec<usize>], i: usize, m: YearMonth) -> Option<store::monitoring::Answer> {
    let p = &w.people[i];
    let mine = || spells[i].iter().map(|j| &w.placements[*j]);
    let end = m.last_day();
    let age = p.age_on(end);
    if !(16..=60).contains(&age) {
        return None;
    }
    let answer = |status: EmploymentStatus, place: Option<Place>, industry: Option<&str>, income: Option<i32>| {
        let province = match place {
            Some(Place::OutOfProvince) => Some(["330000", "350000", "440000", "440000", "440000"][i % 5].to_owned()),
            Some(_) => Some(domain::division::GUIZHOU.to_owned()),
            None => None,
        };
        Some(store::monitoring::Answer {
            worker_id: Uuid::nil(),
            employment_status: status.as_str().to_owned(),
            work_place: place.map(|p| p.as_str().to_owned()),
            work_province_code: province,
            industry: industry.map(str::to_owned),
            monthly_income: income,
            income_band: None,
            source: "officer",
        })
    };
    if let Some(pl) = mine().find(|pl| pl.active_on(end)) {
        let trade = pl.job.map(|j| w.jobs[j].trade).unwrap_or(p.trade);
        let mut a = answer(
            EmploymentStatus::Employed,
            Some(Place::of(p.county, pl.county)),
            Some(trade.industry()),
            Some(pl.wage_in(m)),
        )?;
        if pl.county.starts_with("44") {
            a.work_province_code = Some("440000".into());
        }
        return Some(a);
    }
    let graduated = p.graduation_year.is_some_and(|y| world::date(y, 7, 1) <= end);
    let placed_before = mine().any(|pl| pl.start <= end);
    match p.status {
        EmploymentStatus::Student if !graduated => None,
        EmploymentStatus::UnableToWork => None,
        EmploymentStatus::Employed | EmploymentStatus::SelfEmployed | EmploymentStatus::PublicWelfarePost
            if !placed_before =>
        {
            if p.returns_home.is_some_and(|r| r <= m) {
                return answer(EmploymentStatus::Unemployed, None, None, None);
            }
            let (place, income) = p.own_work?;
            // Incomes of own work grow with the county (+6 % to +20 % a year).
            let years = f64::from(m.year() - 2022) + f64::from(m.month()) / 12.0;
            let growth = 1.06 + 0.14 * f64::from(p.county.as_bytes()[5] % 5) / 4.0;
            let income = (f64::from(income) * growth.powf(years) / 10.0).round() as i32 * 10;
            let industry = match p.status {
                EmploymentStatus::PublicWelfarePost => "公共管理和社会组织",
                EmploymentStatus::SelfEmployed => "批发和零售业",
                _ => p.trade.industry(),
            };
            answer(p.status, Some(place), Some(industry), Some(income))
        }
        _ => answer(EmploymentStatus::Unemployed, None, None, None),
    }
}

fn write_monitoring(
    conn: &mut PgConnection,
    w: &World,
    ids: &Ids,
    counts: &mut Counts,
) -> anyhow::Result<((), String)> {
    let admin = ids.actor(w.admin);
    let mut opened = 0;
    in_tx(conn, |conn| {
        let mut m = YearMonth::new(2022, 1).ok_or_else(|| anyhow!("bad month"))?;
        while m <= YearMonth::of(world::as_of()) {
            store::monitoring::open_round(conn, m, domain::division::GUIZHOU, &admin)
                .map_err(store_err("opening a monitoring round"))?;
            opened += 1;
            m = m.succ();
        }
        Ok(())
    })?;
    let offices: HashMap<&str, usize> =
        w.orgs.iter().enumerate().filter_map(|(i, o)| o.county.map(|c| (c, i))).collect();
    let mut spells: Vec<Vec<usize>> = vec![Vec::new(); w.people.len()];
    for (j, pl) in w.placements.iter().enumerate() {
        spells[pl.person].push(j);
    }
    let mut answers = 0;
    for round in world::answered_rounds() {
        let mut rng = ChaCha8Rng::seed_from_u64(w.spec.seed ^ (round.year() as u64 * 100 + u64::from(round.month())));
        let mut by_county: BTreeMap<&str, Vec<store::monitoring::Answer>> = BTreeMap::new();
        for (i, p) in w.people.iter().enumerate() {
            let responds = rng.random_bool(0.9);
            if let Some(mut a) = truth(w, &spells, i, round)
                && responds
            {
                a.worker_id = ids.people[i];
                by_county.entry(p.county).or_default().push(a);
            }
        }
        in_tx(conn, |conn| {
            for (county, list) in &by_county {
                let office = offices.get(county).copied().unwrap_or(w.admin);
                answers += store::monitoring::answer(conn, round, list, &ids.actor(office), world::as_of())
                    .map_err(store_err("recording monitoring answers"))?;
            }
            Ok(())
        })?;
    }
    counts.rounds_opened = opened;
    counts.monitoring_answers = answers;
    let rounds: Vec<String> = world::answered_rounds().iter().map(|r| r.to_string()).collect();
    Ok((
        (),
        format!(
            "{opened} monthly rounds opened (2022-01 to 2024-12); {answers} answers from the county offices in the rounds {}",
            rounds.join(", ")
        ),
    ))
}

fn write_demand(conn: &mut PgConnection, w: &World, ids: &Ids, counts: &mut Counts) -> anyhow::Result<((), String)> {
    // Saved on 20 October and submitted on 25 October, before the 31 October deadline.
    let saved = Utc.with_ymd_and_hms(world::DEMAND_YEAR, 10, 20, 2, 0, 0).single().unwrap_or_else(Utc::now);
    let submitted = Utc.with_ymd_and_hms(world::DEMAND_YEAR, 10, 25, 2, 0, 0).single().unwrap_or_else(Utc::now);
    let mut items_total = 0;
    let mut jobs_made = 0;
    in_tx(conn, |conn| {
        for (team, drafts) in &w.demand {
            let items = domain::demand::validate_items(drafts)
                .map_err(|p| anyhow!("a generated demand list is invalid: {p:?}"))?;
            let actor = ids.actor(*team);
            store::demand::save(conn, ids.orgs[*team], world::DEMAND_YEAR, &items, "edit", &actor, saved)
                .map_err(store_err("saving a demand list"))?;
            let mut jobs = HashMap::new();
            for item in &items {
                if let Some(d) = item.job_draft() {
                    let v = d.validate().map_err(|_| anyhow!("a demand item's job is invalid"))?;
                    jobs.insert(item.ref_().to_owned(), v);
                }
            }
            jobs_made += jobs.len();
            store::demand::submit(conn, ids.orgs[*team], world::DEMAND_YEAR, &jobs, &actor, submitted)
                .map_err(store_err("submitting a demand list"))?;
            items_total += items.len();
        }
        Ok(())
    })?;
    counts.demand_items = items_total;
    Ok((
        (),
        format!(
            "{} cooperation teams saved and submitted their {} lists before 31 October: {items_total} items, {jobs_made} employment items became jobs",
            w.demand.len(),
            world::DEMAND_YEAR
        ),
    ))
}
