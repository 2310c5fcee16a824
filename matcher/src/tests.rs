//! Unit tests of ranking and planning: each filter and factor alone, points
//! that add up, order independence, caps, households first.

use crate::model::{DeclineSnap, JobSnap, TrainingSnap, WorkerSnap};
use crate::plan::{Caps, Load, Want, plan};
use crate::rank::{Context, Verdict, explain, top_candidates};
use crate::store::CandidateStore;
use crate::weights::Weights;
use chrono::NaiveDate;
use domain::job::Requirements;
use domain::synonyms::Synonyms;
use domain::worker::{Category, EmploymentStatus};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn syn() -> Synonyms {
    Synonyms::parse("焊工 = 电焊工 = 电焊\n焊工 ~ 氩弧焊\n叉车司机 = 叉车工 = 叉车\n")
}

fn names() -> HashMap<String, String> {
    [("522328", "安龙县"), ("522301", "兴义市"), ("520502", "七星关区"), ("441900", "东莞市")]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

fn job() -> JobSnap {
    JobSnap {
        id: Uuid::from_u128(1000),
        poster_org_id: Uuid::from_u128(1),
        title: "电焊工".into(),
        occupation_code: Some("6-18-02-04".into()),
        occupation_name: Some("焊工".into()),
        skills: vec!["电焊".into()],
        county_code: "522328".into(),
        province_code: "520000".into(),
        wage_min: 4500,
        wage_max: 6000,
        requirements: Requirements::default(),
        open_slots: 5,
        open: true,
    }
}

fn worker(n: u128) -> WorkerSnap {
    WorkerSnap {
        id: Uuid::from_u128(n),
        county_code: "520502".into(),
        household_id: Uuid::from_u128(10_000 + n),
        birth_date: Some(d("1990-05-01")),
        categories: vec![Category::Relocated],
        skills: vec![],
        willing_cross_province: true,
        accepts_offers: true,
        seeking_while_employed: false,
        min_wage: None,
        preferred_county_codes: vec![],
        status: Some(EmploymentStatus::Unemployed),
        is_labour: true,
        is_employed: false,
        trainings: vec![],
        past_stays_months: vec![],
        placed_jobs: vec![],
        declines: vec![],
    }
}

struct T {
    w: Weights,
    s: Synonyms,
    n: HashMap<String, String>,
}

impl T {
    fn new() -> Self {
        Self { w: Weights::shipped().unwrap(), s: syn(), n: names() }
    }
    fn ctx(&self) -> Context<'_> {
        Context { weights: &self.w, synonyms: &self.s, today: d("2024-06-01"), place_names: &self.n }
    }
}

type Change = Box<dyn Fn(&mut WorkerSnap, &mut JobSnap)>;

fn points(v: &Verdict, factor: &str) -> f64 {
    match v {
        Verdict::Eligible(s) => s.reasons.iter().filter(|r| r.factor == factor).map(|r| r.points).sum(),
        Verdict::Filtered { reasons } => panic!("filtered: {reasons:?}"),
    }
}

fn filtered(v: &Verdict) -> Vec<String> {
    match v {
        Verdict::Filtered { reasons } => reasons.clone(),
        Verdict::Eligible(_) => vec![],
    }
}

