//! The OpenAPI document, generated from the handlers' own annotations.

use crate::error::ErrorBody;
use actix_web::App;
use std::sync::OnceLock;
use utoipa::openapi::OpenApi as Spec;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Qianlink (黔联) API",
        description = "Jobs, worker ledgers, placements and subsidies for Guizhou's relocated workers. \
                       Every error is `{\"error\": {\"code\", \"message\", \"details\"}}`; see docs/errors.md.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Spec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key: `Authorization: Bearer qk_...`"))
                    .build(),
            ),
        );
    }
}

/// The whole spec, built once from the same route table the server mounts.
pub fn spec() -> &'static Spec {
    static SPEC: OnceLock<Spec> = OnceLock::new();
    SPEC.get_or_init(|| {
        let (_, api) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .service(crate::ops::healthz)
            .service(crate::ops::readyz)
            .configure(crate::routes::configure)
            .split_for_parts();
        api
    })
}
