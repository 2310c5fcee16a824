//! The `/v1` API.

use actix_web::web;

pub fn configure(_cfg: &mut web::ServiceConfig) {}
