//! Organisations and their API keys. Keys are random, shown once, and stored
//! only as SHA-256 hashes (they carry 192 bits of entropy, so a fast hash is
//! enough: there is nothing to brute-force).

use crate::StoreError;
use crate::schema::{api_keys, organizations};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use domain::OrgKind;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub county_code: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyInfo {
    pub id: Uuid,
    pub org_id: Uuid,
    pub prefix: String,
    pub issued_to: String,
    pub expires_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A key as issued: the secret is here and nowhere else.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub info: ApiKeyInfo,
    pub secret: String,
}

/// Who a presented key belongs to.
#[derive(Debug, Clone)]
pub struct KeyOwner {
    pub key_id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub kind: String,
    pub county_code: Option<String>,
    pub expires_on: Option<NaiveDate>,
    pub revoked: bool,
}

pub fn hash_key(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

pub fn generate_secret() -> String {
    let mut raw = [0u8; 24];
    rand::rng().fill_bytes(&mut raw);
    format!("qk_{}", hex::encode(raw))
}

fn prefix_of(secret: &str) -> String {
    secret.chars().take(11).collect()
}

pub fn create(
    conn: &mut PgConnection,
    name: &str,
    kind: OrgKind,
    county_code: Option<&str>,
) -> Result<Organization, StoreError> {
    Ok(diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(Uuid::new_v4()),
            organizations::name.eq(name),
            organizations::kind.eq(kind.as_str()),
            organizations::county_code.eq(county_code),
        ))
        .returning(Organization::as_returning())
        .get_result(conn)?)
}

pub fn get(conn: &mut PgConnection, id: Uuid) -> Result<Organization, StoreError> {
    Ok(organizations::table.find(id).select(Organization::as_select()).first(conn)?)
}

pub fn find_by_name(conn: &mut PgConnection, name: &str) -> Result<Option<Organization>, StoreError> {
    Ok(organizations::table
        .filter(organizations::name.eq(name))
        .select(Organization::as_select())
        .first(conn)
        .optional()?)
}

/// Organisations ordered by id, after `after`, optionally of one kind.
pub fn list(
    conn: &mut PgConnection,
    kind: Option<OrgKind>,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<Organization>, StoreError> {
    let mut q = organizations::table.select(Organization::as_select()).into_boxed();
    if let Some(k) = kind {
        q = q.filter(organizations::kind.eq(k.as_str()));
    }
    if let Some(a) = after {
        q = q.filter(organizations::id.gt(a));
    }
    Ok(q.order(organizations::id).limit(limit).load(conn)?)
}

/// Issue a key for `org_id`. `secret` is random unless given (bootstrap key).
pub fn create_key(
    conn: &mut PgConnection,
    org_id: Uuid,
    issued_to: &str,
    expires_on: Option<NaiveDate>,
    secret: Option<&str>,
) -> Result<IssuedKey, StoreError> {
    let secret = secret.map(str::to_owned).unwrap_or_else(generate_secret);
    let info = diesel::insert_into(api_keys::table)
        .values((
            api_keys::id.eq(Uuid::new_v4()),
            api_keys::org_id.eq(org_id),
            api_keys::key_hash.eq(hash_key(&secret)),
            api_keys::prefix.eq(prefix_of(&secret)),
            api_keys::issued_to.eq(issued_to),
            api_keys::expires_on.eq(expires_on),
        ))
        .returning(ApiKeyInfo::as_returning())
        .get_result(conn)?;
    Ok(IssuedKey { info, secret })
}

pub fn get_key(conn: &mut PgConnection, id: Uuid) -> Result<ApiKeyInfo, StoreError> {
    Ok(api_keys::table.find(id).select(ApiKeyInfo::as_select()).first(conn)?)
}

/// Revoke a key; revoking twice is a conflict.
pub fn revoke_key(conn: &mut PgConnection, id: Uuid) -> Result<ApiKeyInfo, StoreError> {
    let updated = diesel::update(api_keys::table.find(id).filter(api_keys::revoked_at.is_null()))
        .set(api_keys::revoked_at.eq(diesel::dsl::now))
        .returning(ApiKeyInfo::as_returning())
        .get_result(conn)
        .optional()?;
    match updated {
        Some(k) => Ok(k),
        None => {
            get_key(conn, id)?;
            Err(StoreError::Conflict("the key is already revoked".into()))
        }
    }
}

pub fn key_owner(conn: &mut PgConnection, secret: &str) -> Result<Option<KeyOwner>, StoreError> {
    type Row = (Uuid, Option<NaiveDate>, Option<DateTime<Utc>>, Organization);
    let row: Option<Row> = api_keys::table
        .inner_join(organizations::table)
        .filter(api_keys::key_hash.eq(hash_key(secret)))
        .select((api_keys::id, api_keys::expires_on, api_keys::revoked_at, Organization::as_select()))
        .first(conn)
        .optional()?;
    Ok(row.map(|(key_id, expires_on, revoked_at, org)| KeyOwner {
        key_id,
        org_id: org.id,
        org_name: org.name,
        kind: org.kind,
        county_code: org.county_code,
        expires_on,
        revoked: revoked_at.is_some(),
    }))
}

/// Make sure an organisation of `kind` named `org_name` exists and that
/// `secret` is one of its keys (for `QIANLINK_BOOTSTRAP_ADMIN_KEY`). Idempotent.
pub fn ensure_key(
    conn: &mut PgConnection,
    org_name: &str,
    kind: OrgKind,
    secret: &str,
    issued_to: &str,
) -> Result<Organization, StoreError> {
    conn.transaction(|conn| {
        let org = match find_by_name(conn, org_name)? {
            Some(o) => o,
            None => create(conn, org_name, kind, None)?,
        };
        if org.kind != kind.as_str() {
            return Err(StoreError::Conflict(format!(
                "organisation {org_name:?} exists with kind {}, not {}",
                org.kind,
                kind.as_str()
            )));
        }
        match key_owner(conn, secret)? {
            Some(owner) if owner.org_id == org.id && !owner.revoked => {}
            Some(_) => {
                return Err(StoreError::Conflict(
                    "that key is already used by another organisation or was revoked".into(),
                ));
            }
            None => {
                create_key(conn, org.id, issued_to, None, Some(secret))?;
            }
        }
        Ok(org)
    })
}

/// Find or create the organisation, then issue it a key; one transaction,
/// with an audit entry (for `qianlink admin create-key`).
pub fn create_org_and_key(
    conn: &mut PgConnection,
    name: &str,
    kind: OrgKind,
    county_code: Option<&str>,
    issued_to: &str,
) -> Result<(Organization, IssuedKey), StoreError> {
    conn.transaction(|conn| {
        let org = match find_by_name(conn, name)? {
            Some(o) if o.kind == kind.as_str() => o,
            Some(o) => {
                return Err(StoreError::Conflict(format!("organisation {name:?} exists with kind {}", o.kind)));
            }
            None => create(conn, name, kind, county_code)?,
        };
        let key = create_key(conn, org.id, issued_to, None, None)?;
        crate::audit::record(
            conn,
            &crate::audit::Actor::system(),
            "api_key.create",
            "api_key",
            &key.info.id.to_string(),
            serde_json::json!({"org_id": org.id, "via": "command line"}),
        )?;
        Ok((org, key))
    })
}
