//! Command line and configuration. Every setting is a flag with an
//! environment-variable equivalent, validated before anything starts.

use anyhow::{Context, anyhow, bail};
use app::{LogFormat, Settings};
use clap::{Args, Parser, Subcommand, ValueEnum};
use domain::OrgKind;
use store::vault::Vault;

#[derive(Parser, Debug)]
#[command(
    name = "qianlink",
    version,
    about = "黔联 Qianlink: jobs, placements and subsidies for Guizhou's relocated workers"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Migrate the database, then serve the API (and, later, the bot and schedulers).
    Serve(ServeArgs),
    /// Run the database migrations and load the reference data.
    Migrate(DbArgs),
    /// Check that PostgreSQL and Redis answer, and say how to fix what does not.
    Check(ServiceArgs),
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Print a new random data key for QIANLINK_DATA_KEY.
    GenKey,
    /// Run the milestone scan: write the subsidy events due as of a date (once each).
    Scan(ScanArgs),
    /// Plan offers across all open jobs at once: zero-employment households first, within each worker's caps.
    PlanOffers(PlanArgs),
    /// Rebuild the search index from PostgreSQL.
    Reindex(ReindexArgs),
    /// Print a monitoring round's report (JSON), as the API serves it.
    Report(ReportArgs),
    /// Generate the demo province once (into an empty database), run the chain once, print the tour, then serve.
    Demo(DemoArgs),
    /// Play a worker in the terminal through the bot's conversation core (no Telegram).
    Chat(ChatArgs),
}

#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    serve: ServeArgs,
    /// Seed of the generated province (the same seed gives the same province).
    #[arg(long, env = "QIANLINK_DEMO_SEED", default_value_t = 20241231)]
    seed: u64,
    /// Households to generate (about two workers each; organisations and jobs stay at the full size).
    #[arg(long, env = "QIANLINK_DEMO_HOUSEHOLDS", default_value_t = 2500)]
    households: usize,
    /// Where the tour's commands are written (private: it holds keys).
    #[arg(long, default_value = ".local/tour.sh")]
    tour_file: std::path::PathBuf,
    /// Where the demo organisations' API keys are kept between runs (private).
    #[arg(long, default_value = ".local/demo-keys.json")]
    keys_file: std::path::PathBuf,
    /// Generate (or find) the province, then stop: no chain, no server (for timing it).
    #[arg(long)]
    generate_only: bool,
}

#[derive(Args, Debug)]
struct ChatArgs {
    #[command(flatten)]
    services: ServiceArgs,
    /// 32-byte key (64 hex characters) the ledger's phone numbers are hashed with.
    #[arg(long, env = "QIANLINK_DATA_KEY", hide_env_values = true)]
    data_key: Option<String>,
    /// Prefix of every Redis key (the dialogue state lives in Redis).
    #[arg(long, env = "QIANLINK_REDIS_PREFIX", default_value = "qianlink:")]
    redis_prefix: String,
    /// The worker's phone number, shared with the bot as their own contact.
    #[arg(long)]
    phone: String,
}

#[derive(Args, Debug)]
struct ReportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// The round, YYYY-MM.
    #[arg(long)]
    period: String,
    /// One county (default: the province).
    #[arg(long)]
    county: Option<String>,
}

#[derive(Args, Debug)]
struct ReindexArgs {
    #[command(flatten)]
    db: DbArgs,
    #[arg(long, env = "QIANLINK_INDEX_DIR", default_value = ".local/index")]
    index_dir: std::path::PathBuf,
}

#[derive(Args, Debug)]
struct PlanArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Offers wanted per job, as a multiple of its free openings.
    #[arg(long, default_value_t = 1)]
    per_opening: usize,
    /// Plan but write nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args, Debug)]
struct ScanArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Scan as of this date (YYYY-MM-DD); default today in Asia/Shanghai.
    #[arg(long)]
    as_of: Option<chrono::NaiveDate>,
}

#[derive(Subcommand, Debug)]
enum AdminCommand {
    /// Create an API key for an organisation (created if missing) and print it once.
    CreateKey(CreateKeyArgs),
}

#[derive(Args, Debug)]
struct DbArgs {
    /// PostgreSQL URL, e.g. postgres://postgres@127.0.0.1:55432/qianlink
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
}

