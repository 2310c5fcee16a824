//! The foundation (#2): operations endpoints, errors, the per-test database,
//! migrations up-down-up, the schema, and the outbox's commit-order guarantee.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use diesel::prelude::*;
use qianlink_tests::{Overrides, TestApp, TestDb, eventually_blocking, json};
use std::process::Command;

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = TestApp::spawn().await;
    let res = app.get("/healthz").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.get("/readyz").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["status"], "ready");
    assert_eq!(body["postgresql"]["status"], "up");
    assert_eq!(body["redis"]["status"], "up");
}

#[tokio::test]
async fn readyz_names_postgresql_when_it_is_down() {
    // Nothing listens on port 1: the same code path as a stopped server.
    let app = TestApp::spawn_with(Overrides {
        database_url: Some("postgres://postgres@127.0.0.1:1/none".into()),
        ..Overrides::default()
    })
    .await;
    let res = app.get("/readyz").send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(
        res.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("5"),
        "every 503 says when to retry"
    );
    let body = json(res).await;
    assert_eq!(body["down"], serde_json::json!(["postgresql"]));
    assert_eq!(body["postgresql"]["status"], "down");
    assert_eq!(body["redis"]["status"], "up");
    // A request that needs PostgreSQL: 503 database_unavailable, with Retry-After.
    let res = app.get_as(&app.admin_key, "/v1/organizations").send().await.unwrap();
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("5"));
    assert_eq!(json(res).await["error"]["code"], "database_unavailable");
    // Without PostgreSQL nothing can be served, whatever Redis is to the caller.
    assert_eq!(app.get("/readyz?redis=optional").send().await.unwrap().status(), 503);
    // The process itself is alive.
    assert_eq!(app.get("/healthz").send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn readyz_names_redis_when_it_is_down_and_a_load_balancer_may_ask_to_keep_serving() {
    let app =
        TestApp::spawn_with(Overrides { redis_url: Some("redis://127.0.0.1:1".into()), ..Overrides::default() }).await;
    // The contract of #2: 503 naming Redis. The body says the API still serves (found by make
    // chaos: every request was answered while Redis was down).
    let res = app.get("/readyz").send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body = json(res).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["down"], serde_json::json!(["redis"]));
    assert_eq!(body["postgresql"]["status"], "up");
    assert_eq!(body["redis"]["status"], "down");
    assert_eq!(app.get("/readyz?redis=required").send().await.unwrap().status(), 503);
    // A load balancer keeps a replica that serves.
    let res = app.get("/readyz?redis=optional").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body = json(res).await;
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["down"], serde_json::json!(["redis"]));
    let res = app.get("/readyz?redis=maybe").send().await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(json(res).await["error"]["code"].is_string());
}

#[tokio::test]
async fn unknown_routes_answer_json_errors_with_a_request_id() {
    let app = TestApp::spawn().await;
    let res = app.get("/v1/nowhere").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let id = res.headers().get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert!(id.len() >= 8);
    let body = json(res).await;
    assert_eq!(body["error"]["code"], "route_not_found");
    assert!(body["error"]["details"].is_array());

    let res = app.get("/healthz").header("x-request-id", "trace-abc-123").send().await.unwrap();
    assert_eq!(res.headers().get("x-request-id").unwrap(), "trace-abc-123");
    // An id that looks like a phone number is not echoed.
    let res = app.get("/healthz").header("x-request-id", "13812345678").send().await.unwrap();
    assert_ne!(res.headers().get("x-request-id").unwrap(), "13812345678");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.get("/healthz").send().await.unwrap();
    }
    app.get("/v1/nowhere/123").send().await.unwrap();
    let text = app.get("/metrics").send().await.unwrap().text().await.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("qianlink_http_requests_total") && l.contains("endpoint=\"/healthz\""))
        .unwrap_or_else(|| panic!("no healthz counter in:\n{text}"));
    assert!(line.contains("status=\"200\""), "{line}");
    assert!(line.trim_end().ends_with(" 3"), "{line}");
    assert!(text.contains("qianlink_http_requests_duration_seconds_bucket"));
    // Unmatched paths are folded into one label, so paths never leak into metrics.
    assert!(!text.contains("/v1/nowhere/123"));
}

// Two tests insert the same natural key (an organisation's unique name) at the
// same time; each has its own database, so both pass.
fn insert_same_natural_key() {
    let db = TestDb::create();
    let mut conn = db.connect();
    let org = store::orgs::create(&mut conn, "黔西南州人力资源和社会保障局", domain::OrgKind::Employer, None).unwrap();
    let again = store::orgs::create(&mut conn, "黔西南州人力资源和社会保障局", domain::OrgKind::Employer, None);
    assert!(matches!(again, Err(store::StoreError::Duplicate { .. })), "{again:?}");
    assert_eq!(store::orgs::find_by_name(&mut conn, &org.name).unwrap().unwrap().id, org.id);
}

#[test]
fn same_natural_key_in_parallel_a() {
    insert_same_natural_key();
}

#[test]
fn same_natural_key_in_parallel_b() {
    insert_same_natural_key();
}

