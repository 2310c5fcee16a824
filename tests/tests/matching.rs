//! The matcher over HTTP (#5): ranking with reasons, who sees what,
//! fairness, offers with caps, kept current from the outbox.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use qianlink_tests::{TestApp, eventually, id_number, json, worker_json};
use serde_json::{Value, json};

const ANLONG: &str = "522328";
const XINGYI: &str = "522301";

struct W {
    app: TestApp,
    county: String,
    employer: String,
}

async fn world() -> W {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("安龙县就业局", "county_office", Some(ANLONG)).await;
    let (_, employer) = app.org("安龙县某焊接厂", "employer", None).await;
    W { app, county, employer }
}

impl W {
    async fn worker(&self, body: Value) -> String {
        let res = self.app.post_as(&self.county, "/v1/workers").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        json(res).await["id"].as_str().unwrap().to_owned()
    }

    async fn job(&self, openings: i64) -> String {
        let j = json!({"title": "电焊工", "description": "钢结构焊接", "occupation_code": "6-18-02-04", "skills": ["电焊"],
                       "work_county_code": ANLONG, "wage_min": 4500, "wage_max": 6000, "openings": openings});
        let res = self.app.post_as(&self.employer, "/v1/jobs").json(&j).send().await.unwrap();
        assert_eq!(res.status(), 201);
        json(res).await["id"].as_str().unwrap().to_owned()
    }

    /// Candidates, waiting (with a deadline) until `ready` holds: the store
    /// follows the outbox, whose horizon another test's transaction may hold back.
    async fn candidates_until(&self, key: &str, job: &str, ready: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        eventually("the candidates", async || {
            let res = self.app.get_as(key, &format!("/v1/jobs/{job}/candidates?limit=50")).send().await.unwrap();
            assert_eq!(res.status(), 200);
            let items = json(res).await["items"].as_array().unwrap().clone();
            if ready(&items) { Ok(items) } else { Err(items) }
        })
        .await
    }
}

fn welder(seq: u32, household: &str) -> Value {
    let mut w = worker_json(&id_number(ANLONG, "19900101", seq), ANLONG, household, "unemployed");
    w["skills"] = json!(["电焊"]);
    w
}

