//! The demo province as plain data, built from a seed with no I/O: who lives
//! where, who works for whom and when, what each organisation posts. The
//! loader ([`crate::load`]) then writes it through the store. Building it
//! twice from the same [`Spec`] gives the same world.

use crate::words::{self, COUNTIES, GD_CITIES, Trade};
use chrono::{Datelike, NaiveDate};
use domain::OrgKind;
use domain::calendar::YearMonth;
use domain::demand::ItemDraft;
use domain::job::JobDraft;
use domain::worker::{Category, EmploymentStatus};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::{BTreeMap, BTreeSet};

/// How big a province to build.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Spec {
    pub seed: u64,
    pub households: usize,
    pub jobs: usize,
    pub local_employers: usize,
    pub gd_employers: usize,
    pub brokers: usize,
    pub parks: usize,
}

impl Spec {
    /// The full demo: ~5,000 workers in 2,500 households, ~300 organisations, ~1,000 jobs.
    pub fn full(seed: u64) -> Self {
        Self { seed, households: 2500, jobs: 1000, local_employers: 150, gd_employers: 72, brokers: 34, parks: 18 }
    }

    /// A small province for tests (a few hundred workers).
    pub fn small(seed: u64) -> Self {
        Self { seed, households: 150, jobs: 90, local_employers: 14, gd_employers: 8, brokers: 4, parks: 2 }
    }
}

/// The ledger date of the first registration: the eve of the plan (2022–2024).
pub fn ledger_date() -> NaiveDate {
    date(2021, 12, 31)
}

/// The demo's "as of": the end of the plan.
pub fn as_of() -> NaiveDate {
    date(2024, 12, 31)
}

/// Monitoring rounds with answers (every month of 2022–2024 has an open round).
pub fn answered_rounds() -> Vec<YearMonth> {
    [(2023, 12), (2024, 6), (2024, 11), (2024, 12)].into_iter().filter_map(|(y, m)| YearMonth::new(y, m)).collect()
}

/// The demand-list year and the moment the teams saved and submitted it (before 31 October).
pub const DEMAND_YEAR: i32 = 2024;

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

#[derive(Debug, Clone)]
pub struct Org {
    pub name: String,
    pub kind: OrgKind,
    /// A county office's county (the only kind that has one in the store).
    pub county: Option<&'static str>,
    /// Where a local employer, park or broker works (not stored: drives the generator).
    pub home: Option<&'static str>,
    /// A coop team's or Guangdong employer's city (index into `GD_CITIES`).
    pub city: Option<usize>,
    pub trade: Option<Trade>,
}

#[derive(Debug, Clone)]
pub struct Household {
    pub code: String,
    pub county: usize,
    pub site: &'static str,
    pub members: Vec<usize>,
    /// Members stay out of work (a zero-employment household the plan must reach).
    pub hard: bool,
}

/// Where someone works, as a monitoring answer says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    InCounty,
    InProvince,
    OutOfProvince,
}

impl Place {
    pub fn as_str(self) -> &'static str {
        match self {
            Place::InCounty => "in_county",
            Place::InProvince => "in_province",
            Place::OutOfProvince => "out_of_province",
        }
    }

    pub fn of(home: &str, work: &str) -> Self {
        if home == work {
            Place::InCounty
        } else if work.starts_with("52") {
            Place::InProvince
        } else {
            Place::OutOfProvince
        }
    }
}

#[derive(Debug, Clone)]
pub struct Person {
    pub household: usize,
    pub id_number: String,
    pub name: String,
    pub phone: String,
    pub county: &'static str,
    pub site: &'static str,
    pub birth: NaiveDate,
    pub categories: Vec<Category>,
    pub trade: Trade,
    pub education: Option<&'static str>,
    pub graduation_year: Option<i32>,
    /// Status in the ledger at [`ledger_date`].
    pub status: EmploymentStatus,
    pub willing_cross: bool,
    pub seeking_while_employed: bool,
    pub min_wage: Option<i32>,
    /// Work outside Qianlink's placements (ledger-employed): where, and monthly income.
    pub own_work: Option<(Place, i32)>,
    /// Came home from work outside the province during this month of 2024 (ledger-employed only).
    pub returns_home: Option<YearMonth>,
}

impl Person {
    pub fn age_on(&self, d: NaiveDate) -> i32 {
        domain::id_number::age_on(self.birth, d)
    }

