//! A fault-injecting TCP proxy, in the spirit of crates.io's chaos proxy:
//! every connection is piped to the upstream (PostgreSQL) and, while faults
//! are on, cut at a random moment (each connection lives an exponentially
//! distributed time) with a TCP reset on both sides, and some new
//! connections are refused outright. Faults are on while `--faults-file`
//! exists, so a script can seed through a healthy proxy first. Counts go to
//! `--stats` (JSON) twice a second.

use anyhow::Context;
use rand::Rng;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

#[derive(clap::Args, Debug)]
pub struct ProxyArgs {
    #[arg(long)]
    pub listen: String,
    #[arg(long)]
    pub upstream: String,
    /// Mean life of a connection while faults are on.
    #[arg(long, default_value_t = 1500)]
    pub mean_life_ms: u64,
    /// Share of new connections refused while faults are on.
    #[arg(long, default_value_t = 0.05)]
    pub refuse: f64,
    #[arg(long)]
    pub faults_file: PathBuf,
    #[arg(long)]
    pub stats: PathBuf,
}

#[derive(Default)]
struct Stats {
    accepted: AtomicU64,
    refused: AtomicU64,
    cut: AtomicU64,
    closed: AtomicU64,
}

fn life(mean_ms: u64) -> Duration {
    // Exponential: -ln(U) * mean.
    let u: f64 = rand::rng().random_range(f64::EPSILON..1.0);
    Duration::from_millis(((-u.ln()) * mean_ms as f64) as u64)
}

fn reset(s: &TcpStream) {
    // SO_LINGER 0: close() sends RST, as when a network path dies mid-stream.
    #[allow(deprecated)]
    let _ = s.set_linger(Some(Duration::ZERO));
}

async fn pipe(mut client: TcpStream, upstream: String, a: Arc<ProxyArgs>, stats: Arc<Stats>) {
    let faults = a.faults_file.exists();
    if faults && rand::rng().random_bool(a.refuse.clamp(0.0, 1.0)) {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        reset(&client);
        return;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        reset(&client);
        return;
    };
    stats.accepted.fetch_add(1, Ordering::Relaxed);
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let mean = a.mean_life_ms;
    let flags = a.faults_file.clone();
    // The cut: after a random life, once faults are on (checked every 100 ms).
    let cut = async move {
        let mut left = life(mean);
        loop {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if flags.exists() {
                left = left.saturating_sub(Duration::from_millis(100));
                if left.is_zero() {
                    return;
                }
            }
        }
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {
            stats.closed.fetch_add(1, Ordering::Relaxed);
        }
        _ = cut => {
            stats.cut.fetch_add(1, Ordering::Relaxed);
            reset(&client);
            reset(&server);
        }
    }
}

pub async fn run(a: ProxyArgs) -> anyhow::Result<()> {
    let listener = TcpListener::bind(&a.listen).await.with_context(|| format!("listening on {}", a.listen))?;
    let a = Arc::new(a);
    let stats = Arc::new(Stats::default());
    let (st, path) = (stats.clone(), a.stats.clone());
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let v = json!({
                "connections": st.accepted.load(Ordering::Relaxed),
                "refused": st.refused.load(Ordering::Relaxed),
                "cut": st.cut.load(Ordering::Relaxed),
                "closed_normally": st.closed.load(Ordering::Relaxed),
            });
            let _ = std::fs::write(&path, v.to_string());
        }
    });
    eprintln!("proxy: {} -> {} (faults while {} exists)", a.listen, a.upstream, a.faults_file.display());
    loop {
        let (client, _) = listener.accept().await.context("accept")?;
        tokio::spawn(pipe(client, a.upstream.clone(), a.clone(), stats.clone()));
    }
}
