//! Webhook mode (`QIANLINK_TELEGRAM_WEBHOOK_URL`): Telegram POSTs each
//! update to a small HTTP listener of ours instead of being polled.
//!
//! teloxide's own webhook listener needs axum (`webhooks-axum`); the service
//! already runs actix-web, so this is a route of our own in front of
//! teloxide's [`StatefulListener`]: the handler checks Telegram's secret
//! header, parses the [`Update`] and hands it to the same dispatcher and
//! `handler_tree()` as long polling. The listener binds its own address
//! (`QIANLINK_TELEGRAM_WEBHOOK_LISTEN`), apart from the public API, so that a
//! TLS-terminating proxy can expose it alone.
//!
//! The secret (`secret_token` of setWebhook, echoed by Telegram in
//! `X-Telegram-Bot-Api-Secret-Token`) is derived from the bot token, so every
//! replica behind one URL sets and expects the same value. Stopping does not
//! delete the webhook (another replica may still serve it); starting in long
//! polling mode deletes it (teloxide does, before polling).

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::stream::{self, Stream};
use sha2::{Digest, Sha256};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use teloxide::prelude::*;
use teloxide::stop::{StopToken, mk_stop_token};
use teloxide::types::Update;
use teloxide::update_listeners::{StatefulListener, UpdateListener};
use tokio::sync::mpsc;

/// Where Telegram sends updates, and where we listen for them.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// The public URL given to setWebhook (https in production); its path is
    /// the route the listener serves.
    pub url: url::Url,
    /// The local address the listener binds.
    pub listen: SocketAddr,
}

impl WebhookConfig {
    /// From the settings; the error names the variable at fault.
    pub fn parse(url: &str, listen: &str) -> Result<Self, String> {
        let url = url::Url::parse(url)
            .ok()
            .filter(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
            .ok_or("QIANLINK_TELEGRAM_WEBHOOK_URL must be an https:// URL (Telegram posts updates to it)")?;
        let listen = listen
            .parse()
            .map_err(|_| "QIANLINK_TELEGRAM_WEBHOOK_LISTEN must be an address to listen on, e.g. 127.0.0.1:8443")?;
        Ok(Self { url, listen })
    }
}

/// The header Telegram sends the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The webhook's secret for a bot token: 64 hex characters (Telegram allows
/// `A-Z a-z 0-9 _ -`, 1 to 256 of them).
pub fn secret_for(token: &str) -> String {
    hex::encode(Sha256::digest(format!("qianlink-telegram-webhook:{token}").as_bytes()))
}

fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

type Sender = Arc<Mutex<Option<mpsc::UnboundedSender<Update>>>>;

struct Hook {
    secret: String,
    tx: Sender,
}

async fn receive(req: HttpRequest, body: web::Bytes, hook: web::Data<Hook>) -> HttpResponse {
    let given = req.headers().get(SECRET_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if !same(given, hook.secret.as_bytes()) {
        return HttpResponse::Unauthorized().finish();
    }
    let update: Update = match serde_json::from_slice(&body) {
        Ok(u) => u,
        Err(e) => {
            // Answered 200 all the same: Telegram would send it again and again.
            tracing::warn!(error = %e, "webhook: an update that does not parse; dropped");
            return HttpResponse::Ok().finish();
        }
    };
    let tx = hook.tx.lock().ok().and_then(|g| g.clone());
    match tx {
        Some(tx) if tx.send(update).is_ok() => HttpResponse::Ok().finish(),
        // Stopping: Telegram keeps the update and sends it to whoever serves next.
        _ => HttpResponse::ServiceUnavailable().finish(),
    }
}

type UpdateStream = Pin<Box<dyn Stream<Item = Result<Update, Infallible>> + Send>>;

fn stream_of(state: &mut (UpdateStream, StopToken)) -> &mut UpdateStream {
    &mut state.0
}

/// Register the webhook with Telegram and serve it: an update listener for
/// teloxide's `Dispatcher::dispatch_with_listener`. When the dispatcher stops
/// the listener, the HTTP server stops too.
pub async fn listen(
    bot: &Bot,
    cfg: &WebhookConfig,
) -> anyhow::Result<impl UpdateListener<Err = Infallible> + Send + use<>> {
    let secret = secret_for(bot.token());
    let (tx, rx) = mpsc::unbounded_channel::<Update>();
    let sender: Sender = Arc::new(Mutex::new(Some(tx)));
    let hook = web::Data::new(Hook { secret: secret.clone(), tx: sender.clone() });
    let path = cfg.url.path().to_owned();
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(hook.clone())
            .app_data(web::PayloadConfig::new(1 << 20))
            .route(&path, web::post().to(receive))
    })
    .workers(1)
    .disable_signals()
    .bind(cfg.listen)
    .map_err(|e| anyhow::anyhow!("QIANLINK_TELEGRAM_WEBHOOK_LISTEN {}: {e}", cfg.listen))?
    .run();
    let handle = server.handle();
    tokio::spawn(server);
    if let Err(e) = bot.set_webhook(cfg.url.clone()).secret_token(secret).await {
        handle.stop(false).await;
        return Err(anyhow::anyhow!("setWebhook failed: {e}"));
    }
    tracing::info!(listen = %cfg.listen, path = cfg.url.path(), "Telegram webhook set");
    let (stop_token, stop_flag) = mk_stop_token();
    tokio::spawn(async move {
        stop_flag.await;
        // No more updates: the stream ends once the queued ones are handled.
        if let Ok(mut g) = sender.lock() {
            g.take();
        }
        handle.stop(true).await;
    });
    let updates: UpdateStream =
        Box::pin(stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|u| (Ok(u), rx)) }));
    Ok(StatefulListener::new((updates, stop_token), stream_of, |s: &mut (UpdateStream, StopToken)| s.1.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_stable_and_allowed_by_telegram() {
        let s = secret_for("4242:ABC");
        assert_eq!(s, secret_for("4242:ABC"));
        assert_ne!(s, secret_for("4242:ABD"));
        assert!(s.len() <= 256 && s.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert!(same(s.as_bytes(), s.as_bytes()));
        assert!(!same(b"abc", b"abd") && !same(b"abc", b"ab"));
    }
}