#[test]
fn each_filter_alone() {
    let t = T::new();
    let ctx = t.ctx();
    let base = worker(1);
    assert!(filtered(&explain(&job(), &base, false, &ctx)).is_empty());
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|w, _| w.status = Some(EmploymentStatus::UnableToWork)), "无劳动能力"),
        (Box::new(|w, _| w.status = Some(EmploymentStatus::Student)), "在校学生"),
        (Box::new(|w, _| w.accepts_offers = false), "已退订岗位推送"),
        (Box::new(|w, _| w.is_labour = false), "不在劳动年龄"),
        (
            Box::new(|w, _| {
                w.status = Some(EmploymentStatus::Employed);
                w.is_employed = true;
            }),
            "已就业",
        ),
        (Box::new(|_, j| j.requirements.max_age = Some(30)), "岗位要求30岁以下"),
        (Box::new(|_, j| j.requirements.min_age = Some(40)), "岗位要求40岁以上"),
        (Box::new(|_, j| j.requirements.certificates = vec!["焊工证".into()]), "缺少岗位要求的证书"),
        (
            Box::new(|w, j| {
                j.province_code = "440000".into();
                j.county_code = "441900".into();
                w.willing_cross_province = false;
            }),
            "不愿意跨省务工",
        ),
        (Box::new(|w, _| w.min_wage = Some(6500)), "低于期望6500元"),
        (Box::new(|w, j| w.placed_jobs.push(j.id)), "已在该岗位就业"),
    ];
    for (change, text) in cases {
        let (mut w, mut j) = (base.clone(), job());
        change(&mut w, &mut j);
        let f = filtered(&explain(&j, &w, false, &ctx));
        assert!(f.iter().any(|r| r.contains(text)), "{text}: {f:?}");
    }
    // Employed but opted in, or returning: available.
    let mut w = base.clone();
    w.status = Some(EmploymentStatus::Employed);
    w.is_employed = true;
    w.seeking_while_employed = true;
    assert!(filtered(&explain(&job(), &w, false, &ctx)).is_empty());
    let mut w = base.clone();
    w.status = Some(EmploymentStatus::Employed);
    w.categories.push(Category::Returning);
    assert!(filtered(&explain(&job(), &w, false, &ctx)).is_empty());
    // A held certificate passes.
    let mut j = job();
    j.requirements.certificates = vec!["焊工证".into()];
    let mut w = base;
    w.trainings.push(TrainingSnap {
        course: "焊工定岗培训".into(),
        kind: "position".into(),
        occupation_code: None,
        skills: vec![],
        certificate: Some("焊工证".into()),
        completed_on: d("2024-01-01"),
    });
    assert!(filtered(&explain(&j, &w, false, &ctx)).is_empty());
}

