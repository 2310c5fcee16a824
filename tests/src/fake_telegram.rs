//! A fake Telegram Bot API server for end-to-end tests of the bot: the real
//! teloxide client talks to it over HTTP (`POST /bot<token>/<Method>`, JSON
//! in, `{"ok": true, "result": ...}` out). It answers getMe, getUpdates
//! (scripted updates, or empty after 300 ms), sendMessage,
//! editMessageReplyMarkup and answerCallbackQuery, and answers `429` (with
//! `retry_after`) or `403` on demand. Like Telegram, setWebhook switches it
//! to pushing each scripted update to the webhook URL (with the secret
//! header), getUpdates is then refused with `409`, and deleteWebhook (or
//! getWebhookInfo's url) switches back. Method names arrive in PascalCase and
//! are matched case-insensitively. Nothing touches the internet.

use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use std::collections::{HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BOT_ID: i64 = 4242;
pub const BOT_USERNAME: &str = "qianlink_test_bot";

/// One request the bot made.
#[derive(Debug, Clone)]
pub struct Call {
    /// Lower-case method name (`sendmessage`).
    pub method: String,
    pub body: Value,
    pub at: Instant,
    /// HTTP status answered.
    pub status: u16,
    /// For a delivered message: its id.
    pub message_id: Option<i64>,
}

/// A scripted failure of the next sendMessage.
#[derive(Debug, Clone, Copy)]
pub enum Fail {
    RetryAfter(u32),
    Blocked,
}

#[derive(Default)]
struct State {
    updates: Vec<Value>,
    next_update_id: i64,
    next_message_id: i64,
    calls: Vec<Call>,
    fail: VecDeque<Fail>,
    blocked: HashSet<i64>,
    /// When false, calls are not recorded (benchmarks count sends only).
    quiet: bool,
    sends: Vec<(i64, Instant)>,
    /// setWebhook's (url, secret_token): updates are pushed there.
    webhook: Option<(String, String)>,
    /// HTTP status of every webhook POST, in order.
    webhook_answers: Vec<u16>,
    /// The next this many getMe calls get an unreadable answer (a proxy's HTML page).
    get_me_failures: u32,
    /// The next this many setWebhook calls are refused.
    set_webhook_failures: u32,
}

#[derive(Clone)]
pub struct FakeTelegram {
    pub url: String,
    pub token: String,
    state: Arc<Mutex<State>>,
    handle: actix_web::dev::ServerHandle,
    /// Updates to push to the webhook, in order.
    pushes: tokio::sync::mpsc::UnboundedSender<Value>,
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true, "result": result}))
}

fn bot_user() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "黔联", "username": BOT_USERNAME})
}

fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "务工"})
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "务工", "language_code": "zh-hans"})
}

/// The text fields of a `multipart/form-data` body (teloxide sends
/// setWebhook that way) as a JSON object.
fn form_fields(content_type: &str, body: &[u8]) -> Value {
    let Some(boundary) = content_type.split("boundary=").nth(1).map(|b| b.trim_matches('"')) else {
        return Value::Null;
    };
    let text = String::from_utf8_lossy(body);
    let mut out = serde_json::Map::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else { continue };
        let Some(name) = head.split("name=\"").nth(1).and_then(|n| n.split('"').next()) else { continue };
        out.insert(name.to_owned(), Value::String(value.trim_end_matches("\r\n").to_owned()));
    }
    Value::Object(out)
}