#[tokio::test]
async fn candidates_are_ranked_and_explained_and_posters_see_them_anonymised() {
    let w = world().await;
    let skilled = w.worker(welder(101, "HH-1")).await;
    let mut plain = worker_json(&id_number(ANLONG, "19910101", 103), ANLONG, "HH-2", "unemployed");
    plain["skills"] = json!([]);
    let plain = w.worker(plain).await;
    let mut out = welder(105, "HH-3");
    out["accepts_offers"] = false.into();
    let opted_out = w.worker(out).await;
    let job = w.job(5).await;
    let items = w.candidates_until(&w.county, &job, |i| i.len() >= 2).await;
    let ids: Vec<&str> = items.iter().map(|i| i["worker_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [skilled.as_str(), plain.as_str()], "{items:?}");
    for i in &items {
        let sum: f64 = i["reasons"].as_array().unwrap().iter().map(|r| r["points"].as_f64().unwrap()).sum();
        assert!((sum - i["score"].as_f64().unwrap()).abs() < 1e-6, "{i}");
    }
    let texts: Vec<&str> =
        items[0]["reasons"].as_array().unwrap().iter().map(|r| r["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"技能匹配：电焊"), "{texts:?}");
    assert!(texts.contains(&"本县就业：安龙县"), "{texts:?}");
    assert!(texts.contains(&"零就业家庭优先"), "the county office sees priority reasons: {texts:?}");
    // The poster sees opaque ids and job-fit reasons only.
    let posted = w.candidates_until(&w.employer, &job, |i| i.len() >= 2).await;
    assert_eq!(posted.len(), 2);
    for p in &posted {
        assert!(p["worker_id"].as_str().unwrap().starts_with("c_"), "{p}");
        let text = p.to_string();
        assert!(
            !text.contains("零就业") && !text.contains("监测") && !text.contains("返乡") && !text.contains("困难"),
            "{text}"
        );
        let sum: f64 = p["reasons"].as_array().unwrap().iter().map(|r| r["points"].as_f64().unwrap()).sum();
        assert!((sum - p["score"].as_f64().unwrap()).abs() < 1e-6);
    }
    assert!(!posted.iter().any(|p| p["worker_id"] == skilled.as_str()));
    // Another employer may not look.
    let (_, other) = w.app.org("别家厂", "employer", None).await;
    assert_eq!(w.app.get_as(&other, &format!("/v1/jobs/{job}/candidates")).send().await.unwrap().status(), 403);
    // Explaining one pair says why a worker is filtered out.
    let e =
        json(w.app.get_as(&w.county, &format!("/v1/jobs/{job}/candidates/{opted_out}")).send().await.unwrap()).await;
    assert_eq!(e["eligible"], false);
    assert!(e["filtered_because"].as_array().unwrap().iter().any(|r| r == "已退订岗位推送"), "{e}");
    let e = json(w.app.get_as(&w.county, &format!("/v1/jobs/{job}/candidates/{skilled}")).send().await.unwrap()).await;
    assert_eq!(e["eligible"], true);
    assert_eq!(e["score"], items[0]["score"]);
    assert_eq!(
        w.app.get_as(&w.employer, &format!("/v1/jobs/{job}/candidates/{skilled}")).send().await.unwrap().status(),
        403
    );
}

#[tokio::test]
async fn the_gender_digit_changes_no_score() {
    let w = world().await;
    // Same birth date and sequence except the 17th digit's parity: one male, one female.
    let male = id_number(ANLONG, "19880808", 123);
    let female = id_number(ANLONG, "19880808", 124);
    let mut a = welder(0, "HH-A");
    a["id_number"] = male.clone().into();
    a["phone"] = "13800000001".into();
    let mut b = welder(0, "HH-B");
    b["id_number"] = female.clone().into();
    b["phone"] = "13800000002".into();
    let ida = w.worker(a).await;
    let idb = w.worker(b).await;
    let job = w.job(5).await;
    let items = w.candidates_until(&w.county, &job, |i| i.len() >= 2).await;
    let score = |id: &str| items.iter().find(|i| i["worker_id"] == id).unwrap()["score"].as_f64().unwrap();
    assert_eq!(score(&ida), score(&idb));
    let reasons = |id: &str| items.iter().find(|i| i["worker_id"] == id).unwrap()["reasons"].clone();
    assert_eq!(reasons(&ida), reasons(&idb));
}

#[tokio::test]
async fn offers_serve_zero_employment_households_first_and_respect_caps() {
    let w = world().await;
    // A strong welder whose household has an employed member ...
    let strong = w.worker(welder(101, "HH-1")).await;
    let mut employed = worker_json(&id_number(ANLONG, "19800101", 103), ANLONG, "HH-1", "employed");
    employed["skills"] = json!([]);
    w.worker(employed).await;
    // ... and a plain worker alone in a zero-employment household.
    let mut plain = worker_json(&id_number(ANLONG, "19910101", 105), ANLONG, "HH-2", "unemployed");
    plain["skills"] = json!([]);
    let plain = w.worker(plain).await;
    let mut stop = welder(107, "HH-3");
    stop["accepts_offers"] = false.into();
    let stopped = w.worker(stop).await;
    let job = w.job(1).await;
    // Two candidates: the strong welder and the plain worker (the employed one and the opted-out one are not).
    w.candidates_until(&w.county, &job, |i| i.len() >= 2).await;
    let res =
        w.app.post_as(&w.employer, &format!("/v1/jobs/{job}/offers")).json(&json!({"count": 1})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let offers = json(res).await["items"].as_array().unwrap().clone();
    assert_eq!(offers.len(), 1);
    assert_eq!(offers[0]["worker_id"], plain.as_str(), "the zero-employment household comes first");
    assert_eq!(offers[0]["status"], "queued");
    // Again: the next best, never the opted-out worker.
    let res =
        w.app.post_as(&w.employer, &format!("/v1/jobs/{job}/offers")).json(&json!({"count": 5})).send().await.unwrap();
    let offers = json(res).await["items"].as_array().unwrap().clone();
    let ids: Vec<&str> = offers.iter().map(|o| o["worker_id"].as_str().unwrap()).collect();
    assert!(ids.contains(&strong.as_str()) && !ids.contains(&stopped.as_str()), "{ids:?}");
    // Explicit workers must be eligible.
    let res = w
        .app
        .post_as(&w.employer, &format!("/v1/jobs/{job}/offers"))
        .json(&json!({"worker_ids": [stopped]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let list = json(w.app.get_as(&w.employer, &format!("/v1/offers?job_id={job}")).send().await.unwrap()).await;
    assert!(list["items"].as_array().unwrap().len() >= 2);
    let (_, other) = w.app.org("别家厂", "employer", None).await;
    let list = json(w.app.get_as(&other, "/v1/offers").send().await.unwrap()).await;
    assert!(list["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn caps_hold_under_concurrent_planning() {
    let w = world().await;
    for i in 0..4 {
        w.worker(welder(101 + 2 * i, &format!("HH-{i}"))).await;
    }
    let mut jobs = Vec::new();
    for _ in 0..8 {
        jobs.push(w.job(10).await);
    }
    w.candidates_until(&w.county, &jobs[0], |i| i.len() >= 4).await;
    let mut handles = Vec::new();
    for j in &jobs {
        let client = w.app.client.clone();
        let url = w.app.url(&format!("/v1/jobs/{j}/offers"));
        let key = w.employer.clone();
        handles.push(tokio::spawn(async move {
            client.post(url).bearer_auth(key).json(&json!({"count": 10})).send().await.unwrap().status().as_u16()
        }));
    }
    for h in handles {
        assert_eq!(h.await.unwrap(), 201);
    }
    let list = json(w.app.get_as(&w.app.admin_key, "/v1/offers?limit=200").send().await.unwrap()).await;
    let mut per: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for o in list["items"].as_array().unwrap() {
        *per.entry(o["worker_id"].as_str().unwrap().to_owned()).or_default() += 1;
    }
    assert_eq!(per.len(), 4);
    assert!(per.values().all(|n| *n == 3), "at most 3 open offers each: {per:?}");
}

#[tokio::test]
async fn recommendations_and_acceptance_reveal() {
    let w = world().await;
    let mut far = welder(101, "HH-1");
    far["willing_cross_province"] = false.into();
    let id = w.worker(far).await;
    let near = w.job(3).await;
    let j = json!({"title": "电焊工（东莞）", "skills": ["电焊"], "work_county_code": "441900", "wage_min": 6000, "wage_max": 8000, "openings": 3});
    let res = w.app.post_as(&w.employer, "/v1/jobs").json(&j).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let recs = eventually("a job recommendation", async || {
        let r =
            json(w.app.get_as(&w.county, &format!("/v1/workers/{id}/job-recommendations")).send().await.unwrap()).await;
        if r["items"].as_array().unwrap().is_empty() { Err(r) } else { Ok(r) }
    })
    .await;
    let items = recs["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "the cross-province job is filtered for an unwilling worker: {recs}");
    assert_eq!(items[0]["job_id"], near.as_str());
    assert_eq!(
        w.app.get_as(&w.employer, &format!("/v1/workers/{id}/job-recommendations")).send().await.unwrap().status(),
        403
    );
    // Once the worker accepts the job's offer, its poster sees who they are.
    let res =
        w.app.post_as(&w.employer, &format!("/v1/jobs/{near}/offers")).json(&json!({"count": 1})).send().await.unwrap();
    assert_eq!(json(res).await["items"].as_array().unwrap().len(), 1);
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE offers SET status = 'accepted', responded_at = now()"),
        &mut w.app.conn(),
    )
    .unwrap();
    let posted = w.candidates_until(&w.employer, &near, |i| i.iter().any(|c| c["name"].is_string())).await;
    assert_eq!(posted[0]["worker_id"], id.as_str());
    assert_eq!(posted[0]["name"], "王小明");
    assert!(posted[0]["phone"].as_str().unwrap().starts_with("138"));
    assert!(!posted[0]["phone"].as_str().unwrap().contains('*'));
    // Other county offices see the job's candidates anonymised.
    let (_, xingyi) = w.app.org("兴义市就业局", "county_office", Some(XINGYI)).await;
    let seen = w.candidates_until(&xingyi, &near, |i| !i.is_empty()).await;
    assert!(seen[0]["worker_id"].as_str().unwrap().starts_with("c_"));
}
