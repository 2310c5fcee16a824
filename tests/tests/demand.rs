//! Demand lists of the cooperation teams (#8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)] // test code

use chrono::Datelike;
use qianlink_tests::{TestApp, json};
use serde_json::{Value, json};

struct W {
    app: TestApp,
    team: String,
    team_id: String,
    other_team: String,
}

async fn world() -> W {
    let app = TestApp::spawn().await;
    let (team_id, team) = app.org("东莞市东西部协作工作队", "coop_team", None).await;
    let (other_id, other_team) = app.org("广州市东西部协作工作队", "coop_team", None).await;
    let t = app.link_team(&team_id, "441900").await;
    assert_eq!(t["paired_codes"], json!(["520600"]), "东莞 pairs with 铜仁: {t}");
    let t = app.link_team(&other_id, "440100").await;
    assert_eq!(t["paired_codes"], json!(["520400", "520422", "520500", "522700"]));
    W { app, team, team_id, other_team }
}

fn items() -> Value {
    json!([
        {"ref": "E-1", "kind": "enterprise", "industry": "电子信息", "enterprise_name": "某电子科技", "investment_cny": 50000000, "expected_jobs": 300, "target_county_code": "520602"},
        {"ref": "P-1", "kind": "project", "name": "铜仁帮扶车间", "county_code": "520603", "funding_cny": 2000000, "expected_jobs": 80},
        {"ref": "J-1", "kind": "employment", "title": "电子厂普工", "skills": ["装配"], "headcount": 50, "wage_min": 4500, "wage_max": 6500,
         "work_county_code": "441900", "start_month": "2027-03", "organised_export": true},
        {"ref": "J-2", "kind": "employment", "title": "叉车司机", "skills": ["叉车"], "headcount": 5, "wage_min": 5500, "wage_max": 7000,
         "work_county_code": "441900", "start_month": "2027-04", "organised_export": false}
    ])
}

fn next_year() -> i32 {
    chrono::Utc::now().year() + 1
}

