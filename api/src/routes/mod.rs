//! The `/v1` API. Every handler documents itself for OpenAPI
//! (`#[utoipa::path]`) and names the roles it admits in its signature.

pub mod audit;
pub mod bot;
pub mod demand;
pub mod households;
pub mod jobs;
pub mod matching;
pub mod monitoring;
pub mod orgs;
pub mod placements;
pub mod reference;
pub mod search;
pub mod subsidies;
pub mod workers;

use crate::error::{ApiError, ErrorCode};
use store::StoreError;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(
        scope::scope("/v1")
            .service(orgs::me)
            .service(orgs::create_org)
            .service(orgs::list_orgs)
            .service(orgs::get_org)
            .service(orgs::create_key)
            .service(orgs::revoke_key)
            .service(search::search)
            .service(jobs::create_job)
            .service(jobs::list_jobs)
            .service(jobs::get_job)
            .service(jobs::patch_job)
            .service(jobs::close_job)
            .service(matching::candidates)
            .service(matching::candidate)
            .service(matching::plan_offers)
            .service(matching::list_offers)
            // fixed paths before `/workers/{id}`
            .service(workers::export_ledger)
            .service(workers::import_template)
            .service(workers::import_ledger)
            .service(workers::create_worker)
            .service(workers::list_workers)
            .service(workers::get_worker)
            .service(workers::patch_worker)
            .service(workers::erase_worker)
            .service(workers::transfer_worker)
            .service(workers::add_training)
            .service(workers::list_trainings)
            .service(matching::recommendations)
            .service(bot::binding_code)
            .service(households::list_households)
            .service(households::get_household)
            .service(placements::create_placement)
            .service(placements::list_placements)
            .service(placements::get_placement)
            .service(placements::add_report)
            .service(placements::separate)
            .service(placements::resolve)
            .service(subsidies::export)
            .service(subsidies::blocked)
            .service(subsidies::list_events)
            .service(subsidies::get_event)
            .service(subsidies::review)
            .service(subsidies::scan)
            .service(subsidies::list_policies)
            .service(subsidies::add_policy)
            .service(subsidies::add_webhook)
            .service(subsidies::list_webhooks)
            .service(demand::set_team)
            .service(demand::template)
            .service(demand::consolidated_xlsx)
            .service(demand::consolidated)
            .service(demand::versions)
            .service(demand::supply)
            .service(demand::import)
            .service(demand::submit)
            .service(demand::reopen)
            .service(demand::get_list)
            .service(demand::put_list)
            .service(monitoring::open_round)
            .service(monitoring::respond)
            .service(monitoring::import)
            .service(monitoring::report_xlsx)
            .service(monitoring::report)
            .service(monitoring::year)
            .service(reference::divisions)
            .service(reference::occupations)
            .service(audit::list_audit),
    );
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

/// `?limit=`: 1 to 200, default 50.
pub fn limit(l: Option<i64>) -> Result<i64, ApiError> {
    match l {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::with_message(ErrorCode::InvalidQuery, "limit must be between 1 and 200")),
    }
}

/// `?cursor=` for lists ordered by a UUID.
pub fn uuid_cursor(c: Option<&str>) -> Result<Option<Uuid>, ApiError> {
    match c.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| ApiError::with_message(ErrorCode::InvalidQuery, "cursor is not one this API gave out")),
    }
}

/// Next cursor: the last item's key when the page is full.
pub fn next_cursor<T>(items: &[T], limit: i64, key: impl Fn(&T) -> String) -> Option<String> {
    if items.len() as i64 == limit { items.last().map(key) } else { None }
}

/// For `map_err` on a lookup: a missing row answers 404 naming `what`; any
/// other failure keeps its own answer. PostgreSQL being unreachable must stay
/// a 503, which clients retry, never become a 404, which they would not.
pub fn missing(what: &'static str) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::not_found(what),
        other => other.into(),
    }
}

/// As [`missing`], for a body field naming the record: 422 on that field.
pub fn missing_field(field: &'static str, problem: &'static str) -> impl FnOnce(StoreError) -> ApiError {
    move |e| match e {
        StoreError::NotFound => ApiError::field(field, problem),
        other => other.into(),
    }
}

/// A path id that is not a UUID names nothing: 404.
pub fn parse_id(s: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(s).map_err(|_| ApiError::not_found(what))
}

/// A query-string code that must be 6 digits.
pub fn code_param(field: &str, v: Option<&str>) -> Result<Option<String>, ApiError> {
    match v.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => domain::DivisionCode::parse(s)
            .map(|c| Some(c.as_str().to_owned()))
            .map_err(|e| ApiError::with_message(ErrorCode::InvalidQuery, format!("{field} {e}"))),
    }
}

/// Schemas of query parameters that the derive cannot infer, for
/// `#[param(schema_with = ...)]`. The handlers take an empty value as "no
/// filter", so every enum and pattern here admits "".
pub mod schema {
    use domain::OrgKind;
    use domain::worker::{Category, EmploymentStatus};
    use utoipa::openapi::schema::{Object, ObjectBuilder, Type};

    const UUID: &str = "^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$";

    fn one_of<'a>(values: impl IntoIterator<Item = &'a str>) -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(std::iter::once("").chain(values).map(str::to_owned)))
            .build()
    }

    fn pattern(p: &str) -> Object {
        ObjectBuilder::new().schema_type(Type::String).pattern(Some(p)).build()
    }

    /// A 6-digit division code such as 520102.
    pub fn division_code() -> Object {
        pattern("^([1-9][0-9]{5})?$")
    }

    /// A record's id, or a cursor this API gave out for a list ordered by id.
    pub fn uuid() -> Object {
        pattern(UUID)
    }

    /// A cursor of the audit log (an entry's number).
    pub fn audit_cursor() -> Object {
        pattern("^([0-9]{1,18})?$")
    }

    /// A cursor of the search results.
    pub fn search_cursor() -> Object {
        pattern("^(o(10000|[0-9]{1,4}))?$")
    }

    /// A code of the 2022 occupation classification, e.g. 6-18.
    pub fn occupation_code() -> Object {
        pattern("^([0-9](-[0-9]{2}){0,3})?$")
    }

    pub fn job_status() -> Object {
        one_of(["open", "closed"])
    }

    pub fn org_kind() -> Object {
        one_of(OrgKind::ALL.iter().map(|k| k.as_str()))
    }

    pub fn category() -> Object {
        one_of(Category::ALL.iter().map(|c| c.as_str()))
    }

    pub fn employment_status() -> Object {
        one_of(EmploymentStatus::ALL.iter().map(|s| s.as_str()))
    }

    pub fn offer_status() -> Object {
        one_of(["queued", "sent", "accepted", "declined", "expired", "cancelled"])
    }

    pub fn review_state() -> Object {
        one_of(["ok", "needs_review"])
    }

    pub fn event_status() -> Object {
        one_of(["pending_review", "approved", "rejected"])
    }

    /// The publication list's status: no empty value (default approved).
    pub fn export_status() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["pending_review", "approved", "rejected"]))
            .build()
    }

    pub fn division_level() -> Object {
        one_of(["province", "prefecture", "county"])
    }

    pub fn rule_id() -> Object {
        one_of(domain::policy::RULE_IDS)
    }
}
