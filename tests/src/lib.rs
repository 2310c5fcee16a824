//! The test harness (see tests/README.md).
//!
//! * [`TestDb::create`] clones a fresh database from a template that was
//!   migrated once per migration set (`CREATE DATABASE .. TEMPLATE ..`), and
//!   drops it when the test ends: tests run in parallel, each alone.
//! * [`TestApp::spawn`] starts the real HTTP app on port 0 against such a
//!   database and a Redis key prefix of its own, with an admin key ready.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod eventually;
pub use eventually::{eventually, eventually_blocking, eventually_within};
pub mod fake_telegram;
pub mod pii;

use diesel::prelude::*;
use diesel::sql_types::Text;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The database URL given by `make test` (or the developer).
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .expect("DATABASE_URL is not set: run the tests with `make test`, which starts PostgreSQL and Redis")
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL")
        .expect("REDIS_URL is not set: run the tests with `make test`, which starts PostgreSQL and Redis")
}

/// `postgres://u@h:p/db` with the database replaced by `name`.
pub fn url_with_db(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

fn maintenance() -> PgConnection {
    PgConnection::establish(&url_with_db(&database_url(), "postgres"))
        .expect("cannot reach PostgreSQL at DATABASE_URL: run `make services`")
}

/// A hash of everything that shapes a migrated database.
fn schema_fingerprint() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in ["migrations", "seed"] {
        collect(&root.join(dir), &mut files);
    }
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(f.to_string_lossy().as_bytes());
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    hex::encode(&h.finalize()[..6])
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                collect(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    exists: bool,
}

/// Make sure the migrated template exists; processes race safely on a lock.
fn ensure_template() -> String {
    let name = format!("qianlink_tmpl_{}", schema_fingerprint());
    let mut conn = maintenance();
    store::locks::lock(&mut conn, 727274).unwrap();
    let exists: Exists = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(&name)
        .get_result(&mut conn)
        .unwrap();
    if !exists.exists {
        let building = format!("{name}_building");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}")).execute(&mut conn).unwrap();
        diesel::sql_query(format!("CREATE DATABASE {building}")).execute(&mut conn).unwrap();
        {
            let mut t = PgConnection::establish(&url_with_db(&database_url(), &building)).unwrap();
            store::migrate::run(&mut t).expect("migrating the test template failed");
        }
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {name}")).execute(&mut conn).unwrap();
    }
    store::locks::unlock(&mut conn, 727274).unwrap();
    name
}

/// A database of the test's own, dropped at the end of the test.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    /// A migrated database with reference data, cloned from the template.
    pub fn create() -> Self {
        let template = ensure_template();
        let name = Self::fresh_name();
        let mut conn = maintenance();
        diesel::sql_query(format!("CREATE DATABASE {name} TEMPLATE {template}")).execute(&mut conn).unwrap();
        Self { url: url_with_db(&database_url(), &name), name }
    }

    /// An empty database (no migrations), for migration tests.
    pub fn create_empty() -> Self {
        let name = Self::fresh_name();
        let mut conn = maintenance();
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn).unwrap();
        Self { url: url_with_db(&database_url(), &name), name }
    }

    fn fresh_name() -> String {
        format!(
            "qt_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst),
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        )
    }

    pub fn connect(&self) -> PgConnection {
        PgConnection::establish(&self.url).unwrap()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&url_with_db(&database_url(), "postgres")) {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut conn);
        }
    }
}

/// A running app on its own database and Redis prefix.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    pub admin_key: String,
    pub client: reqwest::Client,
    pub state: api::state::AppState,
    pub redis_prefix: String,
    pub db: TestDb,
}

pub struct Overrides {
    pub database_url: Option<String>,
    pub redis_url: Option<String>,
    pub rate_limit_per_second: u32,
}

