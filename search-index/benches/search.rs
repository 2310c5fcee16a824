//! Indexing throughput and search latency on 100,000 generated postings, and (with
//! `DATABASE_URL`) the same queries as `ILIKE '%word%'` in PostgreSQL.
//!
//! `cargo bench -p search-index --bench search` (release build). Environment:
//! - `DATABASE_URL`: a PostgreSQL URL; a scratch table `bench_jobs_ilike` is created, loaded and
//!   dropped. Without it the comparison is skipped.
//! - `BENCH_DOCS` (default 100000), `BENCH_ROUNDS` (default 30), `BENCH_ILIKE_ROUNDS` (default 3).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
use common::{Divisions, workspace_root};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use search_index::{JobDoc, JobIndex, SearchQuery, place_aliases};
use uuid::Uuid;

const SEED: u64 = 0x51a9_11a4;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Generator

struct Occupation {
    code: String,
    name: String,
    /// Parent names, most specific first.
    parents: Vec<String>,
}

/// Occupations most postings are for, with the words employers actually put in titles.
const COMMON: &[(&str, &[&str])] = &[
    ("焊工", &["电焊工", "氩弧焊工", "二保焊工", "焊工"]),
    ("电工", &["电工", "维修电工", "水电工"]),
    ("缝纫工", &["缝纫工", "车缝工", "平车工", "车位"]),
    ("保安员", &["保安", "保安员", "门卫", "安保员"]),
    ("家政服务员", &["保姆", "家政阿姨", "家政服务员", "住家保姆"]),
    ("婴幼儿发展引导员", &["月嫂", "育婴员", "育儿嫂"]),
    ("快递员", &["快递员", "快递派件员", "收派员"]),
    ("邮件分拣员", &["分拣员", "快递分拣员", "分拣工"]),
    ("中式烹调师", &["厨师", "炒菜师傅", "大厨", "帮厨"]),
    ("餐厅服务员", &["服务员", "餐厅服务员", "传菜员"]),
    ("起重装卸机械操作工", &["叉车司机", "叉车工"]),
    ("装卸搬运工", &["搬运工", "装卸工"]),
    ("砌筑工", &["泥瓦工", "砌筑工"]),
    ("钢筋工", &["钢筋工"]),
    ("架子工", &["架子工"]),
    ("混凝土工", &["混凝土工", "建筑小工"]),
    ("养老护理员", &["养老护理员", "护工"]),
    ("医疗护理员", &["护工", "陪护"]),
    ("保洁员", &["保洁员", "保洁阿姨", "清洁工"]),
    ("道路货运汽车驾驶员", &["货车司机", "大车司机", "司机"]),
    ("客运车辆驾驶员", &["客车司机", "网约车司机", "司机"]),
    ("茶叶加工工", &["茶叶加工工", "制茶工", "采茶工"]),
    ("电子设备装接工", &["普工", "电子厂普工", "操作工", "作业员"]),
    ("通信终端设备制造工", &["手机厂普工", "操作工", "装配工"]),
    ("小型家用电器制造工", &["装配工", "普工", "流水线工人"]),
    ("塑料制品成型制作工", &["注塑工", "啤工"]),
    ("商品营业员", &["营业员", "导购员"]),
    ("收银员", &["收银员"]),
    ("仓储管理员", &["仓管员", "仓库管理员"]),
    ("抽纱刺绣工", &["刺绣工", "绣娘", "苗绣绣娘"]),
    ("工艺染织品制作工", &["蜡染工", "扎染工"]),
    ("车工", &["车工", "数控车工"]),
    ("装饰装修工", &["装修工", "木工"]),
    ("挖掘铲运和桩工机械司机", &["挖机司机", "铲车司机"]),
];

