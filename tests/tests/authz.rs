//! The authorization matrix (#11; OWASP API1 object level, API3 property
//! level, API5 function level): every operation of the OpenAPI document ×
//! every role × the caller's own and another tenant's object, each cell
//! asserting allowed or refused. A test fails when an operation of the
//! document has no row here, so a new route cannot skip the matrix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)] // test code

use qianlink_tests::{TestApp, eventually, id_number, json, worker_json};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU32, Ordering};

const A: &str = "522328"; // 安龙县
const B: &str = "522301"; // 兴义市

#[derive(Clone, Copy, PartialEq, Eq, Debug, PartialOrd, Ord)]
enum Who {
    Admin,
    CountyA,
    CountyB,
    Employer,
    Employer2,
    Park,
    Broker,
    Team,
}

use Who::*;
const EVERYONE: [Who; 8] = [Admin, CountyA, CountyB, Employer, Employer2, Park, Broker, Team];
const POSTERS: [Who; 6] = [Admin, Employer, Employer2, Park, Broker, Team];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// 2xx.
    Ok,
    /// Admitted: not 401, 403 or 404, and no server error (the body may
    /// still be refused on its merits: 400, 409, 413, 415, 422).
    Admitted,
    /// 403, or 404 where the object's existence is not disclosed.
    Refused,
    /// 401.
    Unauthenticated,
}

struct Cell {
    op: &'static str,
    who: Option<Who>,
    tenant: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    expect: Expect,
}

struct K {
    key: String,
    id: String,
}

struct World {
    app: TestApp,
    keys: BTreeMap<Who, K>,
    worker_a: String,
    worker_b: String,
    jobs: BTreeMap<Who, String>,
    placement_a: String,
    placement_b: String,
    event_a: String,
    event_b: String,
    period: String,
    year: i32,
    spare_key: String,
    seq: AtomicU32,
}

impl World {
    fn key(&self, who: Who) -> &str {
        &self.keys[&who].key
    }

    fn id(&self, who: Who) -> &str {
        &self.keys[&who].id
    }

    async fn send(&self, key: Option<&str>, method: Method, path: &str, body: Option<&Value>) -> reqwest::Response {
        let mut r = self.app.client.request(method, self.app.url(path));
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        if let Some(b) = body {
            r = r.json(b);
        }
        r.send().await.unwrap()
    }