async fn handle(
    state: web::Data<Arc<Mutex<State>>>,
    path: web::Path<(String, String)>,
    req: actix_web::HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let (_token, method) = path.into_inner();
    let method = method.to_ascii_lowercase();
    let content_type = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let body: Value = if content_type.starts_with("multipart/form-data") {
        form_fields(content_type, &body)
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let now = Instant::now();
    let record = |s: &mut State, status: u16, message_id: Option<i64>| {
        if !s.quiet {
            s.calls.push(Call { method: method.clone(), body: body.clone(), at: now, status, message_id });
        }
    };
    // Whatever the bot sends — texts, buttons, callback answers — is scanned for personal data.
    if method != "getupdates" {
        crate::pii::check(&format!("telegram {method}"), &body.to_string());
    }
    match method.as_str() {
        "getme" if state.lock().unwrap().get_me_failures > 0 => {
            let mut s = state.lock().unwrap();
            s.get_me_failures -= 1;
            record(&mut s, 200, None);
            HttpResponse::Ok().content_type("text/html").body("<html><body>502 Bad Gateway</body></html>")
        }
        "getme" => {
            let mut me = bot_user();
            for f in [
                "can_join_groups",
                "can_read_all_group_messages",
                "supports_inline_queries",
                "can_connect_to_business",
                "has_main_web_app",
            ] {
                me[f] = false.into();
            }
            ok(me)
        }
        "getwebhookinfo" => {
            let s = state.lock().unwrap();
            let url = s.webhook.as_ref().map(|(u, _)| u.clone()).unwrap_or_default();
            ok(json!({"url": url, "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "setwebhook" if state.lock().unwrap().set_webhook_failures > 0 => {
            let mut s = state.lock().unwrap();
            s.set_webhook_failures -= 1;
            record(&mut s, 400, None);
            HttpResponse::BadRequest().json(json!({"ok": false, "error_code": 400,
                "description": "Bad Request: bad webhook: Failed to resolve host"}))
        }
        "setwebhook" => {
            let mut s = state.lock().unwrap();
            record(&mut s, 200, None);
            let url = body.get("url").and_then(Value::as_str).unwrap_or("").to_owned();
            let secret = body.get("secret_token").and_then(Value::as_str).unwrap_or("").to_owned();
            s.webhook = Some((url, secret));
            ok(Value::Bool(true))
        }
        "deletewebhook" => {
            let mut s = state.lock().unwrap();
            record(&mut s, 200, None);
            s.webhook = None;
            ok(Value::Bool(true))
        }
        "getupdates" if state.lock().unwrap().webhook.is_some() => {
            record(&mut state.lock().unwrap(), 409, None);
            HttpResponse::Conflict().json(json!({"ok": false, "error_code": 409,
                "description": "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}))
        }
        "getupdates" => {
            let offset = body.get("offset").and_then(Value::as_i64).unwrap_or(0);
            let deadline = Instant::now() + Duration::from_millis(300);
            loop {
                let pending: Vec<Value> = {
                    let mut s = state.lock().unwrap();
                    s.updates.retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    s.updates.iter().take(100).cloned().collect()
                };
                if !pending.is_empty() || Instant::now() >= deadline {
                    return ok(Value::Array(pending));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        "sendmessage" => {
            let chat = body.get("chat_id").and_then(Value::as_i64).unwrap_or(0);
            let mut s = state.lock().unwrap();
            let fail = if s.blocked.contains(&chat) { Some(Fail::Blocked) } else { s.fail.pop_front() };
            match fail {
                Some(Fail::RetryAfter(secs)) => {
                    record(&mut s, 429, None);
                    HttpResponse::TooManyRequests().json(json!({"ok": false, "error_code": 429,
                        "description": format!("Too Many Requests: retry after {secs}"),
                        "parameters": {"retry_after": secs}}))
                }
                Some(Fail::Blocked) => {
                    record(&mut s, 403, None);
                    HttpResponse::Forbidden().json(json!({"ok": false, "error_code": 403,
                        "description": "Forbidden: bot was blocked by the user"}))
                }
                None => {
                    s.next_message_id += 1;
                    let id = s.next_message_id;
                    record(&mut s, 200, Some(id));
                    s.sends.push((chat, now));
                    let mut m = json!({"message_id": id, "date": chrono::Utc::now().timestamp(),
                        "chat": private_chat(chat), "from": bot_user(),
                        "text": body.get("text").cloned().unwrap_or_default()});
                    if let Some(rm) = body.get("reply_markup").filter(|r| r.get("inline_keyboard").is_some()) {
                        m["reply_markup"] = rm.clone();
                    }
                    ok(m)
                }
            }
        }
        "editmessagereplymarkup" => {
            let chat = body.get("chat_id").and_then(Value::as_i64).unwrap_or(0);
            let id = body.get("message_id").and_then(Value::as_i64).unwrap_or(0);
            record(&mut state.lock().unwrap(), 200, None);
            ok(json!({"message_id": id, "date": chrono::Utc::now().timestamp(), "chat": private_chat(chat),
                "from": bot_user(), "text": ""}))
        }
        _ => {
            record(&mut state.lock().unwrap(), 200, None);
            ok(Value::Bool(true))
        }
    }
}

impl FakeTelegram {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State { next_update_id: 1, next_message_id: 1000, ..State::default() }));
        let data = web::Data::new(state.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(1 << 20))
                .route("/{token}/{method}", web::post().to(handle))
        })
        .workers(2)
        .disable_signals()
        .bind(("127.0.0.1", 0))
        .unwrap();
        let port = server.addrs()[0].port();
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        let (pushes, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(push_to_webhook(state.clone(), rx));
        Self {
            url: format!("http://127.0.0.1:{port}/"),
            token: format!("{BOT_ID}:TEST-{}", uuid::Uuid::new_v4().simple()),
            state,
            handle,
            pushes,
        }
    }

    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }

    /// Do not keep every call (benchmarks); deliveries are still counted.
    pub fn quiet(&self) {
        self.state.lock().unwrap().quiet = true;
    }

    fn push(&self, mut update: Value) {
        let mut s = self.state.lock().unwrap();
        update["update_id"] = s.next_update_id.into();
        s.next_update_id += 1;
        if s.webhook.is_some() {
            let _ = self.pushes.send(update);
        } else {
            s.updates.push(update);
        }
    }

    /// The update the worker typing `text` would make (not queued): for
    /// posting to a webhook by hand.
    pub fn text_update(&self, chat: i64, text: &str) -> Value {
        let mut s = self.state.lock().unwrap();
        let id = s.next_update_id;
        s.next_update_id += 1;
        json!({"update_id": id, "message": Self::text_message(chat, text)})
    }

    /// The webhook set by the bot: (url, secret token).
    pub fn webhook(&self) -> Option<(String, String)> {
        self.state.lock().unwrap().webhook.clone()
    }

    /// HTTP status of every update pushed to the webhook, in order.
    pub fn webhook_answers(&self) -> Vec<u16> {
        self.state.lock().unwrap().webhook_answers.clone()
    }

    fn message(chat: i64, extra: Value) -> Value {
        let mut m = json!({"message_id": 1, "date": chrono::Utc::now().timestamp(), "chat": private_chat(chat),
            "from": user(chat)});
        if let (Some(m), Some(e)) = (m.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                m.insert(k.clone(), v.clone());
            }
        }
        m
    }

    fn text_message(chat: i64, text: &str) -> Value {
        let mut extra = json!({"text": text});
        if text.starts_with('/') {
            let len = text.split_whitespace().next().unwrap_or("").encode_utf16().count();
            extra["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        Self::message(chat, extra)
    }

    /// The worker types `text` (a `/command` gets its entity).
    pub fn text(&self, chat: i64, text: &str) {
        self.push(json!({"message": Self::text_message(chat, text)}));
    }

    /// The worker shares a contact; `owner` is the contact's Telegram user id
    /// (the sender's own id for their own contact).
    pub fn contact(&self, chat: i64, phone: &str, owner: Option<i64>) {
        crate::pii::remember(phone);
        let mut c = json!({"phone_number": phone, "first_name": "务工"});
        if let Some(o) = owner {
            c["user_id"] = o.into();
        }
        self.push(json!({"message": Self::message(chat, json!({"contact": c}))}));
    }

    /// The worker presses the button with `data` under message `message_id`.
    pub fn press(&self, chat: i64, message_id: i64, data: &str) {
        self.push(json!({"callback_query": {
            "id": format!("cb{}", uuid::Uuid::new_v4().simple()),
            "from": user(chat),
            "chat_instance": "1",
            "data": data,
            "message": {"message_id": message_id, "date": chrono::Utc::now().timestamp(),
                        "chat": private_chat(chat), "from": bot_user(), "text": "…"},
        }}));
    }

    /// The worker presses the button labelled `label` under the delivered message `m`.
    pub fn tap(&self, chat: i64, m: &Call, label: &str) {
        self.press(chat, m.message_id.unwrap_or_default(), &button(m, label));
    }

    /// The next `n` getMe calls answer an HTML page instead of JSON, as an
    /// unreachable Telegram behind a proxy does.
    pub fn fail_get_me(&self, n: u32) {
        self.state.lock().unwrap().get_me_failures = n;
    }

    /// The next `n` setWebhook calls are refused (400 bad webhook).
    pub fn fail_set_webhook(&self, n: u32) {
        self.state.lock().unwrap().set_webhook_failures = n;
    }

    /// getMe failures still to come.
    pub fn get_me_failures_left(&self) -> u32 {
        self.state.lock().unwrap().get_me_failures
    }

    /// The next sendMessage calls fail like this, in order.
    pub fn fail_next(&self, f: Fail) {
        self.state.lock().unwrap().fail.push_back(f);
    }

    /// Every sendMessage to this chat answers 403 (the worker blocked the bot).
    pub fn block(&self, chat: i64) {
        self.state.lock().unwrap().blocked.insert(chat);
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// Delivered messages: (chat, when).
    pub fn deliveries(&self) -> Vec<(i64, Instant)> {
        self.state.lock().unwrap().sends.clone()
    }

    pub fn delivered_count(&self) -> usize {
        self.state.lock().unwrap().sends.len()
    }

    /// Delivered messages to a chat, oldest first.
    pub fn sent_to(&self, chat: i64) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == "sendmessage" && c.status == 200 && c.body["chat_id"].as_i64() == Some(chat))
            .collect()
    }

    /// Wait (up to 20 s) for the `n`-th delivered message to `chat` whose text contains `needle`.
    pub async fn wait_nth(&self, chat: i64, needle: &str, n: usize) -> Call {
        crate::eventually(&format!("message #{n} containing {needle:?} to chat {chat}"), async || {
            let found: Vec<Call> = self.sent_to(chat).into_iter().filter(|c| text_of(c).contains(needle)).collect();
            match found.get(n - 1) {
                Some(c) => Ok(c.clone()),
                None => Err(self.sent_to(chat).iter().map(text_of).collect::<Vec<String>>()),
            }
        })
        .await
    }

    pub async fn wait_for(&self, chat: i64, needle: &str) -> Call {
        self.wait_nth(chat, needle, 1).await
    }
}

/// Deliver updates to the webhook one at a time, in order, like Telegram
/// (retrying while the listener does not answer 2xx, for up to 10 s).
async fn push_to_webhook(state: Arc<Mutex<State>>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let client = reqwest::Client::new();
    while let Some(update) = rx.recv().await {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let Some((url, secret)) = state.lock().unwrap().webhook.clone() else { break };
            let res = client
                .post(&url)
                .header("X-Telegram-Bot-Api-Secret-Token", secret)
                .json(&update)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            let status = res.map(|r| r.status().as_u16()).unwrap_or(0);
            state.lock().unwrap().webhook_answers.push(status);
            if (200..300).contains(&status) || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub fn text_of(c: &Call) -> String {
    c.body["text"].as_str().unwrap_or("").to_owned()
}

/// The (label, callback data) of every inline button of a sent message.
pub fn buttons(c: &Call) -> Vec<(String, String)> {
    c.body["reply_markup"]["inline_keyboard"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .flat_map(|r| r.as_array().cloned().unwrap_or_default())
                .map(|b| {
                    (b["text"].as_str().unwrap_or("").to_owned(), b["callback_data"].as_str().unwrap_or("").to_owned())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The callback data of the button labelled `label`.
pub fn button(c: &Call, label: &str) -> String {
    buttons(c)
        .into_iter()
        .find(|(l, _)| l == label)
        .map(|(_, d)| d)
        .unwrap_or_else(|| panic!("no button {label:?} in {:?}", c.body))
}
