//! The Telegram adapter (teloxide 0.17): turns updates into core inputs,
//! renders replies with inline buttons or a `request_contact` keyboard, and
//! sends the dispatcher's pushes. Long polling by default, a webhook when
//! configured ([`crate::webhook`]); the Bot API base URL is configurable
//! (`QIANLINK_TELEGRAM_API_URL`) so that tests and local runs talk to a
//! local fake server.
//!
//! Every message goes through the [`Pacer`] (the overall schedule shared in
//! Redis and the process's gate; see [`crate::dispatch`] for why there is
//! no teloxide `Throttle`). A `429` comes back to the dispatcher, which
//! pauses every sender.

use crate::core::{self, Button, Input, Keyboard, Reply};
use crate::dispatch::{self, DispatchConfig, Pacer, SendResult, Transport};
use crate::service::Conversations;
use crate::shared::Shared;
use crate::webhook::WebhookConfig;
use app::Services;
use std::sync::Arc;
use teloxide::dispatching::{DpHandlerDescription, UpdateFilterExt};
use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, KeyboardMarkup, KeyboardRemove,
    ReplyMarkup,
};
use teloxide::{ApiError, RequestError};

/// The channel name in `bot_chats`.
pub const CHANNEL: &str = "telegram";

/// The bot as the handlers see it.
pub type TgBot = Bot;

pub type HandlerResult = Result<(), anyhow::Error>;

#[derive(Clone)]
pub struct TelegramConfig {
    pub token: String,
    /// Bot API base URL (default `https://api.telegram.org`).
    pub api_url: Option<String>,
    /// Receive updates through a webhook instead of long polling.
    pub webhook: Option<WebhookConfig>,
    pub dispatch: DispatchConfig,
    /// Waiting for a Telegram that does not answer.
    pub backoff: Backoff,
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("token", &"***")
            .field("api_url", &self.api_url)
            .field("webhook", &self.webhook)
            .field("dispatch", &self.dispatch)
            .field("backoff", &self.backoff)
            .finish()
    }
}

/// The teloxide bot with the configured API URL.
pub fn make_bot(cfg: &TelegramConfig) -> anyhow::Result<TgBot> {
    let mut bot = Bot::new(cfg.token.clone());
    if let Some(url) = &cfg.api_url {
        bot = bot.set_api_url(url.parse().map_err(|e| anyhow::anyhow!("QIANLINK_TELEGRAM_API_URL: {e}"))?);
    }
    Ok(bot)
}

/// The update handlers, used by the binary and the tests alike. Needs an
/// `Arc<Conversations>` and an `Arc<Pacer>` among the dispatcher's dependencies.
pub fn handler_tree() -> dptree::Handler<'static, HandlerResult, DpHandlerDescription> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_callback_query().endpoint(on_callback))
}

async fn on_message(bot: TgBot, conv: Arc<Conversations>, pacer: Arc<Pacer>, msg: Message) -> HandlerResult {
    if !msg.chat.is_private() {
        return Ok(());
    }
    let input = if let Some(c) = msg.contact() {
        let sender = msg.from.as_ref().map(|u| u.id);
        Input::Contact { phone: c.phone_number.clone(), is_own: c.user_id.is_some() && c.user_id == sender }
    } else if let Some(t) = msg.text() {
        core::parse_command(t).map(Input::Command).unwrap_or_else(|| Input::Text(t.to_owned()))
    } else {
        Input::Text(String::new())
    };
    let out = conv.handle(&msg.chat.id.0.to_string(), input).await;
    for r in &out.replies {
        pacer.reply(&msg.chat.id.0.to_string()).await;
        send(&bot, msg.chat.id, r).await?;
    }
    Ok(())
}

async fn on_callback(bot: TgBot, conv: Arc<Conversations>, pacer: Arc<Pacer>, q: CallbackQuery) -> HandlerResult {
    if let Err(e) = bot.answer_callback_query(q.id.clone()).await {
        tracing::debug!(error = %e, "answerCallbackQuery failed");
    }
    let Some(m) = q.message.as_ref() else { return Ok(()) };
    let chat = m.chat().id;
    if !m.chat().is_private() {
        return Ok(());
    }
    let input = match q.data.as_deref().and_then(Button::decode) {
        Some(b) => Input::Button(b),
        None => Input::Text(String::new()),
    };
    let out = conv.handle(&chat.0.to_string(), input).await;
    if out.close_buttons
        && let Err(e) = bot.edit_message_reply_markup(chat, m.id()).await
    {
        tracing::debug!(error = %e, "editMessageReplyMarkup failed");
    }
    for r in &out.replies {
        pacer.reply(&chat.0.to_string()).await;
        send(&bot, chat, r).await?;
    }
    Ok(())
}