#[derive(Args, Debug)]
struct ServiceArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Redis URL, e.g. redis://127.0.0.1:56379
    #[arg(long, env = "REDIS_URL")]
    redis_url: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[command(flatten)]
    services: ServiceArgs,
    /// Address to listen on.
    #[arg(long, env = "QIANLINK_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Log format: text or json.
    #[arg(long, env = "QIANLINK_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormatArg,
    /// 32-byte key (64 hex characters) that encrypts ID and phone numbers at rest.
    #[arg(long, env = "QIANLINK_DATA_KEY", hide_env_values = true)]
    data_key: Option<String>,
    /// When set, an admin key with this value exists after start.
    #[arg(long, env = "QIANLINK_BOOTSTRAP_ADMIN_KEY", hide_env_values = true)]
    bootstrap_admin_key: Option<String>,
    /// Prefix of every Redis key this deployment writes.
    #[arg(long, env = "QIANLINK_REDIS_PREFIX", default_value = "qianlink:")]
    redis_prefix: String,
    /// PostgreSQL connections in the pool.
    #[arg(long, env = "QIANLINK_DB_POOL_SIZE", default_value_t = 16)]
    db_pool_size: u32,
    /// HTTP worker threads (0: one per core).
    #[arg(long, env = "QIANLINK_HTTP_WORKERS", default_value_t = 0)]
    http_workers: usize,
    /// Requests per second allowed per API key (shared through Redis).
    #[arg(long, env = "QIANLINK_RATE_LIMIT", default_value_t = 100)]
    rate_limit: u32,
    /// This process's search index (each API process keeps its own copy).
    #[arg(long, env = "QIANLINK_INDEX_DIR", default_value = ".local/index")]
    index_dir: std::path::PathBuf,
    /// Telegram bot token; without it the bot is disabled.
    #[arg(long, env = "TELOXIDE_TOKEN", hide_env_values = true)]
    telegram_token: Option<String>,
    /// Telegram Bot API base URL (a local fake server for tests and local runs).
    #[arg(long, env = "QIANLINK_TELEGRAM_API_URL")]
    telegram_api_url: Option<String>,
    /// Bot messages per second overall, shared by all processes through Redis.
    #[arg(long, env = "QIANLINK_BOT_RATE", default_value_t = 25)]
    bot_rate: u32,
    /// Webhook mode: the public URL Telegram posts updates to (default: long polling).
    #[arg(long, env = "QIANLINK_TELEGRAM_WEBHOOK_URL")]
    telegram_webhook_url: Option<String>,
    /// Webhook mode: the local address the webhook listener binds.
    #[arg(long, env = "QIANLINK_TELEGRAM_WEBHOOK_LISTEN", default_value = "127.0.0.1:8443")]
    telegram_webhook_listen: String,
}

