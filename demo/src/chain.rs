//! The chain, run once over HTTP against a running Qianlink: a search, a
//! candidate ranking with reasons, offers planned and queued, the milestone
//! scan as of 2024-12-31 with its subsidy events and one explained trace, a
//! monitoring report and its workbook, the consolidated demand list. Every
//! HTTP step is also written as the `curl` line that repeats it, with the
//! demo's keys and Chinese query strings percent-encoded.

use crate::load::{DemoKey, Generated};
use crate::world;
use anyhow::{Context, anyhow, bail};
use api::state::AppState;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use store::audit::Actor;
use uuid::Uuid;

/// One step of the tour: what it shows, the command that repeats it, what it found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    pub title: String,
    pub commands: Vec<String>,
    pub found: Vec<String>,
}

/// Figures of the chain, for the printed tour and for tests.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Figures {
    pub search_total: usize,
    pub candidates: usize,
    pub plan: PlanFigures,
    pub offers_for_demo_worker: usize,
    pub offers_for_one_job: usize,
    pub scan: Value,
    pub events_total: usize,
    pub explained_event: Option<Uuid>,
    pub report: Value,
    pub consolidated: Value,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PlanFigures {
    pub jobs: usize,
    pub planned: usize,
    pub written: usize,
    pub households: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Tour {
    pub base: String,
    pub steps: Vec<Step>,
    pub chat_phone: String,
    pub figures: Figures,
}

/// The demo organisations' keys, kept in a file (mode 600) between runs.
pub struct Keyring {
    pub keys: Vec<DemoKey>,
    path: Option<PathBuf>,
}

impl Keyring {
    /// Keys from `path` (none when the file is missing or unreadable).
    pub fn load(path: Option<&Path>) -> Self {
        let keys = path
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice::<Vec<DemoKey>>(&b).ok())
            .unwrap_or_default();
        Self { keys, path: path.map(Path::to_path_buf) }
    }

    pub fn with(keys: Vec<DemoKey>, path: Option<&Path>) -> Self {
        Self { keys, path: path.map(Path::to_path_buf) }
    }

    pub fn save(&self) -> anyhow::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let body = serde_json::to_vec_pretty(&self.keys)?;
        write_private(path, &body)
    }

    /// A working key of `org`: the kept one, or a new one issued now (audited as the API does).
    pub fn key_for(&mut self, conn: &mut diesel::PgConnection, org: Uuid) -> anyhow::Result<String> {
        if let Some(k) = self.keys.iter().find(|k| k.org_id == org) {
            let owner = store::orgs::key_owner(conn, &k.key).map_err(|e| anyhow!("{e}"))?;
            if owner.is_some_and(|o| o.org_id == org && !o.revoked) {
                return Ok(k.key.clone());
            }
        }
        let o = store::orgs::get(conn, org).map_err(|e| anyhow!("organisation {org}: {e}"))?;
        let key = store::orgs::create_key(conn, org, "黔联演示", None, None).map_err(|e| anyhow!("{e}"))?;
        store::audit::record(
            conn,
            &Actor::system(),
            "api_key.create",
            "api_key",
            &key.info.id.to_string(),
            json!({"org_id": org, "via": "demo"}),
        )
        .map_err(|e| anyhow!("{e}"))?;
        self.keys.retain(|k| k.org_id != org);
        self.keys.push(DemoKey { org_id: org, name: o.name, kind: o.kind, key: key.secret.clone() });
        self.save()?;
        Ok(key.secret)
    }
}

/// Write a file only its owner can read.
pub fn write_private(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, body).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", path.display()))?;
    }
    Ok(())
}

/// Percent-encode a query value (UTF-8 bytes; unreserved characters stay).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

struct Http {
    client: reqwest::Client,
    base: String,
}

enum Body<'a> {
    None,
    Json(&'a Value),
}