    pub fn has(&self, c: Category) -> bool {
        self.categories.contains(&c)
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub poster: usize,
    pub employer: usize,
    pub trade: Trade,
    pub county: &'static str,
    pub draft: JobDraft,
    pub openings: i32,
    pub close_at_end: bool,
}

impl Job {
    pub fn gd(&self) -> bool {
        self.county.starts_with("44")
    }
}

#[derive(Debug, Clone)]
pub struct Placement {
    pub person: usize,
    pub job: Option<usize>,
    pub employer: usize,
    pub broker: Option<usize>,
    /// The organisation that registers it (the employer, or the broker / team that organised it).
    pub registrar: usize,
    pub start: NaiveDate,
    pub contract_months: i32,
    pub county: &'static str,
    pub organised_by: &'static str,
    pub end: Option<(NaiveDate, &'static str)>,
    pub wage: i32,
    pub insured: bool,
    /// The broker, not the employer, sends the monthly reports.
    pub broker_reports: bool,
    /// A month nobody reported (the milestone waits).
    pub gap: Option<YearMonth>,
    /// A month the worker's check-in contradicts the employer (needs review).
    pub conflict: Option<YearMonth>,
}

impl Placement {
    /// Months with a report: from the start month to the last full month (the
    /// month of leaving is not reported), up to the demo's as-of.
    pub fn report_months(&self) -> Vec<YearMonth> {
        let first = YearMonth::of(self.start);
        let last = match self.end {
            Some((d, _)) => YearMonth::of(d).pred(),
            None => YearMonth::of(as_of()),
        };
        let mut out = Vec::new();
        let mut m = first;
        while m <= last {
            if Some(m) != self.gap {
                out.push(m);
            }
            m = m.succ();
        }
        out
    }

    pub fn active_on(&self, d: NaiveDate) -> bool {
        self.start <= d && self.end.is_none_or(|(e, _)| e > d)
    }

    /// Wage in a month: +1 % a month from the start (raises, overtime), rounded to 10 CNY.
    pub fn wage_in(&self, m: YearMonth) -> i32 {
        let months = YearMonth::of(self.start).months_until(m);
        let w = f64::from(self.wage) * (1.0 + 0.01 * f64::from(months.max(0)));
        ((w / 10.0).round() * 10.0) as i32
    }
}

#[derive(Debug, Clone)]
pub struct Training {
    pub person: usize,
    pub course: String,
    pub kind: &'static str,
    pub occupation: &'static str,
    pub skills: Vec<String>,
    pub hours: i32,
    pub certificate: Option<&'static str>,
    pub completed_on: NaiveDate,
    pub provider: String,
    pub provider_org: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct World {
    pub spec: Spec,
    pub orgs: Vec<Org>,
    pub households: Vec<Household>,
    pub people: Vec<Person>,
    pub jobs: Vec<Job>,
    pub placements: Vec<Placement>,
    pub trainings: Vec<Training>,
    /// (team, items) of the demand lists of [`DEMAND_YEAR`].
    pub demand: Vec<(usize, Vec<ItemDraft>)>,
    /// The worker to play in `qianlink chat`: placed, and open to other offers.
    pub demo_person: usize,
    /// Index of the admin organisation.
    pub admin: usize,
}

fn weighted<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total.max(1));
    for (t, w) in items {
        if x < *w {
            return *t;
        }
        x -= w;
    }
    items[0].0
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    // Every list passed here is a non-empty constant or checked before.
    items.choose(rng).unwrap_or(&items[0])
}

fn day_in(rng: &mut ChaCha8Rng, m: YearMonth) -> NaiveDate {
    let last = m.last_day().day();
    date(m.year(), m.month(), rng.random_range(1..=last))
}

fn month_between(rng: &mut ChaCha8Rng, from: YearMonth, to: YearMonth) -> YearMonth {
    let span = from.months_until(to);
    let mut m = from;
    for _ in 0..rng.random_range(0..=span.max(0)) {
        m = m.succ();
    }
    m
}

fn add_months(d: NaiveDate, n: u32) -> NaiveDate {
    domain::calendar::add_months(d, n)
}

struct Builder {
    rng: ChaCha8Rng,
    spec: Spec,
    orgs: Vec<Org>,
    names: BTreeSet<String>,
    ids: BTreeSet<String>,
    phones: BTreeSet<String>,
}

impl Builder {
    fn unique_org(&mut self, make: impl Fn(&mut ChaCha8Rng) -> String) -> String {
        for _ in 0..50 {
            let n = make(&mut self.rng);
            if self.names.insert(n.clone()) {
                return n;
            }
        }
        let n = format!("{}{}", make(&mut self.rng), self.names.len());
        self.names.insert(n.clone());
        n
    }

    fn org(&mut self, o: Org) -> usize {
        self.orgs.push(o);
        self.orgs.len() - 1
    }

