//! Placements, evidence, milestones and subsidy events (#7), end to end over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use chrono::NaiveDate;
use qianlink_tests::{TestApp, eventually, id_number, json, worker_json};
use serde_json::{Value, json};

const ANLONG: &str = "522328";

struct World {
    app: TestApp,
    county: String,
    employer: String,
    employer_id: String,
    broker: String,
    broker_id: String,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("安龙县就业局", "county_office", Some(ANLONG)).await;
    let (employer_id, employer) = app.org("东莞某电子厂", "employer", None).await;
    let (broker_id, broker) = app.org("安龙县劳务公司", "broker", None).await;
    World { app, county, employer, employer_id, broker, broker_id }
}

impl World {
    async fn worker(&self, seq: u32, categories: &[&str]) -> String {
        let mut w = worker_json(&id_number(ANLONG, "19900101", seq), ANLONG, &format!("HH-{seq}"), "unemployed");
        w["categories"] = json!(categories);
        let res = self.app.post_as(&self.county, "/v1/workers").json(&w).send().await.unwrap();
        assert_eq!(res.status(), 201);
        json(res).await["id"].as_str().unwrap().to_owned()
    }

    async fn place(&self, key: &str, worker: &str, start: &str, contract: i64, county: &str) -> String {
        let body = json!({"worker_id": worker, "employer_org_id": self.employer_id, "broker_org_id": self.broker_id,
                          "start_date": start, "contract_months": contract, "work_county_code": county, "organised_by": "broker"});
        let res = self.app.post_as(key, "/v1/placements").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        json(res).await["id"].as_str().unwrap().to_owned()
    }

    async fn report(
        &self,
        key: &str,
        placement: &str,
        month: &str,
        employed: bool,
        insured: bool,
    ) -> reqwest::Response {
        self.app
            .post_as(key, &format!("/v1/placements/{placement}/reports"))
            .json(&json!({"month": month, "employed": employed, "social_insurance_paid": insured, "wage": 5200}))
            .send()
            .await
            .unwrap()
    }

    async fn months(&self, placement: &str, from: &str, n: usize, insured: bool) {
        let mut m = domain::calendar::YearMonth::parse(from).unwrap();
        for _ in 0..n {
            let res = self.report(&self.employer, placement, &m.to_string(), true, insured).await;
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
            m = m.succ();
        }
    }

