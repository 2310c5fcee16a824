//! Chats bound to workers, on any channel (Telegram today): binding by
//! ledger phone or by a one-time code, unbinding, and the `/stop` `/start`
//! switch for pushes. What is sent to a chat is [`crate::push_queue`]'s.

use crate::StoreError;
use crate::audit::{self, Actor};
use crate::outbox;
use crate::schema::{bot_binding_codes, bot_chats, workers};
use crate::vault::Vault;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

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
