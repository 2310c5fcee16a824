//! What the workers' bot (#6) needs from PostgreSQL: chats bound to workers,
//! one-time binding codes, the offer and check-in answers, and the durable
//! queue of outgoing pushes that the dispatcher drains.
//!
//! The queue (`bot_queue`) is written in the same transaction as what causes
//! a push: [`enqueue_offer`] runs inside [`crate::matching::queue`],
//! [`enqueue_surveys`] inside [`crate::monitoring::open_round`], and
//! [`enqueue_checkins`] is itself the monthly round's transaction. A row is
//! `pending`, claimed as `sending` by the one dispatcher that holds
//! [`DISPATCHER_LOCK`], then `sent` (with the channel's message id),
//! `pending` again (retry later), `skipped` or `failed`. A row found in
//! `sending` by a new dispatcher (the previous one crashed between sending
//! and recording) is sent again and flagged `maybe_sent`: that is the one
//! duplicate that can happen.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox;
use crate::placements::{self as placement_store, NewReport, NewSeparation};
use crate::schema::{bot_binding_codes, bot_chats, offers, placement_reports, placements, workers};
use crate::vault::Vault;
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use domain::calendar::YearMonth;
use domain::worker::FactSource;
use std::collections::HashMap;
use uuid::Uuid;

/// PostgreSQL advisory-lock key of the dispatcher: one sends, the others wait.
pub const DISPATCHER_LOCK: i64 = 0x7169_616e_6d73_6731; // "qianmsg1"

/// How long a binding code is valid.
pub const CODE_DAYS: i64 = 7;

const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = bot_chats)]
pub struct Chat {
    pub channel: String,
    pub chat_id: String,
    pub worker_id: Uuid,
    pub bound_by: String,
    pub bound_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub unreachable_at: Option<DateTime<Utc>>,
}

/// The chat's binding, if any.
pub fn chat(conn: &mut PgConnection, channel: &str, chat_id: &str) -> Result<Option<Chat>, StoreError> {
    Ok(bot_chats::table.find((channel, chat_id)).select(Chat::as_select()).first(conn).optional()?)
}

/// The chat bound to a worker on a channel, if any.
pub fn chat_of_worker(conn: &mut PgConnection, channel: &str, worker_id: Uuid) -> Result<Option<Chat>, StoreError> {
    Ok(bot_chats::table
        .filter(bot_chats::channel.eq(channel))
        .filter(bot_chats::worker_id.eq(worker_id))
        .select(Chat::as_select())
        .first(conn)
        .optional()?)
}

/// The worker wrote to us: whatever refused delivery before does not any more.
pub fn mark_reachable(conn: &mut PgConnection, channel: &str, chat_id: &str) -> Result<(), StoreError> {
    diesel::update(bot_chats::table.find((channel, chat_id)))
        .filter(bot_chats::unreachable_at.is_not_null())
        .set(bot_chats::unreachable_at.eq(None::<DateTime<Utc>>))
        .execute(conn)?;
    Ok(())
}

fn bind(conn: &mut PgConnection, channel: &str, chat_id: &str, worker_id: Uuid, by: &str) -> Result<(), StoreError> {
    diesel::delete(bot_chats::table.filter(
        bot_chats::channel.eq(channel).and(bot_chats::chat_id.eq(chat_id).or(bot_chats::worker_id.eq(worker_id))),
    ))
    .execute(conn)?;
    diesel::insert_into(bot_chats::table)
        .values((
            bot_chats::channel.eq(channel),
            bot_chats::chat_id.eq(chat_id),
            bot_chats::worker_id.eq(worker_id),
            bot_chats::bound_by.eq(by),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        &Actor::system(),
        "bot.bind",
        "worker",
        &worker_id.to_string(),
        serde_json::json!({"channel": channel, "by": by}),
    )
}

/// What binding by phone found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhoneBinding {
    Bound(Uuid),
    /// No worker in the ledger has this number.
    Unknown,
    /// Several workers share it: an officer must issue a code.
    Ambiguous,
}

