//! Qianlink's HTTP API: actix-web handlers, authorisation as extractors,
//! one table of error codes, and the operations endpoints.

pub mod error;
pub mod ops;
pub mod redis_handle;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;

pub use settings::{LogFormat, Settings};
pub use startup::Application;
