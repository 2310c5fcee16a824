//! Validated configuration. The binary fills it from flags and environment
//! variables; tests fill it directly.

use store::vault::Vault;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub redis_url: String,
    /// `host:port`; port 0 picks a free port (tests).
    pub bind: String,
    pub vault: Vault,
    pub bootstrap_admin_key: Option<String>,
    /// Prefix of every Redis key this process writes (tests use one each).
    pub redis_prefix: String,
    pub db_pool_size: u32,
    pub http_workers: usize,
    /// Requests per second per API key, shared by all processes through Redis.
    pub rate_limit_per_second: u32,
    /// How often the daily milestone scan runs (None: never).
    pub scan_interval: Option<std::time::Duration>,
    /// This process's copy of the search index.
    pub index_dir: std::path::PathBuf,
    /// The workers' Telegram bot (#6): its token (`TELOXIDE_TOKEN`; none: the bot is disabled).
    pub telegram_token: Option<BotToken>,
    /// Bot API base URL (`QIANLINK_TELEGRAM_API_URL`; none: api.telegram.org).
    pub telegram_api_url: Option<String>,
    /// Bot messages per second overall, shared by all processes (`QIANLINK_BOT_RATE`).
    pub bot_rate: u32,
    /// Webhook mode: the public URL Telegram posts updates to
    /// (`QIANLINK_TELEGRAM_WEBHOOK_URL`; none: long polling).
    pub telegram_webhook_url: Option<String>,
    /// Webhook mode: the local address of the webhook listener (`QIANLINK_TELEGRAM_WEBHOOK_LISTEN`).
    pub telegram_webhook_listen: String,
}

/// A bot token: never printed, not even by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(pub String);

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(***)")
    }
}

impl Settings {
    /// Settings for a local run against the given services.
    pub fn local(database_url: String, redis_url: String, vault: Vault) -> Self {
        Self {
            database_url,
            redis_url,
            bind: "127.0.0.1:8080".into(),
            vault,
            bootstrap_admin_key: None,
            redis_prefix: "qianlink:".into(),
            db_pool_size: 16,
            http_workers: 2,
            rate_limit_per_second: 100,
            scan_interval: None,
            index_dir: ".local/index".into(),
            telegram_token: None,
            telegram_api_url: None,
            bot_rate: 25,
            telegram_webhook_url: None,
            telegram_webhook_listen: "127.0.0.1:8443".into(),
        }
    }
}
