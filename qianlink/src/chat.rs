//! `qianlink chat --phone <number>`: play a worker in the terminal through
//! the bot's conversation core (`bot::service::Conversations`, the same code
//! the Telegram adapter runs), on the channel `terminal`. Bind by sharing
//! the phone number, receive the offers queued for the worker and this
//! month's check-in (claimed from `bot_queue` as the dispatcher would), press
//! buttons by number. One terminal chat at a time per deployment.

use anyhow::{Context, anyhow};
use bot::core::{Button, Input, Keyboard, Reply};
use bot::service::Conversations;
use std::io::Write;
use std::sync::Arc;
use store::push_queue::{Content, Delivery};

pub const CHANNEL: &str = "terminal";
const CHAT_ID: &str = "terminal";

enum Press {
    Button(Button),
    Contact,
}

struct Screen {
    buttons: Vec<Press>,
}

impl Screen {
    fn show(&mut self, r: &Reply) {
        for line in r.text.lines() {
            println!("黔联> {line}");
        }
        match &r.keyboard {
            Keyboard::Inline(rows) => {
                for row in rows {
                    let mut line = String::from("      ");
                    for (label, b) in row {
                        self.buttons.push(Press::Button(*b));
                        line.push_str(&format!("[{}] {label}   ", self.buttons.len()));
                    }
                    println!("{}", line.trim_end());
                }
            }
            Keyboard::RequestContact(label) => {
                self.buttons.push(Press::Contact);
                println!("      [{}] {label}", self.buttons.len());
            }
            Keyboard::None | Keyboard::Remove => {}
        }
        println!();
    }
}

pub struct ChatConfig {
    pub settings: app::Settings,
    pub phone: domain::Phone,
}

pub fn run(cfg: ChatConfig) -> anyhow::Result<()> {
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(chat(cfg))
}

async fn chat(cfg: ChatConfig) -> anyhow::Result<()> {
    let index_dir = cfg.settings.index_dir.clone();
    let state = app::Services::new(cfg.settings).map_err(|e| anyhow!("{e}"))?;
    let shared = Arc::new(bot::shared::Shared::new(state.redis.clone()));
    let conv = Conversations::new(state.clone(), shared, CHANNEL);
    let mut screen = Screen { buttons: Vec::new() };
    println!(
        "You play the worker whose phone is {} in a chat with the 黔联 bot (channel \"terminal\", no Telegram).\n\
         Type the number of a button, a command (/jobs, /status, /help, /stop, /unbind) or text; /quit or Ctrl-D leaves.\n",
        cfg.phone.masked()
    );
    let mut asked_checkin = false;
    let mut input = Some(Input::Command(bot::core::Command::Start(None)));
    let mut messages: i64 = 0;
    loop {
        if let Some(i) = input.take() {
            let handled = conv.handle(CHAT_ID, i).await;
            for r in &handled.replies {
                screen.show(r);
            }
        }
        // Pushes for this chat: offers queued by the matcher, the month's check-in.
        let pool = state.pool.clone();
        let first_time = !asked_checkin;
        let pushed = app::blocking(move || -> anyhow::Result<(bool, Vec<store::push_queue::Outgoing>)> {
            let mut conn = pool.get().map_err(|e| anyhow!("{e}"))?;
            let Some(chat) = store::chats::chat(&mut conn, CHANNEL, CHAT_ID).map_err(|e| anyhow!("{e}"))? else {
                return Ok((false, vec![]));
            };
            if first_time {
                let today = domain::calendar::today_in_china(chrono::Utc::now());
                store::demo::enqueue_checkin_for(&mut conn, chat.worker_id, today).map_err(|e| anyhow!("{e}"))?;
            }
            Ok((true, store::push_queue::claim(&mut conn, CHANNEL, 20).map_err(|e| anyhow!("{e}"))?))
        })
        .await?;
        let (bound, out) = pushed;
        if bound {
            asked_checkin = true;
        }
        let mut deliveries = Vec::new();
        for o in out {
            match &o.content {
                Content::Offer(card) => {
                    screen.show(&bot::core::offer_message(&bot::service::offer_view(card)));
                    messages += 1;
                    deliveries.push(Delivery::Sent { id: o.id, message_id: messages });
                }
                Content::Checkin { placement_id, employer } => {
                    screen.show(&bot::core::checkin_message(*placement_id, employer));
                    messages += 1;
                    deliveries.push(Delivery::Sent { id: o.id, message_id: messages });
                }
                Content::Survey { period } => {
                    screen.show(&bot::survey::start_message(*period));
                    messages += 1;
                    deliveries.push(Delivery::Sent { id: o.id, message_id: messages });
                }
                Content::Skip(reason) => deliveries.push(Delivery::Skipped { id: o.id, reason: (*reason).to_owned() }),
            }
        }
        if !deliveries.is_empty() {
            let pool = state.pool.clone();
            app::blocking(move || -> anyhow::Result<()> {
                let mut conn = pool.get().map_err(|e| anyhow!("{e}"))?;
                store::push_queue::record(&mut conn, &deliveries).map_err(|e| anyhow!("{e}"))
            })
            .await?;
        }
        print!("你> ");
        std::io::stdout().flush().ok();
        let line = app::blocking(|| -> anyhow::Result<(usize, String)> {
            let mut s = String::new();
            std::io::stdin().read_line(&mut s).map(|n| (n, s)).context("reading the terminal")
        })
        .await?;
        let (n, line) = line;
        let line = line.trim().to_owned();
        if n == 0 || line == "/quit" {
            println!();
            break;
        }
        if line.is_empty() {
            continue;
        }
        input = Some(if let Ok(k) = line.parse::<usize>() {
            match screen.buttons.get(k.wrapping_sub(1)) {
                Some(Press::Button(b)) => Input::Button(*b),
                Some(Press::Contact) => Input::Contact { phone: cfg.phone.expose().to_owned(), is_own: true },
                None => {
                    println!("(no button [{k}] on the screen)\n");
                    continue;
                }
            }
        } else if let Some(c) = bot::core::parse_command(&line) {
            Input::Command(c)
        } else {
            Input::Text(line)
        });
    }
    let _ = std::fs::remove_dir_all(&index_dir);
    Ok(())
}
