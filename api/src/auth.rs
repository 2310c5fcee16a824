//! Authorisation as an extractor: a handler's signature says who may call it.
//! `Auth<JobPoster>` admits employers, industrial parks, brokers,
//! cooperation teams and admin; anyone else gets 403 before the handler runs.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::telemetry::RequestId;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use domain::OrgKind;
use futures_util::future::LocalBoxFuture;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use store::audit::Actor;
use store::orgs::KeyOwner;
use uuid::Uuid;

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: Uuid,
    pub org_id: Uuid,
    pub org_name: String,
    pub kind: OrgKind,
    pub county_code: Option<String>,
    pub request_id: Option<String>,
}

impl Caller {
    pub fn actor(&self) -> Actor {
        Actor { org_id: Some(self.org_id), key_id: Some(self.key_id), request_id: self.request_id.clone() }
    }

    pub fn is_admin(&self) -> bool {
        self.kind == OrgKind::Admin
    }

    /// Admin, or the county office of `county`.
    pub fn keeps_county(&self, county: &str) -> bool {
        self.is_admin() || (self.kind == OrgKind::CountyOffice && self.county_code.as_deref() == Some(county))
    }

    /// 403 `other_tenant` unless the caller keeps `county`'s ledger.
    pub fn require_county(&self, county: &str) -> Result<(), ApiError> {
        if self.keeps_county(county) {
            Ok(())
        } else {
            Err(ApiError::with_message(ErrorCode::OtherTenant, "This record belongs to another county's ledger."))
        }
    }
}

/// A set of organisation kinds allowed to call a handler, and what the others are told.
pub trait Policy {
    const ROLES: &'static [OrgKind];
    /// The refusal's message (else one naming the caller's kind).
    const REFUSAL: Option<&'static str> = None;
}