async fn send(bot: &TgBot, chat: ChatId, r: &Reply) -> Result<Message, RequestError> {
    let req = bot.send_message(chat, core::scrub(&r.text));
    match markup(&r.keyboard) {
        Some(m) => req.reply_markup(m).await,
        None => req.await,
    }
}

fn markup(k: &Keyboard) -> Option<ReplyMarkup> {
    Some(match k {
        Keyboard::None => return None,
        Keyboard::Inline(rows) => ReplyMarkup::InlineKeyboard(InlineKeyboardMarkup::new(
            rows.iter().map(|r| r.iter().map(|(label, b)| InlineKeyboardButton::callback(label.clone(), b.encode()))),
        )),
        Keyboard::RequestContact(label) => ReplyMarkup::Keyboard(
            KeyboardMarkup::new([[KeyboardButton::new(label.clone()).request(ButtonRequest::Contact)]])
                .resize_keyboard()
                .one_time_keyboard(),
        ),
        Keyboard::Remove => ReplyMarkup::KeyboardRemove(KeyboardRemove::new()),
    })
}

/// Pushes through the Bot API.
pub struct TelegramTransport {
    pub bot: TgBot,
}

impl Transport for TelegramTransport {
    fn channel(&self) -> &'static str {
        CHANNEL
    }

    async fn send(&self, chat_id: &str, reply: &Reply) -> SendResult {
        let Ok(id) = chat_id.parse::<i64>() else { return SendResult::Permanent("bad chat id".into()) };
        match send(&self.bot, ChatId(id), reply).await {
            Ok(m) => SendResult::Sent(i64::from(m.id.0)),
            Err(e) => classify(e),
        }
    }
}

fn classify(e: RequestError) -> SendResult {
    match e {
        RequestError::RetryAfter(s) => SendResult::RetryAfter(s.duration()),
        RequestError::Api(
            ApiError::BotBlocked
            | ApiError::UserDeactivated
            | ApiError::CantInitiateConversation
            | ApiError::BotKicked
            | ApiError::ChatNotFound,
        ) => SendResult::Blocked(e.to_string()),
        RequestError::Api(ApiError::Unknown(s)) if s.starts_with("Forbidden") => SendResult::Blocked(s),
        RequestError::Api(a) => SendResult::Permanent(a.to_string()),
        RequestError::Network(n) => SendResult::Transient(n.to_string()),
        RequestError::Io(i) => SendResult::Transient(i.to_string()),
        RequestError::InvalidJson { .. } => SendResult::Transient("invalid JSON from the Bot API".into()),
        RequestError::MigrateToChatId(_) => SendResult::Permanent("chat migrated".into()),
    }
}

/// How the bot waits for a Telegram that does not answer: the n-th retry
/// after `first × 2ⁿ`, at most `max`; while it answers, a `getMe` every
/// `probe` keeps `/readyz` true.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub first: std::time::Duration,
    pub max: std::time::Duration,
    pub probe: std::time::Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        use std::time::Duration;
        Self { first: Duration::from_secs(1), max: Duration::from_secs(60), probe: Duration::from_secs(30) }
    }
}

impl Backoff {
    /// The wait before retry `n` (0-based).
    pub fn delay(&self, n: u32) -> std::time::Duration {
        self.first.saturating_mul(1u32 << n.min(16)).min(self.max)
    }
}

/// A running bot: long polling (or the webhook) and the dispatcher.
pub struct BotHandle {
    polling: Option<teloxide::dispatching::ShutdownToken>,
    supervisor: Option<tokio::task::JoinHandle<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl BotHandle {
    /// Stop polling gracefully (updates handled so far are acknowledged) and
    /// stop the dispatcher (as abruptly as a crash: rows in flight are resent
    /// by the next dispatcher, flagged `maybe_sent`). A bot still waiting for
    /// Telegram stops at once.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Some(polling) = &self.polling {
            for _ in 0..100 {
                if self.supervisor.as_ref().is_none_or(tokio::task::JoinHandle::is_finished) {
                    break;
                }
                match polling.shutdown() {
                    Ok(f) => {
                        f.await;
                        break;
                    }
                    // Not dispatching yet (waiting for Telegram, or about to start).
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                }
            }
        }
        for t in self.supervisor.into_iter().chain(self.tasks) {
            t.abort();
            let _ = t.await;
        }
    }
}

