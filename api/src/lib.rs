//! Qianlink's HTTP API: actix-web handlers, authorisation as extractors,
//! one table of error codes, and the operations endpoints. An adapter over
//! the app layer (`app`): handlers parse, authorise, call a use case and
//! render.

pub mod auth;
pub mod error;
pub mod json;
pub mod openapi;
pub mod ops;
pub mod purpose;
pub mod ratelimit;
pub mod routes;
pub mod sheets;
pub mod startup;
pub mod state;
pub mod telemetry;

// The running services and use cases live in the app layer; handlers reach them as
// `crate::matching`, `crate::indexing`, ...
pub use app::{health, indexing, matching, redis_handle, settings};

pub use settings::{LogFormat, Settings};
pub use startup::Application;