impl Http {
    /// Send a request; the curl line that repeats it; the JSON answer (or the bytes' size).
    async fn call(
        &self,
        method: &str,
        path: &str,
        key: &str,
        body: Body<'_>,
        out_file: Option<&str>,
    ) -> anyhow::Result<(String, Value)> {
        let url = format!("{}{}", self.base, path);
        let mut req = match method {
            "POST" => self.client.post(&url),
            _ => self.client.get(&url),
        }
        .bearer_auth(key);
        let mut curl = String::from("curl -s");
        if method != "GET" {
            curl.push_str(&format!(" -X {method}"));
        }
        curl.push_str(&format!(" -H 'Authorization: Bearer {key}'"));
        if let Body::Json(v) = body {
            req = req.json(v);
            curl.push_str(&format!(" -H 'Content-Type: application/json' -d '{v}'"));
        }
        if let Some(f) = out_file {
            curl.push_str(&format!(" -o {f}"));
        }
        curl.push_str(&format!(" '{url}'"));
        let res = req.send().await.with_context(|| format!("{method} {path}"))?;
        let status = res.status();
        let bytes = res.bytes().await.with_context(|| format!("{method} {path}: reading the answer"))?;
        if !status.is_success() {
            bail!(
                "{method} {path} answered {status}: {}",
                String::from_utf8_lossy(&bytes).chars().take(400).collect::<String>()
            );
        }
        let v = if out_file.is_some() {
            json!({"bytes": bytes.len(), "zip": bytes.starts_with(b"PK")})
        } else {
            serde_json::from_slice(&bytes).with_context(|| format!("{method} {path}: the answer is not JSON"))?
        };
        Ok((curl, v))
    }
}

fn db<T>(state: &AppState, f: impl FnOnce(&mut diesel::PgConnection) -> anyhow::Result<T>) -> anyhow::Result<T> {
    let mut conn = state.pool.get().map_err(|e| anyhow!("PostgreSQL: {e}"))?;
    f(&mut conn)
}

