//! One table of error codes. Every error the API answers is
//! `{"error": {"code", "message", "details": [{"field", "problem"}]}}` with a
//! code from this table; `docs/errors.md` lists them (a test keeps it true).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use domain::{FieldProblem, Problems};
use serde::Serialize;
use store::StoreError;

macro_rules! error_codes {
    ($($variant:ident => ($status:expr, $code:literal, $message:literal)),+ $(,)?) => {
        /// Stable error codes: clients may match on `code`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode { $($variant),+ }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];
            pub fn code(self) -> &'static str { match self { $(ErrorCode::$variant => $code),+ } }
            pub fn status(self) -> StatusCode { match self { $(ErrorCode::$variant => $status),+ } }
            pub fn message(self) -> &'static str { match self { $(ErrorCode::$variant => $message),+ } }
        }
    };
}

error_codes! {
    MalformedJson => (StatusCode::BAD_REQUEST, "malformed_json", "The request body is not valid JSON of the expected shape."),
    InvalidQuery => (StatusCode::BAD_REQUEST, "invalid_query", "A query-string parameter is malformed."),
    InvalidPath => (StatusCode::BAD_REQUEST, "invalid_path", "A path parameter is malformed."),
    InvalidPurpose => (StatusCode::BAD_REQUEST, "invalid_purpose", "The purpose (`?purpose=` or `X-Qianlink-Purpose`) must be at most 100 characters, without control characters."),
    MalformedUpload => (StatusCode::BAD_REQUEST, "malformed_upload", "The uploaded file could not be read."),
    MissingApiKey => (StatusCode::UNAUTHORIZED, "missing_api_key", "Send an API key as `Authorization: Bearer <key>`."),
    InvalidApiKey => (StatusCode::UNAUTHORIZED, "invalid_api_key", "The API key is unknown, revoked or expired."),
    Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Your organisation's role may not do this."),
    OtherTenant => (StatusCode::FORBIDDEN, "other_tenant", "This record belongs to another organisation or county."),
    NotFound => (StatusCode::NOT_FOUND, "not_found", "No such record."),
    RouteNotFound => (StatusCode::NOT_FOUND, "route_not_found", "No such route."),
    MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "This route does not accept that method."),
    Duplicate => (StatusCode::CONFLICT, "duplicate", "A record with the same unique key already exists."),
    DuplicateIdNumber => (StatusCode::CONFLICT, "duplicate_id_number", "A worker with this ID number is already in the ledger."),
    StateConflict => (StatusCode::CONFLICT, "state_conflict", "The record is not in a state that allows this."),
    ScanRunning => (StatusCode::CONFLICT, "scan_running", "Another milestone scan is running; try again when it has finished."),
    FourEyes => (StatusCode::FORBIDDEN, "four_eyes", "The organisation that registered a placement may not review its subsidies."),
    PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "The request body is too large (JSON: 1 MiB, uploads: 20 MiB)."),
    UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send JSON with `Content-Type: application/json`."),
    ValidationFailed => (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "Some fields are invalid; see details."),
    DiscriminatoryRequirement => (StatusCode::UNPROCESSABLE_ENTITY, "discriminatory_requirement", "The posting excludes or prefers people by gender, ethnicity or origin."),
    ImportRejected => (StatusCode::UNPROCESSABLE_ENTITY, "import_rejected", "Some rows are invalid; nothing was written. See details."),
    RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited", "Too many requests for this key; retry after the number of seconds in `Retry-After`."),
    DatabaseUnavailable => (StatusCode::SERVICE_UNAVAILABLE, "database_unavailable", "PostgreSQL is unreachable; try again shortly."),
    Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Something went wrong on our side; the request id is in the `x-request-id` header."),
}

/// `Retry-After` of every 503 that does not set its own.
pub const RETRY_UNAVAILABLE_SECS: u64 = 5;

/// The body of every error answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInner,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorInner {
    /// Stable, snake_case; see docs/errors.md.
    pub code: String,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

/// One problem with one field (and, for file imports, one row).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    pub field: String,
    pub problem: String,
    /// Spreadsheet row (1 is the header row), for imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
    /// Column header as written in the file, for imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
}

impl From<FieldProblem> for ErrorDetail {
    fn from(f: FieldProblem) -> Self {
        Self { field: f.field, problem: f.problem, row: None, column: None }
    }
}