impl Default for Overrides {
    fn default() -> Self {
        Self { database_url: None, redis_url: None, rate_limit_per_second: 10_000 }
    }
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(Overrides::default()).await
    }

    pub async fn spawn_with(o: Overrides) -> Self {
        pii::install();
        let db = TestDb::create();
        let redis_prefix = format!("test:{}:", db.name);
        let admin_key = format!("qk_test_admin_{}", uuid::Uuid::new_v4().simple());
        let vault = store::vault::Vault::from_hex(&store::vault::Vault::generate_hex()).unwrap();
        let mut settings = api::Settings::local(
            o.database_url.clone().unwrap_or_else(|| db.url.clone()),
            o.redis_url.clone().unwrap_or_else(redis_url),
            vault,
        );
        settings.bind = "127.0.0.1:0".into();
        settings.bootstrap_admin_key = o.database_url.is_none().then(|| admin_key.clone());
        settings.redis_prefix = redis_prefix.clone();
        settings.db_pool_size = 4;
        settings.http_workers = 1;
        settings.rate_limit_per_second = o.rate_limit_per_second;
        settings.index_dir = std::env::temp_dir().join(format!("qianlink-index-{}", db.name));
        let app = api::Application::build(settings).await.expect("the app did not start");
        let port = app.port();
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped());
        Self {
            address: format!("http://127.0.0.1:{port}"),
            port,
            admin_key,
            client: reqwest::Client::new(),
            state,
            redis_prefix,
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn get_as(&self, key: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.get(self.url(path)).bearer_auth(key)
    }

    pub fn post_as(&self, key: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(path)).bearer_auth(key)
    }

    pub fn patch_as(&self, key: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.patch(self.url(path)).bearer_auth(key)
    }

    pub fn delete_as(&self, key: &str, path: &str) -> reqwest::RequestBuilder {
        self.client.delete(self.url(path)).bearer_auth(key)
    }

    pub fn conn(&self) -> PgConnection {
        self.db.connect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let leaks = pii::take();
        if !leaks.is_empty() && !std::thread::panicking() {
            panic!("personal data in logs or Telegram messages:\n{}", leaks.join("\n"));
        }
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("qianlink-index-{}", self.db.name)));
        if let Ok(client) = redis::Client::open(redis_url())
            && let Ok(mut c) = client.get_connection()
        {
            let keys: Vec<String> =
                redis::cmd("KEYS").arg(format!("{}*", self.redis_prefix)).query(&mut c).unwrap_or_default();
            if !keys.is_empty() {
                let _: redis::RedisResult<()> = redis::cmd("DEL").arg(keys).query(&mut c);
            }
        }
    }
}

/// Read a JSON body, failing the test with the body text when it is not JSON.
pub async fn json(res: reqwest::Response) -> serde_json::Value {
    let status = res.status();
    let text = res.text().await.unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text}"))
}

/// A valid synthetic ID number: region `county`, birth date `yyyymmdd`,
/// sequence `seq` (odd = male), with its check character.
pub fn id_number(county: &str, yyyymmdd: &str, seq: u32) -> String {
    let n = domain::id_number::with_check_char(&format!("{county}{yyyymmdd}{seq:03}")).unwrap();
    pii::remember(&n);
    n
}

/// A ledger entry as JSON, valid unless changed.
pub fn worker_json(id_number: &str, county: &str, household: &str, status: &str) -> serde_json::Value {
    let phone = format!("138{}", &id_number[10..18].replace('X', "0"));
    pii::remember(&phone);
    pii::remember(id_number);
    serde_json::json!({
        "id_number": id_number,
        "name": "王小明",
        "phone": phone,
        "household_code": household,
        "resettlement_site": "碧海阳光新城",
        "county_code": county,
        "categories": ["relocated"],
        "skills": ["电焊"],
        "employment_status": status,
        "willing_cross_province": true
    })
}

impl TestApp {
    /// Create an organisation and a key for it through the API (as admin).
    pub async fn org(&self, name: &str, kind: &str, county: Option<&str>) -> (String, String) {
        let mut body = serde_json::json!({"name": name, "kind": kind});
        if let Some(c) = county {
            body["county_code"] = c.into();
        }
        let res = self.post_as(&self.admin_key, "/v1/organizations").json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        let org = json(res).await;
        let id = org["id"].as_str().unwrap().to_owned();
        let res = self
            .post_as(&self.admin_key, &format!("/v1/organizations/{id}/api-keys"))
            .json(&serde_json::json!({"issued_to": "测试员"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let key = json(res).await["key"].as_str().unwrap().to_owned();
        (id, key)
    }

    /// Link a cooperation team to its Guangdong city (as admin); the team as the API returns it.
    pub async fn link_team(&self, team_id: &str, guangdong_city_code: &str) -> serde_json::Value {
        let res = self
            .client
            .put(self.url(&format!("/v1/coop-teams/{team_id}")))
            .bearer_auth(&self.admin_key)
            .json(&serde_json::json!({"guangdong_city_code": guangdong_city_code}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
        json(res).await
    }

    /// Rows in a table, read directly.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let n: N =
            diesel::sql_query(format!("SELECT count(*) AS n FROM {table}")).get_result(&mut self.conn()).unwrap();
        n.n
    }
}