macro_rules! policy {
    ($(#[$m:meta])* $name:ident = [$($kind:ident),+] $(, $refusal:literal)?) => {
        $(#[$m])*
        pub struct $name;
        impl Policy for $name {
            const ROLES: &'static [OrgKind] = &[$(OrgKind::$kind),+];
            $(const REFUSAL: Option<&'static str> = Some($refusal);)?
        }
    };
}

policy!(/// Any valid key.
    AnyRole = [Admin, CountyOffice, Employer, IndustrialPark, Broker, CoopTeam]);
policy!(/// The province's administrators.
    AdminOnly = [Admin]);
policy!(/// Organisations that post jobs.
    JobPoster = [Employer, IndustrialPark, Broker, CoopTeam, Admin]);
policy!(/// Keepers of worker ledgers: county offices (their county) and admin.
    LedgerKeeper = [CountyOffice, Admin]);
policy!(/// Who reviews subsidy events and settles disputed months: county offices (their county) and admin.
    Reviewer = [CountyOffice, Admin], "County offices and admin review subsidies and settle disputed months.");
policy!(/// A cooperation team, for its own demand list.
    CoopTeamOnly = [CoopTeam], "Only a cooperation team edits and submits its list.");

/// The authenticated caller, admitted by policy `P`.
pub struct Auth<P: Policy> {
    caller: Caller,
    _policy: PhantomData<P>,
}

impl<P: Policy> Deref for Auth<P> {
    type Target = Caller;
    fn deref(&self) -> &Caller {
        &self.caller
    }
}

/// Recently seen keys, so that most requests need no database round trip.
/// A revocation takes effect at once in the process that made it, at once
/// in the others where Redis carries its announcement
/// ([`announce_revocation`], [`follow_revocations`]), and within `TTL` in
/// every case (Redis down, a lost message).
///
/// A key's owner (or `None`: unknown key) and when it was looked up.
type CachedKey = (Option<KeyOwner>, Instant);

pub struct KeyCache {
    entries: Mutex<HashMap<Vec<u8>, CachedKey>>,
}

const TTL: Duration = Duration::from_secs(1);

impl Default for KeyCache {
    fn default() -> Self {
        Self { entries: Mutex::new(HashMap::new()) }
    }
}

impl KeyCache {
    fn get(&self, hash: &[u8]) -> Option<Option<KeyOwner>> {
        let g = self.entries.lock().ok()?;
        g.get(hash).filter(|(_, at)| at.elapsed() < TTL).map(|(o, _)| o.clone())
    }

    fn put(&self, hash: Vec<u8>, owner: Option<KeyOwner>) {
        if let Ok(mut g) = self.entries.lock() {
            if g.len() > 100_000 {
                g.clear();
            }
            g.insert(hash, (owner, Instant::now()));
        }
    }

    /// Forget every cached key (after a revocation).
    pub fn clear(&self) {
        if let Ok(mut g) = self.entries.lock() {
            g.clear();
        }
    }
}

/// The Redis channel on which a revocation is announced to every process.
pub fn revocations_channel(state: &AppState) -> String {
    state.redis.key("api-keys:revoked")
}

/// After a key was revoked (committed): forget the cached keys here and tell
/// the other processes to forget theirs. Without Redis they still refuse the
/// key within the cache's lifetime (1 s).
pub async fn announce_revocation(state: &AppState) {
    state.keys.clear();
    let channel = revocations_channel(state);
    let published = state
        .redis
        .run(|mut c| async move { redis::cmd("PUBLISH").arg(channel).arg("revoked").query_async::<i64>(&mut c).await })
        .await;
    if let Err(e) = published {
        tracing::warn!(error = %e, "a key revocation could not be announced; other processes refuse the key within 1 s");
    }
}

/// Forget the cached keys whenever any process announces a revocation (run
/// once per process, for its life). While the subscription is down the
/// cache's 1 s lifetime bounds the delay; every (re)subscription starts
/// from an empty cache, since announcements may have been missed.
pub async fn follow_revocations(state: AppState) {
    use futures_util::StreamExt;
    let channel = revocations_channel(&state);
    loop {
        match state.redis.subscribe(&channel, Duration::from_secs(2)).await {
            Ok(pubsub) => {
                state.keys.clear();
                let mut messages = pubsub.into_on_message();
                while messages.next().await.is_some() {
                    state.keys.clear();
                }
                tracing::debug!("the key revocation subscription ended; subscribing again");
            }
            Err(e) => tracing::debug!(error = %e, "cannot subscribe to key revocations yet"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::new(ErrorCode::MissingApiKey))?;
    let value = header.to_str().map_err(|_| ApiError::new(ErrorCode::InvalidApiKey))?;
    let key = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .ok_or_else(|| ApiError::new(ErrorCode::MissingApiKey))?
        .trim();
    if key.is_empty() || key.len() > 200 {
        return Err(ApiError::new(ErrorCode::InvalidApiKey));
    }
    Ok(key.to_owned())
}

async fn authenticate(state: &AppState, key: String) -> Result<KeyOwner, ApiError> {
    let hash = store::orgs::hash_key(&key);
    let owner = match state.keys.get(&hash) {
        Some(o) => o,
        None => {
            let found = state.db(move |conn| Ok(store::orgs::key_owner(conn, &key)?)).await?;
            state.keys.put(hash, found.clone());
            found
        }
    };
    let owner = owner.ok_or_else(|| ApiError::new(ErrorCode::InvalidApiKey))?;
    let today = domain::calendar::today_in_china(chrono::Utc::now());
    if owner.revoked || owner.expires_on.is_some_and(|d| d < today) {
        return Err(ApiError::new(ErrorCode::InvalidApiKey));
    }
    Ok(owner)
}

impl<P: Policy + 'static> FromRequest for Auth<P> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let key = bearer(req);
        let request_id = req.extensions().get::<RequestId>().map(|r| r.0.clone());
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::new(ErrorCode::Internal))?;
            let owner = authenticate(&state, key?).await?;
            if let Err(wait) = state.limiter.check(owner.key_id).await {
                return Err(ApiError::new(ErrorCode::RateLimited).retry_after(wait));
            }
            let kind = OrgKind::parse(&owner.kind).ok_or_else(|| ApiError::new(ErrorCode::Internal))?;
            if !P::ROLES.contains(&kind) {
                return Err(ApiError::with_message(
                    ErrorCode::Forbidden,
                    match P::REFUSAL {
                        Some(m) => m.to_owned(),
                        None => format!("A key of a {} organisation may not do this.", kind.as_str()),
                    },
                ));
            }
            Ok(Auth {
                caller: Caller {
                    key_id: owner.key_id,
                    org_id: owner.org_id,
                    org_name: owner.org_name,
                    kind,
                    county_code: owner.county_code,
                    request_id,
                },
                _policy: PhantomData,
            })
        })
    }
}

/// Who the caller is to a placement, first match wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The placement's employer.
    Employer,
    /// The broker or cooperation team that organised it.
    Broker,
    /// Admin, or the county office keeping the worker's county.
    Officer,
    /// The organisation that registered it, and nothing more.
    Registrar,
}

/// Which parties of a placement may call a handler, and what the others are told.
pub trait PartyRule {
    const ADMITS: &'static [Party];
    const REFUSAL: &'static str;
}