#[test]
fn each_factor_alone_and_points_add_up() {
    let t = T::new();
    let ctx = t.ctx();
    let j = job();
    let base = explain(&j, &worker(1), false, &ctx);
    // Skills: exact, equivalent, related.
    for (skill, pts) in [("电焊", t.w.skill_exact), ("电焊工", t.w.skill_equivalent), ("氩弧焊", t.w.skill_related)]
    {
        let mut w = worker(1);
        w.skills = vec![skill.into()];
        assert_eq!(points(&explain(&j, &w, false, &ctx), "skills"), pts, "{skill}");
    }
    // Occupation via training, by nearness.
    for (code, pts) in [
        ("6-18-02-04", t.w.occupation_same),
        ("6-18-02-01", t.w.occupation_same_minor),
        ("6-18-01-01", t.w.occupation_same_middle),
        ("4-01-01-01", 0.0),
    ] {
        let mut w = worker(1);
        w.trainings.push(TrainingSnap {
            course: "培训".into(),
            kind: "other".into(),
            occupation_code: Some(code.into()),
            skills: vec![],
            certificate: None,
            completed_on: d("2015-01-01"),
        });
        assert_eq!(points(&explain(&j, &w, false, &ctx), "occupation"), pts, "{code}");
    }
    // Training with certificate and recency.
    let mut w = worker(1);
    w.trainings.push(TrainingSnap {
        course: "焊工定岗培训".into(),
        kind: "position".into(),
        occupation_code: Some("6-18-02-04".into()),
        skills: vec!["电焊".into()],
        certificate: Some("焊工证".into()),
        completed_on: d("2024-03-01"),
    });
    let v = explain(&j, &w, false, &ctx);
    assert_eq!(points(&v, "training"), t.w.training_relevant + t.w.training_certificate + t.w.training_recent);
    let Verdict::Eligible(s) = &v else { panic!() };
    assert!(s.reasons.iter().any(|r| r.text == "持有焊工证（2024年定岗培训）"), "{:?}", s.reasons);
    // Location.
    assert_eq!(points(&base, "location"), t.w.location_in_guizhou);
    let mut w = worker(1);
    w.county_code = "522328".into();
    assert_eq!(points(&explain(&j, &w, false, &ctx), "location"), t.w.location_same_county);
    w.county_code = "522301".into();
    assert_eq!(points(&explain(&j, &w, false, &ctx), "location"), t.w.location_same_prefecture);
    w.preferred_county_codes = vec!["522328".into()];
    assert_eq!(
        points(&explain(&j, &w, false, &ctx), "location"),
        t.w.location_same_prefecture + t.w.location_preferred_county
    );
    let mut far = job();
    far.county_code = "441900".into();
    far.province_code = "440000".into();
    assert_eq!(points(&explain(&far, &worker(1), false, &ctx), "location"), t.w.location_cross_province_willing);
    // Wage.
    let mut w = worker(1);
    w.min_wage = Some(4000);
    let v = explain(&j, &w, false, &ctx);
    assert_eq!(points(&v, "wage"), t.w.wage_meets_minimum + 4.0);
    let Verdict::Eligible(s) = &v else { panic!() };
    assert!(s.reasons.iter().any(|r| r.text == "期望月薪4000元，岗位4500–6000元"));
    // Priority.
    assert_eq!(points(&explain(&j, &worker(1), true, &ctx), "priority"), t.w.priority_zero_employment_household);
    for (c, pts) in [
        (Category::Monitored, t.w.priority_monitored),
        (Category::Hardship, t.w.priority_hardship),
        (Category::Returning, t.w.priority_returning),
    ] {
        let mut w = worker(1);
        w.categories.push(c);
        assert_eq!(points(&explain(&j, &w, false, &ctx), "priority"), pts);
    }
    // Retention and fatigue.
    let mut w = worker(1);
    w.past_stays_months = vec![8, 4];
    assert_eq!(points(&explain(&j, &w, false, &ctx), "retention"), 3.0);
    let mut w = worker(1);
    w.declines = vec![
        DeclineSnap { occupation_code: Some("6-18-02-04".into()), skills: vec![], on: d("2024-05-20") },
        DeclineSnap { occupation_code: Some("6-18-02-04".into()), skills: vec![], on: d("2024-01-20") },
    ];
    assert_eq!(points(&explain(&j, &w, false, &ctx), "fatigue"), t.w.fatigue_per_similar_decline);
    // Points add up, everywhere.
    let mut w = worker(1);
    w.skills = vec!["电焊".into(), "叉车".into()];
    w.min_wage = Some(3000);
    w.categories.push(Category::Hardship);
    w.past_stays_months = vec![6];
    let Verdict::Eligible(s) = explain(&j, &w, true, &ctx) else { panic!() };
    let sum: f64 = s.reasons.iter().map(|r| r.points).sum();
    assert!((sum - s.score).abs() < 1e-9, "{sum} vs {}", s.score);
}

#[test]
fn ranking_does_not_depend_on_the_order_of_the_data() {
    let t = T::new();
    let ctx = t.ctx();
    let mut workers: Vec<WorkerSnap> = (1..=300)
        .map(|i| {
            let mut w = worker(i);
            w.skills = if i % 3 == 0 {
                vec!["电焊".into()]
            } else if i % 3 == 1 {
                vec!["电焊工".into()]
            } else {
                vec![]
            };
            w.county_code = if i % 5 == 0 { "522328".into() } else { "520502".into() };
            w.household_id = Uuid::from_u128(50_000 + i / 2);
            w.is_employed = i % 7 == 0;
            if w.is_employed {
                w.status = Some(EmploymentStatus::Employed);
                w.seeking_while_employed = true;
            }
            w
        })
        .collect();
    let ranked = |ws: &[WorkerSnap]| {
        let mut store = CandidateStore::new();
        for w in ws {
            store.upsert(w.clone());
        }
        top_candidates(&store, &job(), &ctx, 50)
    };
    // The fast filters agree with the explained ones, worker by worker.
    let mut j = job();
    j.requirements.max_age = Some(40);
    for w in &workers {
        let fast = crate::rank::available(w) && crate::rank::fits(&j, w, &ctx);
        assert_eq!(fast, crate::rank::filters(&j, w, &ctx, false).is_empty(), "{w:?}");
    }
    let first = ranked(&workers);
    assert_eq!(first.len(), 50);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for _ in 0..5 {
        workers.shuffle(&mut rng);
        assert_eq!(ranked(&workers), first);
    }
    // Best first, ties broken by id.
    assert!(
        first
            .windows(2)
            .all(|p| p[0].score > p[1].score || (p[0].score == p[1].score && p[0].worker_id < p[1].worker_id))
    );
}