    async fn ok(&self, who: Who, method: Method, path: &str, body: Value) -> Value {
        let res = self.send(Some(self.key(who)), method, path, Some(&body)).await;
        let status = res.status();
        let v = json(res).await;
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    async fn worker(&self, county: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let who = if county == A { CountyA } else { CountyB };
        let w = worker_json(&id_number(county, "19900101", n), county, &format!("HH-{county}-{n}"), "unemployed");
        self.ok(who, Method::POST, "/v1/workers", w).await["id"].as_str().unwrap().to_owned()
    }

    async fn job(&self, who: Who) -> String {
        let n = self.seq.fetch_add(1, Ordering::SeqCst);
        let body = json!({"title": format!("电焊工{n}"), "description": "负责钢结构焊接，持焊工证优先。", "occupation_code": "6-18-02-04",
                          "skills": ["电焊"], "work_county_code": A, "wage_min": 4500, "wage_max": 6000, "openings": 5});
        self.ok(who, Method::POST, "/v1/jobs", body).await["id"].as_str().unwrap().to_owned()
    }
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let me = json(app.get_as(&app.admin_key, "/v1/me").send().await.unwrap()).await;
    let mut keys = BTreeMap::new();
    keys.insert(Admin, K { key: app.admin_key.clone(), id: me["org_id"].as_str().unwrap().to_owned() });
    for (who, name, kind, county) in [
        (CountyA, "安龙县就业局", "county_office", Some(A)),
        (CountyB, "兴义市就业局", "county_office", Some(B)),
        (Employer, "东莞某电子厂", "employer", None),
        (Employer2, "另一电子厂", "employer", None),
        (Park, "安龙县工业园区", "industrial_park", None),
        (Broker, "安龙县劳务公司", "broker", None),
        (Team, "东莞市东西部协作工作队", "coop_team", None),
    ] {
        let (id, key) = app.org(name, kind, county).await;
        keys.insert(who, K { key, id });
    }
    let now = chrono::Utc::now().date_naive();
    let mut w = World {
        app,
        keys,
        worker_a: String::new(),
        worker_b: String::new(),
        jobs: BTreeMap::new(),
        placement_a: String::new(),
        placement_b: String::new(),
        event_a: String::new(),
        event_b: String::new(),
        period: now.format("%Y-%m").to_string(),
        year: chrono::Datelike::year(&now) + 1,
        spare_key: String::new(),
        seq: AtomicU32::new(100),
    };
    w.worker_a = w.worker(A).await;
    w.worker_b = w.worker(B).await;
    for who in POSTERS {
        let j = w.job(who).await;
        w.jobs.insert(who, j);
    }
    // Placement A: organised by the broker for the employer; placement B: the second employer's own hire.
    let pa = json!({"worker_id": w.worker_a, "employer_org_id": w.id(Employer), "broker_org_id": w.id(Broker),
                    "start_date": "2024-01-02", "contract_months": 12, "work_county_code": "441900", "organised_by": "broker"});
    w.placement_a = w.ok(Broker, Method::POST, "/v1/placements", pa).await["id"].as_str().unwrap().to_owned();
    let pb = json!({"worker_id": w.worker_b, "employer_org_id": w.id(Employer2),
                    "start_date": "2024-01-02", "contract_months": 12, "work_county_code": "441900", "organised_by": "self"});
    w.placement_b = w.ok(Employer2, Method::POST, "/v1/placements", pb).await["id"].as_str().unwrap().to_owned();
    for (who, p) in [(Employer, w.placement_a.clone()), (Employer2, w.placement_b.clone())] {
        for m in 1..=6 {
            let body =
                json!({"month": format!("2024-{m:02}"), "employed": true, "social_insurance_paid": true, "wage": 5200});
            w.ok(who, Method::POST, &format!("/v1/placements/{p}/reports"), body).await;
        }
    }
    w.ok(Admin, Method::POST, "/v1/milestones/scan?as_of=2024-12-31", json!({})).await;
    let events = w.ok(Admin, Method::GET, "/v1/subsidy-events", Value::Null).await;
    let find = |pl: &str, rule: &str| {
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["placement_id"] == pl && e["rule_id"] == rule)
            .unwrap_or_else(|| panic!("no {rule} event for {pl}: {events}"))["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    w.event_a = find(&w.placement_a, "follow_up_service");
    w.event_b = find(&w.placement_b, "cross_province_transport");
    // The team's list for next year, submitted; rounds for both counties.
    w.ok(Admin, Method::PUT, &format!("/v1/coop-teams/{}", w.id(Team)), json!({"guangdong_city_code": "441900"})).await;
    let items = json!([{"ref": "J-1", "kind": "employment", "title": "电子厂普工", "skills": ["装配"], "headcount": 50,
                        "wage_min": 4500, "wage_max": 6500, "work_county_code": "441900", "start_month": format!("{}-03", w.year),
                        "organised_export": true}]);
    w.ok(Team, Method::PUT, &format!("/v1/demand-lists/{}", w.year), json!({"items": items})).await;
    w.ok(Team, Method::POST, &format!("/v1/demand-lists/{}/submit", w.year), json!({})).await;
    for who in [CountyA, CountyB] {
        w.ok(who, Method::POST, "/v1/monitoring-rounds", json!({"period": w.period})).await;
    }
    let spare = w
        .ok(Admin, Method::POST, &format!("/v1/organizations/{}/api-keys", w.id(Team)), json!({"issued_to": "备用"}))
        .await;
    w.spare_key = spare["id"].as_str().unwrap().to_owned();
    w
}

/// Allowed for `yes`, refused for everyone else.
fn roles(cells: &mut Vec<Cell>, op: &'static str, path: &str, body: Option<Value>, yes: &[Who], expect: Expect) {
    for who in EVERYONE {
        cells.push(Cell {
            op,
            who: Some(who),
            tenant: "-",
            method: method_of(op),
            path: path.to_owned(),
            body: body.clone(),
            expect: if yes.contains(&who) { expect } else { Expect::Refused },
        });
    }
}

/// A county's object: admin and that county's office, nobody else. Each
/// county office is tried on its own county's object and on the other's.
fn county(cells: &mut Vec<Cell>, op: &'static str, path: impl Fn(&str) -> (String, Option<Value>), expect: Expect) {
    for who in EVERYONE {
        let tries: &[(&str, &'static str)] = match who {
            CountyA => &[(A, "own"), (B, "other")],
            CountyB => &[(B, "own"), (A, "other")],
            Admin => &[(A, "any")],
            _ => &[(A, "-")],
        };
        for (c, tenant) in tries {
            let (p, body) = path(c);
            let allowed = *tenant == "own" || *tenant == "any";
            cells.push(Cell {
                op,
                who: Some(who),
                tenant,
                method: method_of(op),
                path: p,
                body,
                expect: if allowed { expect } else { Expect::Refused },
            });
        }
    }
}

fn method_of(op: &str) -> Method {
    Method::from_bytes(op.split(' ').next().unwrap().as_bytes()).unwrap()
}

fn cell(op: &'static str, who: Who, tenant: &'static str, path: String, body: Option<Value>, expect: Expect) -> Cell {
    Cell { op, who: Some(who), tenant, method: method_of(op), path, body, expect }
}

async fn cells(w: &World) -> Vec<Cell> {
    use Expect::*;
    let mut c: Vec<Cell> = Vec::new();
    let (y, p) = (w.year, w.period.clone());
    let wid = |county: &str| if county == A { w.worker_a.clone() } else { w.worker_b.clone() };
    // Anyone with a key.
    for (op, path) in [
        ("GET /v1/me", "/v1/me".to_owned()),
        ("GET /v1/divisions", "/v1/divisions?parent=520000".to_owned()),
        ("GET /v1/occupations", "/v1/occupations?q=焊工".to_owned()),
        ("GET /v1/jobs", "/v1/jobs".to_owned()),
        ("GET /v1/jobs/search", "/v1/jobs/search?q=%E7%84%8A%E5%B7%A5".to_owned()),
        ("GET /v1/jobs/{id}", format!("/v1/jobs/{}", w.jobs[&Employer])),
        ("GET /v1/policies", "/v1/policies".to_owned()),
        ("GET /v1/demand-lists/template.xlsx", "/v1/demand-lists/template.xlsx".to_owned()),
        ("GET /v1/offers", "/v1/offers".to_owned()),
        ("GET /v1/placements", "/v1/placements".to_owned()),
        ("GET /v1/subsidy-events", "/v1/subsidy-events".to_owned()),
        ("GET /v1/subsidy-events/blocked", "/v1/subsidy-events/blocked".to_owned()),
    ] {
        roles(&mut c, op, &path, None, &EVERYONE, Ok);
    }
    // Admin only.
    let n = w.seq.fetch_add(1, Ordering::SeqCst);
    roles(&mut c, "GET /v1/audit", "/v1/audit", None, &[Admin], Ok);
    roles(&mut c, "GET /v1/organizations", "/v1/organizations", None, &[Admin], Ok);
    roles(
        &mut c,
        "POST /v1/organizations",
        "/v1/organizations",
        Some(json!({"name": format!("矩阵单位{n}"), "kind": "employer"})),
        &[Admin],
        Ok,
    );
    roles(
        &mut c,
        "POST /v1/organizations/{id}/api-keys",
        &format!("/v1/organizations/{}/api-keys", w.id(Employer)),
        Some(json!({"issued_to": "矩阵"})),
        &[Admin],
        Ok,
    );
    roles(&mut c, "DELETE /v1/api-keys/{id}", &format!("/v1/api-keys/{}", w.spare_key), None, &[Admin], Ok);
    roles(
        &mut c,
        "PUT /v1/coop-teams/{org_id}",
        &format!("/v1/coop-teams/{}", w.id(Team)),
        Some(json!({"guangdong_city_code": "441900"})),
        &[Admin],
        Ok,
    );
    roles(
        &mut c,
        "POST /v1/demand-lists/{year}/{team_id}/reopen",
        &format!("/v1/demand-lists/{y}/{}/reopen", w.id(Team)),
        Some(json!({"reason": "请补充岗位"})),
        &[Admin],
        Admitted,
    );
    roles(
        &mut c,
        "GET /v1/demand-lists/{year}/consolidated",
        &format!("/v1/demand-lists/{y}/consolidated"),
        None,
        &[Admin],
        Ok,
    );
    roles(
        &mut c,
        "GET /v1/demand-lists/{year}/consolidated.xlsx",
        &format!("/v1/demand-lists/{y}/consolidated.xlsx"),
        None,
        &[Admin],
        Ok,
    );
    roles(&mut c, "POST /v1/milestones/scan", "/v1/milestones/scan?as_of=2024-12-31", None, &[Admin], Ok);
    roles(&mut c, "POST /v1/policies", "/v1/policies", Some(json!({})), &[Admin], Admitted);
    roles(&mut c, "GET /v1/webhooks", "/v1/webhooks", None, &[Admin], Ok);
    roles(
        &mut c,
        "POST /v1/webhooks",
        "/v1/webhooks",
        Some(json!({"url": "http://127.0.0.1:9/hook", "secret": "0123456789abcdef"})),
        &[Admin],
        Ok,
    );
    let moving = w.worker(A).await;
    roles(
        &mut c,
        "POST /v1/workers/{id}/transfer",
        &format!("/v1/workers/{moving}/transfer"),
        Some(json!({"county_code": B, "household_code": format!("HH-T-{n}")})),
        &[Admin],
        Ok,
    );
    let leaving = w.worker(A).await;
    roles(&mut c, "DELETE /v1/workers/{id}", &format!("/v1/workers/{leaving}"), None, &[Admin], Ok);
    // Ledger keepers, by the county of the object.
    for (op, sub, body, expect) in [
        ("GET /v1/workers/{id}", "", None, Ok),
        ("PATCH /v1/workers/{id}", "", Some(json!({"skills": ["电焊", "叉车"]})), Ok),
        ("GET /v1/workers/{id}/trainings", "/trainings", None, Ok),
        (
            "POST /v1/workers/{id}/trainings",
            "/trainings",
            Some(
                json!({"course": "焊工定岗培训", "kind": "position", "occupation_code": "6-18-02-04", "skills": ["电焊"],
                        "hours": 80, "certificate": "焊工证", "completed_on": "2024-05-20", "provider": "安龙县职业技术学校"}),
            ),
            Ok,
        ),
        ("POST /v1/workers/{id}/binding-code", "/binding-code", None, Admitted),
        ("GET /v1/workers/{id}/job-recommendations", "/job-recommendations", None, Ok),
    ] {
        county(&mut c, op, |cc| (format!("/v1/workers/{}{sub}", wid(cc)), body.clone()), expect);
    }
    county(
        &mut c,
        "GET /v1/households/{code}",
        |cc| (format!("/v1/households/HH-{cc}-{}", if cc == A { 100 } else { 101 }), None),
        Ok,
    );
    county(
        &mut c,
        "GET /v1/jobs/{id}/candidates/{worker_id}",
        |cc| (format!("/v1/jobs/{}/candidates/{}", w.jobs[&Employer], wid(cc)), None),
        Ok,
    );
    for (op, path) in [
        ("GET /v1/workers", "/v1/workers"),
        ("GET /v1/households", "/v1/households"),
        ("GET /v1/workers/export.xlsx", "/v1/workers/export.xlsx"),
        ("GET /v1/subsidy-events/export.xlsx", "/v1/subsidy-events/export.xlsx"),
    ] {
        county(&mut c, op, |cc| (format!("{path}?county_code={cc}"), None), Ok);
    }
    county(
        &mut c,
        "GET /v1/monitoring/years/{year}",
        |cc| (format!("/v1/monitoring/years/{}?county_code={cc}", &p[..4]), None),
        Ok,
    );
    county(
        &mut c,
        "GET /v1/monitoring-rounds/{period}/report",
        |cc| (format!("/v1/monitoring-rounds/{p}/report?county_code={cc}"), None),
        Ok,
    );
    county(
        &mut c,
        "GET /v1/monitoring-rounds/{period}/report.xlsx",
        |cc| (format!("/v1/monitoring-rounds/{p}/report.xlsx?county_code={cc}"), None),
        Ok,
    );
    county(
        &mut c,
        "POST /v1/monitoring-rounds/{period}/responses",
        |cc| {
            (
                format!("/v1/monitoring-rounds/{p}/responses"),
                Some(json!({"worker_id": wid(cc), "employment_status": "unemployed"})),
            )
        },
        Admitted,
    );
    let mut new_workers = Vec::new();
    for _ in 0..16 {
        new_workers.push(w.seq.fetch_add(1, Ordering::SeqCst));
    }
    let next = std::sync::Mutex::new(new_workers.into_iter());
    county(
        &mut c,
        "POST /v1/workers",
        |cc| {
            let n = next.lock().unwrap().next().unwrap();
            (
                "/v1/workers".to_owned(),
                Some(worker_json(&id_number(cc, "19920202", n), cc, &format!("HH-N-{n}"), "unemployed")),
            )
        },
        Ok,
    );
    let keepers = [Admin, CountyA, CountyB];
    roles(&mut c, "GET /v1/workers/import-template.xlsx", "/v1/workers/import-template.xlsx", None, &keepers, Ok);
    roles(&mut c, "POST /v1/workers/import", "/v1/workers/import", None, &keepers, Admitted);
    roles(
        &mut c,
        "POST /v1/monitoring-rounds",
        "/v1/monitoring-rounds",
        Some(json!({"period": p})),
        &keepers,
        Admitted,
    );
    roles(
        &mut c,
        "POST /v1/monitoring-rounds/{period}/responses/import",
        &format!("/v1/monitoring-rounds/{p}/responses/import"),
        None,
        &keepers,
        Admitted,
    );
    // Jobs: posters post; a job is changed by its poster (or admin); candidates
    // and offers by its poster, county offices and admin.
    let n = w.seq.fetch_add(1, Ordering::SeqCst);
    roles(
        &mut c,
        "POST /v1/jobs",
        "/v1/jobs",
        Some(
            json!({"title": format!("叉车司机{n}"), "description": "仓库叉车作业。", "skills": ["叉车"], "work_county_code": A,
                    "wage_min": 5000, "wage_max": 6500, "openings": 2}),
        ),
        &POSTERS,
        Ok,
    );
    for who in EVERYONE {
        let own = w.jobs.get(&who).cloned();
        let other = if who == Employer { w.jobs[&Employer2].clone() } else { w.jobs[&Employer].clone() };
        let mut tries = vec![(other, "other")];
        if let Some(j) = own {
            tries.push((j, "own"));
        }
        for (job, tenant) in tries {
            let owner = tenant == "own";
            let ranks = owner || matches!(who, Admin | CountyA | CountyB);
            let e = |yes: bool, exp: Expect| if yes { exp } else { Refused };
            let patch = Some(json!({"wage_max": 6100}));
            c.push(cell(
                "PATCH /v1/jobs/{id}",
                who,
                tenant,
                format!("/v1/jobs/{job}"),
                patch,
                e(owner || who == Admin, Ok),
            ));
            c.push(cell(
                "GET /v1/jobs/{id}/candidates",
                who,
                tenant,
                format!("/v1/jobs/{job}/candidates"),
                None,
                e(ranks, Ok),
            ));
            let body = Some(json!({"count": 1}));
            c.push(cell(
                "POST /v1/jobs/{id}/offers",
                who,
                tenant,
                format!("/v1/jobs/{job}/offers"),
                body,
                e(ranks, Admitted),
            ));
        }
        let closing = if POSTERS.contains(&who) { w.job(who).await } else { w.jobs[&Employer].clone() };
        let owner = POSTERS.contains(&who);
        c.push(cell(
            "POST /v1/jobs/{id}/close",
            who,
            if owner { "own" } else { "-" },
            format!("/v1/jobs/{closing}/close"),
            None,
            if owner { Ok } else { Refused },
        ));
        if owner && who != Employer {
            let theirs = if who == Admin { w.job(Employer).await } else { w.jobs[&Employer].clone() };
            c.push(cell(
                "POST /v1/jobs/{id}/close",
                who,
                "other",
                format!("/v1/jobs/{theirs}/close"),
                None,
                if who == Admin { Admitted } else { Refused },
            ));
        }
    }
    // Placement A: its employer, its broker (also its registrar), worker A's county office, admin.
    let sees_a = [Admin, CountyA, Employer, Broker];
    roles(&mut c, "GET /v1/placements/{id}", &format!("/v1/placements/{}", w.placement_a), None, &sees_a, Ok);
    roles(
        &mut c,
        "POST /v1/placements/{id}/reports",
        &format!("/v1/placements/{}/reports", w.placement_a),
        Some(json!({"month": "2024-07", "employed": true, "social_insurance_paid": true, "wage": 5200})),
        // Evidence comes from those who employ and place; officers resolve conflicts instead.
        &[Employer, Broker],
        Admitted,
    );
    roles(
        &mut c,
        "POST /v1/placements/{id}/resolve",
        &format!("/v1/placements/{}/resolve", w.placement_a),
        Some(json!({"month": "2024-07", "employed": true, "social_insurance_paid": true, "note": "核实"})),
        &[Admin, CountyA],
        Ok,
    );
    roles(
        &mut c,
        "POST /v1/placements/{id}/separation",
        &format!("/v1/placements/{}/separation", w.placement_b),
        Some(json!({"date": "2024-11-30", "reason": "合同到期"})),
        &[Admin, CountyB, Employer2],
        Admitted,
    );
    for who in EVERYONE {
        let body = |employer: &str, broker: Option<&str>, worker: &str| {
            let mut b = json!({"worker_id": worker, "employer_org_id": employer, "start_date": "2024-03-01",
                               "contract_months": 12, "work_county_code": A, "organised_by": "self"});
            if let Some(br) = broker {
                b["broker_org_id"] = br.into();
                b["organised_by"] = "broker".into();
            }
            b
        };
        let fresh_a = w.worker(A).await;
        let (b, tenant, yes) = match who {
            Admin => (body(w.id(Employer), None, &fresh_a), "any", true),
            CountyA => (body(w.id(Employer), None, &fresh_a), "own", true),
            CountyB => (body(w.id(Employer), None, &fresh_a), "other", false),
            Employer => (body(w.id(Employer), None, &fresh_a), "own", true),
            Employer2 | Park => (body(w.id(Employer), None, &fresh_a), "other", false),
            Broker => (body(w.id(Employer), Some(w.id(Broker)), &fresh_a), "own", true),
            Team => (body(w.id(Employer), Some(w.id(Broker)), &fresh_a), "other", false),
        };
        c.push(cell(
            "POST /v1/placements",
            who,
            tenant,
            "/v1/placements".into(),
            Some(b),
            if yes { Ok } else { Refused },
        ));
    }
    // Subsidy events: admin, the county office of the worker's county, the payee.
    roles(
        &mut c,
        "GET /v1/subsidy-events/{id}",
        &format!("/v1/subsidy-events/{}", w.event_a),
        None,
        &[Admin, CountyA, Broker],
        Ok,
    );
    roles(
        &mut c,
        "GET /v1/subsidy-events/{id}",
        &format!("/v1/subsidy-events/{}", w.event_b),
        None,
        &[Admin, CountyB],
        Ok,
    );
    roles(
        &mut c,
        "POST /v1/subsidy-events/{id}/review",
        &format!("/v1/subsidy-events/{}/review", w.event_a),
        Some(json!({"decision": "approve", "note": "材料齐全"})),
        &[Admin, CountyA],
        Admitted,
    );
    // Demand lists: a team its own; admin and paired county offices read by team.
    let team = w.id(Team).to_owned();
    for (op, path) in [
        ("GET /v1/demand-lists/{year}", format!("/v1/demand-lists/{y}")),
        ("GET /v1/demand-lists/{year}/versions", format!("/v1/demand-lists/{y}/versions")),
        ("GET /v1/demand-lists/{year}/supply", format!("/v1/demand-lists/{y}/supply")),
    ] {
        for who in EVERYONE {
            let (path, expect) = match who {
                Team => (path.clone(), Ok),
                Admin => (format!("{path}?team_id={team}"), Ok),
                _ => (format!("{path}?team_id={team}"), Refused),
            };
            c.push(cell(op, who, if who == Team { "own" } else { "other" }, path, None, expect));
        }
    }
    let items = json!({"items": [{"ref": "J-9", "kind": "employment", "title": "普工", "skills": ["装配"], "headcount": 5,
                                  "wage_min": 4500, "wage_max": 6500, "work_county_code": "441900",
                                  "start_month": format!("{y}-05"), "organised_export": true}]});
    roles(&mut c, "PUT /v1/demand-lists/{year}", &format!("/v1/demand-lists/{y}"), Some(items), &[Team], Admitted);
    roles(
        &mut c,
        "POST /v1/demand-lists/{year}/submit",
        &format!("/v1/demand-lists/{y}/submit"),
        None,
        &[Team],
        Admitted,
    );
    roles(
        &mut c,
        "POST /v1/demand-lists/{year}/import",
        &format!("/v1/demand-lists/{y}/import"),
        None,
        &[Team],
        Admitted,
    );
    // Organisations: each its own, admin any.
    for who in EVERYONE {
        let other = if who == Employer { Employer2 } else { Employer };
        c.push(cell("GET /v1/organizations/{id}", who, "own", format!("/v1/organizations/{}", w.id(who)), None, Ok));
        let e = if who == Admin { Ok } else { Refused };
        c.push(cell("GET /v1/organizations/{id}", who, "other", format!("/v1/organizations/{}", w.id(other)), None, e));
    }
    // Probes without authentication: every operation but the probes.
    let ops: BTreeSet<&'static str> = c.iter().map(|x| x.op).collect();
    let mut anonymous = Vec::new();
    for x in &c {
        if x.who == Some(Admin) && ops.contains(x.op) && !anonymous.iter().any(|a: &Cell| a.op == x.op) {
            anonymous.push(Cell {
                op: x.op,
                who: None,
                tenant: "-",
                method: x.method.clone(),
                path: x.path.clone(),
                body: x.body.clone(),
                expect: Unauthenticated,
            });
        }
    }
    c.extend(anonymous);
    for (op, path) in [("GET /healthz", "/healthz"), ("GET /readyz", "/readyz")] {
        c.push(Cell { op, who: None, tenant: "-", method: Method::GET, path: path.into(), body: None, expect: Ok });
    }
    c
}

#[tokio::test]
async fn every_route_every_role_own_and_other_tenant() {
    let w = world().await;
    let mut cells = cells(&w).await;
    // Every operation of the document has rows, and no row names an unknown one.
    let doc: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json")).unwrap(),
    )
    .unwrap();
    let mut documented = BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for m in ops.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", m.to_uppercase()));
        }
    }
    let covered: BTreeSet<String> = cells.iter().map(|c| c.op.to_owned()).collect();
    assert_eq!(
        documented.difference(&covered).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "operations without rows in the matrix"
    );
    assert_eq!(
        covered.difference(&documented).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "rows for unknown operations"
    );
    // Refusals first, so an allowed change (a close, a delete) cannot hide one.
    cells.sort_by_key(|c| c.expect != Expect::Refused && c.expect != Expect::Unauthenticated);
    let mut failures = Vec::new();
    let mut per_expect: BTreeMap<String, usize> = BTreeMap::new();
    for c in &cells {
        let key = c.who.map(|who| w.key(who));
        let res = w.send(key, c.method.clone(), &c.path, c.body.as_ref()).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        let fine = match c.expect {
            Expect::Ok => (200..300).contains(&status),
            Expect::Admitted => !matches!(status, 401 | 403 | 404) && status < 500,
            Expect::Refused => matches!(status, 403 | 404),
            Expect::Unauthenticated => status == 401,
        };
        // Refusals are JSON errors with a stable code.
        let coded = status < 400 || serde_json::from_str::<Value>(&text).is_ok_and(|v| v["error"]["code"].is_string());
        if !fine || !coded {
            failures.push(format!(
                "{:?} {:?} ({}) {} {} -> {status} {}",
                c.expect,
                c.who,
                c.tenant,
                c.method,
                c.path,
                &text[..text.len().min(200)]
            ));
        }
        *per_expect.entry(format!("{:?}", c.expect)).or_default() += 1;
    }
    eprintln!("authorization matrix: {} cells over {} operations: {per_expect:?}", cells.len(), covered.len());
    assert!(failures.is_empty(), "{} of {} cells wrong:\n{}", failures.len(), cells.len(), failures.join("\n"));
}