    fn build_orgs(&mut self) -> (usize, Vec<usize>) {
        let admin = self.org(Org {
            name: "贵州省人力资源和社会保障厅".into(),
            kind: OrgKind::Admin,
            county: None,
            home: None,
            city: None,
            trade: None,
        });
        self.names.insert("贵州省人力资源和社会保障厅".into());
        let mut offices = Vec::new();
        for c in COUNTIES {
            let name = format!("{}人力资源和社会保障局", c.name);
            self.names.insert(name.clone());
            offices.push(self.org(Org {
                name,
                kind: OrgKind::CountyOffice,
                county: Some(c.code),
                home: Some(c.code),
                city: None,
                trade: None,
            }));
        }
        for (i, city) in GD_CITIES.iter().enumerate() {
            let name = format!("粤黔协作{}工作队", city.name);
            self.names.insert(name.clone());
            self.org(Org { name, kind: OrgKind::CoopTeam, county: None, home: None, city: Some(i), trade: None });
        }
        let county_weights: Vec<(usize, u32)> = COUNTIES.iter().enumerate().map(|(i, c)| (i, c.weight)).collect();
        for _ in 0..self.spec.local_employers {
            let c = &COUNTIES[weighted(&mut self.rng, &county_weights)];
            let trade = weighted(&mut self.rng, words::TRADES);
            let trade = if trade.local() { trade } else { Trade::Garment };
            let name = self.unique_org(|r| format!("{}{}{}", c.name, pick(r, words::BRAND), trade.company()));
            self.org(Org {
                name,
                kind: OrgKind::Employer,
                county: None,
                home: Some(c.code),
                city: None,
                trade: Some(trade),
            });
        }
        for i in 0..self.spec.gd_employers {
            let ci = i % GD_CITIES.len();
            let city = &GD_CITIES[ci];
            let trade = *pick(&mut self.rng, city.trades);
            let name = self.unique_org(|r| format!("{}市{}{}", city.name, pick(r, words::BRAND), trade.company()));
            self.org(Org {
                name,
                kind: OrgKind::Employer,
                county: None,
                home: None,
                city: Some(ci),
                trade: Some(trade),
            });
        }
        for i in 0..self.spec.parks {
            let c = &COUNTIES[i % COUNTIES.len()];
            let name = self.unique_org(|r| {
                let kinds = ["经济开发区", "工业园区", "农业产业园", "易地扶贫搬迁帮扶车间园区"];
                format!("{}{}", c.name, pick(r, &kinds))
            });
            let trade = *pick(&mut self.rng, &[Trade::Electronics, Trade::Garment, Trade::Farming, Trade::NewEnergy]);
            self.org(Org {
                name,
                kind: OrgKind::IndustrialPark,
                county: None,
                home: Some(c.code),
                city: None,
                trade: Some(trade),
            });
        }
        for _ in 0..self.spec.brokers {
            let c = &COUNTIES[weighted(&mut self.rng, &county_weights)];
            let site = *pick(&mut self.rng, c.sites);
            let name = self.unique_org(|r| match r.random_range(0..4) {
                0 => format!("{}{}人力资源服务有限公司", c.name, pick(r, words::BRAND)),
                1 => format!("{}{}劳务有限公司", c.name, pick(r, words::BRAND)),
                2 => format!("{site}劳务合作社"),
                _ => format!(
                    "劳务经纪人{}{}{}",
                    pick(r, words::SURNAMES),
                    pick(r, words::MALE_CHARS),
                    pick(r, words::MALE_CHARS)
                ),
            });
            self.org(Org { name, kind: OrgKind::Broker, county: None, home: Some(c.code), city: None, trade: None });
        }
        (admin, offices)
    }

    fn id_number(&mut self, county: &str, birth: NaiveDate, male: bool) -> String {
        loop {
            let mut seq: u32 = self.rng.random_range(1..=998);
            if (seq % 2 == 1) != male {
                seq += 1;
            }
            let body = format!("{county}{}{seq:03}", birth.format("%Y%m%d"));
            if let Some(n) = domain::id_number::with_check_char(&body)
                && self.ids.insert(n.clone())
            {
                return n;
            }
        }
    }

    fn phone(&mut self) -> String {
        loop {
            let p =
                format!("{}{:08}", pick(&mut self.rng, words::PHONE_PREFIXES), self.rng.random_range(0..100_000_000));
            if self.phones.insert(p.clone()) {
                return p;
            }
        }
    }

    fn name(&mut self, surname: &str, male: bool) -> String {
        let chars = if male { words::MALE_CHARS } else { words::FEMALE_CHARS };
        if self.rng.random_bool(0.6) {
            format!("{surname}{}{}", pick(&mut self.rng, chars), pick(&mut self.rng, chars))
        } else {
            format!("{surname}{}", pick(&mut self.rng, chars))
        }
    }
}

/// Build the whole province from the spec.
pub fn build(spec: &Spec) -> World {
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(spec.seed),
        spec: spec.clone(),
        orgs: Vec::new(),
        names: BTreeSet::new(),
        ids: BTreeSet::new(),
        phones: BTreeSet::new(),
    };
    let (admin, _offices) = b.build_orgs();
    let (households, mut people) = build_people(&mut b);
    let jobs = build_jobs(&mut b);
    let placements = simulate(&mut b, &households, &mut people, &jobs);
    let demo_person = choose_demo_person(&households, &mut people, &placements);
    let trainings = build_trainings(&mut b, &people, &placements);
    let demand = build_demand(&mut b);
    World {
        spec: spec.clone(),
        orgs: b.orgs,
        households,
        people,
        jobs,
        placements,
        trainings,
        demand,
        demo_person,
        admin,
    }
}

