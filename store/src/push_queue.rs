//! The durable queue of outgoing pushes (`bot_queue`) that the dispatcher
//! drains, on any channel.
//!
//! A push is written in the same transaction as what causes it:
//! [`enqueue_offer`] runs inside [`crate::matching::queue`],
//! [`enqueue_surveys`] inside [`crate::monitoring::open_round`], and
//! [`enqueue_checkins`] is itself the monthly round's transaction. A row is
//! `pending`, claimed as `sending` by the one dispatcher that holds
//! [`DISPATCHER_LOCK`], then `sent` (with the channel's message id),
//! `pending` again (retry later), `skipped` or `failed`. A row found in
//! `sending` by a new dispatcher (the previous one crashed between sending
//! and recording) is sent again and flagged `maybe_sent`: that is the one
//! duplicate that can happen.

use crate::StoreError;
use crate::offers::{OFFER_CARD_SQL, OfferCard, OfferCardRow};
use crate::schema::bot_chats;
use chrono::{NaiveDate, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Date, Double, Int4, Nullable, Text, Uuid as SqlUuid};
use domain::calendar::YearMonth;
use std::collections::HashMap;
use uuid::Uuid;

/// PostgreSQL advisory-lock key of the dispatcher: one sends, the others wait.
pub const DISPATCHER_LOCK: i64 = 0x7169_616e_6d73_6731; // "qianmsg1"

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

/// Drop pushes that no longer make sense: offers no longer `queued`, check-ins
/// older than 35 days, surveys older than 20. Returns how many were skipped.
pub fn skip_stale(conn: &mut PgConnection) -> Result<usize, StoreError> {
    Ok(diesel::sql_query(
        "UPDATE bot_queue q SET state = 'skipped', last_error = 'no longer current' \
          WHERE q.state = 'pending' AND ( \
                (q.kind = 'offer' AND EXISTS (SELECT 1 FROM offers o WHERE o.id = q.offer_id AND o.status <> 'queued')) \
             OR (q.kind = 'checkin' AND q.created_at < now() - interval '35 days') \
             OR (q.kind = 'survey' AND q.created_at < now() - interval '20 days'))",
    )
    .execute(conn)?)
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