const BRAND: &[&str] = &[
    "鑫", "达", "恒", "华", "盛", "宏", "通", "源", "金", "丰", "利", "顺", "嘉", "美", "新", "泰", "和", "兴", "博",
    "瑞", "黔", "粤", "锦", "祥",
];
const FACTORY_INDUSTRY: &[&str] = &["电子", "科技", "机械", "五金", "制衣", "塑胶", "电器", "新能源", "鞋业", "家具"];
const SERVICE_INDUSTRY: &[&str] = &["物业服务", "商贸", "保安服务", "人力资源", "超市", "商业管理"];
const FARM_INDUSTRY: &[&str] = &["茶业", "农业开发", "生态农业", "民族工艺品"];
const BUILD_INDUSTRY: &[&str] = &["建筑劳务", "建设工程", "装饰工程", "路桥工程"];

const FACTORY_DUTIES: &[&str] = &[
    "流水线作业",
    "设备操作与日常保养",
    "产品组装和检验",
    "物料搬运和包装",
    "按图纸加工零件",
    "成品外观检查",
    "配合班组长完成生产任务",
];
const SERVICE_DUTIES: &[&str] = &["接待顾客", "保持环境整洁", "按公司流程完成服务", "配合店长工作", "值班巡查"];
const CARE_DUTIES: &[&str] = &["照顾老人饮食起居", "照顾婴幼儿", "家庭保洁和做饭", "陪护病人", "协助康复训练"];
const LOGISTICS_DUTIES: &[&str] = &["按时完成派送任务", "货物装卸和搬运", "包裹分拣扫码", "车辆日常检查", "仓库盘点"];
const FOOD_DUTIES: &[&str] = &["菜品制作", "配菜切菜", "点菜传菜", "餐具清洗", "前厅接待"];
const BUILD_DUTIES: &[&str] = &["按图纸施工", "现场安全文明施工", "材料搬运与整理", "配合师傅完成工序"];
const FARM_DUTIES: &[&str] = &["茶园管护", "采摘与初加工", "种植管理", "手工制作民族工艺品"];
const REQUIREMENTS: &[&str] = &[
    "身体健康",
    "无经验可培训，有师傅带",
    "能吃苦耐劳",
    "会讲普通话",
    "有相关经验者优先",
    "责任心强，服从安排",
    "初中以上文化",
];
const BENEFITS: &[&str] = &[
    "包吃住",
    "五险一金",
    "月休四天",
    "长白班",
    "两班倒",
    "计件工资，多劳多得",
    "有老乡带班",
    "提供夫妻房",
    "离家近，可照顾家庭",
    "工资按月足额发放",
    "节假日有加班费",
    "厂车接送",
    "东西部劳务协作岗位，免费乘车返岗",
    "包食宿",
    "缴纳社保",
];

struct Generator {
    rng: ChaCha8Rng,
    occupations: Vec<Occupation>,
    /// Index into `occupations` and title words, for the common ones.
    common: Vec<(usize, &'static [&'static str])>,
    skills: Vec<String>,
    divisions: Divisions,
    guizhou: Vec<String>,
    guangdong: Vec<String>,
}

impl Generator {
    fn new() -> Self {
        let root = workspace_root();
        let mut occ_rows: Vec<(String, String, String)> = Vec::new();
        let mut rdr = csv::Reader::from_path(root.join("seed/occupations.csv")).unwrap();
        for rec in rdr.records() {
            let r = rec.unwrap();
            occ_rows.push((r[0].to_string(), r[1].to_string(), r[4].to_string()));
        }
        let by_code: std::collections::HashMap<&str, (&str, &str)> =
            occ_rows.iter().map(|(c, n, p)| (c.as_str(), (n.as_str(), p.as_str()))).collect();
        let mut occupations = Vec::new();
        for (code, name, parent) in &occ_rows {
            let blue_collar = code.starts_with("4-") || code.starts_with("5-01") || code.starts_with("6-");
            if !blue_collar || code.split('-').count() != 4 {
                continue;
            }
            let mut parents = Vec::new();
            let mut cur = parent.as_str();
            while let Some((n, p)) = by_code.get(cur) {
                parents.push((*n).to_string());
                cur = p;
            }
            occupations.push(Occupation { code: code.clone(), name: name.clone(), parents });
        }
        let common = COMMON
            .iter()
            .filter_map(|(name, titles)| occupations.iter().position(|o| o.name == *name).map(|i| (i, *titles)))
            .collect();
        let mut skills = Vec::new();
        let mut rdr = csv::Reader::from_path(root.join("seed/skills.csv")).unwrap();
        for rec in rdr.records() {
            let r = rec.unwrap();
            if !r[0].starts_with("职业技能等级") {
                skills.push(r[4].to_string());
            }
        }
        let divisions = Divisions::load();
        let guizhou = divisions.places_of("520000");
        let guangdong = divisions.places_of("440000");
        Generator { rng: ChaCha8Rng::seed_from_u64(SEED), occupations, common, skills, divisions, guizhou, guangdong }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        items.choose(&mut self.rng).unwrap()
    }

