//! The organisations, keys and workers every scenario starts from, the HTTP
//! helpers, and the fake Telegram server as a process of its own.

use anyhow::{Context, anyhow, bail};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The county of every worker (安龙县); jobs and cross-province placements are in 东莞.
pub const COUNTY: &str = "522328";
pub const DONGGUAN: &str = "441900";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    pub admin_key: String,
    pub county_key: String,
    pub employer_id: String,
    pub employer_key: String,
    pub broker_id: String,
    pub broker_key: String,
    pub workers: Vec<String>,
}

impl World {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

pub fn client() -> anyhow::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .pool_max_idle_per_host(16)
        .build()
        .context("building the HTTP client")
}

/// What one request came to.
#[derive(Debug)]
pub enum Outcome {
    /// 2xx, with the body.
    Ok(Value),
    /// Any other status, with the body's `code` when it has one.
    Status(u16, String),
    /// No answer (refused, reset, timed out).
    NoAnswer(String),
}

impl Outcome {
    /// A short label for counting failures.
    pub fn label(&self) -> String {
        match self {
            Outcome::Ok(_) => "2xx".into(),
            Outcome::Status(s, code) if code.is_empty() => format!("{s}"),
            Outcome::Status(s, code) => format!("{s} {code}"),
            Outcome::NoAnswer(e) => format!("no answer ({e})"),
        }
    }
}

pub async fn send(req: reqwest::RequestBuilder) -> Outcome {
    match req.send().await {
        Err(e) => Outcome::NoAnswer(if e.is_timeout() {
            "timeout".into()
        } else if e.is_connect() {
            "connect".into()
        } else {
            "broken".into()
        }),
        Ok(res) => {
            let status = res.status().as_u16();
            match res.bytes().await {
                Err(_) => Outcome::NoAnswer("body cut".into()),
                Ok(body) => {
                    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    if (200..300).contains(&status) {
                        Outcome::Ok(v)
                    } else {
                        Outcome::Status(status, v["error"]["code"].as_str().unwrap_or("").to_owned())
                    }
                }
            }
        }
    }
}

/// POST and require a 2xx (setup runs before any fault); a 429 waits and tries again.
pub async fn must_post(c: &reqwest::Client, url: &str, key: &str, body: &Value) -> anyhow::Result<Value> {
    for _ in 0..50 {
        match send(c.post(url).bearer_auth(key).json(body)).await {
            Outcome::Ok(v) => return Ok(v),
            Outcome::Status(429, _) => tokio::time::sleep(Duration::from_millis(200)).await,
            o => bail!("POST {url}: {}", o.label()),
        }
    }
    bail!("POST {url}: still rate limited after 50 tries")
}

fn str_of(v: &Value, field: &str) -> anyhow::Result<String> {
    v[field].as_str().map(str::to_owned).ok_or_else(|| anyhow!("no {field} in {v}"))
}

async fn org(
    c: &reqwest::Client,
    api: &str,
    admin: &str,
    name: &str,
    kind: &str,
    county: Option<&str>,
) -> anyhow::Result<(String, String)> {
    let mut body = json!({"name": name, "kind": kind});
    if let Some(cc) = county {
        body["county_code"] = cc.into();
    }
    let o = must_post(c, &format!("{api}/v1/organizations"), admin, &body).await?;
    let id = str_of(&o, "id")?;
    let k = must_post(c, &format!("{api}/v1/organizations/{id}/api-keys"), admin, &json!({"issued_to": "混沌测试"}))
        .await?;
    Ok((id, str_of(&k, "key")?))
}

/// A synthetic, valid ID number for worker `i` (unique for i < 18,000).
pub fn id_number(i: usize) -> anyhow::Result<String> {
    let year = 1980 + (i / 900) % 20;
    let seq = 100 + i % 900;
    domain::id_number::with_check_char(&format!("{COUNTY}{year}0101{seq:03}"))
        .ok_or_else(|| anyhow!("cannot make an ID number for worker {i}"))
}