macro_rules! party_rule {
    ($(#[$m:meta])* $name:ident = [$($party:ident),+], $refusal:literal) => {
        $(#[$m])*
        pub struct $name;
        impl PartyRule for $name {
            const ADMITS: &'static [Party] = &[$(Party::$party),+];
            const REFUSAL: &'static str = $refusal;
        }
    };
}

party_rule!(/// Every party sees the placement.
    AnyParty = [Employer, Broker, Officer, Registrar], "Only the placement's parties see it.");
party_rule!(/// Evidence comes from those who employ and place (admin also imports social insurance records).
    Reporter = [Employer, Broker, Officer],
    "Reports come from the placement's employer or broker; county offices resolve conflicts with /resolve.");
party_rule!(/// A separation is told by the employer, the broker or an officer.
    Separator = [Employer, Broker, Officer], "The employer, the broker or the county office records a separation.");
party_rule!(/// A disputed month is settled by an officer of the worker's county.
    Settler = [Officer], "County offices and admin settle disputed months.");

/// The caller as a party of the placement named by the path's `{id}`,
/// admitted by rule `R`: not a party at all is 403 `other_tenant`, a party
/// the rule does not admit 403 `forbidden`, an unknown placement 404, all
/// before the handler runs. The handler gets the placement as loaded.
pub struct PlacementParty<R: PartyRule> {
    pub caller: Caller,
    pub party: Party,
    pub placement: store::placements::Placement,
    _rule: PhantomData<R>,
}

fn party_of(
    conn: &mut diesel::PgConnection,
    caller: &Caller,
    p: &store::placements::Placement,
) -> Result<Party, ApiError> {
    if caller.org_id == p.employer_org_id {
        return Ok(Party::Employer);
    }
    if Some(caller.org_id) == p.broker_org_id {
        return Ok(Party::Broker);
    }
    if caller.is_admin() {
        return Ok(Party::Officer);
    }
    if caller.kind == OrgKind::CountyOffice {
        let county = store::workers::county_of(conn, p.worker_id)?;
        if caller.keeps_county(&county) {
            return Ok(Party::Officer);
        }
    }
    if caller.org_id == p.registered_by_org_id {
        return Ok(Party::Registrar);
    }
    Err(ApiError::with_message(ErrorCode::OtherTenant, "This record belongs to another county's ledger."))
}

/// The caller, the state and the record id in the path.
type PathRecord = (Caller, web::Data<AppState>, Uuid);

/// What an extractor of the record in the path needs: the caller (any role),
/// the state and the path's `{id}` (404 naming `what` when it is not a UUID).
fn record_in_path(
    req: &HttpRequest,
    payload: &mut Payload,
    what: &'static str,
) -> LocalBoxFuture<'static, Result<PathRecord, ApiError>> {
    let auth = Auth::<AnyRole>::from_request(req, payload);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let id = req.match_info().get("id").map(str::to_owned);
    Box::pin(async move {
        let caller = auth.await?.caller;
        let state = state.ok_or_else(|| ApiError::new(ErrorCode::Internal))?;
        let id = crate::routes::parse_id(id.as_deref().unwrap_or(""), what)?;
        Ok((caller, state, id))
    })
}

impl<R: PartyRule + 'static> FromRequest for PlacementParty<R> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parts = record_in_path(req, payload, "placement");
        Box::pin(async move {
            let (caller, state, id) = parts.await?;
            let who = caller.clone();
            let (placement, party) = state
                .db(move |conn| {
                    let p = store::placements::get(conn, id).map_err(crate::routes::missing("placement"))?;
                    let party = party_of(conn, &who, &p)?;
                    Ok::<_, ApiError>((p, party))
                })
                .await?;
            if !R::ADMITS.contains(&party) {
                return Err(ApiError::with_message(ErrorCode::Forbidden, R::REFUSAL));
            }
            Ok(PlacementParty { caller, party, placement, _rule: PhantomData })
        })
    }
}

/// The caller as one who may rank workers for the job named by the path's
/// `{id}`: its poster, a county office or admin (403 `other_tenant` for
/// anyone else, 404 for an unknown job), with the job as the matcher sees it,
/// loaded once for the handler and its use case.
pub struct JobRanker {
    pub caller: Caller,
    pub job: domain::matching::JobSnap,
}

impl JobRanker {
    /// The caller posted the job (and sees its candidates anonymised until they accept).
    pub fn is_poster(&self) -> bool {
        self.caller.org_id == self.job.poster_org_id
    }
}

impl FromRequest for JobRanker {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parts = record_in_path(req, payload, "job");
        Box::pin(async move {
            let (caller, state, id) = parts.await?;
            let today = state.today();
            let job = state
                .db(move |conn| store::matching::job_snapshot(conn, id, today).map_err(crate::routes::missing("job")))
                .await?;
            if !(caller.is_admin() || caller.kind == OrgKind::CountyOffice || caller.org_id == job.poster_org_id) {
                return Err(ApiError::with_message(
                    ErrorCode::OtherTenant,
                    "Only the job's poster, county offices and admin see its candidates.",
                ));
            }
            Ok(JobRanker { caller, job })
        })
    }
}