#[derive(Args, Debug)]
struct CreateKeyArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Organisation name; created when missing.
    #[arg(long)]
    org: String,
    /// Organisation kind: admin, county_office, employer, industrial_park, broker, coop_team.
    #[arg(long)]
    kind: String,
    /// County code, for a county office.
    #[arg(long)]
    county: Option<String>,
    /// The person the key is issued to.
    #[arg(long, default_value = "command line")]
    issued_to: String,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Migrate(args) => {
            let applied = migrate(&args.database_url)?;
            println!("migrations applied: {}; reference data loaded", applied.len());
            Ok(())
        }
        Command::Check(args) => check(&args),
        Command::Admin(AdminCommand::CreateKey(args)) => create_key(args),
        Command::Scan(args) => {
            let mut conn = connect(&args.db.database_url)?;
            let as_of = args.as_of.unwrap_or_else(|| domain::calendar::today_in_china(chrono::Utc::now()));
            eprintln!("scanning placements, graduates and training records as of {as_of} ...");
            let r = store::subsidies::scan(&mut conn, as_of, 2000).map_err(|e| anyhow!("{e}"))?;
            println!(
                "as of {as_of}: {} placements, {} graduates, {} trainings scanned; {} events created, {} claims blocked, {} placements need review",
                r.placements_scanned,
                r.workers_scanned,
                r.trainings_scanned,
                r.events_created,
                r.blocked_claims,
                r.needs_review
            );
            for (rule, n) in r.created_by_rule {
                println!("  {rule}: {n}");
            }
            Ok(())
        }
        Command::PlanOffers(args) => plan_offers(args),
        Command::Demo(args) => demo(args),
        Command::Chat(args) => chat(args),
        Command::Report(args) => {
            let period = domain::calendar::YearMonth::parse(&args.period).map_err(|e| anyhow!("--period {e}"))?;
            let mut conn = connect(&args.db.database_url)?;
            let mut side = connect(&args.db.database_url)?;
            let started = std::time::Instant::now();
            let r = store::monitoring::report(&mut conn, Some(&mut side), period, args.county.as_deref(), None, 5000)
                .map_err(|e| anyhow!("{e}"))?;
            eprintln!("report computed in {:.2} s", started.elapsed().as_secs_f64());
            println!(
                "{}",
                serde_json::json!({
                    "period": r.period, "labour": r.labour, "employed": r.employed, "employment_rate": r.employment_rate,
                    "by_destination": r.by_destination, "income_median": r.income_median, "income_mean": r.income_mean,
                    "zero_employment_households": r.zero_employment_households.len(), "respondents": r.respondents,
                    "returning_labour": r.returning_labour.len(), "previous": r.previous,
                })
            );
            Ok(())
        }
        Command::Reindex(args) => {
            connect(&args.db.database_url)?;
            let pool = store::pool(&args.db.database_url, 2).map_err(|e| anyhow!("{e}"))?;
            let indexer = app::indexing::Indexer::open(&args.index_dir).map_err(|e| anyhow!("{e}"))?;
            let total = {
                let mut conn = pool.get().map_err(|e| anyhow!("{e}"))?;
                store::jobs::count_all(&mut conn).unwrap_or(0)
            };
            let started = std::time::Instant::now();
            let n = indexer
                .rebuild(&pool, &|done| {
                    let pct = if total > 0 { done as f64 * 100.0 / total as f64 } else { 100.0 };
                    let bar = "#".repeat((pct / 5.0) as usize);
                    eprint!("\rreindexing [{bar:<20}] {done}/{total} jobs ({pct:.0}%)");
                })
                .map_err(|e| anyhow!("{e}"))?;
            eprintln!();
            println!("{n} jobs indexed into {} in {:.1} s", args.index_dir.display(), started.elapsed().as_secs_f64());
            Ok(())
        }
        Command::GenKey => {
            println!("{}", Vault::generate_hex());
            Ok(())
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn connect(database_url: &str) -> anyhow::Result<diesel::PgConnection> {
    store::connect(database_url).map_err(|e| {
        anyhow!(
            "PostgreSQL at DATABASE_URL={} is unreachable ({}); start it with `make services` or fix DATABASE_URL",
            redact(database_url),
            first_line(&e.to_string())
        )
    })
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

fn migrate(database_url: &str) -> anyhow::Result<Vec<String>> {
    let mut conn = connect(database_url)?;
    store::migrate::run(&mut conn).map_err(|e| anyhow!("{e}"))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")
}

async fn ping_redis(url: &str) -> anyhow::Result<()> {
    let fail = |e: String| {
        anyhow!(
            "Redis at REDIS_URL={} is unreachable ({}); start it with `make services` or fix REDIS_URL",
            redact(url),
            e
        )
    };
    let handle = app::redis_handle::RedisHandle::new(url, "");
    let fut = async {
        let mut c = handle
            .patient_manager(std::time::Duration::from_secs(2))
            .await
            .map_err(|e| redis::RedisError::from((redis::ErrorKind::Io, "redis is unreachable", e.to_string())))?;
        redis::cmd("PING").query_async::<String>(&mut c).await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), fut).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(fail(first_line(&e.to_string()).to_owned())),
        Err(_) => Err(fail("timed out".into())),
    }
}

fn check(args: &ServiceArgs) -> anyhow::Result<()> {
    let pg = connect(&args.db.database_url).map(|_| ());
    let redis = runtime()?.block_on(ping_redis(&args.redis_url));
    let mut failed = false;
    match &pg {
        Ok(()) => println!("PostgreSQL: ok ({})", redact(&args.db.database_url)),
        Err(e) => {
            failed = true;
            println!("PostgreSQL: {e}")
        }
    }
    match &redis {
        Ok(()) => println!("Redis: ok ({})", redact(&args.redis_url)),
        Err(e) => {
            failed = true;
            println!("Redis: {e}")
        }
    }
    if failed {
        bail!("some services are unreachable");
    }
    Ok(())
}

