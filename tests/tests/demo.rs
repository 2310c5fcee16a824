//! The demo province (#10) on a small seed: generated once through the store,
//! never twice, and the chain run over HTTP holds together — events fire and
//! are explained, the report agrees with the ledger, offers respect the caps.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Jsonb, Nullable, Uuid as SqlUuid};
use qianlink_tests::TestApp;

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = Nullable<BigInt>)]
    n: Option<i64>,
}

fn scalar(conn: &mut PgConnection, sql: &str) -> i64 {
    diesel::sql_query(sql).get_result::<N>(conn).unwrap().n.unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_province_is_written_once_and_its_chain_holds() {
    let app = TestApp::spawn().await;
    let (url, vault) = (app.db.url.clone(), app.state.vault.clone());
    let spec = demo::Spec::small(11);
    let g =
        tokio::task::spawn_blocking(move || demo::generate(&url, &vault, &spec, &mut |_| {})).await.unwrap().unwrap();
    assert!(g.fresh);
    assert!(g.counts.workers > 250 && g.counts.households == 150, "{:?}", g.counts);
    assert_eq!(app.count("workers") as usize, g.counts.workers);
    // (TestApp's bootstrap admin is the one organisation and key more.)
    assert_eq!(app.count("organizations") as usize, g.counts.organisations + 1);
    assert_eq!(app.count("api_keys") as usize, g.keys.len() + 1);
    assert!(g.counts.placements > 50 && g.counts.reports > g.counts.placements);
    // Every write went through the store: outbox rows and audit entries came with it.
    assert!(app.count("outbox") as usize > g.counts.workers + g.counts.reports);
    let mut conn = app.conn();
    assert!(
        scalar(&mut conn, "SELECT count(*) AS n FROM audit_log WHERE action = 'placement.report'") as usize
            >= g.counts.reports
    );
    // ID numbers are stored encrypted and decrypt to valid numbers; phones too.
    for id in g.world.people.iter().take(20).map(|p| p.id_number.clone()) {
        let n = domain::IdNumber::parse(&id).unwrap();
        let found = store::workers::find_by_id_number(&mut conn, &app.state.vault, &n).unwrap();
        let (worker, _) = found.expect("every generated worker is in the ledger");
        let (plain, phone) = store::workers::personal(&mut conn, &app.state.vault, worker).unwrap();
        assert_eq!(plain.as_deref(), Some(id.as_str()));
        assert!(domain::Phone::parse(&phone.unwrap()).is_ok());
    }

    // A second run finds the province and writes nothing.
    let counts =
        |app: &TestApp| (app.count("workers"), app.count("placement_reports"), app.count("jobs"), app.count("outbox"));
    let before = counts(&app);
    let (url, vault) = (app.db.url.clone(), app.state.vault.clone());
    let again = tokio::task::spawn_blocking(move || demo::generate(&url, &vault, &demo::Spec::small(11), &mut |_| {}))
        .await
        .unwrap()
        .unwrap();
    assert!(!again.fresh);
    assert_eq!(again.demo_worker, g.demo_worker);
    assert_eq!(again.demo_phone, g.demo_phone);
    assert_eq!(counts(&app), before);

    // The chain, over HTTP.
    let mut ring = demo::chain::Keyring::with(g.keys.clone(), None);
    let tour = demo::chain::run(&app.state, &app.address, &g, &mut ring).await.unwrap();
    let f = &tour.figures;
    assert!(f.search_total > 0, "the search finds jobs");
    assert!(f.candidates > 0, "the Guangdong job has candidates");

    // Subsidy events fired, each explained: every condition holds, the amount is the trace's.
    assert!(f.scan["events_created"].as_u64().unwrap() > 0, "{}", f.scan);
    assert!(f.explained_event.is_some());
    #[derive(QueryableByName)]
    struct Ev {
        #[diesel(sql_type = BigInt)]
        amount: i64,
        #[diesel(sql_type = Jsonb)]
        trace: serde_json::Value,
        #[diesel(sql_type = Nullable<SqlUuid>)]
        placement_id: Option<uuid::Uuid>,
    }
    let events: Vec<Ev> = diesel::sql_query("SELECT amount::bigint AS amount, trace, placement_id FROM subsidy_events")
        .load(&mut conn)
        .unwrap();
    assert_eq!(events.len(), f.events_total);
    for e in &events {
        assert_eq!(e.trace["condition"]["result"], true, "{}", e.trace);
        assert_eq!(e.trace["amount"]["amount"], e.amount, "{}", e.trace);
        if e.placement_id.is_some() {
            assert!(!e.trace["evidence"].as_array().unwrap().is_empty(), "{}", e.trace);
        }
    }
    let rules: std::collections::BTreeSet<&str> =
        f.scan["created_by_rule"].as_object().unwrap().keys().map(String::as_str).collect();
    assert!(rules.contains("follow_up_service") && rules.contains("cross_province_transport"), "{rules:?}");

    // The report agrees with the ledger.
    let r = &f.report;
    let (labour, employed) = (r["labour"].as_i64().unwrap(), r["employed"].as_i64().unwrap());
    assert!(labour > 0 && employed > 0 && employed <= labour, "{r}");
    assert_eq!(
        labour,
        scalar(
            &mut conn,
            "SELECT count(*) AS n FROM worker_state('2024-12-31') s JOIN workers w ON w.id = s.worker_id WHERE s.is_labour AND w.erased_at IS NULL"
        )
    );
    assert!(r["respondents"].as_i64().unwrap() <= labour);
    let zero: Vec<String> =
        r["zero_employment_households"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert!(!zero.is_empty(), "the demo keeps some zero-employment households for the plan to reach");
    let as_of = chrono::NaiveDate::from_ymd_opt(2024, 12, 31).unwrap();
    for code in &zero {
        let (h, members) = store::workers::household(&mut conn, code, as_of).unwrap();
        assert!(h.labour > 0 && h.employed == 0, "{code}: {h:?}");
        assert!(members.iter().all(|m| !m.is_employed));
    }
    assert!(r["income_median"].as_f64().unwrap() > 0.0);

    // Offers were planned and queued within each worker's caps, zero-employment households first.
    assert!(f.plan.written > 0 && f.plan.households > 0, "{:?}", f.plan);
    assert!(f.offers_for_demo_worker > 0);
    let open = scalar(
        &mut conn,
        "SELECT max(n) AS n FROM (SELECT count(*) AS n FROM offers WHERE status IN ('queued', 'sent') GROUP BY worker_id) t",
    );
    let week = scalar(
        &mut conn,
        "SELECT max(n) AS n FROM (SELECT count(*) AS n FROM offers WHERE created_at > now() - interval '7 days' GROUP BY worker_id) t",
    );
    assert!((1..=3).contains(&open) && week <= 5, "open {open}, week {week}");
    let queued = scalar(&mut conn, "SELECT count(*) AS n FROM bot_queue WHERE kind = 'offer'");
    assert_eq!(queued, app.count("offers"), "every offer is queued for the bot");

    // The demand lists were submitted before the deadline and consolidate.
    assert_eq!(f.consolidated["teams_submitted"].as_array().unwrap().len(), 6);

    // The tour: every step repeats with curl, no full ID number is printed.
    let text = demo::chain::render(&tour);
    let script = demo::chain::script(&tour);
    assert!(tour.steps.iter().all(|s| s.commands.iter().all(|c| c.starts_with("curl -s "))));
    assert!(script.lines().filter(|l| l.starts_with("curl ")).count() >= 10);
    assert!(text.contains(&format!("make chat PHONE={}", g.demo_phone)));
    for p in &g.world.people {
        assert!(!text.contains(&p.id_number) && !script.contains(&p.id_number));
    }
}