fn build_people(b: &mut Builder) -> (Vec<Household>, Vec<Person>) {
    let county_weights: Vec<(usize, u32)> = COUNTIES.iter().enumerate().map(|(i, c)| (i, c.weight)).collect();
    let mut seq: BTreeMap<usize, u32> = BTreeMap::new();
    let mut households = Vec::new();
    let mut people: Vec<Person> = Vec::new();
    for h in 0..b.spec.households {
        let ci = weighted(&mut b.rng, &county_weights);
        let county = &COUNTIES[ci];
        let n = seq.entry(ci).or_insert(0);
        *n += 1;
        let code = format!("HH-{}-{:04}", county.code, n);
        let site = *pick(&mut b.rng, county.sites);
        let poverty = b.rng.random_bool(0.65);
        let monitored = if poverty { b.rng.random_bool(0.12) } else { b.rng.random_bool(0.05) };
        let hard = b.rng.random_bool(0.04);
        let size = weighted(&mut b.rng, &[(1usize, 30), (2, 40), (3, 20), (4, 10)]);
        let surname = *pick(&mut b.rng, words::SURNAMES);
        let head_year = b.rng.random_range(1966..=1996);
        let mut members = Vec::new();
        for m in 0..size {
            let (year, role) = match m {
                0 => (head_year, 0),
                1 => ((head_year + b.rng.random_range(-3..=3)).clamp(1962, 2000), 1),
                2 if b.rng.random_bool(0.25) => (b.rng.random_range(1962..=1964), 3),
                _ => ((head_year + b.rng.random_range(20..=28)).min(2005), 2),
            };
            let birth = date(year, b.rng.random_range(1..=12), b.rng.random_range(1..=28));
            let male = if m == 1 {
                !people.last().is_some_and(|p: &Person| male_of(&p.id_number))
            } else {
                b.rng.random_bool(0.52)
            };
            let id_number = b.id_number(county.code, birth, male);
            let name = if m == 1 {
                let other = *pick(&mut b.rng, words::SURNAMES);
                b.name(other, male)
            } else {
                b.name(surname, male)
            };
            let phone = b.phone();
            let mut categories = vec![Category::Relocated];
            if poverty {
                categories.push(Category::PovertyAlleviated);
            }
            if monitored {
                categories.push(Category::Monitored);
            }
            let mut trade = weighted(&mut b.rng, words::TRADES);
            let mut graduation_year = None;
            let mut education = Some(*pick(&mut b.rng, &["小学", "初中", "初中", "初中", "高中", "中专"]));
            let status;
            let age_2022 = 2022 - year;
            if role == 2 && age_2022 <= 24 && !hard && b.rng.random_bool(0.55) {
                // A child at college who graduates in 2022, 2023 or 2024.
                graduation_year = Some(b.rng.random_range(2022..=2024));
                education = Some(*pick(&mut b.rng, &["大专", "大专", "本科"]));
                categories.push(Category::Graduate);
                status = EmploymentStatus::Student;
                trade = *pick(&mut b.rng, &[Trade::Electronics, Trade::Logistics, Trade::Catering, Trade::Machining]);
            } else if b.rng.random_bool(0.03) && !hard {
                categories.push(Category::Hardship);
                status = if b.rng.random_bool(0.55) {
                    EmploymentStatus::UnableToWork
                } else {
                    EmploymentStatus::PublicWelfarePost
                };
            } else if hard {
                status = EmploymentStatus::Unemployed;
            } else {
                let r: f64 = b.rng.random();
                status = if r < 0.27 {
                    EmploymentStatus::Employed
                } else if r < 0.32 {
                    EmploymentStatus::SelfEmployed
                } else if r < 0.35 && (poverty || monitored) {
                    EmploymentStatus::PublicWelfarePost
                } else {
                    EmploymentStatus::Unemployed
                };
                if status == EmploymentStatus::Unemployed && role < 2 && b.rng.random_bool(0.2) {
                    categories.push(Category::Returning);
                }
            }
            let own_work = match status {
                EmploymentStatus::Employed => {
                    let place = weighted(
                        &mut b.rng,
                        &[(Place::InCounty, 35), (Place::InProvince, 25), (Place::OutOfProvince, 40)],
                    );
                    let base = if place == Place::OutOfProvince { 5200 } else { 3600 };
                    Some((place, base + b.rng.random_range(-600..=1500)))
                }
                EmploymentStatus::SelfEmployed => Some((Place::InCounty, 3000 + b.rng.random_range(0..=2500))),
                EmploymentStatus::PublicWelfarePost => Some((Place::InCounty, 1800 + b.rng.random_range(0..=300))),
                _ => None,
            };
            let returns_home = match own_work {
                Some((Place::OutOfProvince, _)) if b.rng.random_bool(0.05) => YearMonth::new(2024, 12),
                _ => None,
            };
            categories.sort();
            categories.dedup();
            let willing_cross = !hard && age_2022 < 50 && b.rng.random_bool(0.6);
            people.push(Person {
                household: h,
                id_number,
                name,
                phone,
                county: county.code,
                site,
                birth,
                categories,
                trade,
                education,
                graduation_year,
                status,
                willing_cross,
                seeking_while_employed: false,
                min_wage: b.rng.random_bool(0.3).then(|| *pick(&mut b.rng, &[2500, 3000, 3500, 4000])),
                own_work,
                returns_home,
            });
            members.push(people.len() - 1);
        }
        households.push(Household { code, county: ci, site, members, hard });
    }
    (households, people)
}

