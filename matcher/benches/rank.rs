//! Matcher benchmark (issue #5): 1,000,000 seeded workers in ~500,000
//! households across Guizhou's 88 counties; top-50 candidates for a job,
//! offer planning for 10,000 jobs, the candidate store's memory, and the same
//! top-50 as one SQL query in PostgreSQL when DATABASE_URL is set.
//!
//! cargo bench -p matcher --bench rank          (BENCH_WORKERS, BENCH_JOBS override)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::NaiveDate;
use domain::job::Requirements;
use domain::synonyms::Synonyms;
use domain::worker::{Category, EmploymentStatus};
use matcher::plan::{Caps, Want};
use matcher::{CandidateStore, Context, JobSnap, TrainingSnap, Weights, WorkerSnap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{HashMap, HashSet};
use std::time::Instant;
use uuid::Uuid;

const SKILLS: &[&str] = &[
    "电焊",
    "氩弧焊",
    "叉车",
    "缝纫",
    "电工",
    "砌筑",
    "家政",
    "育婴",
    "厨师",
    "驾驶",
    "装配",
    "质检",
    "包装",
    "保安",
    "养殖",
    "种植",
    "茶叶加工",
    "刺绣",
    "蜡染",
    "护工",
    "快递分拣",
    "木工",
    "钢筋",
    "水电安装",
    "美容美发",
];

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let n_workers: usize = std::env::var("BENCH_WORKERS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let n_jobs: usize = std::env::var("BENCH_JOBS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let mut counties = Vec::new();
    let mut gd = Vec::new();
    for r in csv::Reader::from_path(format!("{root}/seed/divisions.csv")).unwrap().records() {
        let r = r.unwrap();
        if &r[2] == "county" && r[0].starts_with("52") {
            counties.push(r[0].to_owned());
        }
        if (&r[2] == "county" || &r[0] == "441900" || &r[0] == "442000") && r[0].starts_with("44") {
            gd.push(r[0].to_owned());
        }
    }
    let mut occupations = Vec::new();
    let mut names = HashMap::new();
    for r in csv::Reader::from_path(format!("{root}/seed/occupations.csv")).unwrap().records() {
        let r = r.unwrap();
        if &r[2] == "4" && (r[0].starts_with('6') || r[0].starts_with('4')) {
            occupations.push((r[0].to_owned(), r[1].to_owned()));
        }
    }
    for r in csv::Reader::from_path(format!("{root}/seed/divisions.csv")).unwrap().records() {
        let r = r.unwrap();
        names.insert(r[0].to_owned(), r[1].to_owned());
    }
    assert_eq!(counties.len(), 88);
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    let rss0 = rss_mb();
    let t = Instant::now();
    let mut store = CandidateStore::new();
    let mut rows = Vec::with_capacity(if std::env::var("DATABASE_URL").is_ok() { n_workers } else { 0 });
    for i in 0..n_workers {
        let county = counties[rng.random_range(0..counties.len())].clone();
        let status = match rng.random_range(0..100) {
            0..=69 => EmploymentStatus::Employed,
            70..=84 => EmploymentStatus::Unemployed,
            85..=89 => EmploymentStatus::SelfEmployed,
            90..=92 => EmploymentStatus::PublicWelfarePost,
            93..=96 => EmploymentStatus::Student,
            _ => EmploymentStatus::UnableToWork,
        };
        let mut categories = vec![Category::Relocated];
        if rng.random_bool(0.3) {
            categories.push(Category::PovertyAlleviated);
        }
        if rng.random_bool(0.05) {
            categories.push(Category::Returning);
        }
        if rng.random_bool(0.03) {
            categories.push(Category::Monitored);
        }
        let skills: Vec<String> =
            (0..rng.random_range(0..3)).map(|_| SKILLS[rng.random_range(0..SKILLS.len())].to_owned()).collect();
        let trainings = if rng.random_bool(0.3) {
            let (code, _) = &occupations[rng.random_range(0..occupations.len())];
            vec![TrainingSnap {
                course: "定岗培训".into(),
                kind: "position".into(),
                occupation_code: Some(code.clone()),
                skills: vec![SKILLS[rng.random_range(0..SKILLS.len())].to_owned()],
                certificate: rng.random_bool(0.4).then(|| "职业技能等级证书".to_owned()),
                completed_on: NaiveDate::from_ymd_opt(rng.random_range(2019..2025), rng.random_range(1..13), 1)
                    .unwrap(),
            }]
        } else {
            vec![]
        };
        let employed = status.is_employed();
        let w = WorkerSnap {
            id: Uuid::from_u128(i as u128 + 1),
            county_code: county,
            household_id: Uuid::from_u128((i / 2) as u128 + 10_000_000),
            birth_date: NaiveDate::from_ymd_opt(
                rng.random_range(1965..2008),
                rng.random_range(1..13),
                rng.random_range(1..28),
            ),
            categories,
            skills,
            willing_cross_province: rng.random_bool(0.6),
            accepts_offers: rng.random_bool(0.95),
            seeking_while_employed: employed && rng.random_bool(0.1),
            min_wage: rng.random_bool(0.7).then(|| rng.random_range(25..70) * 100),
            preferred_county_codes: vec![],
            status: Some(status),
            is_labour: status.can_work(),
            is_employed: employed,
            trainings,
            past_stays_months: if rng.random_bool(0.2) { vec![rng.random_range(1..24)] } else { vec![] },
            placed_jobs: vec![],
            declines: vec![],
        };
        if std::env::var("DATABASE_URL").is_ok() {
            rows.push(w.clone());
        }
        store.upsert(w);
    }
    let load_s = t.elapsed().as_secs_f64();
    let rss1 = rss_mb();
    println!(
        "candidate store: {n_workers} workers built in {load_s:.1} s; resident memory {:.0} MB (process {:.0} MB)",
        rss1 - rss0 - (rows.capacity() as f64 * std::mem::size_of::<WorkerSnap>() as f64 / 1048576.0).max(0.0),
        rss1
    );
    let jobs: Vec<JobSnap> = (0..n_jobs)
        .map(|i| {
            let (code, name) = occupations[rng.random_range(0..occupations.len())].clone();
            let guangdong = i % 3 == 0;
            let county = if guangdong {
                gd[rng.random_range(0..gd.len())].clone()
            } else {
                counties[rng.random_range(0..counties.len())].clone()
            };
            let wage_min = rng.random_range(30..60) * 100;
            JobSnap {
                id: Uuid::from_u128(900_000_000 + i as u128),
                poster_org_id: Uuid::nil(),
                title: name.clone(),
                occupation_code: Some(code),
                occupation_name: Some(name),
                skills: (0..rng.random_range(1..3))
                    .map(|_| SKILLS[rng.random_range(0..SKILLS.len())].to_owned())
                    .collect(),
                province_code: format!("{}0000", &county[..2]),
                county_code: county,
                wage_min,
                wage_max: wage_min + rng.random_range(5..30) * 100,
                requirements: Requirements { min_age: Some(18), max_age: Some(55), certificates: vec![] },
                open_slots: rng.random_range(1..10),
                open: true,
            }
        })
        .collect();
    let weights = Weights::shipped().unwrap();
    let syn = Synonyms::parse(include_str!("../../seed/synonyms.txt"));
    let ctx = Context {
        weights: &weights,
        synonyms: &syn,
        today: NaiveDate::from_ymd_opt(2024, 12, 1).unwrap(),
        place_names: &names,
    };
    // Top-50 for single jobs, single-threaded.
    let mut lat = Vec::new();
    for j in jobs.iter().take(200) {
        let t = Instant::now();
        let top = matcher::rank::top_candidates(&store, j, &ctx, 50);
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!top.is_empty());
    }
    let (p50, p99) = (pct(&mut lat.clone(), 0.5), pct(&mut lat, 0.99));
    println!("top-50 for one job, 200 jobs, single-threaded: p50 {p50:.1} ms, p99 {p99:.1} ms");
    // Offer planning for all jobs.
    let wants: Vec<Want<'_>> = jobs.iter().map(|j| Want { job: j, offers: j.open_slots as usize }).collect();
    let t = Instant::now();
    let planned = matcher::plan::plan(
        &store,
        &ctx,
        &wants,
        &HashSet::new(),
        &HashMap::new(),
        Caps { max_open: 3, max_7_days: 5 },
    );
    let plan_s = t.elapsed().as_secs_f64();
    let zero = store.zero_employment_reached(&planned);
    println!(
        "plan-offers for {} jobs on {} threads: {plan_s:.1} s, {} offers, {} zero-employment households reached",
        jobs.len(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        planned.len(),
        zero.len()
    );
    println!("resident memory after planning: {:.0} MB", rss_mb());
    if let Ok(url) = std::env::var("DATABASE_URL") {
        sql_comparison(&url, &rows, &jobs[..50], &store, p50);
    } else {
        println!("DATABASE_URL not set: the SQL comparison was skipped");
    }
}

fn sql_comparison(url: &str, rows: &[WorkerSnap], jobs: &[JobSnap], store: &CandidateStore, rust_p50: f64) {
    use diesel::prelude::*;
    use diesel::sql_types::{Array, Bool, Int4, Nullable, Text};
    let mut conn = PgConnection::establish(url).unwrap();
    diesel::sql_query("DROP TABLE IF EXISTS bench_match_workers").execute(&mut conn).unwrap();
    diesel::sql_query(
        "CREATE TABLE bench_match_workers (id bigint PRIMARY KEY, county text, skills text[], min_wage int, willing bool, \
         available bool, zero bool, priority int, age int)",
    )
    .execute(&mut conn)
    .unwrap();
    let t = Instant::now();
    for (k, chunk) in rows.chunks(20_000).enumerate() {
        let ids: Vec<i32> = (0..chunk.len()).map(|i| (k * 20_000 + i) as i32).collect();
        let county: Vec<String> = chunk.iter().map(|w| w.county_code.clone()).collect();
        let skills: Vec<String> = chunk
            .iter()
            .map(|w| {
                w.skills
                    .iter()
                    .chain(w.trainings.iter().flat_map(|t| t.skills.iter()))
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        let min_wage: Vec<Option<i32>> = chunk.iter().map(|w| w.min_wage).collect();
        let willing: Vec<bool> = chunk.iter().map(|w| w.willing_cross_province).collect();
        let available: Vec<bool> = chunk
            .iter()
            .map(|w| {
                w.accepts_offers
                    && (w.status == Some(EmploymentStatus::Unemployed)
                        || w.has(Category::Returning)
                        || (w.is_employed && w.seeking_while_employed))
            })
            .collect();
        let zero: Vec<bool> = chunk.iter().map(|w| store.zero_employment(w.household_id)).collect();
        let priority: Vec<i32> = chunk
            .iter()
            .map(|w| 8 * i32::from(w.has(Category::Monitored)) + 6 * i32::from(w.has(Category::Returning)))
            .collect();
        let age: Vec<i32> = chunk.iter().map(|w| 2024 - chrono::Datelike::year(&w.birth_date.unwrap())).collect();
        diesel::sql_query(
            "INSERT INTO bench_match_workers SELECT i, c, string_to_array(nullif(s, ''), ','), m, wi, a, z, p, g \
             FROM unnest($1::int[], $2::text[], $3::text[], $4::int[], $5::bool[], $6::bool[], $7::bool[], $8::int[], $9::int[]) AS t(i, c, s, m, wi, a, z, p, g)",
        )
        .bind::<Array<Int4>, _>(ids)
        .bind::<Array<Text>, _>(county)
        .bind::<Array<Text>, _>(skills)
        .bind::<Array<Nullable<Int4>>, _>(min_wage)
        .bind::<Array<Bool>, _>(willing)
        .bind::<Array<Bool>, _>(available)
        .bind::<Array<Bool>, _>(zero)
        .bind::<Array<Int4>, _>(priority)
        .bind::<Array<Int4>, _>(age)
        .execute(&mut conn)
        .unwrap();
    }
    diesel::sql_query("ANALYZE bench_match_workers").execute(&mut conn).unwrap();
    println!("loaded the same workers into PostgreSQL in {:.1} s", t.elapsed().as_secs_f64());
    #[derive(QueryableByName)]
    #[allow(dead_code)]
    struct R {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        id: i64,
    }
    let mut lat = Vec::new();
    for j in jobs {
        let t = Instant::now();
        let r: Vec<R> = diesel::sql_query(
            "SELECT id FROM bench_match_workers WHERE available AND age BETWEEN 18 AND 55 \
               AND (NOT $3 OR willing) AND (min_wage IS NULL OR min_wage <= $4) \
             ORDER BY ( 12 * coalesce(cardinality(ARRAY(SELECT unnest(skills) INTERSECT SELECT unnest($1::text[]))), 0) \
                      + CASE WHEN county = $2 THEN 15 WHEN left(county, 4) = left($2, 4) THEN 10 WHEN left($2, 2) = '52' THEN 6 WHEN willing THEN 4 ELSE 0 END \
                      + CASE WHEN min_wage IS NOT NULL THEN 6 + least(6, ($4 - min_wage) / 500.0) ELSE 0 END \
                      + CASE WHEN zero THEN 25 ELSE 0 END + priority ) DESC, id LIMIT 50",
        )
        .bind::<Array<Text>, _>(&j.skills)
        .bind::<Text, _>(&j.county_code)
        .bind::<Bool, _>(j.cross_province())
        .bind::<Int4, _>(j.wage_max)
        .load(&mut conn)
        .unwrap();
        assert!(!r.is_empty());
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let (p50, p99) = (pct(&mut lat.clone(), 0.5), pct(&mut lat, 0.99));
    println!(
        "the same top-50 as one SQL query (50 jobs): p50 {p50:.1} ms, p99 {p99:.1} ms; ratio SQL/in-memory at p50: {:.1}x",
        p50 / rust_p50
    );
    diesel::sql_query("DROP TABLE bench_match_workers").execute(&mut conn).unwrap();
}