/// Bind a chat to the worker whose ledger phone is `phone` (by keyed hash).
pub fn bind_by_phone(
    conn: &mut PgConnection,
    vault: &Vault,
    channel: &str,
    chat_id: &str,
    phone: &domain::Phone,
) -> Result<PhoneBinding, StoreError> {
    conn.transaction(|conn| {
        let found = crate::workers::find_by_phone(conn, vault, phone)?;
        match found.as_slice() {
            [] => Ok(PhoneBinding::Unknown),
            [one] => {
                bind(conn, channel, chat_id, *one, "contact")?;
                Ok(PhoneBinding::Bound(*one))
            }
            _ => Ok(PhoneBinding::Ambiguous),
        }
    })
}

/// Bind a chat with a one-time code; `None` when the code is unknown, used or expired.
pub fn bind_by_code(
    conn: &mut PgConnection,
    vault: &Vault,
    channel: &str,
    chat_id: &str,
    code: &str,
) -> Result<Option<Uuid>, StoreError> {
    let code = normalize_code(code);
    if code.len() != CODE_LEN {
        return Ok(None);
    }
    conn.transaction(|conn| {
        let worker: Option<Uuid> = diesel::update(
            bot_binding_codes::table
                .filter(bot_binding_codes::code_hash.eq(vault.lookup_hash("bot-code", &code)))
                .filter(bot_binding_codes::used_at.is_null())
                .filter(bot_binding_codes::expires_at.gt(diesel::dsl::now)),
        )
        .set(bot_binding_codes::used_at.eq(diesel::dsl::now))
        .returning(bot_binding_codes::worker_id)
        .get_result(conn)
        .optional()?;
        let Some(worker) = worker else { return Ok(None) };
        let erased: Option<DateTime<Utc>> = workers::table.find(worker).select(workers::erased_at).first(conn)?;
        if erased.is_some() {
            return Ok(None);
        }
        bind(conn, channel, chat_id, worker, "code")?;
        Ok(Some(worker))
    })
}

fn normalize_code(code: &str) -> String {
    code.trim().to_ascii_uppercase()
}

/// Issue a one-time binding code for a worker (valid [`CODE_DAYS`] days).
pub fn create_code(
    conn: &mut PgConnection,
    vault: &Vault,
    worker_id: Uuid,
    actor: &Actor,
) -> Result<(String, DateTime<Utc>), StoreError> {
    use rand::Rng;
    conn.transaction(|conn| {
        let erased: Option<Option<DateTime<Utc>>> =
            workers::table.find(worker_id).select(workers::erased_at).first(conn).optional()?;
        match erased {
            None => return Err(StoreError::NotFound),
            Some(Some(_)) => return Err(StoreError::Conflict("the worker's record was erased".into())),
            Some(None) => {}
        }
        let mut rng = rand::rng();
        let code: String =
            (0..CODE_LEN).map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char).collect();
        let expires_at = Utc::now() + chrono::Duration::days(CODE_DAYS);
        diesel::insert_into(bot_binding_codes::table)
            .values((
                bot_binding_codes::code_hash.eq(vault.lookup_hash("bot-code", &code)),
                bot_binding_codes::worker_id.eq(worker_id),
                bot_binding_codes::created_by_org_id.eq(actor.org_id),
                bot_binding_codes::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        audit::record(conn, actor, "bot.binding_code", "worker", &worker_id.to_string(), serde_json::json!({}))?;
        Ok((code, expires_at))
    })
}

/// Forget the chat (`/unbind`). Returns whether it was bound.
pub fn unbind(conn: &mut PgConnection, channel: &str, chat_id: &str) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        let gone: Option<Uuid> = diesel::delete(bot_chats::table.find((channel, chat_id)))
            .returning(bot_chats::worker_id)
            .get_result(conn)
            .optional()?;
        if let Some(w) = gone {
            audit::record(
                conn,
                &Actor::system(),
                "bot.unbind",
                "worker",
                &w.to_string(),
                serde_json::json!({"channel": channel}),
            )?;
        }
        Ok(gone.is_some())
    })
}