#[test]
fn the_store_keeps_household_counts_current() {
    let mut store = CandidateStore::new();
    let mut a = worker(1);
    a.household_id = Uuid::from_u128(9);
    let mut b = worker(2);
    b.household_id = Uuid::from_u128(9);
    store.upsert(a.clone());
    store.upsert(b.clone());
    assert!(store.zero_employment(Uuid::from_u128(9)));
    b.is_employed = true;
    b.status = Some(EmploymentStatus::Employed);
    store.upsert(b.clone());
    assert!(!store.zero_employment(Uuid::from_u128(9)));
    store.remove(b.id);
    assert!(store.zero_employment(Uuid::from_u128(9)));
    assert_eq!(store.len(), 1);
}

#[test]
fn planning_serves_zero_employment_households_first_and_respects_caps() {
    let t = T::new();
    let ctx = t.ctx();
    let mut store = CandidateStore::new();
    // Worker 1 is the strongest but lives with an employed member; worker 2 is
    // weaker and alone in a zero-employment household.
    let mut strong = worker(1);
    strong.skills = vec!["电焊".into()];
    strong.county_code = "522328".into();
    strong.household_id = Uuid::from_u128(77);
    let mut employed = worker(3);
    employed.household_id = Uuid::from_u128(77);
    employed.is_employed = true;
    employed.status = Some(EmploymentStatus::Employed);
    let mut weak = worker(2);
    weak.household_id = Uuid::from_u128(88);
    store.upsert(strong.clone());
    store.upsert(employed);
    store.upsert(weak.clone());
    let mut one = job();
    one.open_slots = 1;
    let wants = [Want { job: &one, offers: 1 }];
    let caps = Caps { max_open: 3, max_7_days: 5 };
    let out = plan(&store, &ctx, &wants, &HashSet::new(), &HashMap::new(), caps);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].worker_id, weak.id, "the zero-employment household comes first");
    // Caps: a worker at 3 open offers gets none.
    let mut load = HashMap::new();
    load.insert(weak.id, Load { open: 3, last_7_days: 3 });
    let out = plan(&store, &ctx, &wants, &HashSet::new(), &load, caps);
    assert_eq!(out[0].worker_id, strong.id);
    load.insert(strong.id, Load { open: 0, last_7_days: 5 });
    assert!(plan(&store, &ctx, &wants, &HashSet::new(), &load, caps).is_empty());
    // Already offered: skipped.
    let mut already = HashSet::new();
    already.insert((one.id, weak.id));
    let out = plan(&store, &ctx, &wants, &already, &HashMap::new(), caps);
    assert_eq!(out[0].worker_id, strong.id);
    // Many jobs: nobody gets more offers than the cap in one plan.
    let jobs: Vec<JobSnap> = (0..10).map(|i| JobSnap { id: Uuid::from_u128(2000 + i), ..job() }).collect();
    let wants: Vec<Want<'_>> = jobs.iter().map(|j| Want { job: j, offers: 3 }).collect();
    let out = plan(&store, &ctx, &wants, &HashSet::new(), &HashMap::new(), caps);
    let mut per: HashMap<Uuid, usize> = HashMap::new();
    for o in &out {
        *per.entry(o.worker_id).or_default() += 1;
    }
    assert!(per.values().all(|n| *n <= 3), "{per:?}");
}

