//! Offers as their worker sees and answers them: the card a message shows,
//! interested or not, expiry, and the worker's `/status`. Offers are planned
//! and queued by [`crate::matching`].

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox;
use crate::schema::offers;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Date, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use uuid::Uuid;

/// Expire offers past their date (`queued`/`sent` → `expired`) and drop
/// pushes that no longer make sense ([`crate::push_queue::skip_stale`]), in
/// one transaction. Returns (offers expired, pushes skipped).
pub fn expire(conn: &mut PgConnection) -> Result<(usize, usize), StoreError> {
    conn.transaction(|conn| {
        let expired: Vec<(Uuid, Uuid)> = diesel::update(
            offers::table
                .filter(offers::status.eq_any(["queued", "sent"]))
                .filter(offers::expires_at.lt(diesel::dsl::now)),
        )
        .set(offers::status.eq("expired"))
        .returning((offers::id, offers::worker_id))
        .get_results(conn)?;
        for (id, worker) in &expired {
            outbox::publish(
                conn,
                crate::outbox::Topic::OfferExpired,
                &id.to_string(),
                serde_json::json!({"offer_id": id, "worker_id": worker}),
            )?;
        }
        let skipped = crate::push_queue::skip_stale(conn)?;
        Ok((expired.len(), skipped))
    })
}

/// Everything a message about an offer says. Nothing about the worker.
#[derive(Debug, Clone)]
pub struct OfferCard {
    pub offer_id: Uuid,
    pub status: String,
    pub title: String,
    pub description: String,
    pub employer: String,
    pub place: String,
    pub province_code: String,
    pub wage_min: i32,
    pub wage_max: i32,
    pub contract_months: Option<i32>,
    pub expires_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
pub(crate) struct OfferCardRow {
    #[diesel(sql_type = SqlUuid)]
    pub(crate) offer_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub(crate) worker_id: Uuid,
    #[diesel(sql_type = Text)]
    pub(crate) status: String,
    #[diesel(sql_type = Text)]
    pub(crate) title: String,
    #[diesel(sql_type = Text)]
    pub(crate) description: String,
    #[diesel(sql_type = Text)]
    pub(crate) employer: String,
    #[diesel(sql_type = Text)]
    pub(crate) county: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) parent: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub(crate) province: Option<String>,
    #[diesel(sql_type = Text)]
    pub(crate) province_code: String,
    #[diesel(sql_type = Int4)]
    pub(crate) wage_min: i32,
    #[diesel(sql_type = Int4)]
    pub(crate) wage_max: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    pub(crate) contract_months: Option<i32>,
    #[diesel(sql_type = Timestamptz)]
    pub(crate) expires_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    pub(crate) accepts_offers: bool,
}

pub(crate) const OFFER_CARD_SQL: &str = "SELECT o.id AS offer_id, o.worker_id, o.status, j.title, j.description, org.name AS employer, \
        d.name AS county, pa.name AS parent, pr.name AS province, d.province_code, j.wage_min, j.wage_max, \
        j.contract_months, o.expires_at, w.accepts_offers \
   FROM offers o JOIN jobs j ON j.id = o.job_id JOIN organizations org ON org.id = j.org_id \
   JOIN workers w ON w.id = o.worker_id \
   JOIN divisions d ON d.code = j.work_county_code \
   LEFT JOIN divisions pa ON pa.code = d.parent_code AND pa.code <> d.province_code \
   LEFT JOIN divisions pr ON pr.code = d.province_code \
  WHERE o.id = ANY ($1)";

impl OfferCardRow {
    pub(crate) fn card(self) -> OfferCard {
        let place = [self.province, self.parent, Some(self.county)].into_iter().flatten().collect::<Vec<_>>().concat();
        OfferCard {
            offer_id: self.offer_id,
            status: self.status,
            title: self.title,
            description: self.description,
            employer: self.employer,
            place,
            province_code: self.province_code,
            wage_min: self.wage_min,
            wage_max: self.wage_max,
            contract_months: self.contract_months,
            expires_at: self.expires_at,
        }
    }
}

/// An offer as its worker may see it (`None`: not theirs, or no such offer).
pub fn offer_card(conn: &mut PgConnection, worker_id: Uuid, offer_id: Uuid) -> Result<Option<OfferCard>, StoreError> {
    let rows: Vec<OfferCardRow> =
        diesel::sql_query(OFFER_CARD_SQL).bind::<Array<SqlUuid>, _>(vec![offer_id]).load(conn)?;
    Ok(rows.into_iter().find(|r| r.worker_id == worker_id).map(OfferCardRow::card))
}

// ------------------------------------------------------------------ answers

/// What became of a worker's answer to an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferAnswer {
    /// Recorded; the job's title and employer for the reply.
    Recorded { title: String, employer: String },
    /// The offer was already answered or is no longer open (its status).
    Closed(String),
    /// Not this worker's offer, or none.
    NotFound,
}

#[derive(QueryableByName)]
struct AnswerRow {
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = SqlUuid)]
    job_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    org_id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    employer: String,
    #[diesel(sql_type = Bool)]
    expired: bool,
}