/// Lists never carry another tenant's objects (API1 through collections).
#[tokio::test]
async fn lists_show_only_the_callers_objects() {
    let w = world().await;
    // An offer for the employer's job (the matcher catches up with the ledger first).
    eventually("an offer planned for the employer's job", async || {
        let path = format!("/v1/jobs/{}/offers", w.jobs[&Employer]);
        let res = w.send(Some(w.key(Admin)), Method::POST, &path, Some(&json!({"count": 1}))).await;
        if res.status() == 201 { Ok(()) } else { Err(res.status()) }
    })
    .await;
    let all = json(w.app.get_as(w.key(Admin), "/v1/offers").send().await.unwrap()).await;
    assert!(!all["items"].as_array().unwrap().is_empty(), "an offer to check: {all}");
    for who in EVERYONE {
        let key = w.key(who);
        let app = &w.app;
        let get = |path: &str| {
            let path = path.to_owned();
            async move { json(app.get_as(key, &path).send().await.unwrap()).await }
        };
        let placements = get("/v1/placements").await;
        let seen: BTreeSet<String> =
            placements["items"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap().to_owned()).collect();
        let may_a = matches!(who, Admin | CountyA | Employer | Broker);
        let may_b = matches!(who, Admin | CountyB | Employer2);
        assert_eq!(seen.contains(&w.placement_a), may_a, "{who:?} placements {placements}");
        assert_eq!(seen.contains(&w.placement_b), may_b, "{who:?} placements {placements}");
        let events = get("/v1/subsidy-events").await;
        for e in events["items"].as_array().unwrap() {
            let mine = match who {
                Admin => true,
                CountyA => e["county_code"] == A,
                CountyB => e["county_code"] == B,
                _ => e["payee_id"] == w.id(who),
            };
            assert!(mine, "{who:?} sees event {e}");
        }
        let offers = get("/v1/offers").await;
        for o in offers["items"].as_array().unwrap() {
            let job = o["job_id"].as_str().unwrap();
            let mine = matches!(who, Admin | CountyA | CountyB) || w.jobs.get(&who).is_some_and(|j| j == job);
            assert!(mine, "{who:?} sees offer {o}");
        }
        if matches!(who, CountyA | CountyB) {
            let own = if who == CountyA { A } else { B };
            for path in ["/v1/workers", "/v1/households"] {
                let l = get(path).await;
                for item in l["items"].as_array().unwrap() {
                    assert_eq!(item["county_code"], own, "{who:?} {path} {item}");
                }
            }
        }
    }
}