/// What to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub polling: bool,
    pub dispatcher: bool,
}

/// Start the bot inside a running service: long polling (or the webhook)
/// for the workers' messages and the dispatcher for pushes.
pub async fn start(state: Services, cfg: TelegramConfig) -> anyhow::Result<BotHandle> {
    start_parts(state, cfg, Parts { polling: true, dispatcher: true }).await
}

/// Nothing here waits long for Telegram: one `getMe` of at most 3 s (so that
/// an answering Telegram is known, and deep links work, when this returns),
/// then an unreachable or unreadable Bot API (normal on networks in China)
/// leaves the bot retrying with backoff in the background, `/readyz` naming `telegram` meanwhile, and the bot starts by
/// itself when Telegram answers. Only a configuration error fails.
pub async fn start_parts(state: Services, cfg: TelegramConfig, parts: Parts) -> anyhow::Result<BotHandle> {
    let bot = make_bot(&cfg)?;
    let shared = Arc::new(Shared::new(state.redis.clone()));
    state.telegram.starting();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut prober = Prober {
        bot: bot.clone(),
        state: state.clone(),
        shared: shared.clone(),
        backoff: cfg.backoff,
        failures: 0,
        named: false,
    };
    let first_wait = prober.first_look().await;
    let mut tasks = vec![tokio::spawn(probe(prober, first_wait, stopped.clone()))];
    let conv = Arc::new(Conversations::new(state.clone(), shared.clone(), CHANNEL));
    let pacer = Arc::new(Pacer::new(shared.clone(), cfg.dispatch.rate, cfg.dispatch.per_chat));
    let (mut polling, mut supervisor) = (None, None);
    if parts.polling {
        let dispatcher =
            Dispatcher::builder(bot.clone(), handler_tree()).dependencies(dptree::deps![conv, pacer.clone()]).build();
        polling = Some(dispatcher.shutdown_token());
        supervisor = Some(tokio::spawn(supervise(bot.clone(), dispatcher, cfg.clone(), state.clone(), stopped)));
    }
    if parts.dispatcher {
        let transport = Arc::new(TelegramTransport { bot });
        tasks.push(tokio::spawn(dispatch::run(
            state.pool.clone(),
            state.settings.database_url.clone(),
            shared,
            pacer,
            transport,
            cfg.dispatch.clone(),
        )));
    }
    Ok(BotHandle { polling, supervisor, tasks, stop })
}

/// Sleep `d`, or less when the bot is being stopped; false when it is.
async fn pause(d: std::time::Duration, stopped: &mut tokio::sync::watch::Receiver<bool>) -> bool {
    let slept = tokio::select! {
        () = tokio::time::sleep(d) => true,
        _ = stopped.wait_for(|s| *s) => false,
    };
    slept && !*stopped.borrow()
}

/// How long `start` waits for its first `getMe` before going on in the
/// background: an answering Telegram is known (and the bot's username stored
/// for deep links) by the time `start` returns; a dead one costs this once.
const FIRST_LOOK: std::time::Duration = std::time::Duration::from_secs(3);

/// Keeps `/readyz` true: a `getMe` every `probe` while Telegram answers and
/// on the backoff schedule while it does not. The first answer stores the
/// bot's username (for deep links).
struct Prober {
    bot: TgBot,
    state: Services,
    shared: Arc<Shared>,
    backoff: Backoff,
    failures: u32,
    named: bool,
}