fn vault(data_key: Option<&str>) -> anyhow::Result<Vault> {
    let key = data_key.ok_or_else(|| {
        anyhow!("QIANLINK_DATA_KEY is not set: it encrypts ID numbers at rest. Make one with `qianlink gen-key` and keep it safe (`make demo` makes a local one)")
    })?;
    Vault::from_hex(key).map_err(|e| anyhow!("QIANLINK_DATA_KEY: {e}"))
}

fn settings(args: &ServeArgs) -> anyhow::Result<Settings> {
    let vault = vault(args.data_key.as_deref())?;
    if let Some(k) = &args.bootstrap_admin_key
        && k.len() < 16
    {
        bail!("QIANLINK_BOOTSTRAP_ADMIN_KEY must be at least 16 characters");
    }
    if args.rate_limit == 0 {
        bail!("QIANLINK_RATE_LIMIT must be at least 1 request per second");
    }
    let mut s = Settings::local(args.services.db.database_url.clone(), args.services.redis_url.clone(), vault);
    s.bind = args.bind.clone();
    s.bootstrap_admin_key = args.bootstrap_admin_key.clone();
    s.redis_prefix = args.redis_prefix.clone();
    s.db_pool_size = args.db_pool_size.max(1);
    s.http_workers = if args.http_workers == 0 {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
    } else {
        args.http_workers
    };
    s.rate_limit_per_second = args.rate_limit;
    s.index_dir = args.index_dir.clone();
    s.scan_interval = Some(std::time::Duration::from_secs(24 * 3600));
    if args.bot_rate == 0 {
        bail!("QIANLINK_BOT_RATE must be at least 1 message per second");
    }
    s.telegram_token = args.telegram_token.clone().filter(|t| !t.trim().is_empty()).map(app::settings::BotToken);
    // Empty means unset (api.telegram.org), as for the token and the webhook URL: an
    // `QIANLINK_TELEGRAM_API_URL=` left in an env file must not stop the server.
    s.telegram_api_url = args.telegram_api_url.clone().filter(|u| !u.trim().is_empty());
    if let Some(url) = &s.telegram_api_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        bail!("QIANLINK_TELEGRAM_API_URL must be an http:// or https:// URL (or empty for api.telegram.org)");
    }
    s.bot_rate = args.bot_rate;
    s.telegram_webhook_url = args.telegram_webhook_url.clone().filter(|u| !u.trim().is_empty());
    s.telegram_webhook_listen = args.telegram_webhook_listen.clone();
    if let Some(url) = &s.telegram_webhook_url {
        bot::webhook::WebhookConfig::parse(url, &s.telegram_webhook_listen).map_err(anyhow::Error::msg)?;
    }
    Ok(s)
}

/// Every loop of a serving process, started here and only here: the app's
/// background loops (index and matcher catch-up, outbox relay, webhook
/// deliveries, milestone scan, housekeeping) and the Telegram adapter's own
/// (long polling or the webhook, `getMe` probe, dispatcher).
async fn start_loops(state: &api::state::AppState) -> anyhow::Result<Option<bot::telegram::BotHandle>> {
    app::tasks::spawn(state.services.clone());
    start_bot(state).await
}