fn male_of(id: &str) -> bool {
    id.as_bytes().get(16).is_some_and(|d| (d - b'0') % 2 == 1)
}

fn build_jobs(b: &mut Builder) -> Vec<Job> {
    let mut jobs = Vec::new();
    let gd_target = b.spec.jobs / 3;
    let teams: Vec<usize> = (0..b.orgs.len()).filter(|i| b.orgs[*i].kind == OrgKind::CoopTeam).collect();
    let gd_employers: Vec<usize> =
        (0..b.orgs.len()).filter(|i| b.orgs[*i].kind == OrgKind::Employer && b.orgs[*i].city.is_some()).collect();
    let local_posters: Vec<usize> = (0..b.orgs.len())
        .filter(|i| matches!(b.orgs[*i].kind, OrgKind::Employer | OrgKind::IndustrialPark) && b.orgs[*i].home.is_some())
        .collect();
    let brokers: Vec<usize> = (0..b.orgs.len()).filter(|i| b.orgs[*i].kind == OrgKind::Broker).collect();
    for n in 0..b.spec.jobs {
        let gd = n < gd_target;
        let (poster, employer, county, trade) = if gd {
            let employer = gd_employers[n % gd_employers.len()];
            let ci = b.orgs[employer].city.unwrap_or(0);
            let team = teams.iter().copied().find(|t| b.orgs[*t].city == Some(ci)).unwrap_or(teams[0]);
            let (district, _) = *pick(&mut b.rng, GD_CITIES[ci].districts);
            (team, employer, district, b.orgs[employer].trade.unwrap_or(Trade::Electronics))
        } else {
            let employer = *pick(&mut b.rng, &local_posters);
            let home = b.orgs[employer].home.unwrap_or("520502");
            let county = if b.rng.random_bool(0.12) { pick(&mut b.rng, words::GUIZHOU_CITIES).0 } else { home };
            let poster = if b.rng.random_bool(0.25) { *pick(&mut b.rng, &brokers) } else { employer };
            (poster, employer, county, b.orgs[employer].trade.unwrap_or(Trade::Garment))
        };
        let kind = pick(&mut b.rng, trade.jobs());
        let lo = kind.wage.0 + b.rng.random_range(-3..=3) * 100;
        let hi = (kind.wage.1 + b.rng.random_range(-3..=5) * 100).max(lo + 300);
        let place = place_name(county);
        let mut description = format!(
            "{}招聘{}。工作地点：{}。{}；{}。",
            b.orgs[employer].name,
            kind.title,
            place,
            pick(&mut b.rng, words::SHIFTS),
            pick(&mut b.rng, words::PERKS)
        );
        let perks: &[&str] = if gd { words::GD_PERKS } else { words::LOCAL_PERKS };
        let perk = *pick(&mut b.rng, perks);
        description.push_str(perk);
        description.push_str("。欢迎易地扶贫搬迁群众报名，安置点就业服务站可代为报名。");
        let openings = if gd { b.rng.random_range(10..=60) } else { b.rng.random_range(2..=15) };
        let contract = if gd { *pick(&mut b.rng, &[12, 12, 24]) } else { *pick(&mut b.rng, &[6, 12, 12, 24, 36]) };
        let draft = JobDraft {
            title: Some(if gd { format!("{}（粤黔协作）", kind.title) } else { kind.title.to_owned() }),
            description: Some(description),
            occupation_code: Some(kind.occupation.to_owned()),
            skills: Some(kind.skills.iter().map(|s| (*s).to_owned()).collect()),
            work_county_code: Some(county.to_owned()),
            wage_min: Some(i64::from(lo)),
            wage_max: Some(i64::from(hi)),
            openings: Some(i64::from(openings)),
            contract_months: Some(contract),
            start_date: Some(date(b.rng.random_range(2022..=2024), b.rng.random_range(1..=12), 1)),
            expires_on: None,
            requirements: None,
        };
        jobs.push(Job { poster, employer, trade, county, draft, openings, close_at_end: b.rng.random_bool(0.2) });
    }
    jobs
}

