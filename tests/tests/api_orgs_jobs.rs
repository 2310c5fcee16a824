//! Black-box tests of organisations, keys and jobs (#3).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use qianlink_tests::{Overrides, TestApp, eventually, eventually_within, json};
use serde_json::{Value, json};

fn job(county: &str) -> Value {
    json!({
        "title": "电子厂普工",
        "description": "长白班，包吃住，五险一金，搬迁群众优先",
        "occupation_code": "6-25-04-01",
        "skills": ["电子元件装配", "质检"],
        "work_county_code": county,
        "wage_min": 4500,
        "wage_max": 6000,
        "openings": 20,
        "contract_months": 12,
        "requirements": {"min_age": 18, "max_age": 50}
    })
}

#[tokio::test]
async fn keys_are_required_checked_and_revocable() {
    let app = TestApp::spawn().await;
    let res = app.get("/v1/me").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(json(res).await["error"]["code"], "missing_api_key");
    let res = app.get_as("qk_not_a_key", "/v1/me").send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(json(res).await["error"]["code"], "invalid_api_key");

    let (org_id, key) = app.org("安龙县就业局", "county_office", Some("522328")).await;
    let me = json(app.get_as(&key, "/v1/me").send().await.unwrap()).await;
    assert_eq!(me["role"], "county_office");
    assert_eq!(me["county_code"], "522328");
    assert_eq!(me["org_id"], org_id.as_str());

    // The key is stored hashed: its text is nowhere in the database.
    let mut conn = app.conn();
    use diesel::prelude::*;
    let stored: Vec<Vec<u8>> =
        store::schema::api_keys::table.select(store::schema::api_keys::key_hash).load(&mut conn).unwrap();
    assert!(stored.iter().all(|h| h.len() == 32 && !h.windows(key.len()).any(|w| w == key.as_bytes())));

    let key_id = me["key_id"].as_str().unwrap().to_owned();
    // Only admin revokes.
    let res = app.delete_as(&key, &format!("/v1/api-keys/{key_id}")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = app.delete_as(&app.admin_key, &format!("/v1/api-keys/{key_id}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(json(res).await["revoked_at"].is_string());
    let res = app.get_as(&key, "/v1/me").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = app.delete_as(&app.admin_key, &format!("/v1/api-keys/{key_id}")).send().await.unwrap();
    assert_eq!(res.status(), 409);
}

#[tokio::test]
async fn expired_keys_are_refused() {
    let app = TestApp::spawn().await;
    let (org_id, _) = app.org("某劳务公司", "broker", None).await;
    let mut conn = app.conn();
    let yesterday = chrono::Utc::now().date_naive() - chrono::Duration::days(2);
    let key = store::orgs::create_key(&mut conn, org_id.parse().unwrap(), "张三", Some(yesterday), None).unwrap();
    let res = app.get_as(&key.secret, "/v1/me").send().await.unwrap();
    assert_eq!(res.status(), 401);
    // A past expiry is refused when issuing through the API.
    let res = app
        .post_as(&app.admin_key, &format!("/v1/organizations/{org_id}/api-keys"))
        .json(&json!({"issued_to": "李四", "expires_on": yesterday}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // Every field is optional: no body and no content type issues a key to the organisation itself.
    let path = format!("/v1/organizations/{org_id}/api-keys");
    let res = app.post_as(&app.admin_key, &path).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let k = json(res).await;
    assert_eq!(k["issued_to"], "某劳务公司");
    let res = app.get_as(k["key"].as_str().unwrap(), "/v1/me").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.post_as(&app.admin_key, &path).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    // A body that is not JSON is still refused, and so is JSON that is not an object (serde would
    // read `[null, null]` as the struct's fields in order; found by schemathesis).
    let res = app.post_as(&app.admin_key, &path).header("content-type", "text/plain").body("x").send().await.unwrap();
    assert_eq!(res.status(), 415);
    for body in [json!([null, null]), json!([]), json!("x"), json!(null)] {
        let res = app.post_as(&app.admin_key, &path).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 400, "{body}");
        assert_eq!(json(res).await["error"]["code"], "malformed_json");
    }
}

#[tokio::test]
async fn organisations_are_validated_and_admin_only() {
    let app = TestApp::spawn().await;
    let (_, employer) = app.org("贵州某电子厂", "employer", None).await;
    let res = app
        .post_as(&employer, "/v1/organizations")
        .json(&json!({"name": "x", "kind": "employer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"]["code"], "forbidden");
    let cases = [
        (json!({"name": "县局", "kind": "county_office"}), "county_code"),
        (json!({"name": "厂", "kind": "employer", "county_code": "522328"}), "county_code"),
        (json!({"name": "省厅", "kind": "ministry"}), "kind"),
        (json!({"name": "县局", "kind": "county_office", "county_code": "522300"}), "county_code"),
        (json!({"kind": "broker"}), "name"),
    ];
    let before = app.count("organizations");
    for (body, field) in cases {
        let res = app.post_as(&app.admin_key, "/v1/organizations").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{body}");
        let b = json(res).await;
        assert_eq!(b["error"]["code"], "validation_failed");
        assert_eq!(b["error"]["details"][0]["field"], field, "{b}");
    }
    assert_eq!(app.count("organizations"), before, "a refused request wrote something");
    let res = app
        .post_as(&app.admin_key, "/v1/organizations")
        .json(&json!({"name": "贵州某电子厂", "kind": "employer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let list = json(app.get_as(&app.admin_key, "/v1/organizations?kind=employer").send().await.unwrap()).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let res = app.get_as(&employer, "/v1/organizations").send().await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn jobs_derive_the_province_and_cross_province() {
    let app = TestApp::spawn().await;
    let (org_id, employer) = app.org("东莞某电子厂", "employer", None).await;
    let res = app.post_as(&employer, "/v1/jobs").json(&job("441900")).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let j = json(res).await;
    assert_eq!(j["status"], "open");
    assert_eq!(j["work_province_code"], "440000");
    assert_eq!(j["cross_province"], true);
    assert_eq!(j["work_county_name"], "东莞市");
    assert_eq!(j["org_id"], org_id.as_str());
    let res = app.post_as(&employer, "/v1/jobs").json(&job("522328")).send().await.unwrap();
    let j = json(res).await;
    assert_eq!(j["work_province_code"], "520000");
    assert_eq!(j["cross_province"], false);
    // Any key may read.
    let (_, county) = app.org("安龙县就业局", "county_office", Some("522328")).await;
    let id = j["id"].as_str().unwrap();
    let res = app.get_as(&county, &format!("/v1/jobs/{id}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["title"], "电子厂普工");
    // A job elsewhere in the mainland is fine too (杭州市西湖区).
    let res = app.post_as(&employer, "/v1/jobs").json(&job("330106")).send().await.unwrap();
    assert_eq!(res.status(), 201);
    // Outbox rows announce each job.
    assert_eq!(app.count("outbox"), 3);
}

#[tokio::test]
async fn job_validation_names_each_problem_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (_, employer) = app.org("某厂", "employer", None).await;
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut j = job("522300");
    cases.push((j.clone(), "work_county_code")); // a prefecture
    j = job("999999");
    cases.push((j.clone(), "work_county_code"));
    j = job("522328");
    j["occupation_code"] = "9-99-99-99".into();
    cases.push((j.clone(), "occupation_code"));
    j = job("522328");
    j["wage_min"] = 7000.into();
    cases.push((j.clone(), "wage_max"));
    j = job("522328");
    j["openings"] = 0.into();
    cases.push((j.clone(), "openings"));
    j = job("522328");
    j["title"] = "".into();
    cases.push((j.clone(), "title"));
    j = job("522328");
    j["requirements"] = json!({"min_age": 14});
    cases.push((j.clone(), "requirements.min_age"));
    j = job("522328");
    j.as_object_mut().unwrap().remove("wage_max");
    cases.push((j.clone(), "wage_max"));
    for (body, field) in cases {
        let res = app.post_as(&employer, "/v1/jobs").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 422, "{body}");
        let b = json(res).await;
        assert_eq!(b["error"]["code"], "validation_failed", "{b}");
        assert!(b["error"]["details"].as_array().unwrap().iter().any(|d| d["field"] == field), "{field}: {b}");
    }
    // Malformed bodies: 400, unknown fields too; over 1 MiB: 413; not JSON: 415.
    let res = app
        .post_as(&employer, "/v1/jobs")
        .header("content-type", "application/json")
        .body("{\"title\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(json(res).await["error"]["code"], "malformed_json");
    let mut j = job("522328");
    j["wage"] = 1.into();
    let res = app.post_as(&employer, "/v1/jobs").json(&j).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let mut j = job("522328");
    j["wage_min"] = "很多".into();
    let res = app.post_as(&employer, "/v1/jobs").json(&j).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let mut j = job("522328");
    j["description"] = "岗".repeat(400_000).into();
    let res = app.post_as(&employer, "/v1/jobs").json(&j).send().await.unwrap();
    assert_eq!(res.status(), 413);
    assert_eq!(json(res).await["error"]["code"], "payload_too_large");
    let res = app.post_as(&employer, "/v1/jobs").body("title=x").send().await.unwrap();
    assert_eq!(res.status(), 415);
    assert_eq!(app.count("jobs"), 0);
    assert_eq!(app.count("outbox"), 0);
}

#[tokio::test]
async fn discriminatory_postings_are_refused_naming_the_words() {
    let app = TestApp::spawn().await;
    let (_, employer) = app.org("某厂", "employer", None).await;
    let refused = [
        ("description", "包吃住，限男性，月薪面议", "限男性"),
        ("title", "招聘保洁员（女性优先）", "女性优先"),
        ("description", "只招汉族，谢谢合作", "只招汉族"),
        ("description", "不招少数民族", "不招少数民族"),
        ("description", "要求：限本地户口", "限本地户口"),
        ("description", "不要外地人", "不要外地人"),
    ];
    for (field, text, words) in refused {
        let mut j = job("522328");
        j[field] = text.into();
        let res = app.post_as(&employer, "/v1/jobs").json(&j).send().await.unwrap();
        assert_eq!(res.status(), 422, "{text}");
        let b = json(res).await;
        assert_eq!(b["error"]["code"], "discriminatory_requirement");
        assert!(b["error"]["message"].as_str().unwrap().contains(words), "{b}");
        assert_eq!(b["error"]["details"][0]["field"], field);
    }
    for ok in ["搬迁群众优先", "脱贫户优先", "本安置点居民优先", "男女不限", "不限户籍"] {
        let mut j = job("522328");
        j["description"] = ok.into();
        let res = app.post_as(&employer, "/v1/jobs").json(&j).send().await.unwrap();
        assert_eq!(res.status(), 201, "{ok}");
    }
    assert_eq!(app.count("jobs"), 5);
}

#[tokio::test]
async fn only_posters_post_and_only_the_owner_changes_or_closes() {
    let app = TestApp::spawn().await;
    let (_, owner) = app.org("甲厂", "employer", None).await;
    let (_, other) = app.org("乙厂", "industrial_park", None).await;
    let (_, county) = app.org("安龙县就业局", "county_office", Some("522328")).await;
    for kind in ["broker", "coop_team"] {
        let (_, k) = app.org(&format!("{kind}机构"), kind, None).await;
        let res = app.post_as(&k, "/v1/jobs").json(&job("522328")).send().await.unwrap();
        assert_eq!(res.status(), 201, "{kind}");
    }
    let res = app.post_as(&county, "/v1/jobs").json(&job("522328")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let j = json(app.post_as(&owner, "/v1/jobs").json(&job("522328")).send().await.unwrap()).await;
    let id = j["id"].as_str().unwrap();
    let path = format!("/v1/jobs/{id}");
    let res = app.patch_as(&other, &path).json(&json!({"wage_max": 7000})).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"]["code"], "other_tenant");
    let res = app.patch_as(&owner, &path).json(&json!({"wage_max": 7000, "openings": 5})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let j = json(res).await;
    assert_eq!(j["wage_max"], 7000);
    assert_eq!(j["openings"], 5);
    assert_eq!(j["title"], "电子厂普工", "fields left out keep their values");
    // A patch is validated as a whole.
    let res = app.patch_as(&owner, &path).json(&json!({"wage_min": 8000})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res = app.patch_as(&owner, &path).json(&json!({"description": "限女性"})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    // Admin may change any job.
    let res = app.patch_as(&app.admin_key, &path).json(&json!({"openings": 6})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = app.post_as(&other, &format!("{path}/close")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let res = app.post_as(&owner, &format!("{path}/close")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let j = json(res).await;
    assert_eq!(j["status"], "closed");
    assert!(j["closed_at"].is_string());
    let res = app.post_as(&owner, &format!("{path}/close")).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let res = app.patch_as(&owner, &path).json(&json!({"openings": 9})).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let res = app.get_as(&owner, "/v1/jobs/not-a-uuid").send().await.unwrap();
    assert_eq!(res.status(), 404);
    let res = app.get_as(&owner, &format!("/v1/jobs/{}", uuid::Uuid::new_v4())).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

#[tokio::test]
async fn job_lists_filter_and_page() {
    let app = TestApp::spawn().await;
    let (org_a, a) = app.org("甲厂", "employer", None).await;
    let (_, b) = app.org("乙厂", "employer", None).await;
    let mut ids = Vec::new();
    for _ in 0..5 {
        let j = json(app.post_as(&a, "/v1/jobs").json(&job("522328")).send().await.unwrap()).await;
        ids.push(j["id"].as_str().unwrap().to_owned());
    }
    app.post_as(&b, "/v1/jobs").json(&job("441900")).send().await.unwrap();
    app.post_as(&a, &format!("/v1/jobs/{}/close", ids[0])).send().await.unwrap();
    let page =
        json(app.get_as(&b, &format!("/v1/jobs?org_id={org_a}&status=open&limit=2")).send().await.unwrap()).await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], ids[4].as_str(), "newest first");
    let mut seen: Vec<String> = items.iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect();
    let mut cursor = page["next_cursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = json(
            app.get_as(&b, &format!("/v1/jobs?org_id={org_a}&status=open&limit=2&cursor={c}")).send().await.unwrap(),
        )
        .await;
        seen.extend(page["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        cursor = page["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, vec![ids[4].clone(), ids[3].clone(), ids[2].clone(), ids[1].clone()]);
    for bad in
        ["/v1/jobs?status=gone", "/v1/jobs?limit=0", "/v1/jobs?limit=201", "/v1/jobs?cursor=xyz", "/v1/jobs?org_id=1"]
    {
        let res = app.get_as(&b, bad).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        assert_eq!(json(res).await["error"]["code"], "invalid_query");
    }
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    let app = TestApp::spawn_with(Overrides { rate_limit_per_second: 3, ..Overrides::default() }).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let res = app.get_as(&app.admin_key, "/v1/me").send().await.unwrap();
        if res.status() == 429 {
            assert!(res.headers().get("retry-after").is_some());
            assert_eq!(json(res).await["error"]["code"], "rate_limited");
            statuses.push(429);
        } else {
            statuses.push(res.status().as_u16());
        }
    }
    assert!(statuses.iter().filter(|s| **s == 200).count() <= 6, "{statuses:?}");
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[tokio::test]
async fn rate_limits_fall_back_per_process_without_redis() {
    let app = TestApp::spawn_with(Overrides {
        rate_limit_per_second: 3,
        redis_url: Some("redis://127.0.0.1:1".into()),
        ..Overrides::default()
    })
    .await;
    let first = app.get_as(&app.admin_key, "/v1/me").send().await.unwrap();
    assert_eq!(first.status(), 200, "the API serves without Redis");
    let mut limited = false;
    for _ in 0..10 {
        if app.get_as(&app.admin_key, "/v1/me").send().await.unwrap().status() == 429 {
            limited = true;
        }
    }
    assert!(limited);
}

#[tokio::test]
async fn reference_data_is_served() {
    let app = TestApp::spawn().await;
    let (_, k) = app.org("某厂", "employer", None).await;
    let d = json(app.get_as(&k, "/v1/divisions?province_code=520000&level=county").send().await.unwrap()).await;
    assert_eq!(d["items"].as_array().unwrap().len(), 88);
    let d = json(app.get_as(&k, "/v1/divisions?province_code=520000&level=prefecture").send().await.unwrap()).await;
    assert_eq!(d["items"].as_array().unwrap().len(), 9);
    let o = json(app.get_as(&k, "/v1/occupations?q=焊工").send().await.unwrap()).await;
    assert!(o["items"].as_array().unwrap().iter().any(|i| i["name"].as_str().unwrap().contains("焊工")), "{o}");
    let res = app.get_as(&k, "/v1/divisions?level=village").send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn openapi_spec_matches_its_snapshot_and_docs_are_served() {
    let app = TestApp::spawn().await;
    let spec = json(app.get("/openapi.json").send().await.unwrap()).await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    let pretty = serde_json::to_string_pretty(&spec).unwrap() + "\n";
    if std::env::var("UPDATE_SNAPSHOTS").is_ok() {
        std::fs::write(path, &pretty).unwrap();
    }
    let snapshot = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        snapshot == pretty,
        "docs/openapi.json is out of date: run `UPDATE_SNAPSHOTS=1 make test` and review the diff"
    );
    // Every operation declares its error answers, not only the 2xx.
    for (p, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            if p.starts_with("/v1/") {
                assert!(responses.contains_key("401"), "{method} {p} declares no 401");
            }
        }
    }
    let res = app.get("/docs/").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("swagger"));
    // `/docs` as people type it: redirected to `/docs/` (reqwest follows it).
    let res = app.get("/docs").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.url().path(), "/docs/");
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let res = raw.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(res.status(), 308);
    assert_eq!(res.headers()["location"], "/docs/");
}

/// A second server process on the same database and Redis (another
/// replica), started from `tests/src/bin/api_server.rs`; killed on drop.
struct Replica {
    child: std::process::Child,
    url: String,
}

impl Replica {
    fn start(app: &TestApp) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_api_server"))
            .env("DATABASE_URL", &app.db.url)
            .env("REDIS_URL", qianlink_tests::redis_url())
            .env("QIANLINK_REDIS_PREFIX", &app.redis_prefix)
            .env("QIANLINK_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("port ").unwrap_or_else(|| panic!("the replica said {line:?}"));
        Self { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A key revoked through one process is refused by another within 1 s
/// (#16). The other process has the key in its cache, whose own lifetime is
/// 1 s; refused within 500 ms means the announcement through Redis did it.
#[tokio::test]
async fn a_revoked_key_is_refused_by_another_process_within_a_second() {
    let app = TestApp::spawn().await;
    let replica = Replica::start(&app);
    let (org_id, _) = app.org("遵义某劳务公司", "broker", None).await;
    let issued =
        json(app.post_as(&app.admin_key, &format!("/v1/organizations/{org_id}/api-keys")).send().await.unwrap()).await;
    let (key, key_id) = (issued["key"].as_str().unwrap().to_owned(), issued["id"].as_str().unwrap().to_owned());
    let me = format!("{}/v1/me", replica.url);
    let client = reqwest::Client::new();
    // The replica answers, and has the key in its cache now.
    eventually("the replica accepting the key", async || {
        client.get(&me).bearer_auth(&key).send().await.map(|r| r.status().as_u16()).unwrap_or(0) == 200
    })
    .await;
    // Both processes follow the revocation channel (this one and the replica).
    let channel = api::auth::revocations_channel(&app.state);
    let r = redis::Client::open(qianlink_tests::redis_url()).unwrap();
    eventually("both processes subscribed to the revocations", async || {
        let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg(&channel)
            .query_async(&mut r.get_multiplexed_async_connection().await.unwrap())
            .await
            .unwrap();
        counts.first().is_some_and(|(_, n)| *n >= 2)
    })
    .await;
    assert_eq!(client.get(&me).bearer_auth(&key).send().await.unwrap().status(), 200, "cached in the replica");
    let revoked_at = std::time::Instant::now();
    let res = app.delete_as(&app.admin_key, &format!("/v1/api-keys/{key_id}")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let waited =
        eventually_within("the revoked key refused by the replica", std::time::Duration::from_secs(1), async || {
            let status = client.get(&me).bearer_auth(&key).send().await.unwrap().status();
            if status == 401 { Ok(revoked_at.elapsed()) } else { Err(status) }
        })
        .await;
    eprintln!("the other process refused the revoked key after {} ms", waited.as_millis());
    assert!(waited < std::time::Duration::from_millis(500), "refused only after {waited:?}");
}