/// Start the Telegram bot (long polling and the dispatcher) when a token is set.
async fn start_bot(state: &api::state::AppState) -> anyhow::Result<Option<bot::telegram::BotHandle>> {
    let Some(token) = state.settings.telegram_token.clone() else {
        tracing::warn!("TELOXIDE_TOKEN is not set: the Telegram bot is disabled");
        return Ok(None);
    };
    let webhook = match &state.settings.telegram_webhook_url {
        Some(url) => Some(
            bot::webhook::WebhookConfig::parse(url, &state.settings.telegram_webhook_listen)
                .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let cfg = bot::telegram::TelegramConfig {
        token: token.0,
        api_url: state.settings.telegram_api_url.clone(),
        webhook,
        dispatch: bot::dispatch::DispatchConfig { rate: state.settings.bot_rate, ..Default::default() },
        backoff: bot::telegram::Backoff::default(),
    };
    let handle = bot::telegram::start(state.services.clone(), cfg).await?;
    let mode = if state.settings.telegram_webhook_url.is_some() { "webhook" } else { "long polling" };
    tracing::info!(
        rate = state.settings.bot_rate,
        mode,
        "Telegram bot started (it waits for Telegram in the background when it does not answer)"
    );
    Ok(Some(handle))
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let settings = settings(&args)?;
    api::telemetry::init(match args.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    });
    let applied = migrate(&settings.database_url)?;
    tracing::info!(applied = applied.len(), "database migrated");
    runtime()?.block_on(async move {
        if let Err(e) = ping_redis(&settings.redis_url).await {
            tracing::warn!("{e}; serving without Redis until it answers");
        }
        let app = api::Application::build(settings).await?;
        let _bot = start_loops(app.state()).await?;
        tracing::info!(port = app.port(), "serving");
        println!(
            "Qianlink is serving on http://{}:{}  (health: /healthz, readiness: /readyz, metrics: /metrics)",
            args.bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1"),
            app.port()
        );
        app.run_until_stopped().await.context("the HTTP server stopped")
    })
}

fn create_key(args: CreateKeyArgs) -> anyhow::Result<()> {
    let kind = OrgKind::parse(&args.kind).ok_or_else(|| {
        anyhow!("--kind must be one of admin, county_office, employer, industrial_park, broker, coop_team")
    })?;
    if kind.needs_county() != args.county.is_some() {
        bail!("--county is required for a county_office and only for it");
    }
    let mut conn = connect(&args.db.database_url)?;
    let (org, key) =
        store::orgs::create_org_and_key(&mut conn, &args.org, kind, args.county.as_deref(), &args.issued_to)
            .map_err(|e| anyhow!("{e}"))?;
    println!("organisation: {} ({}, {})", org.name, org.kind, org.id);
    println!("key id: {}", key.info.id);
    println!("key (shown once): {}", key.secret);
    Ok(())
}

fn plan_offers(args: PlanArgs) -> anyhow::Result<()> {
    let pool = store::pool(&args.db.database_url, 2).map_err(|e| anyhow!("{e}"))?;
    connect(&args.db.database_url)?;
    let started = std::time::Instant::now();
    eprintln!("loading the candidate store ...");
    let m = app::matching::Matcher::load(&pool).map_err(|e| anyhow!("{e}"))?;
    let mut conn = pool.get().map_err(|e| anyhow!("{e}"))?;
    eprintln!(
        "{} workers loaded ({:.1} s); ranking every open job ...",
        m.store.read().map(|s| s.len()).unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    let outcome = app::matching::plan_all(
        &m,
        &mut conn,
        args.per_opening,
        args.dry_run,
        &store::audit::Actor::system(),
        &mut |written, total| eprint!("\rwritten {written} / {total} offers"),
    )
    .map_err(|e| anyhow!("{e}"))?;
    eprintln!();
    eprintln!(
        "{} open jobs with free openings; planned {} offers ({} zero-employment households reached) in {:.1} s",
        outcome.jobs,
        outcome.planned,
        outcome.households,
        started.elapsed().as_secs_f64()
    );
    if args.dry_run {
        println!("dry run: {} offers planned, none written", outcome.planned);
    } else {
        println!("{} offers queued in {:.1} s", outcome.written, started.elapsed().as_secs_f64());
    }
    Ok(())
}

/// The address to give curl for a bind address (`0.0.0.0` → `127.0.0.1`).
fn local_base(bind: &str, port: u16) -> String {
    let host = bind.rsplit_once(':').map(|(h, _)| h).unwrap_or("127.0.0.1");
    let host = if host == "0.0.0.0" || host.is_empty() || host == "[::]" { "127.0.0.1" } else { host };
    format!("http://{host}:{port}")
}

fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let mut settings = settings(&args.serve)?;
    // The demo's clock is the end of the plan: the scan runs as of 2024-12-31 in the
    // tour, and the daily scan as of today (which `serve` runs) stays off.
    settings.scan_interval = None;
    api::telemetry::init(match args.serve.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    });
    let applied = migrate(&settings.database_url)?;
    eprintln!("demo: database migrated ({} migrations applied now); reference data loaded", applied.len());
    let spec = demo::Spec { households: args.households.max(10), ..demo::Spec::full(args.seed) };
    eprintln!(
        "demo: seed {}: generating the demo province through the store, unless this database holds it already ...",
        spec.seed
    );
    let g = demo::generate(&settings.database_url, &settings.vault, &spec, &mut |line| eprintln!("  {line}"))?;
    if g.fresh {
        eprintln!("demo: generated in {:.1} s", g.counts.seconds);
        demo::chain::Keyring::with(g.keys.clone(), Some(&args.keys_file)).save()?;
        eprintln!("demo: {} API keys written to {} (private)", g.keys.len(), args.keys_file.display());
    }
    if args.generate_only {
        eprintln!(
            "demo: {} (--generate-only: no chain, no server)",
            if g.fresh { format!("generated in {:.1} s", g.counts.seconds) } else { "already generated".into() }
        );
        return Ok(());
    }
    let mut ring = if g.fresh {
        demo::chain::Keyring::with(g.keys.clone(), Some(&args.keys_file))
    } else {
        eprintln!(
            "demo: this database already holds the demo province (seed {}, {} workers, generated in {:.1} s): nothing is written twice",
            g.spec.seed, g.counts.workers, g.counts.seconds
        );
        demo::chain::Keyring::load(Some(&args.keys_file))
    };
    // This process's index is rebuilt from this database (it may hold another database's jobs).
    let pool = store::pool(&settings.database_url, 2).map_err(|e| anyhow!("{e}"))?;
    let n = app::indexing::Indexer::open(&settings.index_dir)
        .and_then(|i| i.rebuild(&pool, &|_| {}))
        .map_err(|e| anyhow!("{e}"))?;
    drop(pool);
    eprintln!("demo: search index rebuilt in {}: {n} jobs", settings.index_dir.display());
    let tour_file = args.tour_file.clone();
    runtime()?.block_on(async move {
        if let Err(e) = ping_redis(&settings.redis_url).await {
            tracing::warn!("{e}; serving without Redis until it answers");
        }
        let bind = settings.bind.clone();
        let app = api::Application::build(settings).await?;
        let _bot = start_loops(app.state()).await?;
        let state = app.state().clone();
        let base = local_base(&bind, app.port());
        let server = tokio::spawn(app.run_until_stopped());
        eprintln!("demo: running the chain once against {base} ...");
        let tour = demo::chain::run(&state, &base, &g, &mut ring).await?;
        if let Some(dir) = tour_file.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        }
        demo::chain::write_private(&tour_file, demo::chain::script(&tour).as_bytes())?;
        println!("{}", demo::chain::render(&tour));
        tracing::info!(port = state.settings.bind.as_str(), "serving");
        println!(
            "Qianlink is serving on {base}  (health: /healthz, readiness: /readyz, metrics: /metrics, API docs: /docs/)"
        );
        server.await.context("the HTTP server task failed")?.context("the HTTP server stopped")
    })
}