    async fn scan(&self, as_of: &str) -> Value {
        let res =
            self.app.post_as(&self.app.admin_key, &format!("/v1/milestones/scan?as_of={as_of}")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        json(res).await
    }

    async fn events(&self, key: &str, query: &str) -> Vec<Value> {
        let res = self.app.get_as(key, &format!("/v1/subsidy-events{query}")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        json(res).await["items"].as_array().unwrap().clone()
    }
}

/// Run relay steps until `want` events were published (or 20 s passed):
/// transaction ids are cluster-wide, so another test's open transaction may
/// hold the outbox horizon back for a moment.
async fn relay_until(app: &TestApp, want: usize) -> usize {
    let mut total = 0;
    eventually(&format!("{want} events published"), async || {
        let state = app.state.clone();
        let n = tokio::task::spawn_blocking(move || app::tasks::relay_once(&state)).await.unwrap().unwrap();
        total += n.unwrap_or(0);
        if total >= want { Ok(()) } else { Err(total) }
    })
    .await;
    total
}

fn rules_of(events: &[Value]) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> =
        events.iter().map(|e| (e["rule_id"].as_str().unwrap().to_owned(), e["amount"].as_i64().unwrap())).collect();
    v.sort();
    v
}

#[tokio::test]
async fn placements_are_registered_by_those_involved_and_fill_openings() {
    let w = world().await;
    let worker = w.worker(101, &["relocated"]).await;
    let (_, other_employer) = w.app.org("另一厂", "employer", None).await;
    let (_, other_county) = w.app.org("兴义市就业局", "county_office", Some("522301")).await;
    let body = json!({"worker_id": worker, "employer_org_id": w.employer_id, "broker_org_id": w.broker_id,
                      "start_date": "2024-01-02", "contract_months": 12, "work_county_code": "441900", "organised_by": "broker"});
    assert_eq!(w.app.post_as(&other_employer, "/v1/placements").json(&body).send().await.unwrap().status(), 403);
    assert_eq!(w.app.post_as(&other_county, "/v1/placements").json(&body).send().await.unwrap().status(), 403);
    let mut bad = body.clone();
    bad["organised_by"] = "broker".into();
    bad.as_object_mut().unwrap().remove("broker_org_id");
    let res = w.app.post_as(&w.app.admin_key, "/v1/placements").json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let mut bad = body.clone();
    bad["employer_org_id"] = w.broker_id.clone().into();
    assert_eq!(w.app.post_as(&w.app.admin_key, "/v1/placements").json(&bad).send().await.unwrap().status(), 422);
    let mut bad = body.clone();
    bad["start_date"] = "2999-01-01".into();
    assert_eq!(w.app.post_as(&w.employer, "/v1/placements").json(&bad).send().await.unwrap().status(), 422);
    // A job with one opening takes one placement.
    let job = json(
        w.app
            .post_as(&w.employer, "/v1/jobs")
            .json(&json!({"title": "普工", "work_county_code": "441900", "wage_min": 4000, "wage_max": 5000, "openings": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut with_job = body.clone();
    with_job["job_id"] = job["id"].clone();
    let res = w.app.post_as(&w.broker, "/v1/placements").json(&with_job).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let p = json(res).await;
    let second = w.worker(102, &["relocated"]).await;
    with_job["worker_id"] = second.clone().into();
    let res = w.app.post_as(&w.broker, "/v1/placements").json(&with_job).send().await.unwrap();
    assert_eq!(res.status(), 409);
    // The worker's status is the most recent dated fact: the officer registered
    // them unemployed today, after this placement's (past) start date...
    let got = json(w.app.get_as(&w.county, &format!("/v1/workers/{worker}")).send().await.unwrap()).await;
    assert_eq!(got["employment_status"], "unemployed");
    // ...while a placement that starts today makes them employed.
    let third = w.worker(103, &["relocated"]).await;
    let mut now = body.clone();
    now["worker_id"] = third.clone().into();
    now["start_date"] = domain::calendar::today_in_china(chrono::Utc::now()).to_string().into();
    assert_eq!(w.app.post_as(&w.employer, "/v1/placements").json(&now).send().await.unwrap().status(), 201);
    let got = json(w.app.get_as(&w.county, &format!("/v1/workers/{third}")).send().await.unwrap()).await;
    assert_eq!(got["employment_status"], "employed");
    // Reports: the employer and the broker; not other organisations.
    let pid = p["id"].as_str().unwrap();
    assert_eq!(w.report(&w.employer, pid, "2024-01", true, true).await.status(), 201);
    assert_eq!(w.report(&w.broker, pid, "2024-01", true, true).await.status(), 201);
    assert_eq!(w.report(&other_employer, pid, "2024-01", true, true).await.status(), 403);
    assert_eq!(w.report(&w.county, pid, "2024-01", true, true).await.status(), 403);
    assert_eq!(w.report(&w.employer, pid, "2023-12", true, true).await.status(), 422);
    assert_eq!(w.report(&w.employer, pid, "2999-01", true, true).await.status(), 422);
    assert_eq!(w.report(&w.employer, pid, "2024-13", true, true).await.status(), 422);
    let detail = json(w.app.get_as(&w.broker, &format!("/v1/placements/{pid}")).send().await.unwrap()).await;
    let sources: Vec<&str> =
        detail["evidence"].as_array().unwrap().iter().map(|e| e["source"].as_str().unwrap()).collect();
    assert_eq!(sources, ["employer_report", "broker_report"]);
    assert_eq!(detail["months"]["2024-01"]["verdict"], "counts");
    assert_eq!(w.app.get_as(&other_employer, &format!("/v1/placements/{pid}")).send().await.unwrap().status(), 403);
    // Separation ends the placement and frees the opening.
    let res = w
        .app
        .post_as(&w.employer, &format!("/v1/placements/{pid}/separation"))
        .json(&json!({"date": "2024-02-10", "reason": "合同到期前离职"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["separated_on"], "2024-02-10");
    let res = w
        .app
        .post_as(&w.employer, &format!("/v1/placements/{pid}/separation"))
        .json(&json!({"date": "2024-02-11", "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let res = w.app.post_as(&w.broker, "/v1/placements").json(&with_job).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let list = json(w.app.get_as(&w.employer, "/v1/placements").send().await.unwrap()).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let list = json(w.app.get_as(&other_employer, "/v1/placements").send().await.unwrap()).await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn three_months_of_insured_cross_province_work_fire_two_subsidies_once() {
    let w = world().await;
    let worker = w.worker(101, &["relocated", "poverty_alleviated"]).await;
    let pid = w.place(&w.broker, &worker, "2024-01-15", 12, "441900").await;
    w.months(&pid, "2024-01", 3, true).await;
    // 2024-01-15 + 3 months = 2024-04-15 needs a report for April too.
    let r = w.scan("2024-04-30").await;
    assert_eq!(r["events_created"], 0, "{r}");
    w.months(&pid, "2024-04", 1, true).await;
    let r = w.scan("2024-04-14").await;
    assert_eq!(r["events_created"], 0, "a day before the milestone: {r}");
    let r = w.scan("2024-04-30").await;
    assert_eq!(r["events_created"], 2, "{r}");
    let events = w.events(&w.app.admin_key, "").await;
    assert_eq!(rules_of(&events), [("cross_province_transport".into(), 500), ("follow_up_service".into(), 500)]);
    let fus = events.iter().find(|e| e["rule_id"] == "follow_up_service").unwrap();
    assert_eq!(fus["payee_kind"], "broker");
    assert_eq!(fus["payee_id"], w.broker_id.as_str());
    assert_eq!(fus["status"], "pending_review");
    // Scanning again writes nothing.
    let r = w.scan("2024-12-31").await;
    assert_eq!(r["events_created"], 0);
    assert_eq!(w.app.count("subsidy_events"), 2);
    // The trace names each condition, its value, and the evidence with its sources.
    let e = json(
        w.app.get_as(&w.county, &format!("/v1/subsidy-events/{}", fus["id"].as_str().unwrap())).send().await.unwrap(),
    )
    .await;
    let conds = e["trace"]["condition"]["all"].as_array().unwrap();
    assert!(conds.iter().any(|c| c["fact"] == "contract_months" && c["actual"] == 12 && c["result"] == true), "{e}");
    assert!(conds.iter().any(|c| c["fact"] == "insured_months" && c["actual"] == 4));
    assert_eq!(e["trace"]["evidence"].as_array().unwrap().len(), 4);
    assert!(e["trace"]["evidence"].as_array().unwrap().iter().all(|r| r["source"] == "employer_report"));
    assert_eq!(e["trace"]["milestone"]["date"], "2024-04-15");
    // The payee sees its own events; another employer sees none.
    assert_eq!(w.events(&w.broker, "").await.len(), 1);
    let (_, stranger) = w.app.org("陌生企业", "employer", None).await;
    assert!(w.events(&stranger, "").await.is_empty());
    assert_eq!(
        w.app
            .get_as(&stranger, &format!("/v1/subsidy-events/{}", fus["id"].as_str().unwrap()))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    // Each event was announced through the outbox in its transaction.
    let mut conn = w.app.conn();
    use diesel::prelude::*;
    let n: i64 = store::schema::outbox::table
        .filter(store::schema::outbox::topic.eq("subsidy_event.created"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(n, 2);
}

#[tokio::test]
async fn conflicting_evidence_blocks_firing_until_an_officer_resolves_it() {
    let w = world().await;
    let worker = w.worker(101, &["relocated"]).await;
    let pid = w.place(&w.broker, &worker, "2024-01-01", 12, "441900").await;
    w.months(&pid, "2024-01", 3, true).await;
    // The worker says they had left in February; the employer says employed.
    let mut conn = w.app.conn();
    let r = store::placements::NewReport {
        month: domain::calendar::YearMonth::parse("2024-02").unwrap(),
        source: domain::worker::FactSource::WorkerCheckin,
        employed: false,
        social_insurance_paid: None,
        wage: None,
        note: None,
    };
    let today = NaiveDate::from_ymd_opt(2024, 6, 1).unwrap();
    store::placements::add_report(&mut conn, pid.parse().unwrap(), &r, None, &store::audit::Actor::system(), today)
        .unwrap();
    let d = json(w.app.get_as(&w.county, &format!("/v1/placements/{pid}")).send().await.unwrap()).await;
    assert_eq!(d["review_state"], "needs_review");
    assert_eq!(d["months"]["2024-02"]["verdict"], "conflict");
    let r = w.scan("2024-06-01").await;
    assert_eq!(r["events_created"], 0);
    assert_eq!(r["needs_review"], 1);
    let list = json(w.app.get_as(&w.county, "/v1/placements?review_state=needs_review").send().await.unwrap()).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // Only the county office (or admin) resolves; the employer cannot.
    let resolve =
        json!({"month": "2024-02", "employed": true, "social_insurance_paid": true, "note": "核实工资流水，确认在岗"});
    assert_eq!(
        w.app
            .post_as(&w.employer, &format!("/v1/placements/{pid}/resolve"))
            .json(&resolve)
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let res = w.app.post_as(&w.county, &format!("/v1/placements/{pid}/resolve")).json(&resolve).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let d = json(res).await;
    assert_eq!(d["review_state"], "ok");
    assert_eq!(d["months"]["2024-02"]["verdict"], "counts");
    let r = w.scan("2024-06-01").await;
    assert_eq!(r["events_created"], 2, "{r}");
}

#[tokio::test]
async fn once_per_person_guard_records_a_blocked_claim() {
    let w = world().await;
    let worker = w.worker(101, &["relocated"]).await;
    let first = w.place(&w.broker, &worker, "2024-01-01", 12, "441900").await;
    w.months(&first, "2024-01", 3, true).await;
    w.app
        .post_as(&w.employer, &format!("/v1/placements/{first}/separation"))
        .json(&json!({"date": "2024-04-05", "reason": "换工作"}))
        .send()
        .await
        .unwrap();
    let second = w.place(&w.broker, &worker, "2024-05-01", 12, "440606").await;
    w.months(&second, "2024-05", 3, true).await;
    let r = w.scan("2024-09-01").await;
    assert_eq!(r["events_created"], 2, "{r}");
    assert_eq!(r["blocked_claims"], 2, "{r}");
    let events = w.events(&w.app.admin_key, "").await;
    assert!(events.iter().all(|e| e["placement_id"] == first.as_str()));
    let blocked = json(w.app.get_as(&w.broker, "/v1/subsidy-events/blocked").send().await.unwrap()).await;
    let items = blocked["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the broker sees its own blocked claim: {blocked}");
    assert_eq!(items[0]["reason_code"], "already_granted_for_person");
    assert_eq!(items[0]["placement_id"], second.as_str());
    // Rescanning records nothing twice.
    let r = w.scan("2024-12-31").await;
    assert_eq!((r["events_created"].as_i64(), r["blocked_claims"].as_i64()), (Some(0), Some(0)));
}

#[tokio::test]
async fn review_needs_four_eyes_and_the_publication_list_is_masked() {
    let w = world().await;
    let worker = w.worker(101, &["relocated", "poverty_alleviated"]).await;
    // The county office itself registers this placement.
    let pid = w.place(&w.county, &worker, "2024-01-01", 12, "441900").await;
    w.months(&pid, "2024-01", 3, true).await;
    w.scan("2024-06-01").await;
    let events = w.events(&w.county, "").await;
    assert_eq!(events.len(), 2);
    let id = events[0]["id"].as_str().unwrap();
    let path = format!("/v1/subsidy-events/{id}/review");
    let res = w.app.post_as(&w.county, &path).json(&json!({"decision": "approve"})).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"]["code"], "four_eyes");
    assert_eq!(
        w.app.post_as(&w.employer, &path).json(&json!({"decision": "approve"})).send().await.unwrap().status(),
        403
    );
    assert_eq!(
        w.app.post_as(&w.app.admin_key, &path).json(&json!({"decision": "maybe"})).send().await.unwrap().status(),
        422
    );
    let res = w
        .app
        .post_as(&w.app.admin_key, &path)
        .json(&json!({"decision": "approve", "note": "材料齐全"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["status"], "approved");
    assert_eq!(
        w.app.post_as(&w.app.admin_key, &path).json(&json!({"decision": "reject"})).send().await.unwrap().status(),
        409
    );
    assert_eq!(w.events(&w.county, "?status=approved").await.len(), 1);
    // 公示名单: masked ID numbers only.
    let res = w.app.get_as(&w.county, "/v1/subsidy-events/export.xlsx?status=approved").send().await.unwrap();
    assert_eq!(res.status(), 200);
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
    let rows: Vec<Vec<String>> =
        wb.worksheet_range_at(0).unwrap().unwrap().rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows.len(), 2);
    let full = id_number(ANLONG, "19900101", 101);
    assert_eq!(rows[1][2], format!("522328********{}", &full[14..]));
    assert!(!format!("{rows:?}").contains(&full));
}

#[tokio::test]
async fn scans_in_parallel_write_each_event_once() {
    let w = world().await;
    for i in 0..12 {
        let worker = w.worker(200 + i, &["relocated", "returning"]).await;
        let pid = w.place(&w.broker, &worker, "2023-01-01", 12, if i % 2 == 0 { "441900" } else { "522301" }).await;
        w.months(&pid, "2023-01", 6, i % 3 != 0).await;
    }
    let url = w.app.db.url.clone();
    let as_of = NaiveDate::from_ymd_opt(2023, 12, 31).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                use diesel::Connection;
                let mut conn = diesel::PgConnection::establish(&url).unwrap();
                store::subsidies::scan(&mut conn, as_of, 5)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert!(results.iter().any(|r| r.is_ok()));
    // Run until every scanner has had its turn.
    let mut conn = w.app.conn();
    let again = store::subsidies::scan(&mut conn, as_of, 5).unwrap();
    assert_eq!(again.events_created, 0);
    let events = w.events(&w.app.admin_key, "?limit=200").await;
    // 12 absorption (returning, hired 2023-01-01, 6 months) + 6 transport + 8 follow-up (insured when i % 3 != 0).
    let count = |r: &str| events.iter().filter(|e| e["rule_id"] == r).count();
    assert_eq!(count("employer_absorption"), 12);
    assert_eq!(count("cross_province_transport"), 6);
    assert_eq!(count("follow_up_service"), 8);
    // The unique key makes a duplicate impossible even for a writer that skips the lock.
    let dup = diesel::sql_query(
        "INSERT INTO subsidy_events (id, rule_id, rule_version, subject_key, payee_kind, payee_id, amount, worker_id, county_code, deciding_date, as_of, trace) \
         SELECT gen_random_uuid(), rule_id, rule_version, subject_key, payee_kind, payee_id, amount, worker_id, county_code, deciding_date, as_of, trace FROM subsidy_events LIMIT 1",
    );
    use diesel::RunQueryDsl;
    assert!(dup.execute(&mut conn).is_err());
}

#[tokio::test]
async fn the_relay_publishes_every_event_at_least_once_even_after_a_crash() {
    let w = world().await;
    // A webhook receiver on a local port.
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, String, String)>::new()));
    let r2 = received.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        loop {
            let Ok((mut s, _)) = listener.accept().await else { break };
            let mut buf = vec![0u8; 65536];
            let mut n = 0;
            loop {
                let k = s.read(&mut buf[n..]).await.unwrap_or(0);
                n += k;
                let text = String::from_utf8_lossy(&buf[..n]).to_string();
                if let Some(pos) = text.find("\r\n\r\n") {
                    let len: usize = text
                        .lines()
                        .find_map(|l| {
                            l.to_lowercase().strip_prefix("content-length: ").map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if n >= pos + 4 + len || k == 0 {
                        let header = |h: &str| {
                            text.lines()
                                .find_map(|l| l.to_lowercase().starts_with(h).then(|| l[h.len()..].trim().to_owned()))
                                .unwrap_or_default()
                        };
                        r2.lock().unwrap().push((
                            header("x-qianlink-event-id:"),
                            header("x-qianlink-signature:"),
                            text[pos + 4..].to_owned(),
                        ));
                        let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
                        break;
                    }
                }
                if k == 0 {
                    break;
                }
            }
        }
    });
    let secret = "a-webhook-secret-of-some-length";
    let res = w
        .app
        .post_as(&w.app.admin_key, "/v1/webhooks")
        .json(&json!({"url": hook_url, "secret": secret}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let worker = w.worker(101, &["relocated"]).await;
    let pid = w.place(&w.broker, &worker, "2024-01-01", 12, "441900").await;
    w.months(&pid, "2024-01", 3, true).await;
    // The scan commits events and outbox rows; the process "dies" before relaying.
    w.scan("2024-06-01").await;
    let stream = app::tasks::stream_key(&w.app.state);
    let xlen = |stream: String| async move {
        let client = redis::Client::open(qianlink_tests::redis_url()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("XLEN").arg(stream).query_async::<i64>(&mut c).await.unwrap()
    };
    assert_eq!(xlen(stream.clone()).await, 0);
    // A new relay (after the restart) catches up from the outbox.
    assert_eq!(relay_until(&w.app, 2).await, 2);
    assert_eq!(xlen(stream.clone()).await, 2);
    let state = w.app.state.clone();
    let n = tokio::task::spawn_blocking(move || app::tasks::relay_once(&state)).await.unwrap().unwrap();
    assert_eq!(n, Some(0), "nothing is published twice by a healthy relay");
    assert_eq!(xlen(stream).await, 2);
    // Webhooks: one delivery per event, signed, with the event id as idempotency key.
    let client = reqwest::Client::new();
    let sent = app::tasks::deliver_once(&w.app.state, &client).await.unwrap();
    assert_eq!(sent, 2);
    let got = received.lock().unwrap().clone();
    assert_eq!(got.len(), 2);
    for (event_id, sig, body) in &got {
        assert_eq!(sig, &app::tasks::signature(secret, body.as_bytes()));
        let v: Value = serde_json::from_str(body).unwrap();
        assert_eq!(&v["id"].as_str().unwrap(), event_id);
        assert!(v.get("trace").is_none());
        assert!(!body.contains(&id_number(ANLONG, "19900101", 101)));
    }
    assert_eq!(app::tasks::deliver_once(&w.app.state, &client).await.unwrap(), 0);
}

#[tokio::test]
async fn failed_webhooks_are_retried_later() {
    let w = world().await;
    // Nothing listens on port 9: the delivery fails and is pushed back.
    let res = w
        .app
        .post_as(&w.app.admin_key, "/v1/webhooks")
        .json(&json!({"url": "http://127.0.0.1:9/x", "secret": "0123456789abcdef"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let worker = w.worker(101, &["relocated"]).await;
    let pid = w.place(&w.broker, &worker, "2024-01-01", 12, "441900").await;
    w.months(&pid, "2024-01", 3, true).await;
    w.scan("2024-06-01").await;
    assert_eq!(relay_until(&w.app, 2).await, 2);
    let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(2)).build().unwrap();
    assert_eq!(app::tasks::deliver_once(&w.app.state, &client).await.unwrap(), 0);
    let mut conn = w.app.conn();
    let rows = store::webhooks::deliveries(&mut conn).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.attempts == 1 && r.delivered_at.is_none() && r.last_error.is_some()));
    assert!(rows.iter().all(|r| r.next_attempt_at > chrono::Utc::now()));
    // Not due again yet.
    assert_eq!(app::tasks::deliver_once(&w.app.state, &client).await.unwrap(), 0);
    assert!(store::webhooks::deliveries(&mut conn).unwrap().iter().all(|r| r.attempts == 1));
    let bad = w
        .app
        .post_as(&w.app.admin_key, "/v1/webhooks")
        .json(&json!({"url": "ftp://x", "secret": "short"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
}

#[tokio::test]
async fn a_replay_as_of_a_past_date_ignores_what_came_later() {
    async fn setup(later: bool) -> Vec<(String, i64, String)> {
        let w = world().await;
        let a = w.worker(101, &["relocated", "returning", "poverty_alleviated"]).await;
        let b = w.worker(102, &["relocated"]).await;
        let pa = w.place(&w.broker, &a, "2023-01-01", 12, "441900").await;
        let pb = w.place(&w.broker, &b, "2023-03-01", 12, "522301").await;
        w.months(&pa, "2023-01", 6, true).await;
        w.months(&pb, "2023-03", 3, false).await;
        if later {
            // Facts about later months and a later separation.
            w.months(&pb, "2023-06", 2, true).await;
            let mut conn = w.app.conn();
            let r = store::placements::NewReport {
                month: domain::calendar::YearMonth::parse("2023-08").unwrap(),
                source: domain::worker::FactSource::WorkerCheckin,
                employed: false,
                social_insurance_paid: None,
                wage: None,
                note: None,
            };
            store::placements::add_report(
                &mut conn,
                pa.parse().unwrap(),
                &r,
                None,
                &store::audit::Actor::system(),
                NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            )
            .unwrap();
            w.app
                .post_as(&w.employer, &format!("/v1/placements/{pa}/separation"))
                .json(&json!({"date": "2023-09-01", "reason": "离职"}))
                .send()
                .await
                .unwrap();
        }
        w.scan("2023-07-05").await;
        let mut v: Vec<(String, i64, String)> = w
            .events(&w.app.admin_key, "")
            .await
            .iter()
            .map(|e| {
                (
                    e["rule_id"].as_str().unwrap().to_owned(),
                    e["amount"].as_i64().unwrap(),
                    e["deciding_date"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        v.sort();
        v
    }
    let on_the_day = setup(false).await;
    let replayed = setup(true).await;
    assert_eq!(on_the_day, replayed);
    assert_eq!(
        on_the_day,
        [
            ("cross_province_transport".to_owned(), 500, "2023-04-01".to_owned()),
            ("employer_absorption".to_owned(), 500, "2023-01-01".to_owned()),
            ("follow_up_service".to_owned(), 500, "2023-04-01".to_owned()),
        ]
    );
}

#[tokio::test]
async fn rule_versions_are_data_and_a_county_version_wins() {
    let w = world().await;
    let rules = json(w.app.get_as(&w.employer, "/v1/policies").send().await.unwrap()).await;
    assert_eq!(rules["items"].as_array().unwrap().len(), 5);
    let mut county_version =
        rules["items"].as_array().unwrap().iter().find(|r| r["id"] == "cross_province_transport").unwrap().clone();
    county_version["county_code"] = ANLONG.into();
    county_version["amounts"][0]["amount"] = 300.into();
    county_version["description"] = "安龙县标准".into();
    assert_eq!(w.app.post_as(&w.employer, "/v1/policies").json(&county_version).send().await.unwrap().status(), 403);
    let res = w.app.post_as(&w.app.admin_key, "/v1/policies").json(&county_version).send().await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(json(res).await["version"], 2);
    let mut bad = county_version.clone();
    bad["condition"] = json!({"fact": "height", "op": ">=", "value": 170});
    let res = w.app.post_as(&w.app.admin_key, "/v1/policies").json(&bad).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let worker = w.worker(101, &["relocated", "poverty_alleviated"]).await;
    let pid = w.place(&w.broker, &worker, "2024-01-01", 12, "441900").await;
    w.months(&pid, "2024-01", 3, false).await;
    w.scan("2024-06-01").await;
    let events = w.events(&w.app.admin_key, "?rule_id=cross_province_transport").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["amount"], 300);
    assert_eq!(events[0]["rule_version"], 2);
    let res = w.app.get_as(&w.app.admin_key, "/v1/subsidy-events?rule_id=nope").send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn graduates_and_enterprise_training_fire_from_the_ledger() {
    let w = world().await;
    let mut g = worker_json(&id_number(ANLONG, "20010101", 301), ANLONG, "HH-G", "unemployed");
    g["categories"] = json!(["graduate", "hardship", "relocated"]);
    g["graduation_year"] = 2023.into();
    let res = w.app.post_as(&w.county, "/v1/workers").json(&g).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let worker = w.worker(302, &["relocated"]).await;
    let t = json!({"course": "电子装配学徒", "kind": "apprenticeship", "hours": 400, "certificate": "电子设备装接工（四级）",
                   "completed_on": "2024-03-01", "provider": "东莞某电子厂", "provider_org_id": w.employer_id});
    let res = w.app.post_as(&w.county, &format!("/v1/workers/{worker}/trainings")).json(&t).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let mut bad = t.clone();
    bad["provider_org_id"] = w.broker_id.clone().into();
    assert_eq!(
        w.app.post_as(&w.county, &format!("/v1/workers/{worker}/trainings")).json(&bad).send().await.unwrap().status(),
        422
    );
    let r = w.scan("2024-06-30").await;
    assert_eq!(r["events_created"], 2, "{r}");
    let events = w.events(&w.app.admin_key, "").await;
    assert_eq!(rules_of(&events), [("enterprise_training".into(), 8000), ("graduate_job_seeking".into(), 1500)]);
    assert_eq!(w.events(&w.employer, "").await.len(), 1);
}
