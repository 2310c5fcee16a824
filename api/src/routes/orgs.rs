//! Organisations and API keys.

use super::{limit, missing, next_cursor, parse_id, uuid_cursor};
use crate::auth::{AdminOnly, AnyRole, Auth};
use crate::error::{ApiError, ErrorBody, ErrorCode};
use crate::json::Json;
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, post, web};
use chrono::{DateTime, NaiveDate, Utc};
use domain::{OrgKind, Problems};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgOut {
    pub id: Uuid,
    pub name: String,
    /// admin, county_office, employer, industrial_park, broker or coop_team
    pub kind: String,
    pub county_code: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<store::orgs::Organization> for OrgOut {
    fn from(o: store::orgs::Organization) -> Self {
        Self { id: o.id, name: o.name, kind: o.kind, county_code: o.county_code, created_at: o.created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrgPage {
    pub items: Vec<OrgOut>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgInput {
    #[schema(required, nullable = false)]
    pub name: Option<String>,
    #[schema(required, nullable = false)]
    pub kind: Option<String>,
    /// Required for a county office (its county), refused otherwise.
    pub county_code: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyInput {
    /// The person the key is issued to; without it, the key is recorded as issued to the
    /// organisation (its name).
    pub issued_to: Option<String>,
    /// Last day the key is valid (Asia/Shanghai).
    pub expires_on: Option<NaiveDate>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyOut {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The key itself: shown once, stored only as a hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub prefix: String,
    pub issued_to: String,
    pub expires_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl KeyOut {
    fn from_info(k: store::orgs::ApiKeyInfo, secret: Option<String>) -> Self {
        Self {
            id: k.id,
            org_id: k.org_id,
            key: secret,
            prefix: k.prefix,
            issued_to: k.issued_to,
            expires_on: k.expires_on,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeOut {
    pub org_id: Uuid,
    pub org_name: String,
    pub role: String,
    pub county_code: Option<String>,
    pub key_id: Uuid,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OrgListQuery {
    #[param(schema_with = super::schema::org_kind)]
    pub kind: Option<String>,
    #[param(schema_with = super::schema::uuid)]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// Who am I: the calling key's organisation and role.
#[utoipa::path(tag = "organizations", security(("api_key" = [])),
    responses((status = 200, body = MeOut), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/me")]
pub async fn me(auth: Auth<AnyRole>) -> HttpResponse {
    HttpResponse::Ok().json(MeOut {
        org_id: auth.org_id,
        org_name: auth.org_name.clone(),
        role: auth.kind.as_str().to_owned(),
        county_code: auth.county_code.clone(),
        key_id: auth.key_id,
    })
}

/// Create an organisation (admin).
#[utoipa::path(tag = "organizations", security(("api_key" = [])), request_body = OrgInput,
    responses((status = 201, body = OrgOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/organizations")]
pub async fn create_org(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    body: Json<OrgInput>,
) -> Result<HttpResponse, ApiError> {
    let input = body.into_inner();
    let mut p = Problems::new();
    let name = domain::job::clean_text(&mut p, "name", input.name.as_deref(), true, 200);
    let kind = match input.kind.as_deref() {
        None => {
            p.push("kind", "is required");
            None
        }
        Some(k) => {
            let parsed = OrgKind::parse(k);
            if parsed.is_none() {
                p.push("kind", "must be one of admin, county_office, employer, industrial_park, broker, coop_team");
            }
            parsed
        }
    };
    let county = input.county_code.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    match (kind, &county) {
        (Some(k), None) if k.needs_county() => p.push("county_code", "is required for a county office"),
        (Some(k), Some(_)) if !k.needs_county() => p.push("county_code", "is only for a county office"),
        _ => {}
    }
    let kind = match kind {
        Some(k) if p.is_empty() => k,
        _ => return Err(p.into()),
    };
    let actor = auth.actor();
    let org = state
        .db(move |conn| {
            if let Some(c) = &county
                && !store::workers::is_county_level(conn, c)?
            {
                return Err(ApiError::field("county_code", "is not a county-level division code"));
            }
            conn_tx(conn, |conn| {
                let org = store::orgs::create(conn, &name, kind, county.as_deref()).map_err(|e| match e {
                    store::StoreError::Duplicate { .. } => {
                        ApiError::with_message(ErrorCode::Duplicate, "An organisation with this name exists already.")
                    }
                    other => other.into(),
                })?;
                store::audit::record(
                    conn,
                    &actor,
                    "organization.create",
                    "organization",
                    &org.id.to_string(),
                    serde_json::json!({"kind": org.kind}),
                )?;
                Ok(org)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(OrgOut::from(org)))
}

/// Run `f` in a transaction whose error type is the API's.
pub(crate) fn conn_tx<T>(
    conn: &mut diesel::PgConnection,
    f: impl FnOnce(&mut diesel::PgConnection) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    use diesel::Connection;
    let mut out = None;
    let r = conn.transaction::<(), TxError, _>(|conn| {
        out = Some(f(conn).map_err(TxError::Api)?);
        Ok(())
    });
    match r {
        Ok(()) => out.ok_or_else(|| ApiError::new(ErrorCode::Internal)),
        Err(TxError::Api(e)) => Err(e),
        Err(TxError::Db(e)) => Err(store::StoreError::from(e).into()),
    }
}

enum TxError {
    Api(ApiError),
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for TxError {
    fn from(e: diesel::result::Error) -> Self {
        TxError::Db(e)
    }
}

/// List organisations (admin).
#[utoipa::path(tag = "organizations", security(("api_key" = [])), params(OrgListQuery),
    responses((status = 200, body = OrgPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/organizations")]
pub async fn list_orgs(
    _auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    q: web::Query<OrgListQuery>,
) -> Result<HttpResponse, ApiError> {
    let limit = limit(q.limit)?;
    let after = uuid_cursor(q.cursor.as_deref())?;
    let kind = match q.kind.as_deref() {
        None | Some("") => None,
        Some(k) => Some(
            OrgKind::parse(k)
                .ok_or_else(|| ApiError::with_message(ErrorCode::InvalidQuery, "kind is not an organisation kind"))?,
        ),
    };
    let orgs = state.db(move |conn| Ok(store::orgs::list(conn, kind, after, limit)?)).await?;
    let next = next_cursor(&orgs, limit, |o| o.id.to_string());
    Ok(HttpResponse::Ok().json(OrgPage { items: orgs.into_iter().map(OrgOut::from).collect(), next_cursor: next }))
}

/// One organisation (admin, or the organisation itself).
#[utoipa::path(tag = "organizations", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = OrgOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[get("/organizations/{id}")]
pub async fn get_org(
    auth: Auth<AnyRole>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = parse_id(&id, "organisation")?;
    if !auth.is_admin() && auth.org_id != id {
        return Err(ApiError::new(ErrorCode::OtherTenant));
    }
    let org = state.db(move |conn| store::orgs::get(conn, id).map_err(missing("organisation"))).await?;
    Ok(HttpResponse::Ok().json(OrgOut::from(org)))
}

/// Issue an API key for an organisation (admin). The key is in the answer, once.
#[utoipa::path(tag = "organizations", security(("api_key" = [])), params(("id" = String, Path)), request_body = KeyInput,
    responses((status = 201, body = KeyOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)))]
#[post("/organizations/{id}/api-keys")]
pub async fn create_key(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<KeyInput>,
) -> Result<HttpResponse, ApiError> {
    let org_id = parse_id(&id, "organisation")?;
    let mut p = Problems::new();
    let issued_to = domain::job::clean_text(&mut p, "issued_to", body.issued_to.as_deref(), false, 200);
    if let Some(d) = body.expires_on
        && d < state.today()
    {
        p.push("expires_on", "is in the past");
    }
    if !p.is_empty() {
        return Err(p.into());
    }
    let expires_on = body.expires_on;
    let actor = auth.actor();
    let key = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let org = store::orgs::get(conn, org_id).map_err(missing("organisation"))?;
                let issued_to = if issued_to.is_empty() { org.name } else { issued_to };
                let key = store::orgs::create_key(conn, org_id, &issued_to, expires_on, None)?;
                store::audit::record(
                    conn,
                    &actor,
                    "api_key.create",
                    "api_key",
                    &key.info.id.to_string(),
                    serde_json::json!({"org_id": org_id}),
                )?;
                Ok(key)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(KeyOut::from_info(key.info, Some(key.secret))))
}

/// Revoke an API key (admin). It stops working at once in this process and in
/// the others (announced through Redis), and within 1 s in every case.
#[utoipa::path(tag = "organizations", security(("api_key" = [])), params(("id" = String, Path)),
    responses((status = 200, body = KeyOut), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody)))]
#[delete("/api-keys/{id}")]
pub async fn revoke_key(
    auth: Auth<AdminOnly>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let key_id = parse_id(&id, "API key")?;
    let actor = auth.actor();
    let info = state
        .db(move |conn| {
            conn_tx(conn, |conn| {
                let info = store::orgs::revoke_key(conn, key_id).map_err(|e| match e {
                    store::StoreError::NotFound => ApiError::not_found("API key"),
                    other => other.into(),
                })?;
                store::audit::record(
                    conn,
                    &actor,
                    "api_key.revoke",
                    "api_key",
                    &key_id.to_string(),
                    serde_json::json!({}),
                )?;
                Ok(info)
            })
        })
        .await?;
    crate::auth::announce_revocation(&state).await;
    Ok(HttpResponse::Ok().json(KeyOut::from_info(info, None)))
}