fn pg_dump_schema(url: &str) -> String {
    let bindir = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let pg_dump = if std::path::Path::new(&bindir).join("pg_dump").exists() {
        format!("{bindir}/pg_dump")
    } else {
        "pg_dump".into()
    };
    let out = Command::new(pg_dump)
        .args(["--schema-only", "--no-owner", "--no-privileges", "--exclude-table=__diesel_schema_migrations", url])
        .output()
        .expect("pg_dump is needed for this test (it comes with PostgreSQL)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // pg_dump 15.14+ wraps the dump in \restrict <random token>: not schema.
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn migrations_run_up_down_and_up_to_the_same_schema() {
    let db = TestDb::create_empty();
    let mut conn = db.connect();
    store::migrate::run_schema_only(&mut conn).unwrap();
    let first = pg_dump_schema(&db.url);
    assert!(first.contains("CREATE TABLE public.workers"), "{first}");
    store::migrate::revert_all(&mut conn).unwrap();
    let empty = pg_dump_schema(&db.url);
    assert!(!empty.contains("CREATE TABLE public.workers"), "down did not remove tables:\n{empty}");
    assert!(!empty.contains("FUNCTION public."), "down left functions:\n{empty}");
    store::migrate::run_schema_only(&mut conn).unwrap();
    let second = pg_dump_schema(&db.url);
    let differing: Vec<(&str, &str)> = first.lines().zip(second.lines()).filter(|(a, b)| a != b).take(5).collect();
    assert!(differing.is_empty() && first.len() == second.len(), "schemas differ: {differing:?}");
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = diesel::sql_types::Text)]
    column_name: String,
}

#[test]
fn diesel_schema_matches_the_migrated_database() {
    let db = TestDb::create();
    let mut conn = db.connect();
    for (table, columns) in store::schema::TABLES {
        let found: Vec<Column> = diesel::sql_query(
            "SELECT column_name::text AS column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind::<diesel::sql_types::Text, _>(*table)
        .load(&mut conn)
        .unwrap();
        let found: Vec<&str> = found.iter().map(|c| c.column_name.as_str()).collect();
        assert_eq!(&found, columns, "table {table}");
    }
}

#[test]
fn reference_data_is_loaded_once_and_complete() {
    let db = TestDb::create();
    let mut conn = db.connect();
    let counties = store::reference::list_divisions(&mut conn, Some("520000"), Some("county"), None).unwrap();
    assert_eq!(counties.len(), 88);
    let dongguan = store::reference::division(&mut conn, "441900").unwrap().unwrap();
    assert!(dongguan.is_workplace);
    // Loading again changes nothing.
    store::migrate::run(&mut conn).unwrap();
    let again = store::reference::list_divisions(&mut conn, Some("520000"), Some("county"), None).unwrap();
    assert_eq!(again.len(), 88);
}

/// The commit-order trap: a transaction that wrote an outbox row earlier but
/// commits later must not be skipped by a consumer that already read past it.
#[test]
fn outbox_never_skips_a_row_that_commits_late() {
    use diesel::connection::SimpleConnection;
    use store::outbox::{self, Cursor};
    let db = TestDb::create();
    let mut early = db.connect(); // takes its transaction id first, commits last
    let mut late = db.connect();
    let mut reader = db.connect();

    early.batch_execute("BEGIN").unwrap();
    diesel::sql_query("SELECT pg_current_xact_id()").execute(&mut early).unwrap();
    outbox::publish(&mut early, outbox::Topic::JobCreated, "early-1", serde_json::json!({})).unwrap();

    late.batch_execute("BEGIN").unwrap();
    outbox::publish(&mut late, outbox::Topic::JobCreated, "late-1", serde_json::json!({})).unwrap();
    late.batch_execute("COMMIT").unwrap();

    // `early` also writes a row with a sequence number above `late`'s.
    outbox::publish(&mut early, outbox::Topic::JobUpdated, "early-2", serde_json::json!({})).unwrap();

    let mut cursor = Cursor::default();
    let mut seen = Vec::new();
    let batch = outbox::read_batch(&mut reader, cursor, 100).unwrap();
    // Nothing is readable yet: `late` committed, but `early` is older and still open.
    assert!(batch.is_empty(), "read past an open transaction: {batch:?}");

    early.batch_execute("COMMIT").unwrap();
    // Transaction ids are cluster-wide: a transaction open in another test's
    // database may hold the horizon back for a moment, so read until done.
    eventually_blocking("the three rows read", || {
        if let Some(row) = outbox::read_batch(&mut reader, cursor, 1).unwrap().first() {
            seen.push(row.aggregate_id.clone());
            cursor = row.cursor();
            outbox::advance(&mut reader, "test", cursor).unwrap();
        }
        seen.len() >= 3
    });
    assert_eq!(seen, ["early-1", "early-2", "late-1"]);
    assert_eq!(outbox::cursor(&mut reader, "test").unwrap(), cursor);
    assert_eq!(outbox::lag(&mut reader, cursor).unwrap(), 0);
    // A cursor never moves backwards.
    outbox::advance(&mut reader, "test", Cursor::default()).unwrap();
    assert_eq!(outbox::cursor(&mut reader, "test").unwrap(), cursor);
}
