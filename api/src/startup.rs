//! Building and running the HTTP server. Tests call [`Application::build`]
//! with `bind = 127.0.0.1:0` and read the port back.

use crate::error::{ApiError, ErrorCode, handlers};
use crate::settings::Settings;
use crate::state::AppState;
use crate::{ops, telemetry};
use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use actix_web_prom::PrometheusMetricsBuilder;
use std::net::TcpListener;
use utoipa_actix_web::AppExt;
use utoipa_swagger_ui::SwaggerUi;

/// Largest JSON body accepted (uploads have their own, larger limit).
pub const JSON_LIMIT: usize = 1024 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {} (QIANLINK_BIND): {e}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let workers = settings.http_workers.max(1);
        let state = AppState::new(settings)?;
        bootstrap(&state).await?;
        // The API's own key cache follows revocations; the background loops are
        // started by the binary (`app::tasks::spawn`), not here.
        tokio::spawn(crate::auth::follow_revocations(state.clone()));
        let server = run(listener, state.clone(), workers)?;
        Ok(Self { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Create the bootstrap admin key when `QIANLINK_BOOTSTRAP_ADMIN_KEY` is set.
async fn bootstrap(state: &AppState) -> anyhow::Result<()> {
    if let Some(secret) = state.settings.bootstrap_admin_key.clone() {
        state
            .db(move |conn| {
                store::orgs::ensure_key(conn, "省级管理员", domain::OrgKind::Admin, &secret, "bootstrap")?;
                Ok(())
            })
            .await
            .map_err(|e| anyhow::anyhow!("cannot create the bootstrap admin key: {e}"))?;
    }
    Ok(())
}

fn run(listener: TcpListener, state: AppState, workers: usize) -> anyhow::Result<Server> {
    let prometheus = PrometheusMetricsBuilder::new("qianlink")
        .endpoint("/metrics")
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(prometheus.clone())
            .wrap(from_fn(crate::openapi::method_guard))
            .wrap(from_fn(telemetry::request_context))
            .app_data(data.clone())
            .app_data(web::JsonConfig::default().limit(JSON_LIMIT).error_handler(handlers::json))
            .app_data(web::QueryConfig::default().error_handler(handlers::query))
            .app_data(web::PathConfig::default().error_handler(handlers::path))
            .into_utoipa_app()
            .service(ops::healthz)
            .service(ops::readyz)
            .configure(crate::routes::configure)
            .into_app()
            .route("/docs", web::get().to(docs_redirect))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", crate::openapi::spec().clone()))
            .default_service(web::to(not_found))
    })
    .workers(workers)
    .listen(listener)?
    .run();
    Ok(server)
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(ErrorCode::RouteNotFound))
}

/// `/docs` (as people type it) is the Swagger UI at `/docs/`.
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((actix_web::http::header::LOCATION, "/docs/")).finish()
}