/// A readable place for a description.
pub fn place_name(code: &str) -> String {
    if let Some(c) = COUNTIES.iter().find(|c| c.code == code) {
        return format!("贵州省{}", c.name);
    }
    if let Some((_, n)) = words::GUIZHOU_CITIES.iter().find(|(c, _)| *c == code) {
        return format!("贵州省{n}");
    }
    for city in GD_CITIES {
        if let Some((_, d)) = city.districts.iter().find(|(c, _)| *c == code) {
            return if d.ends_with('市') { format!("广东省{d}") } else { format!("广东省{}市{d}", city.name) };
        }
    }
    code.to_owned()
}

/// (person, start, end with the reason for leaving).
type Spell = (usize, NaiveDate, Option<(NaiveDate, &'static str)>);

const LEAVE_REASONS: &[&str] = &["合同到期", "家里有事", "工资低", "太累/环境差", "换了工作", "返乡照顾老人"];

/// Who works where and when, in date order of the starts. Each job's active
/// placements never exceed its openings at any start (the store checks it too).
fn simulate(b: &mut Builder, households: &[Household], people: &mut [Person], jobs: &[Job]) -> Vec<Placement> {
    let first = YearMonth::new(2022, 1).unwrap_or(YearMonth::of(as_of()));
    let last = YearMonth::new(2024, 11).unwrap_or(first);
    // Spells (person, start, end) before jobs are assigned.
    let mut spells: Vec<Spell> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        if households[p.household].hard {
            continue;
        }
        let from = match (p.status, p.graduation_year) {
            (EmploymentStatus::Unemployed, _) => first,
            (EmploymentStatus::Student, Some(y)) => YearMonth::new(y, 7).unwrap_or(first),
            _ => continue,
        };
        if p.age_on(date(2022, 1, 1)) > 58 || from > last || !b.rng.random_bool(0.84) {
            continue;
        }
        let returning = p.has(Category::Returning);
        let mut m = if returning && b.rng.random_bool(0.7) {
            month_between(&mut b.rng, first, YearMonth::new(2023, 5).unwrap_or(last))
        } else if p.graduation_year.is_some() {
            month_between(&mut b.rng, from, from.succ().succ().succ())
        } else {
            month_between(&mut b.rng, from, last)
        };
        loop {
            let start = day_in(&mut b.rng, m);
            let end = if b.rng.random_bool(0.33) {
                let e =
                    add_months(start, b.rng.random_range(1..=14)) + chrono::Duration::days(b.rng.random_range(0..20));
                (e <= as_of()).then(|| (e, *pick(&mut b.rng, LEAVE_REASONS)))
            } else {
                None
            };
            spells.push((i, start, end));
            match end {
                Some((e, _)) if b.rng.random_bool(0.55) => {
                    let next = YearMonth::of(add_months(e, b.rng.random_range(1..=5)));
                    if next > last {
                        break;
                    }
                    m = next;
                }
                _ => break,
            }
        }
    }
    spells.sort_by_key(|(i, s, _)| (*s, *i));
    let brokers: Vec<usize> = (0..b.orgs.len()).filter(|i| b.orgs[*i].kind == OrgKind::Broker).collect();
    let local_employers: Vec<usize> =
        (0..b.orgs.len()).filter(|i| b.orgs[*i].kind == OrgKind::Employer && b.orgs[*i].home.is_some()).collect();
    let mut on_job: Vec<Vec<Option<NaiveDate>>> = vec![Vec::new(); jobs.len()];
    let mut out = Vec::new();
    for (i, start, end) in spells {
        let p = &people[i];
        let prefecture = &p.county[..4];
        let free = |j: usize, on_job: &Vec<Vec<Option<NaiveDate>>>| {
            let active = on_job[j].iter().filter(|e| e.is_none_or(|e| e > start)).count();
            (active as i32) < jobs[j].openings
        };
        let want_gd = p.willing_cross && b.rng.random_bool(0.55);
        let candidates: Vec<usize> = (0..jobs.len())
            .filter(|j| {
                let job = &jobs[*j];
                let place_ok = if job.gd() {
                    want_gd && b.orgs[job.poster].city.is_some_and(|c| GD_CITIES[c].pairs.contains(&prefecture))
                } else {
                    !want_gd
                        && (&job.county[..4] == prefecture || !job.county.starts_with("52") || b.rng.random_bool(0.05))
                };
                place_ok && (job.trade == p.trade || b.rng.random_bool(0.08)) && free(*j, &on_job)
            })
            .collect();
        let job = candidates.choose(&mut b.rng).copied();
        let pl = match job {
            Some(j) => {
                on_job[j].push(end.map(|(e, _)| e));
                let job = &jobs[j];
                let poster_kind = b.orgs[job.poster].kind;
                let (broker, organised_by) = match poster_kind {
                    OrgKind::CoopTeam if b.rng.random_bool(0.7) => (Some(job.poster), "coop_team"),
                    OrgKind::Broker => (Some(job.poster), "broker"),
                    _ if b.rng.random_bool(0.3) => (Some(*pick(&mut b.rng, &brokers)), "broker"),
                    _ => (None, "self"),
                };
                let (lo, hi) = (job.draft.wage_min.unwrap_or(3000), job.draft.wage_max.unwrap_or(5000));
                Placement {
                    person: i,
                    job: Some(j),
                    employer: job.employer,
                    broker,
                    registrar: if broker.is_some() && b.rng.random_bool(0.5) {
                        broker.unwrap_or(job.employer)
                    } else {
                        job.employer
                    },
                    start,
                    contract_months: job.draft.contract_months.unwrap_or(12) as i32,
                    county: job.county,
                    organised_by,
                    end,
                    wage: b.rng.random_range(lo..=hi) as i32,
                    insured: b.rng.random_bool(if job.gd() { 0.92 } else { 0.65 }),
                    broker_reports: broker.is_some() && b.rng.random_bool(0.4),
                    gap: None,
                    conflict: None,
                }
            }
            None => {
                // Found work on their own with a local employer near home.
                let near: Vec<usize> = local_employers
                    .iter()
                    .copied()
                    .filter(|e| b.orgs[*e].home.is_some_and(|h| h[..4] == *prefecture))
                    .collect();
                let employer = *pick(&mut b.rng, if near.is_empty() { &local_employers } else { &near });
                Placement {
                    person: i,
                    job: None,
                    employer,
                    broker: None,
                    registrar: employer,
                    start,
                    contract_months: *pick(&mut b.rng, &[6, 12, 12, 24]),
                    county: b.orgs[employer].home.unwrap_or(p.county),
                    organised_by: "self",
                    end,
                    wage: b.rng.random_range(2600..=4800),
                    insured: b.rng.random_bool(0.55),
                    broker_reports: false,
                    gap: None,
                    conflict: None,
                }
            }
        };
        out.push(pl);
    }
    // A few placements miss a month's report, a few have a contradicting check-in.
    for pl in &mut out {
        let months = pl.report_months();
        if months.len() > 4 && b.rng.random_bool(0.03) {
            pl.gap = months.get(b.rng.random_range(1..months.len() - 1)).copied();
        } else if months.len() > 3 && b.rng.random_bool(0.01) {
            pl.conflict = months.get(b.rng.random_range(1..months.len())).copied();
        }
    }
    let _ = people;
    out
}

/// The worker to play in the terminal chat: in work at the end (so a check-in
/// comes), open to other offers, willing to work in Guangdong.
fn choose_demo_person(households: &[Household], people: &mut [Person], placements: &[Placement]) -> usize {
    let chosen = placements
        .iter()
        .filter(|pl| pl.end.is_none() && pl.start.year() == 2024 && pl.job.is_some())
        .map(|pl| pl.person)
        .find(|i| {
            let p = &people[*i];
            p.willing_cross && p.age_on(as_of()) <= 45 && !households[p.household].hard
        })
        .or_else(|| placements.iter().find(|pl| pl.end.is_none()).map(|pl| pl.person))
        .unwrap_or(0);
    if let Some(p) = people.get_mut(chosen) {
        p.seeking_while_employed = true;
        p.willing_cross = true;
    }
    chosen
}

fn build_trainings(b: &mut Builder, people: &[Person], placements: &[Placement]) -> Vec<Training> {
    let mut out = Vec::new();
    for pl in placements {
        let p = &people[pl.person];
        let kind_of = |t: Trade| t.jobs().first().map(|k| k.occupation).unwrap_or("6-25-04-07");
        if b.rng.random_bool(0.28) {
            // Order / position training before the start.
            let kind = *pick(&mut b.rng, &["order", "position"]);
            let completed_on = pl.start - chrono::Duration::days(b.rng.random_range(5..40));
            out.push(Training {
                person: pl.person,
                course: format!(
                    "{}{}培训",
                    p.trade.jobs().first().map(|k| k.title).unwrap_or("岗前"),
                    if kind == "order" { "订单式" } else { "定岗" }
                ),
                kind,
                occupation: kind_of(p.trade),
                skills: p.trade.skills().iter().take(1).map(|s| (*s).to_owned()).collect(),
                hours: b.rng.random_range(40..=120),
                certificate: b.rng.random_bool(0.3).then_some("职业技能等级证书（五级）"),
                completed_on,
                provider: format!("{}{}", place_short(p.county), pick(&mut b.rng, words::TRAINING_PROVIDERS)),
                provider_org: None,
            });
        } else if b.rng.random_bool(0.22) {
            // On-the-job or apprenticeship training by the employer.
            let kind = if b.rng.random_bool(0.25) { "apprenticeship" } else { "on_the_job" };
            let completed_on = add_months(pl.start, b.rng.random_range(1..=3));
            if completed_on > as_of() || pl.end.is_some_and(|(e, _)| e < completed_on) {
                continue;
            }
            let welding = p.trade == Trade::Welding;
            out.push(Training {
                person: pl.person,
                course: if kind == "apprenticeship" {
                    "企业新型学徒制培训".into()
                } else {
                    "岗位技能提升培训".into()
                },
                kind,
                occupation: kind_of(p.trade),
                skills: p.trade.skills().iter().take(2).map(|s| (*s).to_owned()).collect(),
                hours: b.rng.random_range(24..=200),
                certificate: if welding {
                    Some("熔化焊接与热切割作业操作证")
                } else {
                    b.rng.random_bool(0.35).then_some("职业技能等级证书（四级）")
                },
                completed_on,
                provider: String::new(),
                provider_org: Some(pl.employer),
            });
        }
    }
    out
}

fn place_short(county: &str) -> &'static str {
    COUNTIES.iter().find(|c| c.code == county).map(|c| c.name).unwrap_or("")
}

