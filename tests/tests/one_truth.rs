//! One truth, written once (DESIGN.md; #17): "labour" and "employed" are
//! written in Rust (`domain::worker::is_labour`,
//! `EmploymentStatus::is_employed`) and in SQL (`worker_state()`, read by
//! every report, filter and count). This test holds the two equal on every
//! status and on the birthdays around both age limits, 29 February included.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code

use chrono::{Duration, Months, NaiveDate};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Date, Nullable, Text, Uuid as SqlUuid};
use domain::worker::{EmploymentStatus, is_labour};
use qianlink_tests::TestDb;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(QueryableByName)]
struct State {
    #[diesel(sql_type = SqlUuid)]
    worker_id: Uuid,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Bool)]
    is_labour: bool,
    #[diesel(sql_type = Bool)]
    is_employed: bool,
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

#[test]
fn labour_and_employed_are_the_same_in_rust_and_in_sql() {
    let db = TestDb::create();
    let mut conn = db.connect();
    let as_of = [d(2024, 2, 28), d(2024, 2, 29), d(2024, 3, 1), d(2025, 2, 28), d(2025, 3, 1), d(2024, 6, 15)];
    let mut births = vec![d(2008, 2, 29), d(1964, 2, 29), d(1963, 2, 28), d(1963, 3, 1), d(2009, 3, 1)];
    for a in as_of {
        for years in [16u32, 61] {
            let edge = a.checked_sub_months(Months::new(years * 12)).unwrap();
            births.extend([edge - Duration::days(1), edge, edge + Duration::days(1)]);
        }
    }
    births.sort();
    births.dedup();
    let household = Uuid::new_v4();
    diesel::sql_query("INSERT INTO households (id, code, county_code) VALUES ($1, 'HH-TRUTH', '522301')")
        .bind::<SqlUuid, _>(household)
        .execute(&mut conn)
        .unwrap();
    let statuses: Vec<Option<EmploymentStatus>> =
        std::iter::once(None).chain(EmploymentStatus::ALL.iter().copied().map(Some)).collect();
    let mut truth: HashMap<Uuid, (NaiveDate, Option<EmploymentStatus>)> = HashMap::new();
    for b in &births {
        for s in &statuses {
            let id = Uuid::new_v4();
            diesel::sql_query(
                "INSERT INTO workers (id, id_number_enc, id_number_hash, name, phone_hash, birth_date, household_id, county_code) \
                 VALUES ($1, '\\x00', sha256(convert_to($1::text, 'UTF8')), '测试', sha256(convert_to($1::text || 'p', 'UTF8')), $2, $3, '522301')",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<Date, _>(*b)
            .bind::<SqlUuid, _>(household)
            .execute(&mut conn)
            .unwrap();
            if let Some(s) = s {
                diesel::sql_query(
                    "INSERT INTO employment_facts (worker_id, status, effective_on, source) VALUES ($1, $2, '2000-01-01', 'officer')",
                )
                .bind::<SqlUuid, _>(id)
                .bind::<Text, _>(s.as_str())
                .execute(&mut conn)
                .unwrap();
            }
            truth.insert(id, (*b, *s));
        }
    }
    let mut checked = 0;
    let (mut labour, mut employed) = (0, 0);
    for a in as_of {
        let rows: Vec<State> =
            diesel::sql_query("SELECT worker_id, status, is_labour, is_employed FROM worker_state($1)")
                .bind::<Date, _>(a)
                .load(&mut conn)
                .unwrap();
        assert_eq!(rows.len(), truth.len());
        for r in rows {
            let (birth, status) = truth[&r.worker_id];
            assert_eq!(r.status.as_deref(), status.map(EmploymentStatus::as_str));
            assert_eq!(r.is_labour, is_labour(Some(birth), status, a), "labour: born {birth}, {status:?}, on {a}");
            assert_eq!(r.is_employed, status.is_some_and(EmploymentStatus::is_employed), "employed: {status:?}");
            labour += usize::from(r.is_labour);
            employed += usize::from(r.is_employed);
            checked += 1;
        }
    }
    // Both answers occur, so neither side can be constant.
    assert!(labour > 0 && labour < checked && employed > 0 && employed < checked, "{labour} {employed} {checked}");
}