/// `/stop` (`on = false`) and `/start` again (`on = true`): pushes to the
/// chat and the worker's `accepts_offers`, which the planner respects.
pub fn set_pushes(conn: &mut PgConnection, channel: &str, chat_id: &str, on: bool) -> Result<bool, StoreError> {
    conn.transaction(|conn| {
        let stopped_at: Option<DateTime<Utc>> = if on { None } else { Some(Utc::now()) };
        let worker: Option<Uuid> = diesel::update(bot_chats::table.find((channel, chat_id)))
            .set(bot_chats::stopped_at.eq(stopped_at))
            .returning(bot_chats::worker_id)
            .get_result(conn)
            .optional()?;
        let Some(worker) = worker else { return Ok(false) };
        diesel::update(workers::table.find(worker))
            .set((workers::accepts_offers.eq(on), workers::updated_at.eq(diesel::dsl::now)))
            .execute(conn)?;
        outbox::publish(
            conn,
            crate::outbox::Topic::WorkerUpdated,
            &worker.to_string(),
            serde_json::json!({"worker_id": worker}),
        )?;
        audit::record(
            conn,
            &Actor::system(),
            if on { "bot.resume" } else { "bot.stop" },
            "worker",
            &worker.to_string(),
            serde_json::json!({"channel": channel}),
        )?;
        Ok(true)
    })
}

// ------------------------------------------------------------------ queue

/// Queue an offer for sending. Call it in the transaction that queues the offer.
pub fn enqueue_offer(conn: &mut PgConnection, offer_id: Uuid, worker_id: Uuid) -> Result<(), StoreError> {
    diesel::sql_query(
        "INSERT INTO bot_queue (worker_id, kind, offer_id) VALUES ($1, 'offer', $2) ON CONFLICT DO NOTHING",
    )
    .bind::<SqlUuid, _>(worker_id)
    .bind::<SqlUuid, _>(offer_id)
    .execute(conn)?;
    Ok(())
}

/// The monthly check-in round: one question per active placement of a
/// worker who has a bound chat, for the month of `today` (once per month).
pub fn enqueue_checkins(conn: &mut PgConnection, today: NaiveDate) -> Result<usize, StoreError> {
    Ok(diesel::sql_query(
        "INSERT INTO bot_queue (worker_id, kind, placement_id, period) \
         SELECT DISTINCT p.worker_id, 'checkin', p.id, $1 FROM placements p \
           JOIN bot_chats c ON c.worker_id = p.worker_id \
          WHERE p.separated_on IS NULL AND p.start_date <= $2 \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Date, _>(YearMonth::of(today).first_day())
    .bind::<Date, _>(today)
    .execute(conn)?)
}

/// The monthly survey (#9): one push per bound worker and period of a
/// monitoring round opened in the last 30 days (the province's round or the
/// worker's county's), for chats that take pushes (not stopped, reachable)
/// and workers with no answer for that period yet. At most once per worker
/// and period, by the unique key `bot_queue_survey_once`: running it again
/// adds nothing. Called in the transaction that opens a round, and by the
/// dispatcher's housekeeping for chats bound since.
pub fn enqueue_surveys(conn: &mut PgConnection) -> Result<usize, StoreError> {
    Ok(diesel::sql_query(
        "INSERT INTO bot_queue (worker_id, kind, period) \
         SELECT DISTINCT w.id, 'survey', r.period FROM bot_chats c \
           JOIN workers w ON w.id = c.worker_id AND w.erased_at IS NULL \
           JOIN monitoring_rounds r ON r.scope_code IN ($1, w.county_code) AND r.opened_at > now() - interval '30 days' \
          WHERE c.stopped_at IS NULL AND c.unreachable_at IS NULL \
            AND NOT EXISTS (SELECT 1 FROM monitoring_responses m WHERE m.worker_id = w.id AND m.period = r.period) \
            AND NOT EXISTS (SELECT 1 FROM bot_queue q WHERE q.kind = 'survey' AND q.worker_id = w.id AND q.period = r.period) \
         ON CONFLICT DO NOTHING",
    )
    .bind::<Text, _>(domain::division::GUIZHOU)
    .execute(conn)?)
}

/// Expire offers past their date (`queued`/`sent` → `expired`) and drop
/// pushes that no longer make sense. Returns (offers expired, pushes skipped).
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
        let skipped = diesel::sql_query(
            "UPDATE bot_queue q SET state = 'skipped', last_error = 'no longer current' \
              WHERE q.state = 'pending' AND ( \
                    (q.kind = 'offer' AND EXISTS (SELECT 1 FROM offers o WHERE o.id = q.offer_id AND o.status <> 'queued')) \
                 OR (q.kind = 'checkin' AND q.created_at < now() - interval '35 days') \
                 OR (q.kind = 'survey' AND q.created_at < now() - interval '20 days'))",
        )
        .execute(conn)?;
        Ok((expired.len(), skipped))
    })
}