/// A worker with a bit of everything, drawn from `rng`.
fn varied(n: u128, rng: &mut impl rand::Rng) -> WorkerSnap {
    let words = ["电焊", "焊工", "氩弧焊", "叉车", "叉车工", "普工", "缝纫", "厨师", "保洁", "电工"];
    let codes = ["6-18-02-04", "6-18-02-01", "6-18-01-01", "6-05-01-01", "4-03-02-01", "6-18-02-04-01-01"];
    let counties = ["522328", "522301", "520502", "441900", "bad"];
    let pick = |rng: &mut dyn rand::RngCore, xs: &[&str]| xs[rng.next_u32() as usize % xs.len()].to_owned();
    let mut w = worker(n);
    w.household_id = Uuid::from_u128(90_000 + n / 3);
    w.county_code = pick(rng, &counties[..3]);
    w.skills = (0..rng.random_range(0..10)).map(|_| pick(rng, &words)).collect();
    w.trainings = (0..rng.random_range(0..4))
        .map(|i| TrainingSnap {
            course: format!("课程{i}"),
            kind: "position".into(),
            occupation_code: rng.random_bool(0.8).then(|| pick(rng, &codes)),
            skills: (0..rng.random_range(0..4)).map(|_| pick(rng, &words)).collect(),
            certificate: rng.random_bool(0.5).then(|| "焊工证".into()),
            completed_on: d("2018-01-01") + chrono::Days::new(rng.random_range(0..2500)),
        })
        .collect();
    w.preferred_county_codes = (0..rng.random_range(0..4)).map(|_| pick(rng, &counties)).collect();
    w.min_wage = rng.random_bool(0.5).then(|| rng.random_range(3000..7000));
    w.willing_cross_province = rng.random_bool(0.5);
    w.past_stays_months = (0..rng.random_range(0..3)).map(|_| rng.random_range(1..30)).collect();
    w.declines = (0..rng.random_range(0..3))
        .map(|_| DeclineSnap {
            occupation_code: rng.random_bool(0.5).then(|| pick(rng, &codes)),
            skills: vec![pick(rng, &words)],
            on: d("2024-03-01") + chrono::Days::new(rng.random_range(0..120)),
        })
        .collect();
    w.placed_jobs = (0..rng.random_range(0..3)).map(|_| Uuid::from_u128(1000 + rng.random_range(0..3))).collect();
    w.categories = [Category::Relocated, Category::Monitored, Category::Hardship, Category::Returning]
        .into_iter()
        .filter(|_| rng.random_bool(0.4))
        .collect();
    w.is_employed = rng.random_bool(0.3);
    if w.is_employed {
        w.status = Some(EmploymentStatus::Employed);
        w.seeking_while_employed = rng.random_bool(0.5);
    }
    w
}

