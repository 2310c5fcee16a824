//! The JSON body extractor of every handler.
//!
//! It reads the body with actix's own `web::Json` (so the content type, the
//! 1 MiB limit and malformed JSON are answered by the error handlers set in
//! `startup`), then turns integral floats into integers before deserialising:
//! JSON Schema, and so the OpenAPI spec, counts `4500.0` as an integer, and
//! clients that compute numbers (JavaScript, spreadsheets) often send them so.
//! A number with a fraction, or out of range, still gets `malformed_json`.
//!
//! A request with no body at all (no `Content-Length` or `Content-Length: 0`,
//! and no `Content-Type` or a JSON one) reads as `{}`: a POST whose fields
//! are all optional needs no body and no content type. When `{}` is not a
//! valid `T`, such a request gets the answers it always got (415 without a
//! content type).

use crate::error::{ApiError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Number, Value};

/// A JSON body of type `T`; see the module documentation.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if has_no_body(req)
            && let Ok(empty) = serde_json::from_value::<T>(Value::Object(serde_json::Map::new()))
        {
            return Box::pin(async move { Ok(Json(empty)) });
        }
        let body = web::Json::<Value>::from_request(req, payload);
        Box::pin(async move {
            let mut value = body.await?.into_inner();
            // Every body of this API is an object. serde would also read a struct from an
            // array of its fields in order (`[null, null]`), which no schema allows.
            if !value.is_object() {
                return Err(ApiError::with_message(
                    ErrorCode::MalformedJson,
                    "The request body must be a JSON object.",
                )
                .into());
            }
            integral_floats_to_integers(&mut value);
            serde_json::from_value(value).map(Json).map_err(|e| {
                ApiError::with_message(ErrorCode::MalformedJson, format!("The request body is not valid: {e}")).into()
            })
        })
    }
}

/// No body, and nothing that says one of another kind is coming.
fn has_no_body(req: &HttpRequest) -> bool {
    use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING};
    let h = req.headers();
    let empty = match h.get(CONTENT_LENGTH) {
        Some(v) => v.to_str().is_ok_and(|v| v.trim() == "0"),
        None => !h.contains_key(TRANSFER_ENCODING),
    };
    let json_or_none = h
        .get(CONTENT_TYPE)
        .is_none_or(|v| v.to_str().is_ok_and(|t| t.trim_start().to_ascii_lowercase().starts_with("application/json")));
    empty && json_or_none
}

/// `4500.0` becomes `4500`, everywhere in the document; `4500.5`, `1e300`
/// and every other number stay as they are.
pub fn integral_floats_to_integers(v: &mut Value) {
    // 2^63: the first float past i64::MAX.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && (-LIMIT..LIMIT).contains(&f)
            {
                *n = Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_integral_floats_in_range_become_integers() {
        let mut v = json!({"a": 4500.0, "b": [1.5, -0.0, 2.0e3], "c": {"d": 1e300}, "e": "7.0", "f": 3});
        integral_floats_to_integers(&mut v);
        assert_eq!(v, json!({"a": 4500, "b": [1.5, 0, 2000], "c": {"d": 1e300}, "e": "7.0", "f": 3}));
        assert!(v["a"].is_i64());
    }
}
