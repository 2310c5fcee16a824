//! Job search over HTTP (#4): kept current from the outbox, filters,
//! highlights, closed jobs disappear, no query breaks it, restart catch-up.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use qianlink_tests::{TestApp, eventually, eventually_blocking, json};
use serde_json::{Value, json};

async fn post(app: &TestApp, key: &str, title: &str, description: &str, county: &str, skills: &[&str]) -> String {
    let j = json!({"title": title, "description": description, "skills": skills, "work_county_code": county,
                   "wage_min": 4000, "wage_max": 6500, "openings": 10});
    let res = app.post_as(key, "/v1/jobs").json(&j).send().await.unwrap();
    assert_eq!(res.status(), 201);
    json(res).await["id"].as_str().unwrap().to_owned()
}

/// Search until `ready` holds or 20 s pass (the index follows the outbox).
async fn search_until(app: &TestApp, key: &str, query: &str, ready: impl Fn(&Value) -> bool) -> Value {
    eventually(&format!("a search for {query}"), async || {
        let res = app.get_as(key, &format!("/v1/jobs/search?{query}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "{query}");
        let v = json(res).await;
        if ready(&v) { Ok(v) } else { Err(v) }
    })
    .await
}

fn ids(v: &Value) -> Vec<String> {
    v["hits"].as_array().unwrap().iter().map(|h| h["job"]["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn search_follows_the_api_and_filters() {
    let app = TestApp::spawn().await;
    let (_, k) = app.org("黔联测试制造有限公司", "employer", None).await;
    let welder = post(&app, &k, "电焊工", "钢结构厂招聘熟练电焊工，包吃住", "441900", &["电焊"]).await;
    let argon = post(&app, &k, "氩弧焊工", "不锈钢管道氩弧焊", "522301", &["氩弧焊"]).await;
    let nanny = post(&app, &k, "家政服务员", "照顾老人，做饭打扫，要求细心", "440606", &["家政"]).await;
    let v = search_until(&app, &k, "q=焊工", |v| ids(v).len() >= 2).await;
    let found = ids(&v);
    assert!(found.contains(&welder) && found.contains(&argon) && !found.contains(&nanny), "{v}");
    assert!(v["hits"][0]["highlights"].to_string().contains("<em>"), "{v}");
    let v = search_until(&app, &k, "q=保姆", |v| !ids(v).is_empty()).await;
    assert_eq!(ids(&v), vec![nanny.as_str()], "保姆 finds 家政 postings");
    let v = search_until(&app, &k, "q=东莞", |v| !ids(v).is_empty()).await;
    assert_eq!(ids(&v), vec![welder.as_str()]);
    let v = search_until(&app, &k, "q=焊工&cross_province=false", |v| !ids(v).is_empty()).await;
    assert_eq!(ids(&v), vec![argon.as_str()]);
    let v = search_until(&app, &k, "q=&prefecture_code=522300", |v| !ids(v).is_empty()).await;
    assert_eq!(ids(&v), vec![argon.as_str()]);
    let v = search_until(&app, &k, "q=&limit=2", |v| ids(v).len() == 2).await;
    assert_eq!(v["total"], 3);
    let next = v["next_cursor"].as_str().unwrap().to_owned();
    let v2 = search_until(&app, &k, &format!("q=&limit=2&cursor={next}"), |v| !ids(v).is_empty()).await;
    assert_eq!(ids(&v2).len(), 1);
    // Closing a job through the API takes it out of the results.
    app.post_as(&k, &format!("/v1/jobs/{welder}/close")).send().await.unwrap();
    let v = search_until(&app, &k, "q=焊工", |v| ids(v).len() == 1).await;
    assert_eq!(ids(&v), vec![argon.as_str()]);
    let v = search_until(&app, &k, "q=焊工&status=closed", |v| !ids(v).is_empty()).await;
    assert_eq!(ids(&v), vec![welder.as_str()]);
    // An edit is searchable too.
    app.patch_as(&k, &format!("/v1/jobs/{nanny}")).json(&json!({"title": "月嫂"})).send().await.unwrap();
    let v = search_until(&app, &k, "q=月嫂", |v| !ids(v).is_empty()).await;
    assert_eq!(ids(&v), vec![nanny.as_str()]);
    // Readiness reports the index.
    let r = json(app.get("/readyz").send().await.unwrap()).await;
    assert!(r["search_index"]["docs"].as_u64().unwrap() >= 3, "{r}");
}

#[tokio::test]
async fn no_query_string_breaks_search() {
    let app = TestApp::spawn().await;
    let (_, k) = app.org("某厂", "employer", None).await;
    post(&app, &k, "普工", "流水线", "522328", &[]).await;
    for q in [
        "焊工 AND(",
        "\"电子厂",
        "title:叉车",
        "((((",
        "*",
        "-",
        "OR",
        "普工 OR",
        "\\",
        "%",
        "' OR 1=1 --",
        "💥",
        "a:b:c",
        "[1 TO",
        "NOT",
    ] {
        let res = app.get_as(&k, "/v1/jobs/search").query(&[("q", q)]).send().await.unwrap();
        assert_eq!(res.status(), 200, "{q}");
    }
    for bad in ["limit=0", "limit=101", "cursor=zz", "status=gone", "county_code=52", "occupation_code=6-1"] {
        let res = app.get_as(&k, &format!("/v1/jobs/search?{bad}")).send().await.unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    let long = "焊".repeat(201);
    assert_eq!(app.get_as(&k, "/v1/jobs/search").query(&[("q", long.as_str())]).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn a_restarted_index_catches_up_from_where_it_left_off() {
    let app = TestApp::spawn().await;
    let (_, k) = app.org("某厂", "employer", None).await;
    post(&app, &k, "叉车司机", "仓库叉车", "522328", &["叉车"]).await;
    let dir = std::env::temp_dir().join(format!("qianlink-index-restart-{}", app.db.name));
    let pool = app.state.pool.clone();
    let first = {
        let ix = app::indexing::Indexer::open(&dir).unwrap();
        let p = pool.clone();
        let ix = std::sync::Arc::new(ix);
        let ix2 = ix.clone();
        tokio::task::spawn_blocking(move || {
            eventually_blocking("the first job indexed", || {
                ix2.catch_up(&p).unwrap();
                ix2.index.num_docs() >= 1
            })
        })
        .await
        .unwrap();
        ix.index.cursor().unwrap()
    };
    // While "down", another job is posted; the reopened index has the old cursor and catches up.
    post(&app, &k, "叉车工", "夜班叉车", "522301", &["叉车"]).await;
    let ix = std::sync::Arc::new(app::indexing::Indexer::open(&dir).unwrap());
    assert_eq!(ix.index.cursor(), Some(first));
    assert_eq!(ix.index.num_docs(), 1);
    let ix2 = ix.clone();
    tokio::task::spawn_blocking(move || {
        eventually_blocking("the second job indexed after the reopening", || {
            ix2.catch_up(&pool).unwrap();
            ix2.index.num_docs() >= 2
        })
    })
    .await
    .unwrap();
    assert_eq!(ix.index.num_docs(), 2);
    assert!(ix.index.cursor().unwrap() > first);
    drop(ix);
    let _ = std::fs::remove_dir_all(dir);
}
