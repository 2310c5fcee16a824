//! Black-box tests of the worker ledger, households, trainings, imports,
//! exports and the audit log (#3).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::type_complexity)] // test code

use qianlink_tests::{TestApp, id_number, json, worker_json};
use serde_json::{Value, json};

const ANLONG: &str = "522328"; // 安龙县
const XINGYI: &str = "522301"; // 兴义市

async fn setup() -> (TestApp, String, String) {
    let app = TestApp::spawn().await;
    let (_, anlong) = app.org("安龙县就业局", "county_office", Some(ANLONG)).await;
    let (_, xingyi) = app.org("兴义市就业局", "county_office", Some(XINGYI)).await;
    (app, anlong, xingyi)
}

async fn register(app: &TestApp, key: &str, body: &Value) -> Value {
    let res = app.post_as(key, "/v1/workers").json(body).send().await.unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    json(res).await
}

#[tokio::test]
async fn a_county_office_registers_its_workers_with_derived_and_masked_fields() {
    let (app, anlong, xingyi) = setup().await;
    let idn = id_number(ANLONG, "19900101", 123);
    let w = register(&app, &anlong, &worker_json(&idn, ANLONG, "HH-0001", "unemployed")).await;
    assert_eq!(w["id_number_masked"], format!("522328********{}", &idn[14..]));
    assert!(w.get("id_number").is_none());
    assert_eq!(w["birth_date"], "1990-01-01");
    assert_eq!(w["gender"], "male");
    assert_eq!(w["employment_status"], "unemployed");
    assert_eq!(w["is_labour"], true);
    assert_eq!(w["accepts_offers"], true);
    // The keeping county office sees the phone; others see it masked.
    let phone = format!("138{}", &idn[10..18]);
    assert_eq!(w["phone"], phone.as_str());
    let id = w["id"].as_str().unwrap();
    let got = json(app.get_as(&anlong, &format!("/v1/workers/{id}")).send().await.unwrap()).await;
    assert_eq!(got["phone"], phone.as_str());
    let got = json(app.get_as(&app.admin_key, &format!("/v1/workers/{id}")).send().await.unwrap()).await;
    assert_eq!(got["phone"], format!("138****{}", &phone[7..]));
    // Another county's office, and non-ledger roles, are refused.
    let res = app.get_as(&xingyi, &format!("/v1/workers/{id}")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"]["code"], "other_tenant");
    let (_, employer) = app.org("某厂", "employer", None).await;
    let res = app.get_as(&employer, &format!("/v1/workers/{id}")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(json(res).await["error"]["code"], "forbidden");
    let res = app
        .post_as(&employer, "/v1/workers")
        .json(&worker_json(&id_number(ANLONG, "19900101", 125), ANLONG, "HH-9", "employed"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A county office registers in its own county only.
    let res = app
        .post_as(&xingyi, "/v1/workers")
        .json(&worker_json(&id_number(ANLONG, "19900101", 127), ANLONG, "HH-9", "employed"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The ID number is encrypted at rest: its digits are nowhere in the row.
    let mut conn = app.conn();
    use diesel::prelude::*;
    let blobs: Vec<(Option<Vec<u8>>, Option<Vec<u8>>)> = store::schema::workers::table
        .select((store::schema::workers::id_number_enc, store::schema::workers::phone_enc))
        .load(&mut conn)
        .unwrap();
    for (a, b) in blobs {
        for blob in [a.unwrap(), b.unwrap()] {
            assert!(!blob.windows(11).any(|w| w == &idn.as_bytes()[..11] || w == phone.as_bytes()));
        }
    }
}

#[tokio::test]
async fn ledger_validation_names_each_field_and_writes_nothing() {
    let (app, anlong, _) = setup().await;
    let good = worker_json(&id_number(ANLONG, "19900101", 123), ANLONG, "HH-1", "unemployed");
    let mut bad_check = id_number(ANLONG, "19900101", 123);
    bad_check.replace_range(17..18, if bad_check.ends_with('1') { "2" } else { "1" });
    let cases: Vec<(&str, Value)> = vec![
        ("id_number", bad_check.into()),
        ("id_number", "52232819900230123X".into()),
        ("phone", "0851-1234567".into()),
        ("household_code", "户 1".into()),
        ("county_code", "522300".into()),
        ("categories", json!(["retired"])),
        ("employment_status", "busy".into()),
        ("graduation_year", 1900.into()),
        ("min_wage", (-5).into()),
    ];
    for (field, value) in cases {
        let mut body = good.clone();
        body[field] = value.clone();
        let res = app.post_as(&anlong, "/v1/workers").json(&body).send().await.unwrap();
        let status = res.status().as_u16();
        let b = json(res).await;
        // The county-level check needs the database; a prefecture code is also outside the office's county.
        assert!(status == 422 || (field == "county_code" && status == 403), "{field}={value}: {status} {b}");
        if status == 422 {
            assert!(b["error"]["details"].as_array().unwrap().iter().any(|d| d["field"] == field), "{field}: {b}");
        }
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("willing_cross_province");
    let res = app.post_as(&anlong, "/v1/workers").json(&missing).send().await.unwrap();
    assert_eq!(res.status(), 422);
    assert_eq!(app.count("workers"), 0);
    assert_eq!(app.count("households"), 0);
}

#[tokio::test]
async fn one_worker_per_id_number_across_counties() {
    let (app, anlong, xingyi) = setup().await;
    let idn = id_number(ANLONG, "19850315", 222);
    let w = register(&app, &anlong, &worker_json(&idn, ANLONG, "HH-1", "employed")).await;
    let res =
        app.post_as(&anlong, "/v1/workers").json(&worker_json(&idn, ANLONG, "HH-2", "employed")).send().await.unwrap();
    assert_eq!(res.status(), 409);
    let b = json(res).await;
    assert_eq!(b["error"]["code"], "duplicate_id_number");
    assert!(b["error"]["message"].as_str().unwrap().contains(w["id"].as_str().unwrap()));
    // Lower-case x and another county: still the same person, and the county is named.
    let res = app
        .post_as(&xingyi, "/v1/workers")
        .json(&worker_json(&idn.to_lowercase(), XINGYI, "HH-3", "employed"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    let b = json(res).await;
    assert!(b["error"]["message"].as_str().unwrap().contains(ANLONG), "{b}");
    assert_eq!(app.count("workers"), 1);
}

#[tokio::test]
async fn reveal_is_admin_only_and_audited() {
    let (app, anlong, _) = setup().await;
    let idn = id_number(ANLONG, "19900101", 123);
    let w = register(&app, &anlong, &worker_json(&idn, ANLONG, "HH-1", "unemployed")).await;
    let id = w["id"].as_str().unwrap();
    let res = app.get_as(&anlong, &format!("/v1/workers/{id}?reveal=true")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let got = json(app.get_as(&app.admin_key, &format!("/v1/workers/{id}?reveal=true")).send().await.unwrap()).await;
    assert_eq!(got["id_number"], idn.as_str());
    let audit =
        json(app.get_as(&app.admin_key, &format!("/v1/audit?entity=worker&id={id}")).send().await.unwrap()).await;
    let actions: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|a| a["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["worker.create", "worker.view"]);
    assert_eq!(audit["items"][1]["detail"]["fields"], serde_json::json!(["name", "phone", "id_number"]));
    assert!(!audit.to_string().contains(&idn), "the audit log must not hold the ID number");
    let res = app.get_as(&anlong, "/v1/audit").send().await.unwrap();
    assert_eq!(res.status(), 403);
}

#[tokio::test]
async fn patch_transfer_and_erase() {
    let (app, anlong, xingyi) = setup().await;
    let idn = id_number(ANLONG, "19900101", 123);
    let w = register(&app, &anlong, &worker_json(&idn, ANLONG, "HH-1", "unemployed")).await;
    let id = w["id"].as_str().unwrap();
    let path = format!("/v1/workers/{id}");
    let res = app
        .patch_as(&anlong, &path)
        .json(&json!({"employment_status": "employed", "skills": ["叉车"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let p = json(res).await;
    assert_eq!(p["employment_status"], "employed");
    assert_eq!(p["skills"], json!(["叉车"]));
    assert_eq!(p["name"], "王小明");
    let res = app.patch_as(&anlong, &path).json(&json!({"county_code": XINGYI})).send().await.unwrap();
    assert_eq!(res.status(), 422);
    let res = app
        .patch_as(&anlong, &path)
        .json(&json!({"id_number": id_number(ANLONG, "19900101", 125)}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    let res = app.patch_as(&xingyi, &path).json(&json!({"skills": []})).send().await.unwrap();
    assert_eq!(res.status(), 403);
    // Transfer: admin only.
    let res = app
        .post_as(&anlong, &format!("{path}/transfer"))
        .json(&json!({"county_code": XINGYI, "household_code": "HH-X1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app
        .post_as(&app.admin_key, &format!("{path}/transfer"))
        .json(&json!({"county_code": XINGYI, "household_code": "HH-X1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["county_code"], XINGYI);
    assert_eq!(app.get_as(&xingyi, &path).send().await.unwrap().status(), 200);
    assert_eq!(app.get_as(&anlong, &path).send().await.unwrap().status(), 403);
    // A household belongs to one county.
    let res = app
        .post_as(&anlong, "/v1/workers")
        .json(&worker_json(&id_number(ANLONG, "19920101", 321), ANLONG, "HH-X1", "unemployed"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // Erase: admin only; a placeholder stays.
    assert_eq!(app.delete_as(&xingyi, &path).send().await.unwrap().status(), 403);
    let res = app.delete_as(&app.admin_key, &path).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let e = json(res).await;
    assert_eq!(e["erased"], true);
    assert!(e["name"].is_null() && e["id_number_masked"].is_null() && e["phone"].is_null());
    // Erasing again is a success with the same placeholder (idempotent).
    let again = app.delete_as(&app.admin_key, &path).send().await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(json(again).await, e);
    // The ID number can be registered again after erasure.
    register(&app, &anlong, &worker_json(&idn, ANLONG, "HH-1", "unemployed")).await;
}

#[tokio::test]
async fn lists_are_scoped_to_the_county_and_filter() {
    let (app, anlong, xingyi) = setup().await;
    register(&app, &anlong, &worker_json(&id_number(ANLONG, "19900101", 101), ANLONG, "HH-1", "unemployed")).await;
    let mut grad = worker_json(&id_number(ANLONG, "20000101", 102), ANLONG, "HH-1", "employed");
    grad["categories"] = json!(["graduate", "relocated"]);
    register(&app, &anlong, &grad).await;
    register(&app, &xingyi, &worker_json(&id_number(XINGYI, "19900101", 103), XINGYI, "HH-2", "unemployed")).await;
    let l = json(app.get_as(&anlong, "/v1/workers").send().await.unwrap()).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 2);
    let res = app.get_as(&anlong, &format!("/v1/workers?county_code={XINGYI}")).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let l = json(app.get_as(&anlong, "/v1/workers?category=graduate").send().await.unwrap()).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    let l = json(app.get_as(&anlong, "/v1/workers?employment_status=unemployed").send().await.unwrap()).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    let l = json(app.get_as(&app.admin_key, "/v1/workers?limit=2").send().await.unwrap()).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 2);
    let c = l["next_cursor"].as_str().unwrap();
    let l = json(app.get_as(&app.admin_key, &format!("/v1/workers?limit=2&cursor={c}")).send().await.unwrap()).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    assert!(l["next_cursor"].is_null());
    let res = app.get_as(&anlong, "/v1/workers?category=retired").send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn households_show_who_works_and_list_zero_employment() {
    let (app, anlong, xingyi) = setup().await;
    // HH-A: one unemployed adult, one child → zero employment.
    register(&app, &anlong, &worker_json(&id_number(ANLONG, "19800101", 101), ANLONG, "HH-A", "unemployed")).await;
    register(&app, &anlong, &worker_json(&id_number(ANLONG, "20150101", 102), ANLONG, "HH-A", "student")).await;
    // HH-B: one employed, one unemployed → fine.
    register(&app, &anlong, &worker_json(&id_number(ANLONG, "19800101", 103), ANLONG, "HH-B", "employed")).await;
    register(&app, &anlong, &worker_json(&id_number(ANLONG, "19820101", 104), ANLONG, "HH-B", "unemployed")).await;
    // HH-C: only a person unable to work → no labour, not zero-employment.
    register(&app, &anlong, &worker_json(&id_number(ANLONG, "19700101", 105), ANLONG, "HH-C", "unable_to_work")).await;
    // HH-D: public-welfare post counts as employed.
    register(&app, &anlong, &worker_json(&id_number(ANLONG, "19750101", 106), ANLONG, "HH-D", "public_welfare_post"))
        .await;
    // HH-E: a 62-year-old is not labour.
    register(&app, &anlong, &worker_json(&id_number(ANLONG, "19600101", 107), ANLONG, "HH-E", "unemployed")).await;
    let h = json(app.get_as(&anlong, "/v1/households/HH-A").send().await.unwrap()).await;
    assert_eq!(h["members"], 2);
    assert_eq!(h["labour"], 1);
    assert_eq!(h["employed"], 0);
    assert_eq!(h["zero_employment"], true);
    assert_eq!(h["member_list"].as_array().unwrap().len(), 2);
    let z = json(app.get_as(&anlong, "/v1/households?zero_employment=true").send().await.unwrap()).await;
    let codes: Vec<&str> = z["items"].as_array().unwrap().iter().map(|i| i["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["HH-A"]);
    let all = json(app.get_as(&anlong, "/v1/households").send().await.unwrap()).await;
    assert_eq!(all["items"].as_array().unwrap().len(), 5);
    assert_eq!(app.get_as(&xingyi, "/v1/households/HH-A").send().await.unwrap().status(), 403);
    assert_eq!(app.get_as(&anlong, "/v1/households/NOPE").send().await.unwrap().status(), 404);
    // Employing the member clears the household from the list.
    let members = h["member_list"].as_array().unwrap();
    let adult = members.iter().find(|m| m["employment_status"] == "unemployed").unwrap();
    let res = app
        .patch_as(&anlong, &format!("/v1/workers/{}", adult["id"].as_str().unwrap()))
        .json(&json!({"employment_status": "self_employed"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let z = json(app.get_as(&anlong, "/v1/households?zero_employment=true").send().await.unwrap()).await;
    assert!(z["items"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn training_records() {
    let (app, anlong, xingyi) = setup().await;
    let w =
        register(&app, &anlong, &worker_json(&id_number(ANLONG, "19900101", 101), ANLONG, "HH-1", "unemployed")).await;
    let path = format!("/v1/workers/{}/trainings", w["id"].as_str().unwrap());
    let t = json!({"course": "焊工定岗培训", "kind": "position", "occupation_code": "6-18-02-04", "skills": ["电焊", "氩弧焊"],
                   "hours": 80, "certificate": "焊工证", "completed_on": "2024-05-20", "provider": "安龙县职业技术学校"});
    let res = app.post_as(&anlong, &path).json(&t).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let mut bad = t.clone();
    bad["kind"] = "seminar".into();
    assert_eq!(app.post_as(&anlong, &path).json(&bad).send().await.unwrap().status(), 422);
    let mut bad = t.clone();
    bad["hours"] = 0.into();
    assert_eq!(app.post_as(&anlong, &path).json(&bad).send().await.unwrap().status(), 422);
    let mut bad = t.clone();
    bad["occupation_code"] = "9-99-99-99".into();
    assert_eq!(app.post_as(&anlong, &path).json(&bad).send().await.unwrap().status(), 422);
    assert_eq!(app.post_as(&xingyi, &path).json(&t).send().await.unwrap().status(), 403);
    let l = json(app.get_as(&anlong, &path).send().await.unwrap()).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 1);
    assert_eq!(l["items"][0]["certificate"], "焊工证");
    assert_eq!(app.get_as(&xingyi, &path).send().await.unwrap().status(), 403);
}

const HEADER: &str = "身份证号,姓名,手机号,户编号,安置点,县级代码,人员类别,技能,文化程度,毕业年份,就业状态,愿意跨省务工,接收岗位推送,在职仍求职,期望最低月薪,意向务工县";

fn csv_row(idn: &str, household: &str, status: &str) -> String {
    format!(
        "{idn},李四,139{},{household},碧海阳光新城,{ANLONG},搬迁劳动力、返乡劳动力,电焊、叉车,初中,,{status},是,是,否,4000,{XINGYI}",
        &idn[10..18].replace('X', "0")
    )
}

async fn upload(app: &TestApp, key: &str, query: &str, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form =
        reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned()));
    app.post_as(key, &format!("/v1/workers/import{query}")).multipart(form).send().await.unwrap()
}

#[tokio::test]
async fn csv_import_is_all_or_nothing_idempotent_and_partial_on_request() {
    let (app, anlong, _) = setup().await;
    let rows: Vec<String> =
        (0..5).map(|i| csv_row(&id_number(ANLONG, "19900101", 100 + i), &format!("HH-{}", i / 2), "未就业")).collect();
    let good = format!("\u{feff}{HEADER}\n{}\n", rows.join("\n"));
    // A dry run writes nothing.
    let res = upload(&app, &anlong, "?dry_run=true", "ledger.csv", good.clone().into_bytes()).await;
    assert_eq!(res.status(), 200);
    assert_eq!(json(res).await["created"], 5);
    assert_eq!(app.count("workers"), 0);
    let res = upload(&app, &anlong, "", "ledger.csv", good.clone().into_bytes()).await;
    assert_eq!(res.status(), 200);
    let r = json(res).await;
    assert_eq!((r["created"].as_u64(), r["updated"].as_u64(), r["unchanged"].as_u64()), (Some(5), Some(0), Some(0)));
    assert_eq!(app.count("workers"), 5);
    assert_eq!(app.count("households"), 3);
    let facts = app.count("employment_facts");
    let outbox = app.count("outbox");
    // Re-importing the same file changes nothing.
    let r = json(upload(&app, &anlong, "", "ledger.csv", good.clone().into_bytes()).await).await;
    assert_eq!((r["created"].as_u64(), r["unchanged"].as_u64()), (Some(0), Some(5)));
    assert_eq!(app.count("employment_facts"), facts);
    assert_eq!(app.count("outbox"), outbox);
    // A changed status updates one worker.
    let mut changed = rows.clone();
    changed[0] = csv_row(&id_number(ANLONG, "19900101", 100), "HH-0", "就业");
    let r =
        json(upload(&app, &anlong, "", "ledger.csv", format!("{HEADER}\n{}\n", changed.join("\n")).into_bytes()).await)
            .await;
    assert_eq!((r["updated"].as_u64(), r["unchanged"].as_u64()), (Some(1), Some(4)));
    // Mixed file: bad rows are listed by row and column, nothing is written.
    let mut mixed = vec![csv_row(&id_number(ANLONG, "19910101", 201), "HH-9", "未就业")];
    let mut bad_id = id_number(ANLONG, "19910101", 203);
    bad_id.replace_range(17..18, if bad_id.ends_with('1') { "2" } else { "1" });
    mixed.push(csv_row(&bad_id, "HH-9", "未就业"));
    mixed.push(csv_row(&id_number(ANLONG, "19910101", 205), "HH-9", "忙"));
    mixed.push(csv_row(&id_number(ANLONG, "19910101", 201), "HH-9", "未就业"));
    let body = format!("{HEADER}\n{}\n", mixed.join("\n"));
    let before = app.count("workers");
    let res = upload(&app, &anlong, "", "mixed.csv", body.clone().into_bytes()).await;
    assert_eq!(res.status(), 422);
    let b = json(res).await;
    assert_eq!(b["error"]["code"], "import_rejected");
    let details = b["error"]["details"].as_array().unwrap();
    let found: Vec<(u64, &str)> =
        details.iter().map(|d| (d["row"].as_u64().unwrap(), d["column"].as_str().unwrap())).collect();
    assert_eq!(found, [(3, "身份证号"), (4, "就业状态"), (5, "身份证号")], "{b}");
    assert_eq!(app.count("workers"), before);
    // partial=true writes the good row and lists the bad ones.
    let res = upload(&app, &anlong, "?partial=true", "mixed.csv", body.into_bytes()).await;
    assert_eq!(res.status(), 200);
    let r = json(res).await;
    assert_eq!(r["created"], 1);
    assert_eq!(r["rejected"], 3);
    assert_eq!(app.count("workers"), before + 1);
}

#[tokio::test]
async fn imports_refuse_bad_files_and_other_counties() {
    let (app, anlong, xingyi) = setup().await;
    let good = format!("{HEADER}\n{}\n", csv_row(&id_number(ANLONG, "19900101", 101), "HH-1", "未就业"));
    // Another county's rows.
    let res = upload(&app, &xingyi, "", "ledger.csv", good.clone().into_bytes()).await;
    assert_eq!(res.status(), 422);
    assert!(json(res).await["error"]["details"][0]["problem"].as_str().unwrap().contains(XINGYI));
    // Missing and duplicate columns.
    let res = upload(&app, &anlong, "", "x.csv", "姓名,手机号\n张三,13800000000\n".as_bytes().to_vec()).await;
    assert_eq!(res.status(), 422);
    assert_eq!(json(res).await["error"]["details"][0]["row"], 1);
    let dup = format!("{HEADER},姓名\n");
    let res = upload(&app, &anlong, "", "x.csv", dup.into_bytes()).await;
    assert_eq!(res.status(), 422);
    // Not UTF-8, not a workbook, no file part.
    let res = upload(&app, &anlong, "", "x.csv", vec![0xd5, 0xc5, 0xc8, 0xfd, b'\n']).await;
    assert_eq!(res.status(), 400);
    assert_eq!(json(res).await["error"]["code"], "malformed_upload");
    let res = upload(&app, &anlong, "", "x.xlsx", b"PK\x03\x04garbage".to_vec()).await;
    assert_eq!(res.status(), 400);
    let form = reqwest::multipart::Form::new().text("other", "x");
    let res = app.post_as(&anlong, "/v1/workers/import").multipart(form).send().await.unwrap();
    assert_eq!(res.status(), 400);
    // Employers may not import.
    let (_, employer) = app.org("某厂", "employer", None).await;
    assert_eq!(upload(&app, &employer, "", "ledger.csv", good.into_bytes()).await.status(), 403);
    assert_eq!(app.count("workers"), 0);
}

#[tokio::test]
async fn xlsx_template_import_and_masked_export() {
    let (app, anlong, _) = setup().await;
    let res = app.get_as(&anlong, "/v1/workers/import-template.xlsx").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let template = res.bytes().await.unwrap().to_vec();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(template)).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let headers: Vec<String> = range.rows().next().unwrap().iter().map(|c| c.to_string()).collect();
    assert_eq!(headers.join(","), HEADER);

    // Fill a workbook the way an officer would, ID numbers as text.
    let mut book = rust_xlsxwriter::Workbook::new();
    let ws = book.add_worksheet();
    for (c, h) in HEADER.split(',').enumerate() {
        ws.write_string(0, c as u16, h).unwrap();
    }
    let ids: Vec<String> = (0..3).map(|i| id_number(ANLONG, "19950505", 300 + i)).collect();
    for (r, idn) in ids.iter().enumerate() {
        for (c, v) in csv_row(idn, "HH-XL", "自主创业").split(',').enumerate() {
            if !v.is_empty() {
                ws.write_string(r as u32 + 1, c as u16, v).unwrap();
            }
        }
    }
    ws.write_number(3, 14, 5000).unwrap(); // a number cell for 期望最低月薪
    let bytes = book.save_to_buffer().unwrap();
    let res = upload(&app, &anlong, "", "ledger.xlsx", bytes).await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    assert_eq!(app.count("workers"), 3);

    // A formula-looking name must not become a formula in the export.
    let mut w = worker_json(&id_number(ANLONG, "19930303", 401), ANLONG, "HH-F", "unemployed");
    w["name"] = "=HYPERLINK(\"http://x\")".into();
    let res = app.post_as(&anlong, "/v1/workers").json(&w).send().await.unwrap();
    assert_eq!(res.status(), 201);
    let res = app.get_as(&anlong, "/v1/workers/export.xlsx").send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(res.bytes().await.unwrap().to_vec())).unwrap();
    let range = wb.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<String>> = range.rows().map(|r| r.iter().map(|c| c.to_string()).collect()).collect();
    assert_eq!(rows.len(), 5);
    let text = format!("{rows:?}");
    for idn in &ids {
        assert!(!text.contains(idn.as_str()), "export holds a full ID number");
        assert!(text.contains(&format!("522328********{}", &idn[14..])));
    }
    assert!(rows.iter().any(|r| r[1] == "'=HYPERLINK(\"http://x\")"), "{text}");
    assert!(rows.iter().any(|r| r[10] == "自主创业"));
    // A county office exports its own county only.
    let res = app.get_as(&anlong, "/v1/workers/export.xlsx?county_code=522301").send().await.unwrap();
    assert_eq!(res.status(), 403);
}
