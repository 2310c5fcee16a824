//! Monthly monitoring rounds (#9), on a small hand-made ledger whose figures
//! are worked out by hand below.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use domain::calendar::YearMonth;
use qianlink_tests::{TestApp, id_number, json, worker_json};
use serde_json::{Value, json};

const ANLONG: &str = "522328";

async fn register(app: &TestApp, key: &str, born: &str, seq: u32, household: &str, status: &str) -> String {
    let res = app
        .post_as(key, "/v1/workers")
        .json(&worker_json(&id_number(ANLONG, born, seq), ANLONG, household, status))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    json(res).await["id"].as_str().unwrap().to_owned()
}

async fn answer(app: &TestApp, key: &str, period: &str, body: Value) {
    let res = app.post_as(key, &format!("/v1/monitoring-rounds/{period}/responses")).json(&body).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
}

#[tokio::test]
async fn a_round_report_matches_the_figures_worked_out_by_hand() {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("安龙县就业局", "county_office", Some(ANLONG)).await;
    let (employer_id, employer) = app.org("东莞某电子厂", "employer", None).await;
    let now = YearMonth::of(domain::calendar::today_in_china(chrono::Utc::now()));
    let (p, prev) = (now.to_string(), now.pred().to_string());
    // The admin opens last month's round for the province, the county this month's.
    let res = app.post_as(&app.admin_key, "/v1/monitoring-rounds").json(&json!({"period": prev})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(json(res).await["scope_code"], "520000");
    let res = app.post_as(&county, "/v1/monitoring-rounds").json(&json!({"period": p})).send().await.unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(
        app.post_as(&county, "/v1/monitoring-rounds").json(&json!({"period": p})).send().await.unwrap().status(),
        409
    );
    assert_eq!(
        app.post_as(&county, "/v1/monitoring-rounds")
            .json(&json!({"period": "2999-01"}))
            .send()
            .await
            .unwrap()
            .status(),
        422
    );
    assert_eq!(
        app.post_as(&employer, "/v1/monitoring-rounds").json(&json!({"period": p})).send().await.unwrap().status(),
        403
    );

    let a = register(&app, &county, "19900101", 101, "HH-1", "unemployed").await;
    let b = register(&app, &county, "19920101", 103, "HH-1", "unemployed").await;
    let c = register(&app, &county, "19850101", 105, "HH-2", "unemployed").await;
    let d = register(&app, &county, "19800101", 107, "HH-3", "public_welfare_post").await;
    let _e = register(&app, &county, "20150101", 109, "HH-4", "student").await;
    let f = register(&app, &county, "19880101", 111, "HH-5", "unemployed").await;
    let g = register(&app, &county, "19910101", 113, "HH-6", "unemployed").await;

    // G worked in Guangdong last month and is home now: returning labour.
    answer(&app, &county, &prev, json!({"worker_id": g, "employment_status": "employed", "work_place": "out_of_province", "work_province_code": "440000", "industry": "制造业", "monthly_income": 5500})).await;
    answer(&app, &county, &p, json!({"worker_id": g, "employment_status": "employed", "work_place": "in_county", "industry": "建筑业", "monthly_income": 3500})).await;
    answer(&app, &county, &p, json!({"worker_id": a, "employment_status": "employed", "work_place": "out_of_province", "work_province_code": "440000", "industry": "制造业", "monthly_income": 6000})).await;
    answer(&app, &county, &p, json!({"worker_id": b, "employment_status": "unemployed"})).await;
    answer(&app, &county, &p, json!({"worker_id": d, "employment_status": "public_welfare_post", "work_place": "in_county", "industry": "公共服务", "monthly_income": 2000})).await;
    // F has no answer, but the employer's report for the month counts as one.
    let today = domain::calendar::today_in_china(chrono::Utc::now()).to_string();
    let res = app
        .post_as(&employer, "/v1/placements")
        .json(&json!({"worker_id": f, "employer_org_id": employer_id, "start_date": today, "contract_months": 12, "work_county_code": "441900", "organised_by": "self"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let pid = json(res).await["id"].as_str().unwrap().to_owned();
    let res = app
        .post_as(&employer, &format!("/v1/placements/{pid}/reports"))
        .json(&json!({"month": p, "employed": true, "social_insurance_paid": true, "wage": 5000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);

    // Bad answers.
    let res = app
        .post_as(&county, &format!("/v1/monitoring-rounds/{p}/responses"))
        .json(&json!({"worker_id": a, "employment_status": "employed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422, "a worker in work needs a place");
    let res = app.post_as(&county, &format!("/v1/monitoring-rounds/{p}/responses")).json(&json!({"worker_id": a, "employment_status": "employed", "work_place": "out_of_province", "work_province_code": "520000"})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res = app
        .post_as(&county, "/v1/monitoring-rounds/2020-01/responses")
        .json(&json!({"worker_id": a, "employment_status": "unemployed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409, "no round open");

    let r = json(
        app.get_as(&county, &format!("/v1/monitoring-rounds/{p}/report?county_code={ANLONG}")).send().await.unwrap(),
    )
    .await;
    // Labour: A B C D F G (E is a student). Employed: A D F G.
    assert_eq!(r["labour"], 6, "{r}");
    assert_eq!(r["employed"], 4);
    assert_eq!(r["employment_rate"], 0.6667);
    assert_eq!(r["by_destination"], json!({"in_county": 2, "out_of_province": 2}));
    assert_eq!(r["by_province"], json!({"440000": 2}));
    assert_eq!(r["by_industry"], json!({"公共服务": 1, "制造业": 1, "建筑业": 1, "未填报": 1}));
    // Incomes 2000, 3500, 5000 (F's reported wage), 6000.
    assert_eq!(r["income_median"], 4250.0);
    assert_eq!(r["income_mean"], 4125.0);
    assert_eq!(
        r["returning_labour"].as_array().unwrap().iter().map(|x| x["worker_id"].as_str().unwrap()).collect::<Vec<_>>(),
        [g.as_str()]
    );
    assert_eq!(r["households_with_labour"], 5);
    assert_eq!(r["households_with_employed"], 4);
    assert_eq!(r["zero_employment_households"], json!(["HH-2"]));
    assert_eq!(r["public_welfare_post"], 1);
    assert_eq!(r["respondents"], 5);
    assert_eq!(r["response_rate"], 0.8333);
    assert_eq!(
        r["non_respondents"].as_array().unwrap().iter().map(|x| x["worker_id"].as_str().unwrap()).collect::<Vec<_>>(),
        [c.as_str()]
    );
    // Last month only G had a dated status: 1 of 1 employed.
    assert_eq!(r["previous"]["employment_rate"], 1.0);
    assert_eq!(r["previous"]["employed_change"], 3);
    assert_eq!(r["previous"]["zero_employment_change"], 1);
    // Income growth: this month's answers average 3833.33; no answers a year earlier.
    let growth = &r["income_growth"][0];
    assert_eq!(growth["county_code"], ANLONG);
    assert_eq!(growth["mean_income"], 3833.33);
    assert!(growth["meets_target"].is_null());

    // A correction: B found work. The latest answer wins and the history stays.
    answer(&app, &county, &p, json!({"worker_id": b, "employment_status": "self_employed", "work_place": "in_county", "industry": "零售", "monthly_income": 3000})).await;
    let r = json(app.get_as(&county, &format!("/v1/monitoring-rounds/{p}/report")).send().await.unwrap()).await;
    assert_eq!(r["employed"], 5);
    assert_eq!(r["zero_employment_households"], json!(["HH-2"]));
    let mut conn = app.conn();
    let hist = store::monitoring::history(&mut conn, YearMonth::parse(&p).unwrap(), b.parse().unwrap()).unwrap();
    assert_eq!(hist.len(), 2);
    // With a second connection (previous round computed beside, in the same
    // snapshot) and without one, the report is the same, and the route's.
    let ym = YearMonth::parse(&p).unwrap();
    let mut side = app.conn();
    let alone = store::monitoring::report(&mut conn, None, ym, Some(ANLONG), None, 5000).unwrap();
    let beside = store::monitoring::report(&mut conn, Some(&mut side), ym, Some(ANLONG), None, 5000).unwrap();
    let alone = serde_json::to_value(&alone).unwrap();
    assert_eq!(alone, serde_json::to_value(&beside).unwrap());
    assert_eq!(alone["previous"], r["previous"]);
    assert_eq!(alone["employed"], 5);

    // Scoping: another county sees nothing of this one; admin needs a province round for a province report.
    let (_, other) = app.org("兴义市就业局", "county_office", Some("522301")).await;
    assert_eq!(
        app.get_as(&other, &format!("/v1/monitoring-rounds/{p}/report?county_code={ANLONG}"))
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.get_as(&app.admin_key, &format!("/v1/monitoring-rounds/{p}/report")).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        app.get_as(&app.admin_key, &format!("/v1/monitoring-rounds/{p}/report?county_code={ANLONG}"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // The year view.
    let y = json(app.get_as(&county, &format!("/v1/monitoring/years/{}", now.year())).send().await.unwrap()).await;
    let months: Vec<u64> = y["counties"][ANLONG].as_array().unwrap().iter().map(|m| m.as_u64().unwrap()).collect();
    let mut want = vec![u64::from(now.month())];
    if now.pred().year() == now.year() {
        want.insert(0, u64::from(now.pred().month()));
    }
    assert_eq!(months, want);

    // The workbook carries the same figures, with charts.
    let res = app.get_as(&county, &format!("/v1/monitoring-rounds/{p}/report.xlsx")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.bytes().await.unwrap().to_vec();
    // For the manual LibreOffice check recorded in docs/workbooks.md.
    if let Ok(dir) = std::env::var("QIANLINK_DUMP_WORKBOOKS") {
        std::fs::write(format!("{dir}/monitoring-report.xlsx"), &bytes).unwrap();
    }
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).unwrap();
    let overview = wb.worksheet_range("概况").unwrap();
    let cell = |label: &str| overview.rows().find(|r| r[0] == label).map(|r| r[1].to_string()).unwrap();
    assert_eq!(cell("劳动力（人）"), "6");
    assert_eq!(cell("就业（人）"), "5");
    assert_eq!(cell("零就业家庭（户）"), "1");
    let dest = wb.worksheet_range("去向").unwrap();
    let rows: Vec<Vec<String>> =
        dest.rows().take(4).map(|r| r.iter().take(2).map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows[1], ["本县", "3"]);
    assert_eq!(rows[3], ["省外", "2"]);
    let zip = String::from_utf8_lossy(&bytes);
    assert!(
        zip.contains("xl/charts/chart1.xml") && zip.contains("xl/charts/chart3.xml"),
        "native charts are in the workbook"
    );
}

#[tokio::test]
async fn answers_import_from_a_sheet_with_row_errors() {
    let app = TestApp::spawn().await;
    let (_, county) = app.org("安龙县就业局", "county_office", Some(ANLONG)).await;
    let now = YearMonth::of(domain::calendar::today_in_china(chrono::Utc::now())).to_string();
    app.post_as(&county, "/v1/monitoring-rounds").json(&json!({"period": now})).send().await.unwrap();
    register(&app, &county, "19900101", 101, "HH-1", "unemployed").await;
    let good = id_number(ANLONG, "19900101", 101);
    let unknown = id_number(ANLONG, "19700101", 999);
    let csv = format!(
        "身份证号,就业状态,务工地点,务工省份代码,行业,月收入\n{good},就业,省外,440000,制造业,6200\n{unknown},未就业,,,,\n{good},就业,火星,,,abc\n"
    );
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("answers.csv"));
    let res = app
        .post_as(&county, &format!("/v1/monitoring-rounds/{now}/responses/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let d = json(res).await;
    let rows: Vec<u64> = d["error"]["details"].as_array().unwrap().iter().map(|x| x["row"].as_u64().unwrap()).collect();
    assert!(rows.contains(&3) && rows.contains(&4) && !rows.contains(&2), "{d}");
    assert_eq!(app.count("monitoring_responses"), 0);
    let csv = format!("身份证号,就业状态,务工地点,务工省份代码,行业,月收入\n{good},就业,省外,440000,制造业,6200\n");
    let form = reqwest::multipart::Form::new()
        .part("file", reqwest::multipart::Part::bytes(csv.into_bytes()).file_name("answers.csv"));
    let res = app
        .post_as(&county, &format!("/v1/monitoring-rounds/{now}/responses/import"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["recorded"], 1);
}
