//! Privacy (PIPL): erasure removes or anonymises everything that identifies
//! a worker, and every view of a name, full phone or full ID is audited.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use domain::calendar::YearMonth;
use qianlink_tests::{TestApp, id_number, json, worker_json};
use serde_json::{Value, json};
use std::time::Duration;
use store::audit::Actor;
use uuid::Uuid;

const XINGYI: &str = "522301";
const NAME: &str = "龙小红";
const CHAT: &str = "7001234567";

/// Tables whose rows stay after an erasure, pointing to the anonymous
/// placeholder: the records of public money (a placement is what a subsidy
/// is paid for; its reports are found through it and have no worker_id).
const RETAINED: &[&str] = &["placements", "subsidy_events", "subsidy_blocked_claims"];

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

struct Erasable {
    app: TestApp,
    county: String,
    worker: Uuid,
    job: Uuid,
    placement: Uuid,
    period: String,
    /// Everything that must be gone: name, ID and phone numbers (full and masked), chat id.
    needles: Vec<String>,
}

/// A worker with everything: ledger entry, training, employment facts, a bound
/// Telegram chat with a binding code and dialogue state in Redis, a monitoring
/// answer with income, an offer (and its queued push), a placement with a
/// monthly report; and a second worker who stays.
async fn erasable() -> Erasable {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("兴义市就业局", "county_office", Some(XINGYI)).await;
    let (employer_id, employer) = app.org("兴义顺达电子厂", "employer", None).await;
    let idn = id_number(XINGYI, "19900101", 201);
    let mut body = worker_json(&idn, XINGYI, "HH-P1", "unemployed");
    body["name"] = NAME.into();
    body["skills"] = json!(["装配"]);
    body["seeking_while_employed"] = true.into();
    let phone = body["phone"].as_str().unwrap().to_owned();
    let res = app.post_as(&county, "/v1/workers").json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let worker = Uuid::parse_str(json(res).await["id"].as_str().unwrap()).unwrap();
    let other = worker_json(&id_number(XINGYI, "19880101", 203), XINGYI, "HH-P2", "unemployed");
    assert_eq!(app.post_as(&county, "/v1/workers").json(&other).send().await.unwrap().status(), 201);

    let res = app
        .post_as(&county, &format!("/v1/workers/{worker}/trainings"))
        .json(&json!({"course": "电子装配", "kind": "order", "hours": 40, "completed_on": "2024-03-01", "provider": "兴义职校"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // The chat, bound by the worker's phone (as the bot does), and a code for a second channel.
    {
        let mut conn = app.conn();
        let p = domain::Phone::parse(&phone).unwrap();
        let bound = store::chats::bind_by_phone(&mut conn, &app.state.vault, "telegram", CHAT, &p).unwrap();
        assert_eq!(bound, store::chats::PhoneBinding::Bound(worker));
        store::chats::create_code(&mut conn, &app.state.vault, worker, &Actor::system()).unwrap();
    }
    let shared = bot::shared::Shared::new(app.state.redis.clone());
    shared.save_dialogue("telegram", CHAT, &bot::core::Dialogue::AwaitingContact).await.unwrap();
    shared.reserve(&[CHAT.to_owned()], 30.0, Duration::from_secs(60)).await.unwrap();

    // This month's round (its survey is queued for the bound chat) and the answer.
    let now = YearMonth::of(domain::calendar::today_in_china(chrono::Utc::now()));
    let period = now.to_string();
    let res = app.post_as(&county, "/v1/monitoring-rounds").json(&json!({"period": period})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = app
        .post_as(&county, &format!("/v1/monitoring-rounds/{period}/responses"))
        .json(&json!({"worker_id": worker, "employment_status": "employed", "work_place": "out_of_province",
                      "work_province_code": "440000", "industry": "制造业", "monthly_income": 4800}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    // A job, an offer for it (with its push), a placement and its month's report.
    let j = json!({"title": "电子装配工", "description": "流水线装配", "skills": ["装配"], "work_county_code": XINGYI,
                   "wage_min": 4000, "wage_max": 5000, "openings": 3, "contract_months": 12});
    let res = app.post_as(&employer, "/v1/jobs").json(&j).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let job = Uuid::parse_str(json(res).await["id"].as_str().unwrap()).unwrap();
    {
        let mut conn = app.conn();
        let new = store::matching::NewOffer { job_id: job, worker_id: worker, score: 50.0, reasons: json!([]) };
        assert_eq!(store::matching::queue(&mut conn, &[new], 10, 10, None, &Actor::system()).unwrap().len(), 1);
    }
    let today = domain::calendar::today_in_china(chrono::Utc::now()).to_string();
    let res = app
        .post_as(&employer, "/v1/placements")
        .json(&json!({"worker_id": worker, "employer_org_id": employer_id, "start_date": today, "contract_months": 12,
                      "work_county_code": "441900", "organised_by": "self"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let placement = Uuid::parse_str(json(res).await["id"].as_str().unwrap()).unwrap();
    let res = app
        .post_as(&employer, &format!("/v1/placements/{placement}/reports"))
        .json(&json!({"month": period, "employed": true, "social_insurance_paid": true, "wage": 5000,
                      "note": format!("{NAME}本月出勤良好")}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());

    let id = domain::IdNumber::parse(&idn).unwrap();
    let ph = domain::Phone::parse(&phone).unwrap();
    let needles = vec![NAME.to_owned(), idn.clone(), id.masked(), phone.clone(), ph.masked(), CHAT.to_owned()];
    Erasable { app, county, worker, job, placement, period, needles }
}

impl Erasable {
    fn rows_referencing(&self) -> Vec<(String, i64)> {
        let mut conn = self.app.conn();
        let tables: Vec<Name> = diesel::sql_query(
            "SELECT c.table_name::text AS name FROM information_schema.columns c \
               JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
              WHERE c.table_schema = 'public' AND c.column_name = 'worker_id' AND t.table_type = 'BASE TABLE' \
              ORDER BY 1",
        )
        .load(&mut conn)
        .unwrap();
        assert!(tables.len() >= 10, "the scan found too few tables: {}", tables.len());
        tables
            .into_iter()
            .map(|t| {
                let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {} WHERE worker_id = $1", t.name))
                    .bind::<SqlUuid, _>(self.worker)
                    .get_result(&mut conn)
                    .unwrap();
                (t.name, n.n)
            })
            .collect()
    }

    /// Every row of every table as text, with what it holds of the worker.
    fn text_hits(&self) -> Vec<String> {
        let mut conn = self.app.conn();
        let tables: Vec<Name> = diesel::sql_query(
            "SELECT table_name::text AS name FROM information_schema.tables \
              WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        .load(&mut conn)
        .unwrap();
        let mut hits = Vec::new();
        for t in tables {
            let rows: Vec<Line> =
                diesel::sql_query(format!("SELECT t::text AS line FROM {} t", t.name)).load(&mut conn).unwrap();
            for r in rows {
                for n in &self.needles {
                    if r.line.contains(n.as_str()) {
                        hits.push(format!("{}: a row holds {n:?}", t.name));
                    }
                }
            }
        }
        hits
    }

    /// Every Redis key under the test's prefix and its value, with what holds the worker id or the chat id.
    fn redis_hits(&self) -> Vec<String> {
        let client = redis::Client::open(qianlink_tests::redis_url()).unwrap();
        let mut c = client.get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg(format!("{}*", self.app.redis_prefix)).query(&mut c).unwrap();
        let needles = [self.worker.to_string(), CHAT.to_owned()];
        let mut hits = Vec::new();
        for k in keys {
            let kind: String = redis::cmd("TYPE").arg(&k).query(&mut c).unwrap();
            let value: String = match kind.as_str() {
                "string" => redis::cmd("GET").arg(&k).query::<Option<String>>(&mut c).unwrap().unwrap_or_default(),
                "hash" => redis::cmd("HGETALL").arg(&k).query::<Vec<String>>(&mut c).unwrap().join(" "),
                "list" => redis::cmd("LRANGE").arg(&k).arg(0).arg(-1).query::<Vec<String>>(&mut c).unwrap().join(" "),
                "set" => redis::cmd("SMEMBERS").arg(&k).query::<Vec<String>>(&mut c).unwrap().join(" "),
                "zset" => redis::cmd("ZRANGE").arg(&k).arg(0).arg(-1).query::<Vec<String>>(&mut c).unwrap().join(" "),
                "stream" => {
                    let v: redis::Value = redis::cmd("XRANGE").arg(&k).arg("-").arg("+").query(&mut c).unwrap();
                    format!("{v:?}")
                }
                other => panic!("a Redis key of type {other} the scan cannot read: {k}"),
            };
            for n in &needles {
                if k.contains(n.as_str()) || value.contains(n.as_str()) {
                    hits.push(format!("{k} ({kind}) holds {n}"));
                }
            }
        }
        hits
    }

    async fn report(&self) -> Value {
        let res = self
            .app
            .get_as(&self.county, &format!("/v1/monitoring-rounds/{}/report?county_code={XINGYI}", self.period))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        json(res).await
    }

    async fn candidates(&self) -> Vec<String> {
        let res = self.app.get_as(&self.county, &format!("/v1/jobs/{}/candidates", self.job)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        json(res).await["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["worker_id"].as_str().unwrap().to_owned())
            .collect()
    }

    async fn erase(&self) -> Value {
        let res =
            self.app.delete_as(&self.app.admin_key, &format!("/v1/workers/{}", self.worker)).send().await.unwrap();
        assert_eq!(res.status(), 200);
        json(res).await
    }

    fn assert_nothing_left(&self) {
        let referencing: Vec<(String, i64)> =
            self.rows_referencing().into_iter().filter(|(t, n)| *n > 0 && !RETAINED.contains(&t.as_str())).collect();
        assert!(referencing.is_empty(), "rows still reference the erased worker: {referencing:?}");
        let hits = self.text_hits();
        assert!(hits.is_empty(), "personal data left in the database: {hits:?}");
        let hits = self.redis_hits();
        assert!(hits.is_empty(), "the worker left in Redis: {hits:?}");
    }
}

#[tokio::test]
async fn erasure_leaves_nothing_that_identifies_the_worker_and_can_be_repeated() {
    let w = erasable().await;
    // Before: the scans see the worker everywhere they should.
    let before: std::collections::HashMap<String, i64> = w.rows_referencing().into_iter().collect();
    for t in [
        "bot_chats",
        "bot_binding_codes",
        "bot_queue",
        "employment_facts",
        "monitoring_responses",
        "offers",
        "placements",
        "training_records",
    ] {
        assert!(before.get(t).copied().unwrap_or(0) > 0, "the world has no {t} row for the worker: {before:?}");
    }
    let hits = w.text_hits();
    for n in &w.needles {
        if n != &w.needles[1] && n != &w.needles[3] {
            // Full ID and phone numbers are stored encrypted; the rest is in plain text.
            assert!(hits.iter().any(|h| h.contains(&format!("{n:?}"))), "the text scan does not see {n:?}: {hits:?}");
        }
    }
    assert!(!w.redis_hits().is_empty(), "the Redis scan does not see the chat's state");
    assert!(w.candidates().await.contains(&w.worker.to_string()), "the matcher does not rank the worker");

    let erased = w.erase().await;
    assert_eq!(erased["erased"], true);
    for f in ["name", "id_number_masked", "phone", "birth_date", "gender", "education", "graduation_year", "min_wage"] {
        assert!(erased[f].is_null(), "{f} is still there: {erased}");
    }
    assert_eq!(erased["categories"], json!([]));
    assert_eq!(erased["skills"], json!([]));
    w.assert_nothing_left();
    assert!(!w.candidates().await.contains(&w.worker.to_string()), "the matcher still ranks the erased worker");
    // The records of public money stay, pointing to the placeholder, without the note's name.
    let res = w.app.get_as(&w.app.admin_key, &format!("/v1/placements/{}", w.placement)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["worker_id"], w.worker.to_string());
    assert_eq!(w.app.count("placement_reports"), 1);

    // Again: the same answer, nothing written.
    let (audit, outbox) = (w.app.count("audit_log"), w.app.count("outbox"));
    let again = w.erase().await;
    assert_eq!(again, erased);
    assert_eq!((w.app.count("audit_log"), w.app.count("outbox")), (audit, outbox), "a second erasure wrote something");
    w.assert_nothing_left();
    let erasures: N = diesel::sql_query("SELECT count(*) AS n FROM audit_log WHERE action = 'worker.erase'")
        .get_result(&mut w.app.conn())
        .unwrap();
    assert_eq!(erasures.n, 1);

    // Nothing about the worker can be written any more, by the store or through the API.
    let today = domain::calendar::today_in_china(chrono::Utc::now());
    let e =
        store::workers::add_fact(&mut w.app.conn(), w.worker, "employed", today, domain::worker::FactSource::Officer)
            .unwrap_err();
    assert!(matches!(&e, store::StoreError::Constraint { constraint } if constraint == "worker_erased"), "{e:?}");
    let res = w
        .app
        .post_as(&w.county, &format!("/v1/monitoring-rounds/{}/responses", w.period))
        .json(&json!({"worker_id": w.worker, "employment_status": "unemployed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert_eq!(json(res).await["error"]["code"], "state_conflict");
    w.assert_nothing_left();
}

#[tokio::test]
async fn a_published_month_gives_the_same_figures_after_an_erasure() {
    let w = erasable().await;
    let before = w.report().await;
    // The erased worker counts: labour, employed, an income, a destination, a household.
    assert_eq!(before["labour"], 2, "{before}");
    assert_eq!(before["employed"], 1);
    assert_eq!(before["by_province"], json!({"440000": 1}));
    assert_eq!(before["income_mean"], 4800.0);
    assert_eq!(before["households_with_employed"], 1);
    w.erase().await;
    let after = w.report().await;
    assert_eq!(after, before, "the published month changed");
    let totals: N = diesel::sql_query("SELECT coalesce(sum(n), 0)::bigint AS n FROM monitoring_erased_totals")
        .get_result(&mut w.app.conn())
        .unwrap();
    assert!(totals.n >= 1, "the erasure kept no totals");
    // A second erasure adds nothing to the totals.
    w.erase().await;
    assert_eq!(w.report().await, before);
    let again: N = diesel::sql_query("SELECT coalesce(sum(n), 0)::bigint AS n FROM monitoring_erased_totals")
        .get_result(&mut w.app.conn())
        .unwrap();
    assert_eq!(again.n, totals.n);
}

// ------------------------------------------------------------------ views

struct Viewing {
    app: TestApp,
    county: String,
    employer: String,
    job: Uuid,
    a: Uuid,
    b: Uuid,
    /// The two workers in id order (the order of every page).
    both: Vec<String>,
}

/// Two workers of one household, a job whose poster will see them, no round yet.
async fn viewing() -> Viewing {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("兴义市就业局", "county_office", Some(XINGYI)).await;
    let (_, employer) = app.org("兴义顺达电子厂", "employer", None).await;
    let mut ids = Vec::new();
    for seq in [301, 303] {
        let res = app
            .post_as(&county, "/v1/workers")
            .json(&worker_json(&id_number(XINGYI, "19900101", seq), XINGYI, "HH-V1", "unemployed"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        ids.push(Uuid::parse_str(json(res).await["id"].as_str().unwrap()).unwrap());
    }
    let j = json!({"title": "电焊工", "description": "电焊", "skills": ["电焊"], "work_county_code": XINGYI,
                   "wage_min": 4000, "wage_max": 5000, "openings": 3, "contract_months": 12});
    let res = app.post_as(&employer, "/v1/jobs").json(&j).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let job = Uuid::parse_str(json(res).await["id"].as_str().unwrap()).unwrap();
    let mut both: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    both.sort();
    Viewing { app, county, employer, job, a: ids[0], b: ids[1], both }
}

impl Viewing {
    async fn views(&self, query: &str) -> Vec<Value> {
        let res =
            self.app.get_as(&self.app.admin_key, &format!("/v1/audit?action=worker.view{query}")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        json(res).await["items"].as_array().unwrap().clone()
    }

    /// Run a view and return the one audit entry it wrote (failing on none or several).
    async fn one_entry(&self, req: reqwest::RequestBuilder) -> Value {
        let before = self.views("").await.len();
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        let after = self.views("").await;
        assert_eq!(after.len(), before + 1, "the view wrote {} audit entries", after.len() - before);
        after.last().unwrap().clone()
    }

    async fn no_entry(&self, req: reqwest::RequestBuilder, status: u16) {
        let before = self.views("").await.len();
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), status);
        assert_eq!(self.views("").await.len(), before, "a view without personal data was audited");
    }
}

fn ids_of(e: &Value) -> Vec<String> {
    e["detail"]["worker_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn each_view_of_names_phones_or_id_numbers_is_one_audit_entry() {
    let v = viewing().await;
    let (app, a) = (&v.app, v.a.to_string());

    // One worker, by its county office: name and full phone, the route's purpose.
    let e = v.one_entry(app.get_as(&v.county, &format!("/v1/workers/{a}"))).await;
    assert_eq!(e["entity"], "worker");
    assert_eq!(e["entity_id"], a.as_str());
    assert_eq!(e["detail"]["fields"], json!(["name", "phone"]));
    assert_eq!(ids_of(&e), std::slice::from_ref(&a));
    assert_eq!(e["detail"]["purpose"], "ledger.view");
    assert!(e["actor_org_id"].is_string() && e["actor_key_id"].is_string() && e["at"].is_string());
    // Admin's reveal, with a purpose in the header: the ID number too (one entry, not two).
    let e = v
        .one_entry(
            app.get_as(&app.admin_key, &format!("/v1/workers/{a}?reveal=true"))
                .header("X-Qianlink-Purpose", "identity check"),
        )
        .await;
    assert_eq!(e["detail"]["fields"], json!(["name", "phone", "id_number"]));
    assert_eq!(e["detail"]["purpose"], "identity check");
    // A list: one entry for the page, naming every worker in it; a purpose in the query.
    let e = v.one_entry(app.get_as(&v.county, "/v1/workers?purpose=月度回访")).await;
    assert_eq!(e["entity_id"], "list");
    assert_eq!(e["detail"]["fields"], json!(["name"]));
    assert_eq!(ids_of(&e), v.both);
    assert_eq!(e["detail"]["purpose"], "月度回访");
    assert_eq!(e["detail"]["route"], "GET /v1/workers");
    // The household view and the ledger export.
    let e = v.one_entry(app.get_as(&v.county, "/v1/households/HH-V1")).await;
    assert_eq!((ids_of(&e), e["detail"]["purpose"].clone()), (v.both.clone(), json!("household.view")));
    let e = v.one_entry(app.get_as(&v.county, "/v1/workers/export.xlsx")).await;
    assert_eq!((ids_of(&e), e["detail"]["purpose"].clone()), (v.both.clone(), json!("ledger.export")));
    // The monitoring report's lists name the non-respondents, in JSON and in the workbook.
    let period = YearMonth::of(domain::calendar::today_in_china(chrono::Utc::now())).to_string();
    let res = app.post_as(&v.county, "/v1/monitoring-rounds").json(&json!({"period": period})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    for route in ["report", "report.xlsx"] {
        let e = v.one_entry(app.get_as(&v.county, &format!("/v1/monitoring-rounds/{period}/{route}"))).await;
        assert_eq!(ids_of(&e), v.both);
        assert_eq!(e["detail"]["fields"], json!(["name"]));
        assert_eq!(e["detail"]["purpose"], "monitoring.report");
    }

    // The poster's candidate list is anonymised (no entry) until a worker accepts.
    let cand = format!("/v1/jobs/{}/candidates", v.job);
    v.no_entry(app.get_as(&v.employer, &cand), 200).await;
    {
        let mut conn = app.conn();
        let new = store::matching::NewOffer { job_id: v.job, worker_id: v.a, score: 50.0, reasons: json!([]) };
        let offer = store::matching::queue(&mut conn, &[new], 10, 10, None, &Actor::system()).unwrap()[0].id;
        diesel::sql_query("UPDATE offers SET status = 'accepted', responded_at = now() WHERE id = $1")
            .bind::<SqlUuid, _>(offer)
            .execute(&mut conn)
            .unwrap();
    }
    let e = v.one_entry(app.get_as(&v.employer, &cand)).await;
    assert_eq!(ids_of(&e), std::slice::from_ref(&a), "only the worker who accepted is named");
    assert_eq!(e["detail"]["fields"], json!(["name", "phone"]));
    assert_eq!(e["detail"]["purpose"], "matching.candidates");
    // The county office sees its own workers' ids only (no names): no entry.
    v.no_entry(app.get_as(&v.county, &cand), 200).await;
    // The publication list has no events yet: no names, no entry.
    v.no_entry(app.get_as(&v.county, "/v1/subsidy-events/export.xlsx"), 200).await;
    // A refused read shows nothing and writes nothing.
    let (_, other) = app.org("安龙县就业局", "county_office", Some("522328")).await;
    v.no_entry(app.get_as(&other, &format!("/v1/workers/{a}")), 403).await;

    // The audit route finds every view of a worker, lists included.
    let b_views = v.views(&format!("&id={}", v.b)).await;
    let routes: Vec<&str> = b_views.iter().map(|e| e["detail"]["route"].as_str().unwrap()).collect();
    assert_eq!(
        routes,
        [
            "GET /v1/workers",
            "GET /v1/households/{code}",
            "GET /v1/workers/export.xlsx",
            "GET /v1/monitoring-rounds/{period}/report",
            "GET /v1/monitoring-rounds/{period}/report.xlsx",
        ]
    );
    assert_eq!(v.views(&format!("&id={a}")).await.len(), 8);
    let res = app
        .get_as(&app.admin_key, &format!("/v1/audit?entity=worker&id={a}&action=worker.create"))
        .send()
        .await
        .unwrap();
    assert_eq!(json(res).await["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_purpose_is_checked_and_holds_no_phone_or_id_number() {
    let v = viewing().await;
    let (app, a) = (&v.app, v.a);
    let res = app.get_as(&v.county, &format!("/v1/workers/{a}?purpose={}", "x".repeat(101))).send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(json(res).await["error"]["code"], "invalid_purpose");
    let res =
        app.get_as(&v.county, &format!("/v1/workers/{a}")).header("X-Qianlink-Purpose", "a\tb").send().await.unwrap();
    assert_eq!(res.status(), 400);
    // A bad header is refused beside a good query too (found by make fuzz: the query won unchecked).
    let res = app
        .get_as(&v.county, &format!("/v1/workers/{a}?purpose=ok"))
        .header("X-Qianlink-Purpose", "a\tb")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(json(res).await["error"]["code"], "invalid_purpose");
    // Digit runs of 6 or more (a phone or ID number) are stored as stars.
    let e = v.one_entry(app.get_as(&v.county, &format!("/v1/workers/{a}?purpose=call%2013812345678%20back"))).await;
    assert_eq!(e["detail"]["purpose"], "call *********** back");
    // A blank purpose is none: the route's.
    let e = v.one_entry(app.get_as(&v.county, &format!("/v1/workers/{a}?purpose=%20"))).await;
    assert_eq!(e["detail"]["purpose"], "ledger.view");
    // An erased worker has no name or phone left to show: no entry.
    let res = app.delete_as(&app.admin_key, &format!("/v1/workers/{a}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    v.no_entry(app.get_as(&v.county, &format!("/v1/workers/{a}")), 200).await;
}