#[test]
fn inline_copies_score_exactly_as_the_snapshot() {
    use crate::model::{Fast, SLOW_PREFERRED, SLOW_TRAININGS};
    let t = T::new();
    let ctx = t.ctx();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut jobs = vec![job()];
    let mut j = job();
    j.id = Uuid::from_u128(1001);
    j.occupation_code = Some("6-18-02-01".into());
    j.skills = vec!["叉车".into(), "普工".into()];
    j.requirements = Requirements { min_age: Some(30), max_age: Some(40), certificates: vec!["焊工证".into()] };
    jobs.push(j);
    jobs.push(JobSnap {
        id: Uuid::from_u128(1002),
        county_code: "441900".into(),
        province_code: "440000".into(),
        ..job()
    });
    let mut slow_paths = 0;
    for n in 0..3000 {
        let w = varied(n, &mut rng);
        for job in &jobs {
            let terms = crate::rank::JobTerms::new(job, &ctx);
            let inline = Fast::of(&w, n % 2 == 0);
            let mut forced = inline;
            forced.flags |= SLOW_TRAININGS | SLOW_PREFERRED;
            if inline != forced {
                let mut r = Vec::new();
                let a = crate::rank::score(job, &terms, &inline, || Some(&w), &ctx, false, &mut r);
                let b = crate::rank::score(job, &terms, &forced, || Some(&w), &ctx, false, &mut r);
                assert_eq!(a, b, "{w:?}");
            } else {
                slow_paths += 1;
            }
            // The explained total is the fast total, and the fast filters agree with the explained ones.
            let mut r = Vec::new();
            let fast = crate::rank::score(job, &terms, &inline, || Some(&w), &ctx, false, &mut r);
            match explain(job, &w, n % 2 == 0, &ctx) {
                Verdict::Eligible(s) => {
                    assert_eq!(s.score, fast);
                    assert!(crate::rank::fits(job, &w, &ctx));
                }
                Verdict::Filtered { .. } => {
                    assert!(!(crate::rank::available(&w) && crate::rank::fits(job, &w, &ctx)), "{w:?}")
                }
            }
        }
    }
    // Both the inline and the snapshot paths were exercised.
    assert!(slow_paths > 100 && slow_paths < 9000 - 100, "{slow_paths}");
}

#[test]
fn the_store_keeps_inline_copies_and_household_flags_current() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let mut store = CandidateStore::new();
    let mut ids = Vec::new();
    for step in 0..4000u128 {
        let r: f64 = rand::Rng::random(&mut rng);
        if r < 0.1 && !ids.is_empty() {
            let id: Uuid = ids.swap_remove(rand::Rng::random_range(&mut rng, 0..ids.len()));
            store.remove(id);
        } else if r < 0.5 && !ids.is_empty() {
            // A change to an existing worker, sometimes moving household.
            let id = ids[rand::Rng::random_range(&mut rng, 0..ids.len())];
            let mut w = varied(id.as_u128(), &mut rng);
            w.household_id = Uuid::from_u128(90_000 + rand::Rng::random_range(&mut rng, 0..300));
            store.upsert(w);
        } else {
            let w = varied(100_000 + step, &mut rng);
            ids.push(w.id);
            store.upsert(w);
        }
    }
    let mut hot = 0;
    for h in store.hot() {
        let w = store.slot(h.slot).unwrap();
        assert_eq!(h.id, w.id);
        assert_eq!(h.fast, crate::model::Fast::of(w, store.zero_employment(w.household_id)));
        hot += 1;
    }
    let available = store.iter().filter(|w| crate::rank::available(w)).count();
    assert_eq!(hot, available);
    assert!(hot > 100);
    // Zero-employment as counted from scratch.
    let mut per: HashMap<Uuid, (u32, u32)> = HashMap::new();
    for w in store.iter() {
        let e = per.entry(w.household_id).or_default();
        e.0 += u32::from(w.is_labour);
        e.1 += u32::from(w.is_employed);
    }
    for (h, (labour, employed)) in per {
        assert_eq!(store.zero_employment(h), labour > 0 && employed == 0);
    }
}

/// Ranking normalises skills as search does (`domain::text`): a job that asks
/// for ＣＮＣ (full-width, as typed on many Chinese keyboards) matches a worker
/// whose skill is `CNC`, exactly, and a synonym written in full width too.
#[test]
fn full_width_skills_match_as_in_search() {
    let t = T { s: Synonyms::parse("ＣＮＣ = 数控\n"), ..T::new() };
    let ctx = t.ctx();
    let mut j = job();
    j.skills = vec!["ＣＮＣ".into()];
    for (skill, pts) in [("CNC", t.w.skill_exact), ("cnc", t.w.skill_exact), ("数控", t.w.skill_equivalent)] {
        let mut w = worker(1);
        w.skills = vec![domain::text::normalize(skill)];
        assert_eq!(points(&explain(&j, &w, false, &ctx), "skills"), pts, "{skill}");
    }
}