/// Register worker `i` (relocated, lifted out of poverty, unemployed, willing to work elsewhere).
pub async fn worker(c: &reqwest::Client, api: &str, county_key: &str, i: usize) -> anyhow::Result<String> {
    let body = json!({
        "id_number": id_number(i)?,
        "name": "混沌测试",
        "phone": format!("139{:08}", 10_000_000 + i),
        "household_code": format!("CH-{i}"),
        "resettlement_site": "碧海阳光新城",
        "county_code": COUNTY,
        "categories": ["relocated", "poverty_alleviated"],
        "skills": ["电焊", "装配"],
        "employment_status": "unemployed",
        "willing_cross_province": true
    });
    str_of(&must_post(c, &format!("{api}/v1/workers"), county_key, &body).await?, "id")
}

#[derive(clap::Args, Debug)]
pub struct SetupArgs {
    /// A server's base URL.
    #[arg(long)]
    pub api: String,
    #[arg(long)]
    pub admin_key: String,
    /// Where to bind the workers' Telegram chats (directly: setup, not under test).
    #[arg(long)]
    pub database_url: String,
    #[arg(long, default_value_t = 400)]
    pub workers: usize,
    #[arg(long)]
    pub out: PathBuf,
}

pub async fn create_world(c: &reqwest::Client, api: &str, admin: &str, workers: usize) -> anyhow::Result<World> {
    let (_, county_key) = org(c, api, admin, "安龙县就业局", "county_office", Some(COUNTY)).await?;
    let (employer_id, employer_key) = org(c, api, admin, "东莞混沌电子厂", "employer", None).await?;
    let (broker_id, broker_key) = org(c, api, admin, "安龙县混沌劳务公司", "broker", None).await?;
    let mut set = tokio::task::JoinSet::new();
    let per = workers.div_ceil(8).max(1);
    for start in (0..workers).step_by(per) {
        let (c, api, key) = (c.clone(), api.to_owned(), county_key.clone());
        set.spawn(async move {
            let mut ids = Vec::new();
            for i in start..(start + per).min(workers) {
                ids.push((i, worker(&c, &api, &key, i).await?));
            }
            Ok::<_, anyhow::Error>(ids)
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r.context("a setup task panicked")??);
    }
    all.sort();
    Ok(World {
        admin_key: admin.to_owned(),
        county_key,
        employer_id,
        employer_key,
        broker_id,
        broker_key,
        workers: all.into_iter().map(|(_, id)| id).collect(),
    })
}

/// Chat ids are 1,000,000 + the worker's index.
pub fn bind_chats(database_url: &str, workers: &[String]) -> anyhow::Result<()> {
    let mut conn = PgConnection::establish(database_url).context("connecting to PostgreSQL")?;
    conn.transaction::<_, anyhow::Error, _>(|conn| {
        for (i, w) in workers.iter().enumerate() {
            diesel::sql_query(
                "INSERT INTO bot_chats (channel, chat_id, worker_id, bound_by) VALUES ('telegram', $1, $2::uuid, 'code')",
            )
            .bind::<diesel::sql_types::Text, _>((1_000_000 + i).to_string())
            .bind::<diesel::sql_types::Text, _>(w)
            .execute(conn)?;
        }
        Ok(())
    })
}

pub async fn setup(a: SetupArgs) -> anyhow::Result<()> {
    let c = client()?;
    let started = std::time::Instant::now();
    let world = create_world(&c, &a.api, &a.admin_key, a.workers).await?;
    bind_chats(&a.database_url, &world.workers)?;
    std::fs::write(&a.out, serde_json::to_string_pretty(&world)?)?;
    eprintln!(
        "setup: 3 organisations, {} workers with bound chats in {:.1} s",
        world.workers.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Run the fake Bot API until killed; its deliveries are counted in `<info>.stats`.
pub async fn fake_telegram(info: &Path) -> anyhow::Result<()> {
    let tg = qianlink_tests::fake_telegram::FakeTelegram::start().await;
    tg.quiet();
    let tmp = info.with_extension("tmp");
    std::fs::write(&tmp, format!("CHAOS_TG_URL='{}'\nCHAOS_TG_TOKEN='{}'\n", tg.url, tg.token))?;
    std::fs::rename(&tmp, info)?;
    let stats = info.with_extension("stats");
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let _ = std::fs::write(&stats, tg.delivered_count().to_string());
    }
}