/// Bring this process's search index and candidate store up to date with the outbox.
pub async fn catch_up(state: &AppState) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let s = state.clone();
        let lag = app::blocking(move || -> anyhow::Result<i64> {
            s.search.catch_up(&s.pool).map_err(|e| anyhow!("search index: {e}"))?;
            s.search.lag(&s.pool).map_err(|e| anyhow!("search index: {e}"))
        })
        .await?;
        if lag == 0 {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!("the search index is still {lag} outbox rows behind after 3 minutes");
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let s = state.clone();
    app::blocking(move || -> anyhow::Result<()> {
        let m = s.matcher.get(&s.pool).map_err(|e| anyhow!("matcher: {e}"))?;
        m.catch_up(&s.pool).map_err(|e| anyhow!("matcher: {e}"))?;
        Ok(())
    })
    .await
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

/// Run the chain once against `base` (this process's own server) and build the tour.
pub async fn run(state: &AppState, base: &str, g: &Generated, ring: &mut Keyring) -> anyhow::Result<Tour> {
    catch_up(state).await?;
    let http = Http { client: reqwest::Client::new(), base: base.trim_end_matches('/').to_owned() };
    let admin = db(state, |c| ring.key_for(c, g.admin_org))?;
    let mut steps = Vec::new();
    let mut fig = Figures::default();

    // 1. Search.
    let q = "焊工";
    let (cmd, v) =
        http.call("GET", &format!("/v1/jobs/search?q={}&limit=5", encode(q)), &admin, Body::None, None).await?;
    fig.search_total = v["total"].as_u64().unwrap_or(0) as usize;
    let mut found =
        vec![format!("{} open jobs match {q} (电焊工, 焊接工 … are synonyms); the first:", fig.search_total)];
    for h in v["hits"].as_array().into_iter().flatten().take(3) {
        let j = &h["job"];
        found.push(format!(
            "  {} · {} · {}–{} 元/月",
            s(&j["title"]),
            s(&j["work_county_name"]),
            j["wage_min"],
            j["wage_max"]
        ));
    }
    steps.push(Step { title: format!("Search jobs in Chinese: {q}"), commands: vec![cmd], found });

    // 2. Candidates for a Guangdong job posted by a cooperation team, as its poster sees them.
    let (cmd_gd, v) = http
        .call(
            "GET",
            &format!("/v1/jobs/search?q={}&cross_province=true&limit=20", encode("普工")),
            &admin,
            Body::None,
            None,
        )
        .await?;
    let teams: Vec<Uuid> = g
        .world
        .orgs
        .iter()
        .filter(|o| o.kind == domain::OrgKind::CoopTeam)
        .filter_map(|o| ring.keys.iter().find(|k| k.name == o.name).map(|k| k.org_id))
        .collect();
    let team_ids: Vec<Uuid> = if teams.is_empty() {
        db(state, |c| {
            Ok(store::orgs::list(c, Some(domain::OrgKind::CoopTeam), None, 100)
                .map_err(|e| anyhow!("{e}"))?
                .into_iter()
                .map(|o| o.id)
                .collect())
        })?
    } else {
        teams
    };
    let hits: Vec<Value> = v["hits"].as_array().cloned().unwrap_or_default();
    let job = hits
        .iter()
        .map(|h| &h["job"])
        .find(|j| j["org_id"].as_str().and_then(|s| Uuid::parse_str(s).ok()).is_some_and(|o| team_ids.contains(&o)))
        .or_else(|| hits.first().map(|h| &h["job"]))
        .cloned()
        .ok_or_else(|| anyhow!("no open job in Guangdong was found to rank candidates for"))?;
    let job_id = s(&job["id"]);
    let poster = job["org_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| anyhow!("a job without its poster"))?;
    let poster_key = db(state, |c| ring.key_for(c, poster))?;
    let (cmd, v) =
        http.call("GET", &format!("/v1/jobs/{job_id}/candidates?limit=5"), &poster_key, Body::None, None).await?;
    let items = v["items"].as_array().cloned().unwrap_or_default();
    fig.candidates = items.len();
    let mut found = vec![format!(
        "{} · {} ({}), as its poster {} sees the candidates: opaque ids, job-fit reasons only",
        s(&job["title"]),
        s(&job["work_county_name"]),
        s(&job["org_name"]),
        s(&job["org_name"])
    )];
    for c in items.iter().take(3) {
        let reasons: Vec<String> = c["reasons"].as_array().into_iter().flatten().map(|r| s(&r["text"])).collect();
        found.push(format!("  {} score {} — {}", s(&c["worker_id"]), c["score"], reasons.join("；")));
    }
    steps.push(Step {
        title: "Rank candidates for a Guangdong job, with reasons".into(),
        commands: vec![cmd_gd, cmd],
        found,
    });

    // 3. Offers: the chat worker first, then every open job at once, then one job by hand.
    let demo = g.demo_worker;
    let (_, rec) =
        http.call("GET", &format!("/v1/workers/{demo}/job-recommendations?limit=3"), &admin, Body::None, None).await?;
    for r in rec["items"].as_array().into_iter().flatten().take(2) {
        let body = json!({"worker_ids": [demo]});
        let (_, o) =
            http.call("POST", &format!("/v1/jobs/{}/offers", s(&r["job_id"])), &admin, Body::Json(&body), None).await?;
        fig.offers_for_demo_worker += o["items"].as_array().map(Vec::len).unwrap_or(0);
    }
    let body = json!({"count": 3});
    let (cmd_offer, o) =
        http.call("POST", &format!("/v1/jobs/{job_id}/offers"), &poster_key, Body::Json(&body), None).await?;
    fig.offers_for_one_job = o["items"].as_array().map(Vec::len).unwrap_or(0);
    let s2 = state.clone();
    let admin_org = g.admin_org;
    let plan = app::blocking(move || -> anyhow::Result<app::matching::PlanOutcome> {
        let m = s2.matcher.get(&s2.pool).map_err(|e| anyhow!("{e}"))?;
        m.catch_up(&s2.pool).map_err(|e| anyhow!("{e}"))?;
        let mut conn = s2.pool.get().map_err(|e| anyhow!("{e}"))?;
        let actor = Actor { org_id: Some(admin_org), key_id: None, request_id: Some("demo-plan".into()) };
        app::matching::plan_all(&m, &mut conn, 1, false, &actor, &mut |_, _| {}).map_err(|e| anyhow!("{e}"))
    })
    .await?;
    fig.plan =
        PlanFigures { jobs: plan.jobs, planned: plan.planned, written: plan.written, households: plan.households };
    let (cmd_list, l) = http.call("GET", "/v1/offers?status=queued&limit=5", &admin, Body::None, None).await?;
    let _ = l;
    steps.push(Step {
        title: "Plan offers and queue them for the bot".into(),
        commands: vec![cmd_offer, cmd_list],
        found: vec![
            format!(
                "province-wide plan over {} open jobs: {} offers planned, {} queued, {} zero-employment households reached first \
                 (repeat: target/debug/qianlink plan-offers --dry-run)",
                plan.jobs, plan.planned, plan.written, plan.households
            ),
            format!("the poster asked for 3 offers for its job: {} queued (each worker's caps: 3 open offers, 5 a week)", fig.offers_for_one_job),
            format!("{} offers queued for the chat worker (played with `make chat`, below)", fig.offers_for_demo_worker),
        ],
    });

    // 4. The milestone scan as of the end of the plan.
    let as_of = world::as_of();
    let (cmd_scan, scan) =
        http.call("POST", &format!("/v1/milestones/scan?as_of={as_of}"), &admin, Body::None, None).await?;
    fig.scan = scan.clone();
    let (cmd_events, ev) =
        http.call("GET", "/v1/subsidy-events?rule_id=follow_up_service&limit=3", &admin, Body::None, None).await?;
    let first = ev["items"].as_array().and_then(|a| a.first()).map(|e| s(&e["id"]));
    let mut found = vec![format!(
        "as of {as_of}: {} placements, {} graduates, {} trainings scanned; {} events created now, {} claims blocked (once per person), {} placements need review",
        scan["placements_scanned"],
        scan["workers_scanned"],
        scan["trainings_scanned"],
        scan["events_created"],
        scan["blocked_claims"],
        scan["needs_review"]
    )];
    for (rule, n) in scan["created_by_rule"].as_object().into_iter().flatten() {
        found.push(format!("  {rule}: {n}"));
    }
    fig.events_total = db(state, |c| {
        Ok(store::subsidies::events(c, &store::subsidies::EventFilter { limit: 1_000_000, ..Default::default() })
            .map_err(|e| anyhow!("{e}"))?
            .len())
    })?;
    let mut commands = vec![cmd_scan, cmd_events];
    if let Some(id) = first {
        let (cmd_one, e) = http.call("GET", &format!("/v1/subsidy-events/{id}"), &admin, Body::None, None).await?;
        fig.explained_event = Uuid::parse_str(&id).ok();
        found.push(format!(
            "one event explained: {} v{}, {} 元 to the {} (deciding date {}); its trace:",
            s(&e["rule_id"]),
            e["rule_version"],
            e["amount"],
            s(&e["payee_kind"]),
            s(&e["deciding_date"])
        ));
        for line in trace_lines(&e["trace"]).into_iter().take(8) {
            found.push(format!("  {line}"));
        }
        commands.push(cmd_one);
    }
    steps.push(Step {
        title: format!("The milestone scan as of {as_of}: subsidy events, each explained"),
        commands,
        found,
    });

    // 5. The monitoring report of December 2024 and its workbook.
    let period = "2024-12";
    let (cmd_rep, rep) =
        http.call("GET", &format!("/v1/monitoring-rounds/{period}/report"), &admin, Body::None, None).await?;
    let (cmd_x, x) = http
        .call(
            "GET",
            &format!("/v1/monitoring-rounds/{period}/report.xlsx"),
            &admin,
            Body::None,
            Some("report-2024-12.xlsx"),
        )
        .await?;
    let zero = rep["zero_employment_households"].as_array().map(Vec::len).unwrap_or(0);
    let growth: Vec<&Value> = rep["income_growth"].as_array().into_iter().flatten().collect();
    let meets = growth.iter().filter(|g| g["meets_target"] == Value::Bool(true)).count();
    let found = vec![
        format!(
            "labour {}, employed {} (rate {}), {} zero-employment households, {} returning labour, {} respondents (rate {})",
            rep["labour"],
            rep["employed"],
            rep["employment_rate"],
            zero,
            rep["returning_labour"].as_array().map(Vec::len).unwrap_or(0),
            rep["respondents"],
            rep["response_rate"]
        ),
        format!(
            "income median {} 元, mean {} 元; {} of {} counties reach +15 % against 2023-12",
            s(&rep["income_median"]),
            s(&rep["income_mean"]),
            meets,
            growth.len()
        ),
        format!("workbook: {} bytes (.xlsx with native charts)", x["bytes"]),
    ];
    fig.report = rep;
    steps.push(Step {
        title: format!("The monitoring report of {period} and its workbook"),
        commands: vec![cmd_rep, cmd_x],
        found,
    });

    // 6. The consolidated demand list.
    let year = world::DEMAND_YEAR;
    let (cmd_d, d) =
        http.call("GET", &format!("/v1/demand-lists/{year}/consolidated"), &admin, Body::None, None).await?;
    let mut found = vec![format!(
        "{} teams submitted, {} not; {} items",
        d["teams_submitted"].as_array().map(Vec::len).unwrap_or(0),
        d["teams_not_submitted"].as_array().map(Vec::len).unwrap_or(0),
        d["items"].as_array().map(Vec::len).unwrap_or(0)
    )];
    for (kind, t) in d["by_kind"].as_object().into_iter().flatten() {
        found.push(format!(
            "  {kind}: {} items, {} expected jobs, headcount {}, investment {} 元, funding {} 元",
            t["items"], t["expected_jobs"], t["headcount"], t["investment_cny"], t["funding_cny"]
        ));
    }
    fig.consolidated = d;
    steps.push(Step {
        title: format!("The cooperation teams' consolidated demand list for {year}"),
        commands: vec![cmd_d],
        found,
    });

    Ok(Tour { base: http.base.clone(), steps, chat_phone: g.demo_phone.clone(), figures: fig })
}

/// A trace as readable lines: each condition with its actual value, then the evidence.
pub fn trace_lines(t: &Value) -> Vec<String> {
    fn walk(c: &Value, out: &mut Vec<String>) {
        for key in ["all", "any"] {
            if let Some(parts) = c[key].as_array() {
                for p in parts {
                    walk(p, out);
                }
                return;
            }
        }
        if !c["not"].is_null() {
            walk(&c["not"], out);
        } else if !c["fact"].is_null() {
            out.push(format!(
                "{} {} {}: actual {} → {}",
                s(&c["fact"]),
                s(&c["op"]),
                s(&c["value"]),
                s(&c["actual"]),
                if c["result"] == Value::Bool(true) { "yes" } else { "no" }
            ));
        }
    }
    let mut out = Vec::new();
    walk(&t["condition"], &mut out);
    if let Some(ev) = t["evidence"].as_array() {
        let sources: std::collections::BTreeSet<String> = ev.iter().map(|e| s(&e["source"])).collect();
        out.push(format!("evidence: {} rows ({})", ev.len(), sources.into_iter().collect::<Vec<_>>().join(", ")));
    }
    if out.is_empty() {
        out.push(t.to_string().chars().take(300).collect());
    }
    out
}

/// The tour as a terminal text.
pub fn render(t: &Tour) -> String {
    let mut out = String::new();
    out.push_str("\n黔联 Qianlink demo — the chain, run once. Paste any command to repeat a step.\n");
    for (i, st) in t.steps.iter().enumerate() {
        out.push_str(&format!("\n{}. {}\n", i + 1, st.title));
        for f in &st.found {
            out.push_str(&format!("   {f}\n"));
        }
        for c in &st.commands {
            out.push_str(&format!("   $ {c}\n"));
        }
    }
    out.push_str(&format!(
        "\n{}. Play a worker in the terminal (the bot's conversation core, without Telegram): bind, receive the queued offers, \
         accept one, answer this month's check-in\n   $ make chat PHONE={}\n",
        t.steps.len() + 1,
        t.chat_phone
    ));
    out.push_str(
        "\nThe commands are also in .local/tour.sh; scripts/tour-check.sh runs each and fails on any non-2xx.\n",
    );
    out
}

/// The tour as a script: one command a line, comments for the rest.
pub fn script(t: &Tour) -> String {
    let mut out = String::from(
        "# The tour printed by `qianlink demo` (keys of this machine's demo: keep this file private).\n\
         # scripts/tour-check.sh runs every curl line and fails on any non-2xx answer.\n",
    );
    for (i, st) in t.steps.iter().enumerate() {
        out.push_str(&format!("\n# {}. {}\n", i + 1, st.title));
        for c in &st.commands {
            out.push_str(c);
            out.push('\n');
        }
    }
    out.push_str(&format!("\n# {}. In a terminal: make chat PHONE={}\n", t.steps.len() + 1, t.chat_phone));
    out
}