/// What a dispatcher must send for one claimed row.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub id: i64,
    pub chat_id: String,
    pub worker_id: Uuid,
    /// Attempts so far, this one included.
    pub attempts: i32,
    /// Found in `sending` after a crash: it may have been delivered already.
    pub maybe_sent: bool,
    pub content: Content,
}

#[derive(Debug, Clone)]
pub enum Content {
    Offer(OfferCard),
    Checkin {
        placement_id: Uuid,
        employer: String,
    },
    /// The monthly survey's first question, about `period`.
    Survey {
        period: YearMonth,
    },
    /// Not to send any more (the offer was answered or expired, the worker opted out, ...).
    Skip(&'static str),
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
struct OfferCardRow {
    #[diesel(sql_type = SqlUuid)]
    offer_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    worker_id: Uuid,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    description: String,
    #[diesel(sql_type = Text)]
    employer: String,
    #[diesel(sql_type = Text)]
    county: String,
    #[diesel(sql_type = Nullable<Text>)]
    parent: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    province: Option<String>,
    #[diesel(sql_type = Text)]
    province_code: String,
    #[diesel(sql_type = Int4)]
    wage_min: i32,
    #[diesel(sql_type = Int4)]
    wage_max: i32,
    #[diesel(sql_type = Nullable<Int4>)]
    contract_months: Option<i32>,
    #[diesel(sql_type = Timestamptz)]
    expires_at: DateTime<Utc>,
    #[diesel(sql_type = Bool)]
    accepts_offers: bool,
}

const OFFER_CARD_SQL: &str = "SELECT o.id AS offer_id, o.worker_id, o.status, j.title, j.description, org.name AS employer, \
        d.name AS county, pa.name AS parent, pr.name AS province, d.province_code, j.wage_min, j.wage_max, \
        j.contract_months, o.expires_at, w.accepts_offers \
   FROM offers o JOIN jobs j ON j.id = o.job_id JOIN organizations org ON org.id = j.org_id \
   JOIN workers w ON w.id = o.worker_id \
   JOIN divisions d ON d.code = j.work_county_code \
   LEFT JOIN divisions pa ON pa.code = d.parent_code AND pa.code <> d.province_code \
   LEFT JOIN divisions pr ON pr.code = d.province_code \
  WHERE o.id = ANY ($1)";

impl OfferCardRow {
    fn card(self) -> OfferCard {
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

/// After a crash (only the dispatcher holding the lock calls this): rows
/// left in `sending` that the delivery journal saw delivered (`journal`:
/// row id, message id) are recorded as sent; the others go back to
/// `pending`, flagged `maybe_sent`. Returns (recorded, resent).
pub fn recover_in_flight(conn: &mut PgConnection, journal: &[(i64, i64)]) -> Result<(usize, usize), StoreError> {
    conn.transaction(|conn| {
        let ids: Vec<i64> = journal.iter().map(|(id, _)| *id).collect();
        let in_flight: Vec<i64> = bot_queue_sending(conn, &ids)?;
        let delivered: Vec<Delivery> = journal
            .iter()
            .filter(|(id, _)| in_flight.contains(id))
            .map(|(id, message_id)| Delivery::Sent { id: *id, message_id: *message_id })
            .collect();
        record(conn, &delivered)?;
        let resent =
            diesel::sql_query("UPDATE bot_queue SET state = 'pending', maybe_sent = true WHERE state = 'sending'")
                .execute(conn)?;
        Ok((delivered.len(), resent))
    })
}

/// Which of these rows are in `sending`.
fn bot_queue_sending(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<i64>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(crate::schema::bot_queue::table
        .filter(crate::schema::bot_queue::id.eq_any(ids))
        .filter(crate::schema::bot_queue::state.eq("sending"))
        .select(crate::schema::bot_queue::id)
        .load(conn)?)
}

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = SqlUuid)]
    worker_id: Uuid,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    offer_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    placement_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Date>)]
    period: Option<NaiveDate>,
    #[diesel(sql_type = Text)]
    chat_id: String,
    #[diesel(sql_type = Bool)]
    maybe_sent: bool,
    #[diesel(sql_type = Int4)]
    attempts: i32,
}

