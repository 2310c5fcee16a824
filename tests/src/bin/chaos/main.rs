//! `chaos`: the load client, checker, fault-injecting proxy and fake Telegram
//! server behind the fault scenarios of `scripts/chaos/*.sh` (`make chaos`,
//! docs/reliability.md). The scripts start and kill the processes (servers,
//! PostgreSQL, Redis); this tool speaks to them and judges the outcome, and
//! every checking subcommand exits non-zero when its invariant breaks.

mod load;
mod once;
mod proxy;
mod verify;
mod world;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "chaos", about = "Qianlink fault scenarios: load, checks, a chaos proxy, a fake Telegram")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the fake Telegram Bot API until killed; write its URL and token to --info (shell syntax).
    FakeTelegram {
        #[arg(long)]
        info: std::path::PathBuf,
    },
    /// Organisations, keys and workers (with bound Telegram chats) through the API.
    Setup(world::SetupArgs),
    /// Job posts, placements, monthly reports and offers; every 2xx write is recorded.
    Load(load::LoadArgs),
    /// Every acknowledged write is in PostgreSQL, and the outbox consumers caught up.
    Verify(verify::VerifyArgs),
    /// A TCP proxy that cuts connections at random (between the servers and PostgreSQL).
    Proxy(proxy::ProxyArgs),
    /// Exactly once: seed placements whose subsidies fall due, by plan.
    Seed(once::SeedArgs),
    /// Exactly once: scans from several servers at once, as of rising dates.
    ScanStorm(once::StormArgs),
    /// Exactly once: events in PostgreSQL and the stream against the plan.
    VerifyOnce(once::VerifyOnceArgs),
    /// Send a burst on one key and count 429s (the per-process limiter while Redis is down).
    Burst(load::BurstArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("chaos: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async move {
        match cli.command {
            Command::FakeTelegram { info } => world::fake_telegram(&info).await,
            Command::Setup(a) => world::setup(a).await,
            Command::Load(a) => load::run(a).await,
            Command::Verify(a) => verify::run(a).await,
            Command::Proxy(a) => proxy::run(a).await,
            Command::Seed(a) => once::seed(a).await,
            Command::ScanStorm(a) => once::storm(a).await,
            Command::VerifyOnce(a) => once::verify(a).await,
            Command::Burst(a) => load::burst(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chaos: {e:#}");
            ExitCode::FAILURE
        }
    }
}