fn build_demand(b: &mut Builder) -> Vec<(usize, Vec<ItemDraft>)> {
    let teams: Vec<usize> = (0..b.orgs.len()).filter(|i| b.orgs[*i].kind == OrgKind::CoopTeam).collect();
    let mut out = Vec::new();
    for t in teams {
        let ci = b.orgs[t].city.unwrap_or(0);
        let city = &GD_CITIES[ci];
        let paired: Vec<&'static str> =
            COUNTIES.iter().filter(|c| city.pairs.contains(&&c.code[..4])).map(|c| c.code).collect();
        let mut items = Vec::new();
        for n in 0..4 {
            let trade = *pick(&mut b.rng, city.trades);
            let kind = pick(&mut b.rng, trade.jobs());
            let (district, _) = *pick(&mut b.rng, city.districts);
            items.push(ItemDraft {
                ref_: Some(format!("E{}", n + 1)),
                kind: Some("employment".into()),
                title: Some(format!("{}（{}年有组织劳务输出）", kind.title, DEMAND_YEAR + 1)),
                occupation_code: Some(kind.occupation.into()),
                skills: Some(kind.skills.iter().map(|s| (*s).to_owned()).collect()),
                headcount: Some(b.rng.random_range(20..=80)),
                wage_min: Some(i64::from(kind.wage.0)),
                wage_max: Some(i64::from(kind.wage.1)),
                work_county_code: Some(district.into()),
                start_month: Some(format!("{}-03", DEMAND_YEAR + 1)),
                organised_export: Some(true),
                ..ItemDraft::default()
            });
        }
        let target = *pick(&mut b.rng, &paired);
        let trade = *pick(&mut b.rng, city.trades);
        items.push(ItemDraft {
            ref_: Some("Q1".into()),
            kind: Some("enterprise".into()),
            industry: Some(trade.industry().into()),
            enterprise_name: Some(format!("{}市{}{}", city.name, pick(&mut b.rng, words::BRAND), trade.company())),
            investment_cny: Some(b.rng.random_range(20..=300) * 1_000_000),
            expected_jobs: Some(b.rng.random_range(50..=400)),
            target_county_code: Some(target.into()),
            ..ItemDraft::default()
        });
        let target = *pick(&mut b.rng, &paired);
        items.push(ItemDraft {
            ref_: Some("P1".into()),
            kind: Some("project".into()),
            name: Some(format!("{}安置点帮扶车间扩建项目", place_short(target))),
            county_code: Some(target.into()),
            funding_cny: Some(b.rng.random_range(2..=30) * 1_000_000),
            expected_jobs: Some(b.rng.random_range(30..=200)),
            ..ItemDraft::default()
        });
        out.push((t, items));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_builds_the_same_world() {
        let a = build(&Spec::small(7));
        let b = build(&Spec::small(7));
        assert_eq!(a.people.len(), b.people.len());
        assert_eq!(a.people[3].id_number, b.people[3].id_number);
        assert_eq!(a.placements.len(), b.placements.len());
        assert_eq!(a.demo_person, b.demo_person);
        let c = build(&Spec::small(8));
        assert_ne!(a.people[0].id_number, c.people[0].id_number);
    }

    #[test]
    fn ids_and_phones_are_valid_and_unique() {
        let w = build(&Spec::small(1));
        let mut ids = BTreeSet::new();
        let mut phones = BTreeSet::new();
        for p in &w.people {
            let id = domain::IdNumber::parse(&p.id_number).unwrap();
            assert_eq!(id.birth_date(), p.birth);
            assert!(domain::Phone::parse(&p.phone).is_ok());
            assert!(ids.insert(p.id_number.clone()) && phones.insert(p.phone.clone()));
        }
    }

    #[test]
    fn jobs_never_hold_more_workers_than_openings() {
        let w = build(&Spec::small(3));
        for (j, job) in w.jobs.iter().enumerate() {
            for pl in w.placements.iter().filter(|p| p.job == Some(j)) {
                let active = w
                    .placements
                    .iter()
                    .filter(|o| o.job == Some(j) && o.start <= pl.start && o.active_on(pl.start))
                    .count();
                assert!(active as i32 <= job.openings);
            }
        }
        assert!(w.jobs.iter().filter(|j| j.gd()).count() * 3 >= w.jobs.len() - 3);
    }
}
