//! Reference data: divisions and occupations (any key).

use crate::auth::{AnyRole, Auth};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct DivisionOut {
    pub code: String,
    pub name: String,
    /// province, prefecture or county
    pub level: String,
    pub parent_code: Option<String>,
    pub province_code: String,
    /// A county, or a city without counties: a valid place of work.
    pub is_workplace: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DivisionList {
    pub items: Vec<DivisionOut>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OccupationOut {
    pub code: String,
    pub name: String,
    pub level: i16,
    pub parent_code: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OccupationList {
    pub items: Vec<OccupationOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct DivisionQuery {
    #[param(schema_with = super::schema::division_code)]
    pub province_code: Option<String>,
    /// province, prefecture or county
    #[param(schema_with = super::schema::division_level)]
    pub level: Option<String>,
    #[param(schema_with = super::schema::division_code)]
    pub parent_code: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OccupationQuery {
    /// Part of a name or code, e.g. 焊工 or 6-18.
    #[param(max_length = 50)]
    pub q: Option<String>,
    #[param(minimum = 1, maximum = 2000)]
    pub limit: Option<i64>,
}

/// Divisions of the mainland (GB/T 2260), filtered.
#[utoipa::path(tag = "reference", security(("api_key" = [])), params(DivisionQuery),
    responses((status = 200, body = DivisionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[get("/divisions")]
pub async fn divisions(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    q: web::Query<DivisionQuery>,
) -> Result<HttpResponse, ApiError> {
    let province = super::code_param("province_code", q.province_code.as_deref())?;
    let parent = super::code_param("parent_code", q.parent_code.as_deref())?;
    let level = match q.level.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(l @ ("province" | "prefecture" | "county")) => Some(l.to_owned()),
        Some(_) => {
            return Err(ApiError::with_message(
                ErrorCode::InvalidQuery,
                "level must be province, prefecture or county",
            ));
        }
    };
    let rows = state
        .db(move |conn| {
            Ok(store::reference::list_divisions(conn, province.as_deref(), level.as_deref(), parent.as_deref())?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(DivisionList {
        items: rows
            .into_iter()
            .map(|d| DivisionOut {
                code: d.code,
                name: d.name,
                level: d.level,
                parent_code: d.parent_code,
                province_code: d.province_code,
                is_workplace: d.is_workplace,
            })
            .collect(),
    }))
}

/// The 2022 occupation classification, searched by name or code.
#[utoipa::path(tag = "reference", security(("api_key" = [])), params(OccupationQuery),
    responses((status = 200, body = OccupationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[get("/occupations")]
pub async fn occupations(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    q: web::Query<OccupationQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = match q.limit {
        None => 100,
        Some(n) if (1..=2000).contains(&n) => n,
        Some(_) => return Err(ApiError::with_message(ErrorCode::InvalidQuery, "limit must be between 1 and 2000")),
    };
    let text = q.q.clone().unwrap_or_default();
    if text.chars().count() > 50 {
        return Err(ApiError::with_message(ErrorCode::InvalidQuery, "q must be at most 50 characters"));
    }
    let rows = state.db(move |conn| Ok(store::reference::search_occupations(conn, &text, limit)?)).await?;
    Ok(HttpResponse::Ok().json(OccupationList {
        items: rows
            .into_iter()
            .map(|o| OccupationOut { code: o.code, name: o.name, level: o.level, parent_code: o.parent_code })
            .collect(),
    }))
}
