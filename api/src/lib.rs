//! Qianlink's HTTP API: actix-web handlers, authorisation as extractors,
//! one table of error codes, and the operations endpoints.

pub mod auth;
pub mod error;
pub mod health;
pub mod indexing;
pub mod json;
pub mod matching;
pub mod openapi;
pub mod ops;
pub mod purpose;
pub mod ratelimit;
pub mod redis_handle;
pub mod routes;
pub mod settings;
pub mod sheets;
pub mod startup;
pub mod state;
pub mod tasks;
pub mod telemetry;

pub use settings::{LogFormat, Settings};
pub use startup::Application;