#[derive(QueryableByName)]
struct CheckinRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    employer: String,
    #[diesel(sql_type = Bool)]
    active: bool,
}

/// Claim up to `limit` due rows for chats of `channel` that may receive
/// pushes (bound, not stopped, reachable), oldest first, marking them `sending`.
pub fn claim(conn: &mut PgConnection, channel: &str, limit: i64) -> Result<Vec<Outgoing>, StoreError> {
    conn.transaction(|conn| {
        let rows: Vec<ClaimedRow> = diesel::sql_query(
            "WITH c AS ( \
               SELECT q.id, ch.chat_id FROM bot_queue q \
                 JOIN bot_chats ch ON ch.worker_id = q.worker_id AND ch.channel = $1 \
                WHERE q.state = 'pending' AND q.not_before <= now() \
                  AND ch.stopped_at IS NULL AND ch.unreachable_at IS NULL \
                ORDER BY q.id LIMIT $2 FOR UPDATE OF q SKIP LOCKED) \
             UPDATE bot_queue q SET state = 'sending', attempts = q.attempts + 1, channel = $1, chat_id = c.chat_id \
               FROM c WHERE q.id = c.id \
             RETURNING q.id, q.kind, q.worker_id, q.offer_id, q.placement_id, q.period, q.chat_id, q.maybe_sent, \
                       q.attempts",
        )
        .bind::<Text, _>(channel)
        .bind::<BigInt, _>(limit)
        .load(conn)?;
        let offer_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.offer_id).collect();
        let mut cards: HashMap<Uuid, OfferCardRow> = HashMap::new();
        if !offer_ids.is_empty() {
            for r in
                diesel::sql_query(OFFER_CARD_SQL).bind::<Array<SqlUuid>, _>(&offer_ids).load::<OfferCardRow>(conn)?
            {
                cards.insert(r.offer_id, r);
            }
        }
        let placement_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.placement_id).collect();
        let mut checkins: HashMap<Uuid, CheckinRow> = HashMap::new();
        if !placement_ids.is_empty() {
            for r in diesel::sql_query(
                "SELECT p.id, org.name AS employer, (p.separated_on IS NULL) AS active \
                   FROM placements p JOIN organizations org ON org.id = p.employer_org_id WHERE p.id = ANY ($1)",
            )
            .bind::<Array<SqlUuid>, _>(&placement_ids)
            .load::<CheckinRow>(conn)?
            {
                checkins.insert(r.id, r);
            }
        }
        // Surveys answered meanwhile (an officer, an import) are not sent.
        let (survey_workers, survey_periods): (Vec<Uuid>, Vec<NaiveDate>) =
            rows.iter().filter(|r| r.kind == "survey").filter_map(|r| Some((r.worker_id, r.period?))).unzip();
        let mut answered: std::collections::HashSet<(Uuid, NaiveDate)> = std::collections::HashSet::new();
        if !survey_workers.is_empty() {
            #[derive(QueryableByName)]
            struct Answered {
                #[diesel(sql_type = SqlUuid)]
                worker_id: Uuid,
                #[diesel(sql_type = Date)]
                period: NaiveDate,
            }
            for a in diesel::sql_query(
                "SELECT DISTINCT m.worker_id, m.period FROM monitoring_responses m \
                   JOIN unnest($1::uuid[], $2::date[]) AS s(w, p) ON m.worker_id = s.w AND m.period = s.p",
            )
            .bind::<Array<SqlUuid>, _>(&survey_workers)
            .bind::<Array<Date>, _>(&survey_periods)
            .load::<Answered>(conn)?
            {
                answered.insert((a.worker_id, a.period));
            }
        }
        let mut out: Vec<Outgoing> = rows
            .into_iter()
            .map(|r| {
                let content = match (r.kind.as_str(), r.offer_id, r.placement_id) {
                    ("offer", Some(o), _) => match cards.remove(&o) {
                        None => Content::Skip("offer not found"),
                        Some(c) if c.status != "queued" => Content::Skip("offer no longer queued"),
                        Some(c) if !c.accepts_offers => Content::Skip("worker does not accept offers"),
                        Some(c) if c.expires_at < Utc::now() => Content::Skip("offer expired"),
                        Some(c) => Content::Offer(c.card()),
                    },
                    ("checkin", _, Some(p)) => match checkins.get(&p) {
                        Some(c) if c.active => Content::Checkin { placement_id: p, employer: c.employer.clone() },
                        _ => Content::Skip("placement ended"),
                    },
                    ("survey", ..) => match r.period {
                        Some(p) if answered.contains(&(r.worker_id, p)) => Content::Skip("answered already"),
                        Some(p) => Content::Survey { period: YearMonth::of(p) },
                        None => Content::Skip("malformed row"),
                    },
                    _ => Content::Skip("malformed row"),
                };
                Outgoing {
                    id: r.id,
                    chat_id: r.chat_id,
                    worker_id: r.worker_id,
                    attempts: r.attempts,
                    maybe_sent: r.maybe_sent,
                    content,
                }
            })
            .collect();
        out.sort_by_key(|o| o.id);
        Ok(out)
    })
}

