//! Why a caller looks at personal data (PIPL): every view of a worker's name,
//! full phone or full ID number is audited with a purpose — the caller's, from
//! `?purpose=` or the `X-Qianlink-Purpose` header (the query wins when both
//! are given), or else the route's own (such as `ledger.view`).

use crate::error::{ApiError, ErrorCode};
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use std::future::{Ready, ready};
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, Required, Type};

pub const HEADER: &str = "X-Qianlink-Purpose";
const MAX_CHARS: usize = 100;

/// The purpose the caller gave, if any (checked, digit runs scrubbed).
#[derive(Debug, Clone, Default)]
pub struct Purpose(Option<String>);

impl Purpose {
    /// The caller's purpose, or the route's.
    pub fn or(&self, default: &str) -> String {
        self.0.clone().unwrap_or_else(|| default.to_owned())
    }

    /// Check a purpose: at most 100 characters, no control characters. Blank
    /// is no purpose. Runs of 6 or more digits become `*`s, so that no ID or
    /// phone number reaches the audit log through it.
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok(Self(None));
        }
        if s.chars().count() > MAX_CHARS || s.chars().any(char::is_control) {
            return Err(ApiError::new(ErrorCode::InvalidPurpose));
        }
        let mut out = String::with_capacity(s.len());
        let mut run = String::new();
        let flush = |run: &mut String, out: &mut String| {
            if run.chars().count() >= 6 {
                out.extend(run.chars().map(|_| '*'));
            } else {
                out.push_str(run);
            }
            run.clear();
        };
        for c in s.chars() {
            if c.is_ascii_digit() {
                run.push(c);
            } else {
                flush(&mut run, &mut out);
                out.push(c);
            }
        }
        flush(&mut run, &mut out);
        Ok(Self(Some(out)))
    }

    fn of(req: &HttpRequest) -> Result<Self, ApiError> {
        #[derive(serde::Deserialize)]
        struct Q {
            purpose: Option<String>,
        }
        let q = actix_web::web::Query::<Q>::from_query(req.query_string())
            .map_err(|e| ApiError::with_message(ErrorCode::InvalidQuery, format!("Bad query string: {e}")))?;
        // Both are checked, whichever is used: a bad one is refused even beside a good one.
        let query = q.purpose.as_deref().map(Self::parse).transpose()?;
        let header = match req.headers().get(HEADER) {
            None => None,
            Some(v) => {
                let bytes = v.as_bytes();
                let text = match std::str::from_utf8(bytes) {
                    Ok(s) => s.to_owned(),
                    // Headers are Latin-1 when they are not UTF-8.
                    Err(_) => bytes.iter().map(|b| char::from(*b)).collect(),
                };
                Some(Self::parse(&text)?)
            }
        };
        Ok(match (query, header) {
            (Some(q), _) if q.0.is_some() => q,
            (_, Some(h)) => h,
            _ => Self(None),
        })
    }
}

impl FromRequest for Purpose {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::of(req))
    }
}

impl utoipa::IntoParams for Purpose {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let schema = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(MAX_CHARS))
                .pattern(Some("^[^\\u0000-\\u001f\\u007f-\\u009f]*$"))
        };
        let about = "Why you look at this personal data (audited with every view of a worker's name, full phone or \
                     full ID number; runs of 6 or more digits are stored as `*`). Default: the route's own purpose.";
        vec![
            ParameterBuilder::new()
                .name("purpose")
                .parameter_in(ParameterIn::Query)
                .required(Required::False)
                .description(Some(about))
                .schema(Some(schema()))
                .build(),
            ParameterBuilder::new()
                .name(HEADER)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some("The same as `purpose`; the query parameter wins when both are given."))
                .schema(Some(schema()))
                .build(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_are_checked_and_digit_runs_scrubbed() {
        assert_eq!(Purpose::parse("  ").unwrap().or("ledger.view"), "ledger.view");
        assert_eq!(Purpose::parse(" 回访 2024 ").unwrap().or("x"), "回访 2024");
        assert_eq!(Purpose::parse("call 13812345678 back").unwrap().or("x"), "call *********** back");
        assert!(Purpose::parse(&"a".repeat(101)).is_err());
        assert!(Purpose::parse("a\u{7}b").is_err());
        assert_eq!(Purpose::parse(&"字".repeat(100)).unwrap().or("x").chars().count(), 100);
    }
}