/// The schema of every JSON request body and the validator behind it agree
/// (#16): the fields the API answers `is required` for, given `{}`, are
/// exactly the schema's `required` list; and an operation whose schema
/// requires nothing accepts a request with no body and no content type at
/// all. Each operation is called by a caller the matrix admits, on its own
/// objects, so the answer is the validator's and not a refusal.
#[tokio::test]
async fn every_body_schema_agrees_with_its_validator() {
    let w = world().await;
    let cells = cells(&w).await;
    let doc = json(w.app.get("/openapi.json").send().await.unwrap()).await;
    let schemas = &doc["components"]["schemas"];
    let mut failures = Vec::new();
    let mut checked = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let Some(r) = op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str() else { continue };
            let name = r.rsplit('/').next().unwrap();
            let schema = &schemas[name];
            assert!(schema.is_object(), "{method} {path}: no schema {name}");
            let required: BTreeSet<String> = schema["required"]
                .as_array()
                .map(|a| a.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            let body_required = op["requestBody"]["required"].as_bool().unwrap_or(false);
            if body_required == required.is_empty() {
                failures.push(format!(
                    "{method} {path}: requestBody.required is {body_required}, {name} requires {required:?}"
                ));
            }
            let op_name = format!("{} {path}", method.to_uppercase());
            let Some(c) = cells.iter().find(|c| {
                c.op == op_name
                    && c.who.is_some()
                    && matches!(c.expect, Expect::Ok | Expect::Admitted)
                    && c.tenant != "other"
            }) else {
                failures.push(format!("{op_name}: no admitted caller in the matrix"));
                continue;
            };
            let key = c.who.map(|who| w.key(who));
            let res = w.send(key, c.method.clone(), &c.path, Some(&json!({}))).await;
            let status = res.status().as_u16();
            let v: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null);
            let said: BTreeSet<String> = v["error"]["details"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["problem"] == "is required")
                .map(|d| d["field"].as_str().unwrap().to_owned())
                .collect();
            if said != required {
                failures.push(format!(
                    "{op_name} ({name}) with {{}}: {status}, the validator requires {said:?}, the schema {required:?}"
                ));
            }
            if required.is_empty() {
                // No body, no content type: read as `{}`, never 400 or 415.
                let mut rq = w.app.client.request(c.method.clone(), w.app.url(&c.path));
                if let Some(k) = key {
                    rq = rq.bearer_auth(k);
                }
                let res = rq.send().await.unwrap();
                let status = res.status().as_u16();
                if matches!(status, 400 | 411 | 415) || status >= 500 {
                    failures.push(format!("{op_name} with no body: {status} {}", res.text().await.unwrap()));
                }
            }
            checked += 1;
        }
    }
    eprintln!("{checked} JSON bodies checked against their validators");
    assert!(checked >= 20, "only {checked} JSON bodies found");
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
}
