//! Chinese full-text job search over this process's index.

use super::jobs::JobOut;
use crate::auth::{AnyRole, Auth};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::state::AppState;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
pub struct SearchParams {
    /// Any text, e.g. 电子厂普工, 焊工 东莞, "电子厂招聘". Empty: newest first.
    #[param(max_length = 200)]
    pub q: Option<String>,
    #[param(schema_with = super::schema::division_code)]
    pub county_code: Option<String>,
    #[param(schema_with = super::schema::division_code)]
    pub prefecture_code: Option<String>,
    #[param(schema_with = super::schema::division_code)]
    pub province_code: Option<String>,
    /// Matches the code and everything below it, e.g. 6-18.
    #[param(schema_with = super::schema::occupation_code)]
    pub occupation_code: Option<String>,
    /// Jobs paying at most at least this much.
    pub min_wage: Option<i32>,
    pub cross_province: Option<bool>,
    /// open (default) or closed
    #[param(schema_with = super::schema::job_status)]
    pub status: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
    #[param(schema_with = super::schema::search_cursor)]
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub job: JobOut,
    pub score: f32,
    /// field → snippet with <em>…</em>
    #[schema(value_type = Object)]
    pub highlights: BTreeMap<String, String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub hits: Vec<SearchHit>,
    pub total: usize,
    pub next_cursor: Option<String>,
}

fn bad(m: &str) -> ApiError {
    ApiError::with_message(ErrorCode::InvalidQuery, m.to_owned())
}

/// Search jobs. Any `q` is accepted; text that is not query syntax is searched as words.
#[utoipa::path(tag = "jobs", security(("api_key" = [])), params(SearchParams),
    responses((status = 200, body = SearchResults), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/jobs/search")]
pub async fn search(
    _auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    p: web::Query<SearchParams>,
) -> Result<HttpResponse, ApiError> {
    let p = p.into_inner();
    let q = p.q.clone().unwrap_or_default();
    if q.chars().count() > 200 {
        return Err(bad("q must be at most 200 characters"));
    }
    let limit = match p.limit {
        None => 20,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => return Err(bad("limit must be between 1 and 100")),
    };
    let offset = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c
            .strip_prefix('o')
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= search_index::MAX_OFFSET)
            .ok_or_else(|| bad("cursor is not one this API gave out"))?,
    };
    let code = |f: &str, v: Option<String>| super::code_param(f, v.as_deref());
    let status = match p.status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s @ ("open" | "closed")) => Some(s.to_owned()),
        Some(_) => return Err(bad("status must be open or closed")),
    };
    if p.occupation_code.as_deref().is_some_and(|c| !c.is_empty() && !domain::job::is_occupation_code(c)) {
        return Err(bad("occupation_code must be a code of the 2022 classification, e.g. 6-18"));
    }
    let mut sq = search_index::SearchQuery::new(q, state.today());
    sq.county_code = code("county_code", p.county_code)?;
    sq.prefecture_code = code("prefecture_code", p.prefecture_code)?;
    sq.province_code = code("province_code", p.province_code)?;
    sq.occupation_code = p.occupation_code.filter(|c| !c.is_empty());
    sq.min_wage = p.min_wage;
    sq.cross_province = p.cross_province;
    sq.status = status;
    sq.limit = limit;
    sq.offset = offset;
    // Jobs written since the last catch-up reach the index on another thread:
    // this search does not wait for a commit (see `Indexer::nudge`).
    state.search.nudge(&state.pool);
    let indexer = state.search.clone();
    let pool = state.pool.clone();
    let (result, jobs) = app::blocking(move || -> Result<_, ApiError> {
        let r = indexer.index.search(&sq).map_err(|e| {
            tracing::error!(error = %e, "search failed");
            ApiError::new(ErrorCode::Internal)
        })?;
        let ids: Vec<uuid::Uuid> = r.hits.iter().map(|h| h.id).collect();
        let mut conn = pool.get().map_err(store::StoreError::from)?;
        let jobs = store::jobs::get_many(&mut conn, &ids)?;
        Ok((r, jobs))
    })
    .await?;
    let mut by_id: std::collections::HashMap<uuid::Uuid, store::jobs::JobView> =
        jobs.into_iter().map(|j| (j.row.id, j)).collect();
    let hits: Vec<SearchHit> = result
        .hits
        .into_iter()
        .filter_map(|h| {
            by_id.remove(&h.id).map(|j| SearchHit { job: JobOut::from(j), score: h.score, highlights: h.highlights })
        })
        .collect();
    let next = (offset + limit < result.total.min(search_index::MAX_OFFSET) && hits.len() == limit)
        .then(|| format!("o{}", offset + limit));
    Ok(HttpResponse::Ok().json(SearchResults { hits, total: result.total, next_cursor: next }))
}