/// What became of one claimed row.
#[derive(Debug, Clone)]
pub enum Delivery {
    Sent {
        id: i64,
        message_id: i64,
    },
    /// Try again after `after_secs`. `attempted` is true when a send was tried and failed
    /// (network trouble); false when the row is put back unsent (Redis unreachable, the per-chat
    /// limit, a 429 pause), which gives back the attempt its claim counted, so waiting out an
    /// outage never uses up the attempts a push has against real failures.
    Retry {
        id: i64,
        after_secs: f64,
        error: String,
        attempted: bool,
    },
    Skipped {
        id: i64,
        reason: String,
    },
    Failed {
        id: i64,
        error: String,
    },
    /// The channel refuses the chat (Telegram 403): the row fails and the chat is marked unreachable.
    Unreachable {
        id: i64,
        channel: String,
        chat_id: String,
        error: String,
    },
}

/// Record a batch of outcomes in one transaction. Sent offers move
/// `queued → sent`.
pub fn record(conn: &mut PgConnection, batch: &[Delivery]) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    conn.transaction(|conn| {
        let (mut sent_ids, mut sent_msgs) = (Vec::new(), Vec::new());
        let (mut retry_ids, mut retry_secs, mut retry_errs, mut retry_tried) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut end_ids, mut end_states, mut end_errs) = (Vec::new(), Vec::new(), Vec::new());
        for d in batch {
            match d {
                Delivery::Sent { id, message_id } => {
                    sent_ids.push(*id);
                    sent_msgs.push(*message_id);
                }
                Delivery::Retry { id, after_secs, error, attempted } => {
                    retry_ids.push(*id);
                    retry_secs.push(*after_secs);
                    retry_errs.push(error.clone());
                    retry_tried.push(*attempted);
                }
                Delivery::Skipped { id, reason } => {
                    end_ids.push(*id);
                    end_states.push("skipped".to_owned());
                    end_errs.push(reason.clone());
                }
                Delivery::Failed { id, error } => {
                    end_ids.push(*id);
                    end_states.push("failed".to_owned());
                    end_errs.push(error.clone());
                }
                Delivery::Unreachable { id, channel, chat_id, error } => {
                    end_ids.push(*id);
                    end_states.push("failed".to_owned());
                    end_errs.push(error.clone());
                    diesel::update(bot_chats::table.find((channel, chat_id)))
                        .set(bot_chats::unreachable_at.eq(diesel::dsl::now))
                        .execute(conn)?;
                }
            }
        }
        if !sent_ids.is_empty() {
            diesel::sql_query(
                "UPDATE bot_queue q SET state = 'sent', message_id = s.m, sent_at = now(), last_error = NULL \
                   FROM unnest($1::bigint[], $2::bigint[]) AS s(id, m) WHERE q.id = s.id",
            )
            .bind::<Array<BigInt>, _>(&sent_ids)
            .bind::<Array<BigInt>, _>(&sent_msgs)
            .execute(conn)?;
            diesel::sql_query(
                "UPDATE offers o SET status = 'sent', sent_at = now() FROM bot_queue q \
                  WHERE q.id = ANY ($1) AND o.id = q.offer_id AND o.status = 'queued'",
            )
            .bind::<Array<BigInt>, _>(&sent_ids)
            .execute(conn)?;
        }
        if !retry_ids.is_empty() {
            diesel::sql_query(
                "UPDATE bot_queue q SET state = 'pending', not_before = now() + make_interval(secs => s.secs), \
                        last_error = s.err, attempts = CASE WHEN s.tried THEN q.attempts ELSE greatest(q.attempts - 1, 0) END \
                   FROM unnest($1::bigint[], $2::float8[], $3::text[], $4::bool[]) AS s(id, secs, err, tried) \
                  WHERE q.id = s.id",
            )
            .bind::<Array<BigInt>, _>(&retry_ids)
            .bind::<Array<Double>, _>(&retry_secs)
            .bind::<Array<Text>, _>(&retry_errs)
            .bind::<Array<Bool>, _>(&retry_tried)
            .execute(conn)?;
        }
        if !end_ids.is_empty() {
            diesel::sql_query(
                "UPDATE bot_queue q SET state = s.st, last_error = s.err \
                   FROM unnest($1::bigint[], $2::text[], $3::text[]) AS s(id, st, err) WHERE q.id = s.id",
            )
            .bind::<Array<BigInt>, _>(&end_ids)
            .bind::<Array<Text>, _>(&end_states)
            .bind::<Array<Text>, _>(&end_errs)
            .execute(conn)?;
        }
        Ok(())
    })
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

