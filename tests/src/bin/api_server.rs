//! A second API server process for the tests (#16): the same
//! `api::Application` as `qianlink serve`, configured from the environment
//! (`DATABASE_URL`, `REDIS_URL`, `QIANLINK_REDIS_PREFIX`), on a free port
//! that it prints as `port <n>` on its first line. No background loops, no
//! bot: what the tests ask of it is what another replica's requests see.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fixture

use std::io::Write;

#[tokio::main]
async fn main() {
    let var = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set"));
    let vault = store::vault::Vault::from_hex(&store::vault::Vault::generate_hex()).unwrap();
    let mut settings = api::Settings::local(var("DATABASE_URL"), var("REDIS_URL"), vault);
    settings.bind = "127.0.0.1:0".into();
    settings.redis_prefix = var("QIANLINK_REDIS_PREFIX");
    settings.db_pool_size = 2;
    settings.http_workers = 1;
    settings.index_dir = std::env::temp_dir().join(format!("qianlink-api-server-{}", std::process::id()));
    let app = api::Application::build(settings).await.expect("the second server did not start");
    println!("port {}", app.port());
    std::io::stdout().flush().unwrap();
    app.run_until_stopped().await.unwrap();
}
