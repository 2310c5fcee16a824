//! Households: who lives together, who works, and the zero-employment list.

use super::workers::{WorkerOut, scoped_county};
use super::{code_param, limit, next_cursor};
use crate::auth::{Auth, LedgerKeeper};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::purpose::Purpose;
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use store::workers::HouseholdSummary;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdOut {
    pub code: String,
    pub county_code: String,
    pub resettlement_site: Option<String>,
    pub members: i64,
    /// Members aged 16-60 able to work.
    pub labour: i64,
    /// Members employed, self-employed or in a public-welfare post.
    pub employed: i64,
    /// At least one member in labour and none employed (零就业家庭).
    pub zero_employment: bool,
}

impl From<HouseholdSummary> for HouseholdOut {
    fn from(h: HouseholdSummary) -> Self {
        let zero_employment = h.zero_employment();
        Self {
            code: h.code,
            county_code: h.county_code,
            resettlement_site: h.resettlement_site,
            members: h.members,
            labour: h.labour,
            employed: h.employed,
            zero_employment,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdDetail {
    #[serde(flatten)]
    pub household: HouseholdOut,
    pub member_list: Vec<WorkerOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HouseholdPage {
    pub items: Vec<HouseholdOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct HouseholdQuery {
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
    /// Only zero-employment households (true) or only the others (false).
    pub zero_employment: Option<bool>,
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// One household with its members and who works (its county office or admin).
/// Audited (`worker.view` of the members' names, purpose `household.view` by default).
#[utoipa::path(tag = "households", security(("api_key" = [])), params(("code" = String, Path), Purpose),
    responses((status = 200, body = HouseholdDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/households/{code}")]
pub async fn get_household(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    code: web::Path<String>,
    purpose: Purpose,
) -> Result<HttpResponse, ApiError> {
    let code = code.into_inner();
    let caller = auth.clone();
    let today = state.today();
    let purpose = purpose.or("household.view");
    let (h, members) = state
        .db(move |conn| {
            let (h, members) = store::workers::household(conn, &code, today).map_err(|e| match e {
                store::StoreError::NotFound => ApiError::not_found("household"),
                other => other.into(),
            })?;
            caller.require_county(&h.county_code)?;
            let named: Vec<uuid::Uuid> = members.iter().filter(|w| w.name.is_some()).map(|w| w.id).collect();
            store::audit::record_views(
                conn,
                &caller.actor(),
                "GET /v1/households/{code}",
                &purpose,
                &[store::audit::Field::Name],
                &named,
            )?;
            Ok((h, members))
        })
        .await?;
    Ok(HttpResponse::Ok().json(HouseholdDetail {
        household: h.into(),
        member_list: members.into_iter().map(WorkerOut::masked).collect(),
    }))
}

/// Households of a county; `?zero_employment=true` lists the zero-employment ones.
#[utoipa::path(tag = "households", security(("api_key" = [])), params(HouseholdQuery),
    responses((status = 200, body = HouseholdPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/households")]
pub async fn list_households(
    auth: Auth<LedgerKeeper>,
    state: web::Data<AppState>,
    q: web::Query<HouseholdQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit)?;
    let county = scoped_county(&auth, code_param("county_code", q.county_code.as_deref())?)?;
    let after = q.cursor.clone().filter(|s| !s.is_empty());
    if after.as_ref().is_some_and(|c| c.len() > 64) {
        return Err(ApiError::with_message(ErrorCode::InvalidQuery, "cursor is not one this API gave out"));
    }
    let zero = q.zero_employment;
    let today = state.today();
    let items = state
        .db(move |conn| Ok(store::workers::households(conn, county.as_deref(), zero, after.as_deref(), limit, today)?))
        .await?;
    let next = next_cursor(&items, limit, |h| h.code.clone());
    Ok(HttpResponse::Ok()
        .json(HouseholdPage { items: items.into_iter().map(HouseholdOut::from).collect(), next_cursor: next }))
}