#[tokio::test]
async fn a_team_edits_submits_and_resubmits_its_list_and_jobs_follow() {
    let w = world().await;
    let y = next_year();
    let path = format!("/v1/demand-lists/{y}");
    let res =
        w.app.client.put(w.app.url(&path)).bearer_auth(&w.team).json(&json!({"items": items()})).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let l = json(res).await;
    assert_eq!(l["state"], "draft");
    assert_eq!(l["items"].as_array().unwrap().len(), 4);
    // Only cooperation teams edit; another team cannot read this one.
    let res = w
        .app
        .client
        .put(w.app.url(&path))
        .bearer_auth(&w.app.admin_key)
        .json(&json!({"items": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = w.app.get_as(&w.other_team, &format!("{path}?team_id={}", w.team_id)).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // Bad items are named.
    let mut bad = items();
    bad[2]["start_month"] = "2027-3".into();
    bad[3]["ref"] = "J-1".into();
    let res =
        w.app.client.put(w.app.url(&path)).bearer_auth(&w.team).json(&json!({"items": bad})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let fields: Vec<String> = json(res).await["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        fields.contains(&"items[2].start_month".to_owned()) && fields.contains(&"items[3].ref".to_owned()),
        "{fields:?}"
    );
    // Submit: two employment items become two open jobs owned by the team.
    let res = w.app.post_as(&w.team, &format!("{path}/submit")).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let l = json(res).await;
    assert_eq!(l["state"], "submitted");
    let jobs = json(w.app.get_as(&w.team, &format!("/v1/jobs?org_id={}", w.team_id)).send().await.unwrap()).await;
    assert_eq!(jobs["items"].as_array().unwrap().len(), 2);
    let j1 = l["items"].as_array().unwrap().iter().find(|i| i["ref"] == "J-1").unwrap()["job_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Resubmission updates the job J-1 made, and a removed item's job closes.
    let mut changed = items();
    changed[2]["headcount"] = 80.into();
    changed.as_array_mut().unwrap().remove(3);
    w.app.client.put(w.app.url(&path)).bearer_auth(&w.team).json(&json!({"items": changed})).send().await.unwrap();
    w.app.post_as(&w.team, &format!("{path}/submit")).send().await.unwrap();
    let jobs = json(w.app.get_as(&w.team, &format!("/v1/jobs?org_id={}", w.team_id)).send().await.unwrap()).await;
    let all = jobs["items"].as_array().unwrap();
    assert_eq!(all.len(), 2, "no duplicates on resubmit");
    let j = all.iter().find(|j| j["id"] == j1.as_str()).unwrap();
    assert_eq!(j["openings"], 80);
    assert_eq!(j["cross_province"], true);
    assert!(all.iter().any(|j| j["status"] == "closed"));
    // Versions keep who and when.
    let v = json(w.app.get_as(&w.team, &format!("{path}/versions")).send().await.unwrap()).await;
    let actions: Vec<&str> = v["items"].as_array().unwrap().iter().map(|x| x["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["edit", "submit", "edit", "submit"]);
    // A county office of a paired county (铜仁 碧江区) reads the list; an unpaired one cannot.
    let (_, bijiang) = w.app.org("碧江区就业局", "county_office", Some("520602")).await;
    let (_, anlong) = w.app.org("安龙县就业局", "county_office", Some("522328")).await;
    assert_eq!(w.app.get_as(&bijiang, &format!("{path}?team_id={}", w.team_id)).send().await.unwrap().status(), 200);
    assert_eq!(w.app.get_as(&anlong, &format!("{path}?team_id={}", w.team_id)).send().await.unwrap().status(), 403);
    // Supply against demand.
    let s = json(w.app.get_as(&w.team, &format!("{path}/supply")).send().await.unwrap()).await;
    let first = &s["items"][0];
    assert_eq!(first["ref"], "J-1");
    assert_eq!(first["headcount"], 80);
    assert_eq!(first["shortfall"], 80, "an empty ledger supplies nobody: {s}");
    assert_eq!(first["training_needed"], json!(["装配"]));
}

#[tokio::test]
async fn after_31_october_a_list_is_locked_until_an_admin_reopens_it() {
    let w = world().await;
    let past = chrono::Utc::now().year() - 1;
    let path = format!("/v1/demand-lists/{past}");
    let res =
        w.app.client.put(w.app.url(&path)).bearer_auth(&w.team).json(&json!({"items": items()})).send().await.unwrap();
    assert_eq!(res.status(), 409);
    assert!(json(res).await["error"]["message"].as_str().unwrap().contains("31 October"));
    // Reopening needs a list row; the first (refused) attempt made none, so create one by reopening a draft.
    let res = w
        .app
        .post_as(&w.app.admin_key, &format!("{path}/{}/reopen", w.team_id))
        .json(&json!({"reason": "市州补报"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    // A list started in time (next year's) shows the flow; for last year, the admin reopens a list that exists.
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!(
            "INSERT INTO demand_lists (id, team_org_id, year) VALUES (gen_random_uuid(), '{}', {past})",
            w.team_id
        )),
        &mut w.app.conn(),
    )
    .unwrap();
    assert_eq!(w.app.post_as(&w.team, &format!("{path}/submit")).send().await.unwrap().status(), 409);
    let res = w
        .app
        .post_as(&w.team, &format!("{path}/{}/reopen", w.team_id))
        .json(&json!({"reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res =
        w.app.post_as(&w.app.admin_key, &format!("{path}/{}/reopen", w.team_id)).json(&json!({})).send().await.unwrap();
    assert_eq!(res.status(), 422, "a reason is required");
    let res = w
        .app
        .post_as(&w.app.admin_key, &format!("{path}/{}/reopen", w.team_id))
        .json(&json!({"reason": "铜仁市补报延期"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["state"], "reopened");
    let res =
        w.app.client.put(w.app.url(&path)).bearer_auth(&w.team).json(&json!({"items": items()})).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let res = w.app.post_as(&w.team, &format!("{path}/submit")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["state"], "submitted");
    let v = json(w.app.get_as(&w.team, &format!("{path}/versions")).send().await.unwrap()).await;
    let reopen = v["items"].as_array().unwrap().iter().find(|x| x["action"] == "reopen").unwrap();
    assert_eq!(reopen["reason"], "铜仁市补报延期");
    // Submitted again after the deadline: locked once more.
    let res = w.app.client.put(w.app.url(&path)).bearer_auth(&w.team).json(&json!({"items": []})).send().await.unwrap();
    assert_eq!(res.status(), 409);
}

fn workbook(rows_employment: &[Vec<&str>]) -> Vec<u8> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheets: [(&str, Vec<&str>, Vec<Vec<&str>>); 3] = [
        (
            "引进企业需求",
            vec!["编号", "行业", "企业名称", "投资额（元）", "预计带动就业（人）", "落地县级代码"],
            vec![vec!["E-1", "电子信息", "某电子科技", "50000000", "300", "520602"]],
        ),
        (
            "项目需求",
            vec!["编号", "项目名称", "县级代码", "资金（元）", "预计带动就业（人）"],
            vec![vec!["P-1", "帮扶车间", "520603", "2000000", "80"]],
        ),
        (
            "就业需求",
            vec![
                "编号",
                "岗位名称",
                "职业代码",
                "技能要求",
                "需求人数",
                "最低月薪",
                "最高月薪",
                "工作地县级代码",
                "用工月份",
                "有组织劳务输出",
            ],
            rows_employment.to_vec(),
        ),
    ];
    for (name, headers, rows) in sheets {
        let ws = book.add_worksheet();
        ws.set_name(name).unwrap();
        for (c, h) in headers.iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                ws.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    }
    book.save_to_buffer().unwrap()
}

async fn upload(app: &TestApp, key: &str, year: i32, bytes: Vec<u8>) -> reqwest::Response {
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name("demand.xlsx"));
    app.post_as(key, &format!("/v1/demand-lists/{year}/import")).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn workbook_import_and_consolidation() {
    let w = world().await;
    let y = next_year();
    let res = w.app.get_as(&w.team, "/v1/demand-lists/template.xlsx").send().await.unwrap();
    assert_eq!(res.status(), 200);
    use calamine::Reader;
    let t: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
    assert_eq!(t.sheet_names(), ["引进企业需求", "项目需求", "就业需求"]);
    // Mixed workbook: nothing written, each bad row named.
    let bad = workbook(&[
        vec!["J-1", "电子厂普工", "", "装配", "50", "4500", "6500", "441900", "2027-03", "是"],
        vec!["J-2", "叉车司机", "", "叉车", "五", "5500", "7000", "441900", "2027-04", "否"],
        vec!["J-3", "", "", "", "5", "5500", "7000", "441900", "2027/04", "否"],
    ]);
    let res = upload(&w.app, &w.team, y, bad).await;
    assert_eq!(res.status(), 422);
    let d = json(res).await;
    let found: Vec<(u64, String)> = d["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["row"].as_u64().unwrap(), x["column"].as_str().unwrap().to_owned()))
        .collect();
    assert!(found.contains(&(3, "就业需求:需求人数".into())), "{found:?}");
    assert!(
        found.contains(&(4, "就业需求:岗位名称".into())) && found.contains(&(4, "就业需求:用工月份".into())),
        "{found:?}"
    );
    assert_eq!(w.app.get_as(&w.team, &format!("/v1/demand-lists/{y}")).send().await.unwrap().status(), 404);
    // A good workbook.
    let good = workbook(&[
        vec!["J-1", "电子厂普工", "", "装配", "50", "4500", "6500", "441900", "2027-03", "是"],
        vec!["J-2", "叉车司机", "", "叉车", "5", "5500", "7000", "441900", "2027-04", "否"],
    ]);
    let res = upload(&w.app, &w.team, y, good).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    w.app.post_as(&w.team, &format!("/v1/demand-lists/{y}/submit")).send().await.unwrap();
    // The other team submits nothing; a third team exists too.
    let c =
        json(w.app.get_as(&w.app.admin_key, &format!("/v1/demand-lists/{y}/consolidated")).send().await.unwrap()).await;
    assert_eq!(c["by_kind"]["employment"]["headcount"], 55);
    assert_eq!(c["by_kind"]["enterprise"]["investment_cny"], 50000000);
    assert_eq!(c["by_kind"]["project"]["expected_jobs"], 80);
    assert_eq!(c["by_prefecture"]["520600"]["enterprise"]["expected_jobs"], 300);
    assert_eq!(c["by_county"]["441900"]["employment"]["items"], 2);
    let total_items: i64 = c["by_kind"].as_object().unwrap().values().map(|t| t["items"].as_i64().unwrap()).sum();
    assert_eq!(total_items, c["items"].as_array().unwrap().len() as i64);
    let missing: Vec<&str> =
        c["teams_not_submitted"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(missing, ["广州市东西部协作工作队"]);
    assert_eq!(
        w.app.get_as(&w.team, &format!("/v1/demand-lists/{y}/consolidated")).send().await.unwrap().status(),
        403
    );
    // The workbook says the same.
    let res = w.app.get_as(&w.app.admin_key, &format!("/v1/demand-lists/{y}/consolidated.xlsx")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap().to_vec();
    // For the manual LibreOffice check recorded in docs/workbooks.md.
    if let Ok(dir) = std::env::var("QIANLINK_DUMP_WORKBOOKS") {
        std::fs::write(format!("{dir}/demand-consolidated.xlsx"), &bytes).unwrap();
    }
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let kinds = wb.worksheet_range("按类别汇总").unwrap();
    let rows: Vec<Vec<String>> = kinds.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    let employment = rows.iter().find(|r| r[0] == "就业需求").unwrap();
    assert_eq!(employment[3], "55");
    let missing = wb.worksheet_range("未提交").unwrap();
    assert_eq!(missing.rows().count(), 2);
}