/// What became of a check-in answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckinAnswer {
    Recorded,
    /// The placement has ended already (or is not the worker's).
    Closed,
    /// The date is before the placement started or in the future.
    BadDate,
}

fn own_active_placement(
    conn: &mut PgConnection,
    worker_id: Uuid,
    placement_id: Uuid,
) -> Result<Option<NaiveDate>, StoreError> {
    Ok(placements::table
        .filter(placements::id.eq(placement_id))
        .filter(placements::worker_id.eq(worker_id))
        .filter(placements::separated_on.is_null())
        .select(placements::start_date)
        .first(conn)
        .optional()?)
}

/// "还在": evidence for this month, source `worker_checkin` (once per month).
pub fn checkin_still(
    conn: &mut PgConnection,
    worker_id: Uuid,
    placement_id: Uuid,
    today: NaiveDate,
) -> Result<CheckinAnswer, StoreError> {
    conn.transaction(|conn| {
        let Some(start) = own_active_placement(conn, worker_id, placement_id)? else {
            return Ok(CheckinAnswer::Closed);
        };
        if start > today {
            return Ok(CheckinAnswer::BadDate);
        }
        let month = YearMonth::of(today);
        let already: i64 = placement_reports::table
            .filter(placement_reports::placement_id.eq(placement_id))
            .filter(placement_reports::month.eq(month.first_day()))
            .filter(placement_reports::source.eq(FactSource::WorkerCheckin.as_str()))
            .filter(placement_reports::employed.eq(true))
            .count()
            .get_result(conn)?;
        if already == 0 {
            placement_store::add_report(
                conn,
                placement_id,
                &NewReport {
                    month,
                    source: FactSource::WorkerCheckin,
                    employed: true,
                    social_insurance_paid: None,
                    wage: None,
                    note: Some("本人通过机器人确认在岗".into()),
                },
                None,
                &Actor::system(),
                today,
            )?;
        }
        Ok(CheckinAnswer::Recorded)
    })
}