impl Prober {
    /// One `getMe`; returns the wait before the next.
    async fn look(&mut self) -> std::time::Duration {
        match self.bot.get_me().send().await {
            Ok(me) => {
                if self.failures > 0 {
                    tracing::info!(after = self.failures, "Telegram answers again");
                }
                self.failures = 0;
                self.state.telegram.up();
                if !self.named
                    && let Some(u) = me.username.clone()
                {
                    let key = self.shared.key("username");
                    match self
                        .state
                        .redis
                        .run(|mut c| async move { redis::cmd("SET").arg(key).arg(u).query_async::<()>(&mut c).await })
                        .await
                    {
                        Ok(()) => self.named = true,
                        Err(e) => tracing::warn!(error = %e, "cannot store the bot's username in Redis"),
                    }
                }
                self.backoff.probe
            }
            Err(e) => {
                let wait = self.backoff.delay(self.failures);
                if self.failures == 0 {
                    tracing::warn!(error = %e, retry_in = ?wait, "Telegram getMe failed; the bot waits for it (the API serves meanwhile)");
                }
                self.failures = self.failures.saturating_add(1);
                self.state.telegram.down(e.to_string());
                wait
            }
        }
    }

    /// The first look, bounded by [`FIRST_LOOK`]; the wait before the next.
    async fn first_look(&mut self) -> std::time::Duration {
        match tokio::time::timeout(FIRST_LOOK, self.look()).await {
            Ok(wait) => wait,
            Err(_) => {
                self.state.telegram.down(format!("getMe did not answer within {FIRST_LOOK:?}"));
                self.failures = self.failures.saturating_add(1);
                self.backoff.delay(0)
            }
        }
    }
}

async fn probe(mut p: Prober, first_wait: std::time::Duration, mut stopped: tokio::sync::watch::Receiver<bool>) {
    let mut wait = first_wait;
    loop {
        if !pause(wait, &mut stopped).await {
            return;
        }
        wait = tokio::select! {
            w = p.look() => w,
            _ = stopped.wait_for(|s| *s) => return,
        };
    }
}

/// Run the update listener (long polling or the webhook) and its
/// dispatcher, starting it again whenever it cannot start: `getMe` or
/// `setWebhook` failing waits on the backoff schedule. teloxide's own
/// `dispatch` panics when `getMe` fails; this uses the `try_` form, so
/// nothing panics.
async fn supervise(
    bot: TgBot,
    mut dispatcher: Dispatcher<TgBot, anyhow::Error, teloxide::dispatching::DefaultKey>,
    cfg: TelegramConfig,
    state: Services,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) {
    let errors = Arc::new(ListenerErrors { state: state.clone() });
    let mut failures = 0u32;
    loop {
        let me = tokio::select! {
            me = bot.get_me().send() => me,
            _ = stopped.wait_for(|s| *s) => return,
        };
        let outcome = match me {
            Err(e) => Err(format!("getMe: {e}")),
            Ok(_) => match &cfg.webhook {
                Some(hook) => match crate::webhook::listen(&bot, hook).await {
                    Ok(mut listener) => {
                        state.telegram.listener_up();
                        let token = teloxide::update_listeners::UpdateListener::stop_token(&mut listener);
                        let r = dispatcher.try_dispatch_with_listener(listener, errors.clone()).await;
                        // Not started: free the webhook's port for the next try.
                        if r.is_err() {
                            token.stop();
                        }
                        r.map_err(|e| format!("getMe: {e}"))
                    }
                    Err(e) => Err(e.to_string()),
                },
                None => {
                    let listener = teloxide::update_listeners::polling_default(bot.clone()).await;
                    state.telegram.listener_up();
                    dispatcher
                        .try_dispatch_with_listener(listener, errors.clone())
                        .await
                        .map_err(|e| format!("getMe: {e}"))
                }
            },
        };
        match outcome {
            // Shut down.
            Ok(()) => return,
            Err(e) => {
                let wait = cfg.backoff.delay(failures);
                tracing::warn!(error = %e, attempt = failures + 1, retry_in = ?wait, "the Telegram bot cannot start yet; retrying");
                failures = failures.saturating_add(1);
                state.telegram.listener_down(e);
                if !pause(wait, &mut stopped).await {
                    return;
                }
            }
        }
    }
}

/// Errors of the update listener (a failed `getUpdates`): logged, and
/// Telegram is down until the next `getMe` answers.
struct ListenerErrors {
    state: Services,
}

impl<E: std::fmt::Debug> teloxide::error_handlers::ErrorHandler<E> for ListenerErrors {
    fn handle_error(self: Arc<Self>, error: E) -> futures_util::future::BoxFuture<'static, ()> {
        let error = format!("{error:?}");
        tracing::warn!(error = %error, "Telegram getUpdates failed");
        self.state.telegram.down(format!("getUpdates: {error}"));
        Box::pin(async {})
    }
}
