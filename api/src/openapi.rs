//! The OpenAPI document, generated from the handlers' own annotations.

use crate::error::{ApiError, ErrorBody, ErrorCode};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{App, ResponseError};
use std::sync::OnceLock;
use utoipa::openapi::OpenApi as Spec;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Required};
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

/// The answers that come from the layers around the handlers rather than from
/// the handlers themselves, added to every operation they can happen to:
/// authentication and rate limiting (401, 429, 503 when PostgreSQL is down),
/// the query and path extractors (400; a path names a record: 404) and the
/// JSON and upload bodies (400, 413, 415). Every response gets a description
/// (the codes of `docs/errors.md` it may carry) and file downloads a schema.
struct CommonResponses;

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut Spec) {
        for item in openapi.paths.paths.values_mut() {
            for op in operations_mut(item) {
                complete(op);
            }
        }
    }
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}

fn complete(op: &mut Operation) {
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let params: Vec<_> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p),
            RefOr::Ref(_) => None,
        })
        .collect();
    let has_query = params.iter().any(|p| p.parameter_in == ParameterIn::Query);
    let has_path = params.iter().any(|p| p.parameter_in == ParameterIn::Path);
    let body_types: Vec<String> = match &op.request_body {
        Some(RefOr::T(b)) => b.content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    let mut statuses = Vec::new();
    if secured {
        statuses.extend([401, 429, 503]);
    }
    if has_query || has_path {
        statuses.push(400);
    }
    if has_path {
        statuses.push(404);
    }
    if body_types.iter().any(|t| t == "application/json") {
        statuses.extend([400, 413, 415]);
    }
    if body_types.iter().any(|t| t.starts_with("multipart/")) {
        statuses.extend([400, 413]);
    }
    for status in statuses {
        op.responses.responses.entry(status.to_string()).or_insert_with(|| RefOr::T(error_response()));
    }
    for (status, response) in op.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if response.description.is_empty() {
            response.description = describe(status);
        }
        if (status == "429" || status == "503") && !response.headers.contains_key("Retry-After") {
            response.headers.insert(
                "Retry-After".into(),
                HeaderBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
                    .description(Some("Seconds to wait before retrying."))
                    .build()
                    .into(),
            );
        }
        for (media, content) in response.content.iter_mut() {
            let RefOr::T(content) = content else { continue };
            let empty = match &content.schema {
                None => true,
                Some(RefOr::T(Schema::Object(o))) => o == &ObjectBuilder::new().build(),
                Some(_) => false,
            };
            if empty && !media.contains("json") {
                content.schema = Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
                        .into(),
                );
            }
        }
    }
    if let Some(RefOr::T(body)) = &mut op.request_body {
        for (media, content) in body.content.iter_mut() {
            let RefOr::T(content) = content else { continue };
            if media.starts_with("multipart/") && content.schema.is_none() {
                content.schema = Some(
                    ObjectBuilder::new()
                        .property(
                            "file",
                            ObjectBuilder::new()
                                .schema_type(Type::String)
                                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary))),
                        )
                        .required("file")
                        .into(),
                );
            }
        }
        if body.required.is_none() {
            body.required = Some(Required::True);
        }
    }
}

/// JSON request bodies say what the validators demand, no more and no less:
/// a body is `required` only when its schema has required fields (so an
/// all-optional POST accepts no body at all: see `crate::json`), and a
/// PATCH, which merges the fields it is given into the record, gets a
/// `<Schema>Patch` copy of its schema with no required fields.
struct JsonBodies;

impl Modify for JsonBodies {
    fn modify(&self, openapi: &mut Spec) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for item in openapi.paths.paths.values_mut() {
            let ops = [(false, &mut item.put), (false, &mut item.post), (true, &mut item.patch)];
            for (is_patch, op) in ops {
                let Some(op) = op else { continue };
                let Some(RefOr::T(body)) = &mut op.request_body else { continue };
                let Some(RefOr::T(content)) = body.content.get_mut("application/json") else { continue };
                let Some(RefOr::Ref(r)) = &mut content.schema else { continue };
                let Some(name) = r.ref_location.rsplit('/').next().map(str::to_owned) else { continue };
                let Some(RefOr::T(Schema::Object(mut schema))) = components.schemas.get(&name).cloned() else {
                    continue;
                };
                if is_patch && !schema.required.is_empty() {
                    let patch_name = format!("{name}Patch");
                    schema.required.clear();
                    schema.description = Some(format!(
                        "Any of the fields of `{name}`: those given replace the record's values, the others stay."
                    ));
                    r.ref_location = format!("#/components/schemas/{patch_name}");
                    components.schemas.insert(patch_name, RefOr::T(Schema::Object(schema.clone())));
                }
                body.required = Some(if schema.required.is_empty() { Required::False } else { Required::True });
            }
        }
    }
}

fn error_response() -> Response {
    ResponseBuilder::new()
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("ErrorBody")))).build(),
        )
        .build()
}

/// "OK" for successes; for errors, the codes of the error table with this status.
fn describe(status: &str) -> String {
    let codes: Vec<String> =
        ErrorCode::ALL.iter().filter(|c| c.status().as_str() == status).map(|c| format!("`{}`", c.code())).collect();
    match status {
        "200" => "OK".into(),
        "201" => "Created".into(),
        _ if codes.is_empty() => "See docs/errors.md".into(),
        _ => format!("Error: {}. See docs/errors.md.", codes.join(", ")),
    }
}

/// The methods of the spec's most specific path template that matches
/// `path`, e.g. `"GET, PUT"`; `None` when the API has no such path.
pub fn allowed_methods(path: &str) -> Option<&'static str> {
    type Template = (Vec<Option<String>>, String);
    static TEMPLATES: OnceLock<Vec<Template>> = OnceLock::new();
    let templates = TEMPLATES.get_or_init(|| {
        spec()
            .paths
            .paths
            .iter()
            .map(|(template, item)| {
                let segments = template
                    .trim_start_matches('/')
                    .split('/')
                    .map(|s| (!(s.starts_with('{') && s.ends_with('}'))).then(|| s.to_owned()))
                    .collect();
                let methods: Vec<&str> = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, present)| present.then_some(m))
                .collect();
                (segments, methods.join(", "))
            })
            .collect()
    });
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    templates
        .iter()
        .filter(|(segments, _)| {
            segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(s, p)| match s {
                    Some(literal) => literal == p,
                    None => !p.is_empty(),
                })
        })
        .max_by_key(|(segments, _)| segments.iter().filter(|s| s.is_some()).count())
        .map(|(_, methods)| methods.as_str())
}

/// Answer 405 (with `Allow`) to a method the path does not take, before the
/// router can hand `PUT /v1/demand-lists/template.xlsx` to `PUT
/// /v1/demand-lists/{year}` or `DELETE /v1/workers/export.xlsx` to `DELETE
/// /v1/workers/{id}`. Paths outside the spec (`/docs`, `/metrics`) pass.
pub async fn method_guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(methods) = allowed_methods(req.path())
        && !methods.split(", ").any(|m| m == req.method().as_str())
    {
        let res = ApiError::new(ErrorCode::MethodNotAllowed).allow(methods.to_owned()).error_response();
        return Ok(req.into_response(res).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
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
        let mut api = api;
        CommonResponses.modify(&mut api);
        JsonBodies.modify(&mut api);
        api
    })
}