    /// A certificate that fits the job (special-operation certificates for welders,
    /// electricians, forklift and crane drivers, builders), else sometimes a skill level.
    fn skill_for(&mut self, code: &str, title: &str) -> Option<String> {
        let wanted: &[&str] = if title.contains('焊') || code == "6-18-02-04" {
            &["熔化焊接与热切割作业", "压力焊作业", "金属焊接操作"]
        } else if title.contains("电工") || code == "6-31-01-03" {
            &["低压电工作业", "高压电工作业", "建筑电工"]
        } else if title.contains("叉车") {
            &["叉车司机"]
        } else if code.starts_with("6-30-05") {
            &["起重机司机", "建筑起重机械司机", "起重机指挥"]
        } else if code.starts_with("6-29") {
            &["建筑架子工", "登高架设作业", "高处安装、维护、拆除作业", "建筑起重信号司索工"]
        } else {
            &[]
        };
        let known: Vec<&String> = self.skills.iter().filter(|s| wanted.contains(&s.as_str())).collect();
        if !known.is_empty() && self.rng.random_bool(0.7) {
            return Some(known[self.rng.random_range(0..known.len())].clone());
        }
        if self.rng.random_bool(0.2) {
            return Some((*self.pick(&["初级工", "中级工", "高级工"])).to_string());
        }
        None
    }