/// "已离职" / "换了工作": the separation, source `worker_checkin`; the worker
/// goes back into matching. For a changed job the worker is employed again
/// (elsewhere) from the same day.
pub fn checkin_left(
    conn: &mut PgConnection,
    worker_id: Uuid,
    placement_id: Uuid,
    on: NaiveDate,
    reason: &str,
    changed_job: bool,
    today: NaiveDate,
) -> Result<CheckinAnswer, StoreError> {
    conn.transaction(|conn| {
        let Some(start) = own_active_placement(conn, worker_id, placement_id)? else {
            return Ok(CheckinAnswer::Closed);
        };
        if on < start || on > today {
            return Ok(CheckinAnswer::BadDate);
        }
        placement_store::separate(
            conn,
            placement_id,
            &NewSeparation { on, reason, source: FactSource::WorkerCheckin },
            None,
            &Actor::system(),
            today,
        )?;
        if changed_job {
            crate::workers::add_fact(conn, worker_id, "employed", on, FactSource::WorkerCheckin)?;
        }
        Ok(CheckinAnswer::Recorded)
    })
}

/// What became of a finished survey.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurveyAnswer {
    /// Written as the worker's monitoring answer for the period.
    Recorded,
    /// No round is open for that period in the worker's county.
    Closed,
}

/// A survey finished in the bot: the worker's answer to the monitoring
/// round of `period` (source `bot`), if a round is open for their county.
pub fn record_survey(
    conn: &mut PgConnection,
    period: YearMonth,
    answer: &crate::monitoring::Answer,
    today: NaiveDate,
) -> Result<SurveyAnswer, StoreError> {
    conn.transaction(|conn| {
        let county = crate::workers::county_of(conn, answer.worker_id)?;
        if !crate::monitoring::round_open(conn, period, &county)? {
            return Ok(SurveyAnswer::Closed);
        }
        crate::monitoring::answer(conn, period, std::slice::from_ref(answer), &Actor::system(), today)?;
        Ok(SurveyAnswer::Recorded)
    })
}

// ------------------------------------------------------------------ views

/// A job as a list line of `/jobs`.
#[derive(Debug, Clone)]
pub struct JobLine {
    pub job_id: Uuid,
    pub title: String,
    pub employer: String,
    pub place: String,
    pub wage_min: i32,
    pub wage_max: i32,
}

#[derive(QueryableByName)]
struct JobLineRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    employer: String,
    #[diesel(sql_type = Text)]
    county: String,
    #[diesel(sql_type = Nullable<Text>)]
    province: Option<String>,
    #[diesel(sql_type = Int4)]
    wage_min: i32,
    #[diesel(sql_type = Int4)]
    wage_max: i32,
}

/// Jobs by id, in the order given.
pub fn job_lines(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<JobLine>, StoreError> {
    let rows: Vec<JobLineRow> = diesel::sql_query(
        "SELECT j.id, j.title, org.name AS employer, d.name AS county, pr.name AS province, j.wage_min, j.wage_max \
           FROM jobs j JOIN organizations org ON org.id = j.org_id JOIN divisions d ON d.code = j.work_county_code \
           LEFT JOIN divisions pr ON pr.code = d.province_code WHERE j.id = ANY ($1)",
    )
    .bind::<Array<SqlUuid>, _>(ids)
    .load(conn)?;
    let mut by_id: HashMap<Uuid, JobLineRow> = rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(ids
        .iter()
        .filter_map(|id| by_id.remove(id))
        .map(|r| JobLine {
            job_id: r.id,
            title: r.title,
            employer: r.employer,
            place: format!("{}{}", r.province.unwrap_or_default(), r.county),
            wage_min: r.wage_min,
            wage_max: r.wage_max,
        })
        .collect())
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