fn chat(args: ChatArgs) -> anyhow::Result<()> {
    let phone = domain::Phone::parse(&args.phone)
        .map_err(|_| anyhow!("--phone must be an 11-digit mainland mobile number such as 13812345678"))?;
    let vault = vault(args.data_key.as_deref())?;
    connect(&args.services.db.database_url)?;
    let mut s = Settings::local(args.services.db.database_url.clone(), args.services.redis_url.clone(), vault);
    s.redis_prefix = args.redis_prefix;
    s.db_pool_size = 2;
    s.index_dir = std::env::temp_dir().join(format!("qianlink-chat-index-{}", std::process::id()));
    crate::chat::run(crate::chat::ChatConfig { settings: s, phone })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)] // test code
mod tests {
    use super::*;

    fn serve_settings(extra: &[&str]) -> anyhow::Result<Settings> {
        let key = "00".repeat(32);
        let mut argv = vec![
            "qianlink",
            "serve",
            "--database-url",
            "postgres://postgres@127.0.0.1:1/none",
            "--redis-url",
            "redis://127.0.0.1:1",
            "--data-key",
            &key,
        ];
        argv.extend_from_slice(extra);
        let cli = Cli::try_parse_from(argv).expect("arguments parse");
        let Command::Serve(args) = cli.command else { panic!("not serve") };
        settings(&args)
    }

    #[test]
    fn an_empty_telegram_api_url_means_the_default() {
        // Found while writing make chaos: an empty value (a bot switched off in an env file) stopped `serve`.
        let s = serve_settings(&["--telegram-api-url", ""]).expect("an empty URL is accepted");
        assert_eq!(s.telegram_api_url, None);
        let s = serve_settings(&["--telegram-api-url", "http://127.0.0.1:9/"]).expect("a URL is accepted");
        assert_eq!(s.telegram_api_url.as_deref(), Some("http://127.0.0.1:9/"));
        let e = serve_settings(&["--telegram-api-url", "api.telegram.org"]).expect_err("not a URL");
        assert!(e.to_string().contains("QIANLINK_TELEGRAM_API_URL"), "{e}");
    }
}