    fn job(&mut self, n: u64) -> JobDoc {
        // Occupation and the word used in the title.
        let (occ_index, title_word) = if self.rng.random_bool(0.65) {
            let (i, titles) = self.common[self.rng.random_range(0..self.common.len())];
            (i, (*self.pick(titles)).to_string())
        } else {
            let i = self.rng.random_range(0..self.occupations.len());
            (i, self.occupations[i].name.clone())
        };
        let occ = &self.occupations[occ_index];
        let (code, occ_name, mut occupation_names) = (occ.code.clone(), occ.name.clone(), occ.parents.clone());
        occupation_names.insert(0, occ_name.clone());

        // A third in Guangdong.
        let guangdong = self.rng.random_bool(1.0 / 3.0);
        let places = if guangdong { &self.guangdong } else { &self.guizhou };
        let county = places[self.rng.random_range(0..places.len())].clone();
        let (county, prefecture, province, place_names) = self.divisions.place(&county);
        let short_place = place_aliases(&place_names[0]).last().cloned().unwrap_or_default();
        let short_pref = place_aliases(self.divisions.name(&prefecture)).last().cloned().unwrap_or_default();

        let (industries, duties) = if code.starts_with("6-29") || code.starts_with("6-30") {
            (BUILD_INDUSTRY, BUILD_DUTIES)
        } else if code.starts_with("6-") {
            (FACTORY_INDUSTRY, FACTORY_DUTIES)
        } else if code.starts_with("5-") || code.starts_with("6-09") {
            (FARM_INDUSTRY, FARM_DUTIES)
        } else if code.starts_with("4-10-01") || code.starts_with("4-14-01") {
            (&["家政服务", "养老服务", "母婴护理"][..], CARE_DUTIES)
        } else if code.starts_with("4-02") {
            (&["物流", "快递", "运输"][..], LOGISTICS_DUTIES)
        } else if code.starts_with("4-03") {
            (&["餐饮管理", "酒店管理", "餐饮"][..], FOOD_DUTIES)
        } else {
            (SERVICE_INDUSTRY, SERVICE_DUTIES)
        };
        let employer = format!("{short_pref}{}{}{}有限公司", self.pick(BRAND), self.pick(BRAND), self.pick(industries));

        let (wage_min, wage_max) = if guangdong {
            let min = self.rng.random_range(45..90) * 100;
            (min, min + self.rng.random_range(10..50) * 100)
        } else {
            let min = self.rng.random_range(22..55) * 100;
            (min, min + self.rng.random_range(5..35) * 100)
        };
        let benefit = (*self.pick(BENEFITS)).to_string();
        let head_count = self.rng.random_range(2..30);
        let title = match self.rng.random_range(0..7) {
            0 => title_word.clone(),
            1 => format!("急招{title_word}"),
            2 => format!("招聘{title_word}{head_count}名"),
            3 => format!("{short_place}{title_word}"),
            4 => format!("{title_word}（{benefit}）"),
            5 => format!("{title_word}，{benefit}"),
            _ => format!("高薪诚聘{title_word}"),
        };

        let mut parts = vec![
            format!("岗位职责：{}，{}", self.pick(duties), self.pick(duties)),
            format!("主要从事{}相关工作", occupation_names.get(1).unwrap_or(&occ_name)),
            format!(
                "任职要求：年龄18-{}周岁，{}，{}",
                self.rng.random_range(40..61),
                self.pick(REQUIREMENTS),
                self.pick(REQUIREMENTS)
            ),
        ];
        let mut skills = Vec::new();
        if let Some(skill) = self.skill_for(&code, &title_word) {
            parts.push(format!("持{skill}证者优先"));
            skills.push(skill);
        }
        skills.push(title_word.clone());
        let nb = self.rng.random_range(1..4);
        let benefits: Vec<&str> = BENEFITS.choose_multiple(&mut self.rng, nb).copied().collect();
        parts.push(format!("待遇：月薪{wage_min}-{wage_max}元，{}", benefits.join("，")));
        parts.push(format!("工作地点：{}", place_names.iter().rev().cloned().collect::<String>()));
        let description = parts.join("。") + "。";

        let status = if self.rng.random_bool(0.1) { "closed" } else { "open" };
        let posted_at = Utc.with_ymd_and_hms(2026, 2, 28, 18, 0, 0).unwrap()
            - chrono::Duration::minutes(self.rng.random_range(0..90 * 24 * 60));
        let expires_on = if self.rng.random_bool(0.2) {
            Some(today() + chrono::Duration::days(self.rng.random_range(-30..60)))
        } else {
            None
        };
        JobDoc {
            id: Uuid::from_u64_pair(SEED, n),
            title,
            description,
            skills,
            occupation_code: Some(code),
            occupation_names,
            employer_name: employer,
            county_code: county,
            prefecture_code: prefecture,
            province_code: province.clone(),
            place_names,
            wage_min,
            wage_max,
            cross_province: province == "440000",
            status: status.to_string(),
            posted_at,
            expires_on,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Queries

type Tweak = fn(&mut SearchQuery);

fn none(_: &mut SearchQuery) {}

fn queries() -> Vec<(&'static str, Tweak)> {
    let q: Vec<(&'static str, Tweak)> = vec![
        ("焊工", none),
        ("电焊工", none),
        ("氩弧焊", none),
        ("普工", none),
        ("操作工", none),
        ("东莞", none),
        ("东莞 普工", none),
        ("东莞电子厂", none),
        ("黔西南", none),
        ("黔西南州 焊工", none),
        ("保姆", none),
        ("月嫂", none),
        ("育婴员", none),
        ("叉车司机", none),
        ("叉车工", none),
        ("保安", none),
        ("厨师", none),
        ("炒菜师傅", none),
        ("服务员", none),
        ("快递", none),
        ("分拣员", none),
        ("缝纫工", none),
        ("车工", none),
        ("帮扶车间", none),
        ("采茶", none),
        ("茶叶加工", none),
        ("刺绣", none),
        ("蜡染", none),
        ("货车司机", none),
        ("司机", none),
        ("护工", none),
        ("电工", none),
        ("钢筋工", none),
        ("建筑小工", none),
        ("挖机", none),
        ("保洁", none),
        ("凯里 服务员", none),
        ("佛山 电工", none),
        ("兴义 厨师", none),
        ("包吃住", none),
        ("长白班 普工", none),
        ("五险一金 保安", none),
        ("\"包吃住\"", none),
        ("焊工 -氩弧焊", none),
        ("电工 OR 焊工", none),
        ("招聘电焊工人 包吃住", none),
        ("焊工 AND(", none),
        ("焊工", |q| q.province_code = Some("520000".into())),
        ("普工", |q| q.min_wage = Some(7000)),
        ("保安", |q| q.prefecture_code = Some("522600".into())),
        ("缝纫工", |q| q.cross_province = Some(false)),
        ("叉车", |q| q.county_code = Some("441900".into())),
        ("", none),
        ("", |q| q.county_code = Some("522301".into())),
        ("", |q| q.occupation_code = Some("6-18".into())),
        ("", |q| {
            q.province_code = Some("440000".into());
            q.min_wage = Some(8000);
        }),
    ];
    q
}

fn search_query(text: &str, tweak: Tweak) -> SearchQuery {
    let mut q = SearchQuery::new(text, today());
    q.limit = 20;
    tweak(&mut q);
    q
}

struct Stats {
    p50: Duration,
    p99: Duration,
    mean: Duration,
    max: Duration,
    samples: usize,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let n = samples.len();
    let at = |p: f64| samples[((n as f64 * p).ceil() as usize).clamp(1, n) - 1];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        mean: samples.iter().sum::<Duration>() / n as u32,
        max: samples[n - 1],
        samples: n,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    // `cargo bench` passes `--bench`; accept and ignore harness flags.
    let num_docs = env_usize("BENCH_DOCS", 100_000);
    let rounds = env_usize("BENCH_ROUNDS", 30);
    let ilike_rounds = env_usize("BENCH_ILIKE_ROUNDS", 3);

    let t = Instant::now();
    let mut generator = Generator::new();
    let jobs: Vec<JobDoc> = (0..num_docs as u64).map(|n| generator.job(n)).collect();
    let guangdong = jobs.iter().filter(|j| j.province_code == "440000").count();
    println!(
        "generated {} postings ({} in Guangdong, {} occupations in the pool) in {:.1} s (seed {SEED:#x})",
        jobs.len(),
        guangdong,
        generator.occupations.len(),
        t.elapsed().as_secs_f64()
    );
    println!("sample: {} | {} | {}", jobs[0].title, jobs[0].employer_name, jobs[0].description);
    println!("sample: {} | {} | {}", jobs[1].title, jobs[1].employer_name, jobs[1].description);

    // Indexing: on disk (mmap), as the server does, in batches of 10,000 (one commit each).
    let dir = std::env::temp_dir().join(format!("search-index-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let index = JobIndex::open(&dir).unwrap();
    let t = Instant::now();
    for (i, batch) in jobs.chunks(10_000).enumerate() {
        index.apply(batch, &[], (i as i64 + 1, 0)).unwrap();
    }
    let secs = t.elapsed().as_secs_f64();
    let size: u64 = std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    println!(
        "indexed {} docs in {:.2} s: {:.0} docs/s (target >= 10000); {} commits; {:.1} MB on disk",
        index.num_docs(),
        secs,
        num_docs as f64 / secs,
        num_docs.div_ceil(10_000),
        size as f64 / 1e6
    );

    // Searching: single thread, every query of the mix once per round, after one warm-up round.
    let mix: Vec<SearchQuery> = queries().into_iter().map(|(text, tweak)| search_query(text, tweak)).collect();
    let mut totals = Vec::new();
    for q in &mix {
        totals.push(index.search(q).unwrap().total);
    }
    let mut samples = Vec::with_capacity(mix.len() * rounds);
    let mut per_query = vec![Duration::ZERO; mix.len()];
    for _ in 0..rounds {
        for (i, q) in mix.iter().enumerate() {
            let t = Instant::now();
            let r = index.search(q).unwrap();
            let d = t.elapsed();
            std::hint::black_box(r);
            samples.push(d);
            per_query[i] += d;
        }
    }
    let tantivy = stats(samples);
    println!(
        "tantivy: {} queries x {} rounds = {} searches (limit 20, with highlights and total): \
         p50 {} (target <= 2 ms), p99 {} (target <= 15 ms), mean {}, max {}",
        mix.len(),
        rounds,
        tantivy.samples,
        ms(tantivy.p50),
        ms(tantivy.p99),
        ms(tantivy.mean),
        ms(tantivy.max)
    );
    let mut slowest: Vec<(usize, Duration)> = per_query.iter().copied().enumerate().collect();
    slowest.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    for (i, d) in slowest.iter().take(5) {
        println!("  slow: {:?} ({} hits) mean {}", mix[*i].q, totals[*i], ms(*d / rounds as u32));
    }

    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => match ilike::run(&url, &jobs, &mix, ilike_rounds) {
            Ok(pg) => {
                println!(
                    "postgres ILIKE: {} queries x {} rounds: p50 {}, p99 {}, mean {}",
                    mix.len(),
                    ilike_rounds,
                    ms(pg.p50),
                    ms(pg.p99),
                    ms(pg.mean)
                );
                println!(
                    "ratio ILIKE / tantivy: p50 {:.0}x, p99 {:.0}x, mean {:.0}x",
                    pg.p50.as_secs_f64() / tantivy.p50.as_secs_f64(),
                    pg.p99.as_secs_f64() / tantivy.p99.as_secs_f64(),
                    pg.mean.as_secs_f64() / tantivy.mean.as_secs_f64()
                );
            }
            Err(e) => println!("postgres ILIKE comparison failed: {e}"),
        },
        _ => println!("DATABASE_URL not set: the PostgreSQL ILIKE comparison was skipped"),
    }

    drop(index);
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL ILIKE baseline

mod ilike {
    use std::time::Instant;

    use diesel::prelude::*;
    use diesel::sql_query;
    use diesel::sql_types::BigInt;
    use search_index::{JobDoc, SearchQuery};

    use super::{Stats, stats};

    const TABLE: &str = "bench_jobs_ilike";

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        n: i64,
        #[diesel(sql_type = BigInt)]
        #[allow(dead_code)]
        total: i64,
    }

    fn lit(s: &str) -> String {
        format!("'{}'", s.replace('\'', "''"))
    }

    fn like(word: &str) -> String {
        let escaped = word.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        lit(&format!("%{escaped}%"))
    }

    /// The query's words as ILIKE conditions: each word must occur in title, description or
    /// skills (`A OR B` either; `-A` must not); quotes and operators are dropped. No synonyms,
    /// no segmentation: `东莞电子厂` is one substring.
    fn where_clause(q: &SearchQuery) -> String {
        let mut conds: Vec<String> = Vec::new();
        let any = |w: &str| {
            let l = like(w);
            format!("(title ILIKE {l} OR description ILIKE {l} OR skills ILIKE {l})")
        };
        let mut pending_or = false;
        for raw in q.q.split_whitespace() {
            if raw == "OR" {
                pending_or = true;
                continue;
            }
            if raw == "AND(" || raw == "AND" {
                continue;
            }
            let (neg, w) = match raw.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, raw),
            };
            let w = w.trim_matches(|c: char| "\"()".contains(c));
            if w.is_empty() {
                continue;
            }
            if neg {
                conds.push(format!("NOT {}", any(w)));
            } else if pending_or && let Some(last) = conds.pop() {
                conds.push(format!("({last} OR {})", any(w)));
                pending_or = false;
            } else {
                conds.push(any(w));
            }
        }
        if let Some(c) = &q.county_code {
            conds.push(format!("county_code = {}", lit(c)));
        }
        if let Some(c) = &q.prefecture_code {
            conds.push(format!("prefecture_code = {}", lit(c)));
        }
        if let Some(c) = &q.province_code {
            conds.push(format!("province_code = {}", lit(c)));
        }
        if let Some(c) = &q.occupation_code {
            conds.push(format!("(occupation_code = {} OR occupation_code LIKE {})", lit(c), lit(&format!("{c}-%"))));
        }
        if let Some(w) = q.min_wage {
            conds.push(format!("wage_max >= {w}"));
        }
        if let Some(b) = q.cross_province {
            conds.push(format!("cross_province = {b}"));
        }
        conds.push("status = 'open'".into());
        conds.push(format!("(expires_on IS NULL OR expires_on >= DATE {})", lit(&q.today.to_string())));
        conds.join(" AND ")
    }

    pub fn run(url: &str, jobs: &[JobDoc], mix: &[SearchQuery], rounds: usize) -> Result<Stats, String> {
        let mut conn = PgConnection::establish(url).map_err(|e| e.to_string())?;
        let result = load_and_query(&mut conn, jobs, mix, rounds);
        // Always drop the scratch table.
        let dropped = sql_query(format!("DROP TABLE IF EXISTS {TABLE}")).execute(&mut conn);
        if let Err(e) = dropped {
            println!("could not drop {TABLE}: {e}");
        }
        result
    }

    fn load_and_query(
        conn: &mut PgConnection,
        jobs: &[JobDoc],
        mix: &[SearchQuery],
        rounds: usize,
    ) -> Result<Stats, String> {
        let err = |e: diesel::result::Error| e.to_string();
        sql_query(format!("DROP TABLE IF EXISTS {TABLE}")).execute(conn).map_err(err)?;
        sql_query(format!(
            "CREATE TABLE {TABLE} (n bigint PRIMARY KEY, title text NOT NULL, description text NOT NULL, \
             skills text NOT NULL, occupation_code text, county_code text NOT NULL, prefecture_code text NOT NULL, \
             province_code text NOT NULL, wage_max integer NOT NULL, cross_province boolean NOT NULL, \
             status text NOT NULL, posted_at timestamptz NOT NULL, expires_on date)"
        ))
        .execute(conn)
        .map_err(err)?;
        let t = Instant::now();
        for (b, batch) in jobs.chunks(1000).enumerate() {
            let values: Vec<String> = batch
                .iter()
                .enumerate()
                .map(|(i, j)| {
                    format!(
                        "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
                        b * 1000 + i,
                        lit(&j.title),
                        lit(&j.description),
                        lit(&j.skills.join(" ")),
                        j.occupation_code.as_deref().map_or("NULL".to_string(), lit),
                        lit(&j.county_code),
                        lit(&j.prefecture_code),
                        lit(&j.province_code),
                        j.wage_max,
                        j.cross_province,
                        lit(&j.status),
                        lit(&j.posted_at.to_rfc3339()),
                        j.expires_on.map_or("NULL".to_string(), |d| format!("DATE {}", lit(&d.to_string()))),
                    )
                })
                .collect();
            sql_query(format!("INSERT INTO {TABLE} VALUES {}", values.join(","))).execute(conn).map_err(err)?;
        }
        sql_query(format!("ANALYZE {TABLE}")).execute(conn).map_err(err)?;
        println!("postgres: loaded {} rows into {TABLE} in {:.1} s", jobs.len(), t.elapsed().as_secs_f64());

        let sqls: Vec<String> = mix
            .iter()
            .map(|q| {
                format!(
                    "SELECT n, count(*) OVER () AS total FROM {TABLE} WHERE {} ORDER BY posted_at DESC LIMIT {}",
                    where_clause(q),
                    q.limit
                )
            })
            .collect();
        for sql in &sqls {
            sql_query(sql).load::<Row>(conn).map_err(err)?; // warm-up
        }
        let mut samples = Vec::new();
        for _ in 0..rounds {
            for sql in &sqls {
                let t = Instant::now();
                let rows = sql_query(sql).load::<Row>(conn).map_err(err)?;
                samples.push(t.elapsed());
                std::hint::black_box(rows);
            }
        }
        Ok(stats(samples))
    }
}