fn lock_offer(conn: &mut PgConnection, worker_id: Uuid, offer_id: Uuid) -> Result<Option<AnswerRow>, StoreError> {
    Ok(diesel::sql_query(
        "SELECT o.status, o.job_id, j.org_id, j.title, org.name AS employer, (o.expires_at < now()) AS expired \
           FROM offers o JOIN jobs j ON j.id = o.job_id JOIN organizations org ON org.id = j.org_id \
          WHERE o.id = $1 AND o.worker_id = $2 FOR UPDATE OF o",
    )
    .bind::<SqlUuid, _>(offer_id)
    .bind::<SqlUuid, _>(worker_id)
    .get_result(conn)
    .optional()?)
}

/// The worker is interested: `sent` (or still `queued`) → `accepted`, and
/// the posting organisation is told through the outbox (`offer.accepted`).
pub fn accept_offer(conn: &mut PgConnection, worker_id: Uuid, offer_id: Uuid) -> Result<OfferAnswer, StoreError> {
    conn.transaction(|conn| {
        let Some(o) = lock_offer(conn, worker_id, offer_id)? else { return Ok(OfferAnswer::NotFound) };
        if !matches!(o.status.as_str(), "queued" | "sent") {
            return Ok(OfferAnswer::Closed(o.status));
        }
        if o.expired {
            return Ok(OfferAnswer::Closed("expired".into()));
        }
        diesel::update(offers::table.find(offer_id))
            .set((offers::status.eq("accepted"), offers::responded_at.eq(diesel::dsl::now)))
            .execute(conn)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::OfferAccepted,
            &offer_id.to_string(),
            serde_json::json!({"offer_id": offer_id, "job_id": o.job_id, "worker_id": worker_id, "org_id": o.org_id}),
        )?;
        audit::record(
            conn,
            &Actor::system(),
            "offer.accept",
            "offer",
            &offer_id.to_string(),
            serde_json::json!({"channel": "bot"}),
        )?;
        Ok(OfferAnswer::Recorded { title: o.title, employer: o.employer })
    })
}

/// The worker is not interested: → `declined`; the reason (`low_wage`,
/// `too_far`, `wrong_trade`, `other`) may come with it or in a second step.
pub fn decline_offer(
    conn: &mut PgConnection,
    worker_id: Uuid,
    offer_id: Uuid,
    reason: Option<&str>,
) -> Result<OfferAnswer, StoreError> {
    conn.transaction(|conn| {
        let Some(o) = lock_offer(conn, worker_id, offer_id)? else { return Ok(OfferAnswer::NotFound) };
        match o.status.as_str() {
            "queued" | "sent" if !o.expired => {
                diesel::update(offers::table.find(offer_id))
                    .set((
                        offers::status.eq("declined"),
                        offers::decline_reason.eq(reason),
                        offers::responded_at.eq(diesel::dsl::now),
                    ))
                    .execute(conn)?;
                outbox::publish(
                    conn,
                    crate::outbox::Topic::OfferDeclined,
                    &offer_id.to_string(),
                    serde_json::json!({"offer_id": offer_id, "job_id": o.job_id, "worker_id": worker_id}),
                )?;
                audit::record(
                    conn,
                    &Actor::system(),
                    "offer.decline",
                    "offer",
                    &offer_id.to_string(),
                    serde_json::json!({"reason": reason}),
                )?;
            }
            "declined" => {
                if let Some(r) = reason {
                    diesel::update(offers::table.find(offer_id)).set(offers::decline_reason.eq(r)).execute(conn)?;
                }
            }
            _ if o.expired => return Ok(OfferAnswer::Closed("expired".into())),
            other => return Ok(OfferAnswer::Closed(other.to_owned())),
        }
        Ok(OfferAnswer::Recorded { title: o.title, employer: o.employer })
    })
}

/// `/status`: the worker's recent offers and current placements.
#[derive(Debug, Clone, Default)]
pub struct StatusView {
    /// (job title, employer, status), newest first.
    pub offers: Vec<(String, String, String)>,
    /// (employer, start date) of placements not ended.
    pub placements: Vec<(String, NaiveDate)>,
}

#[derive(QueryableByName)]
struct StatusOfferRow {
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    employer: String,
    #[diesel(sql_type = Text)]
    status: String,
}

#[derive(QueryableByName)]
struct StatusPlacementRow {
    #[diesel(sql_type = Text)]
    employer: String,
    #[diesel(sql_type = Date)]
    start_date: NaiveDate,
}

pub fn status(conn: &mut PgConnection, worker_id: Uuid) -> Result<StatusView, StoreError> {
    let offers: Vec<StatusOfferRow> = diesel::sql_query(
        "SELECT j.title, org.name AS employer, o.status FROM offers o JOIN jobs j ON j.id = o.job_id \
           JOIN organizations org ON org.id = j.org_id \
          WHERE o.worker_id = $1 AND o.status <> 'queued' ORDER BY o.created_at DESC LIMIT 10",
    )
    .bind::<SqlUuid, _>(worker_id)
    .load(conn)?;
    let placements: Vec<StatusPlacementRow> = diesel::sql_query(
        "SELECT org.name AS employer, p.start_date FROM placements p \
           JOIN organizations org ON org.id = p.employer_org_id \
          WHERE p.worker_id = $1 AND p.separated_on IS NULL ORDER BY p.start_date DESC",
    )
    .bind::<SqlUuid, _>(worker_id)
    .load(conn)?;
    Ok(StatusView {
        offers: offers.into_iter().map(|o| (o.title, o.employer, o.status)).collect(),
        placements: placements.into_iter().map(|p| (p.employer, p.start_date)).collect(),
    })
}