#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<ErrorDetail>,
    pub retry_after: Option<u64>,
    /// The `Allow` header of a 405.
    pub allow: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode) -> Self {
        Self { code, message: code.message().to_owned(), details: Vec::new(), retry_after: None, allow: None }
    }

    pub fn with_message(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { message: message.into(), ..Self::new(code) }
    }

    pub fn with_details(mut self, details: Vec<FieldProblem>) -> Self {
        self.details = details.into_iter().map(ErrorDetail::from).collect();
        self
    }

    pub fn with_rows(mut self, details: Vec<ErrorDetail>) -> Self {
        self.details = details;
        self
    }

    pub fn allow(mut self, methods: impl Into<String>) -> Self {
        self.allow = Some(methods.into());
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// 422 for one field.
    pub fn field(field: &str, problem: impl Into<String>) -> Self {
        let mut p = Problems::new();
        p.push(field, problem);
        Self::from(p)
    }

    pub fn not_found(what: &str) -> Self {
        Self::with_message(ErrorCode::NotFound, format!("No such {what}."))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::with_message(ErrorCode::StateConflict, message)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.code(), self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = HttpResponse::build(self.code.status());
        // Every 503 says when to come back (a dropped PostgreSQL is usually back within seconds).
        let retry_after = self
            .retry_after
            .or_else(|| (self.code.status() == StatusCode::SERVICE_UNAVAILABLE).then_some(RETRY_UNAVAILABLE_SECS));
        if let Some(secs) = retry_after {
            res.insert_header(("Retry-After", secs.to_string()));
        }
        if let Some(methods) = &self.allow {
            res.insert_header(("Allow", methods.clone()));
        }
        res.json(ErrorBody {
            error: ErrorInner {
                code: self.code.code().to_owned(),
                message: self.message.clone(),
                details: self.details.clone(),
            },
        })
    }
}

impl From<Problems> for ApiError {
    fn from(p: Problems) -> Self {
        Self::new(ErrorCode::ValidationFailed).with_details(p.into_vec())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::new(ErrorCode::NotFound),
            StoreError::Duplicate { constraint } => ApiError::with_message(
                ErrorCode::Duplicate,
                format!("A record with the same unique key already exists ({constraint})."),
            ),
            StoreError::Constraint { constraint } if constraint == "worker_erased" => {
                ApiError::with_message(ErrorCode::StateConflict, "The worker's record was erased.")
            }
            StoreError::Constraint { constraint } => ApiError::with_message(
                ErrorCode::ValidationFailed,
                format!("A field refers to something that does not exist or is out of range ({constraint})."),
            ),
            StoreError::Conflict(m) => ApiError::with_message(ErrorCode::StateConflict, m),
            StoreError::Invalid(p) => ApiError::from(p),
            StoreError::DuplicateWorker { worker_id, county_code } => ApiError::with_message(
                ErrorCode::DuplicateIdNumber,
                format!(
                    "A worker with this ID number is already in the ledger: worker {worker_id}, county {county_code}."
                ),
            )
            .with_rows(vec![
                ErrorDetail { field: "worker_id".into(), problem: worker_id.to_string(), row: None, column: None },
                ErrorDetail { field: "county_code".into(), problem: county_code, row: None, column: None },
            ]),
            StoreError::Unavailable(m) => {
                tracing::warn!(error = %m, "database unavailable");
                ApiError::new(ErrorCode::DatabaseUnavailable)
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::new(ErrorCode::Internal)
            }
        }
    }
}

impl From<app::Cancelled> for ApiError {
    fn from(_: app::Cancelled) -> Self {
        tracing::error!("blocking task was cancelled");
        ApiError::new(ErrorCode::Internal)
    }
}

/// The error table as Markdown, for `docs/errors.md`.
pub fn error_table_markdown() -> String {
    let mut s = String::from("| code | HTTP status | meaning |\n|---|---|---|\n");
    for c in ErrorCode::ALL {
        s.push_str(&format!("| `{}` | {} | {} |\n", c.code(), c.status().as_u16(), c.message()));
    }
    s
}

/// Turn actix's own extractor errors into our JSON shape.
pub mod handlers {
    use super::{ApiError, ErrorCode};
    use actix_web::HttpRequest;
    use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};

    pub fn json(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
        let e = match &err {
            JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
                ApiError::new(ErrorCode::PayloadTooLarge)
            }
            JsonPayloadError::ContentType => ApiError::new(ErrorCode::UnsupportedMediaType),
            JsonPayloadError::Deserialize(de) => {
                ApiError::with_message(ErrorCode::MalformedJson, format!("The request body is not valid: {de}"))
            }
            _ => ApiError::new(ErrorCode::MalformedJson),
        };
        e.into()
    }

    pub fn query(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
        ApiError::with_message(ErrorCode::InvalidQuery, format!("Bad query string: {err}")).into()
    }

    pub fn path(err: PathError, _req: &HttpRequest) -> actix_web::Error {
        ApiError::with_message(ErrorCode::InvalidPath, format!("Bad path parameter: {err}")).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_every_error_code() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/errors.md")).unwrap_or_default();
        assert!(
            doc.contains(&error_table_markdown()),
            "docs/errors.md is out of date; regenerate its table with error_table_markdown():\n{}",
            error_table_markdown()
        );
    }

    #[test]
    fn codes_are_unique_snake_case_and_client_errors_are_4xx() {
        let mut seen = std::collections::HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.code()), "duplicate {}", c.code());
            assert!(c.code().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            if *c != ErrorCode::Internal && *c != ErrorCode::DatabaseUnavailable {
                assert!(c.status().is_client_error(), "{}", c.code());
            }
        }
    }
}
