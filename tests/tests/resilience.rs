//! Faults found by the chaos scenarios (scripts/chaos/, docs/reliability.md),
//! each pinned by a test that runs in `make test`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use diesel::prelude::*;
use qianlink_tests::{TestApp, eventually, json};
use serde_json::json;

/// Kill every server-side connection of the app's database, as a PostgreSQL
/// restart does, and return how many there were.
fn kill_backends(app: &TestApp) -> usize {
    #[derive(QueryableByName)]
    struct Killed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        #[allow(dead_code)]
        k: bool,
    }
    let rows: Vec<Killed> = diesel::sql_query(
        "SELECT pg_terminate_backend(pid) AS k FROM pg_stat_activity \
          WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .load(&mut app.conn())
    .unwrap();
    rows.len()
}

/// After PostgreSQL lost every connection of the pool (a restart), the
/// server does not hand the dead connections out again: the next requests
/// succeed. Found behind the 500s of scripts/chaos/crash.sh: diesel marks a connection
/// broken only when a transaction on it fails, so a dead connection given a
/// plain query went back to the pool and failed every request after it.
#[tokio::test]
async fn dead_pooled_connections_are_replaced() {
    let app = TestApp::spawn().await;
    let (_, employer) = app.org("东莞某电子厂", "employer", None).await;
    let job = job(&app, &employer).await;
    // Fill the pool (4 connections) with concurrent reads.
    let mut reads = tokio::task::JoinSet::new();
    for _ in 0..8 {
        reads.spawn(app.get_as(&employer, &format!("/v1/jobs/{job}")).send());
    }
    while let Some(r) = reads.join_next().await {
        assert_eq!(r.unwrap().unwrap().status(), 200);
    }
    assert!(kill_backends(&app) > 0);
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.get_as(&employer, &format!("/v1/jobs/{job}")).send().await.unwrap().status().as_u16());
    }
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
}

async fn job(app: &TestApp, key: &str) -> String {
    let res = app
        .post_as(key, "/v1/jobs")
        .json(
            &json!({"title": "普工", "work_county_code": "441900", "wage_min": 4000, "wage_max": 5000, "openings": 1}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    json(res).await["id"].as_str().unwrap().to_owned()
}

/// A database failure is never answered as a missing record: a 404 tells a
/// client not to retry, so an employer's monthly report sent during a
/// PostgreSQL restart was answered "No such placement" and dropped. Found by
/// scripts/chaos/crash.sh; here the failure is a table gone missing.
#[tokio::test]
async fn a_failing_lookup_is_not_a_404() {
    let app = TestApp::spawn().await;
    let (_, employer) = app.org("东莞某电子厂", "employer", None).await;
    let job = job(&app, &employer).await;
    let missing = uuid::Uuid::now_v7();
    assert_eq!(app.get_as(&employer, &format!("/v1/jobs/{missing}")).send().await.unwrap().status(), 404);
    diesel::sql_query("ALTER TABLE jobs RENAME TO jobs_away").execute(&mut app.conn()).unwrap();
    let res = app.get_as(&employer, &format!("/v1/jobs/{job}")).send().await.unwrap();
    assert_eq!(res.status(), 500, "{}", res.text().await.unwrap());
    let res =
        app.post_as(&employer, &format!("/v1/jobs/{job}/offers")).json(&json!({"count": 1})).send().await.unwrap();
    assert_ne!(res.status(), 404);
    diesel::sql_query("ALTER TABLE jobs_away RENAME TO jobs").execute(&mut app.conn()).unwrap();
    assert_eq!(app.get_as(&employer, &format!("/v1/jobs/{job}")).send().await.unwrap().status(), 200);
}

/// A relay step whose stream write went through but whose commit was lost
/// (the process died or the connection was cut between the two) runs again
/// from the old cursor: the stream still holds each event once. Found by
/// reading the relay for scripts/chaos/exactly-once.sh, whose proxy cuts
/// connections at any moment.
#[tokio::test]
async fn a_relay_step_repeated_after_a_lost_commit_publishes_each_event_once() {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("安龙县就业局", "county_office", Some("522328")).await;
    let (employer_id, employer) = app.org("东莞某电子厂", "employer", None).await;
    let (broker_id, broker) = app.org("安龙县劳务公司", "broker", None).await;
    let mut w = qianlink_tests::worker_json(
        &qianlink_tests::id_number("522328", "19900101", 101),
        "522328",
        "HH-1",
        "unemployed",
    );
    w["categories"] = json!(["relocated", "poverty_alleviated"]);
    let worker = json(app.post_as(&county, "/v1/workers").json(&w).send().await.unwrap()).await["id"].clone();
    let body = json!({"worker_id": worker, "employer_org_id": employer_id, "broker_org_id": broker_id,
        "start_date": "2024-01-15", "contract_months": 12, "work_county_code": "441900", "organised_by": "broker"});
    let res = app.post_as(&broker, "/v1/placements").json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let placement = json(res).await["id"].as_str().unwrap().to_owned();
    for month in ["2024-01", "2024-02", "2024-03", "2024-04"] {
        let r = json!({"month": month, "employed": true, "social_insurance_paid": true, "wage": 5200});
        let res = app.post_as(&employer, &format!("/v1/placements/{placement}/reports")).json(&r).send().await.unwrap();
        assert_eq!(res.status(), 201);
    }
    let res = app.post_as(&app.admin_key, "/v1/milestones/scan?as_of=2024-12-31").send().await.unwrap();
    assert_eq!(json(res).await["events_created"], 2);
    let relay = |app: &TestApp| {
        let state = app.state.clone();
        async move {
            // Another test's open transaction may hold the outbox horizon back a moment.
            eventually("the relay publishing the two events", async || {
                let s = state.clone();
                let n = tokio::task::spawn_blocking(move || app::tasks::relay_once(&s)).await.unwrap().unwrap();
                if n == Some(2) { Ok(()) } else { Err(n) }
            })
            .await
        }
    };
    relay(&app).await;
    // The cursor's advance is lost: the next step sees the same two events.
    diesel::sql_query("UPDATE outbox_cursors SET last_txid = 0, last_id = 0 WHERE consumer = 'relay:subsidy-events'")
        .execute(&mut app.conn())
        .unwrap();
    relay(&app).await;
    let mut r = redis::Client::open(qianlink_tests::redis_url()).unwrap().get_connection().unwrap();
    let len: usize = redis::cmd("XLEN").arg(app::tasks::stream_key(&app.state)).query(&mut r).unwrap();
    assert_eq!(len, 2, "each event once in the stream");
}
