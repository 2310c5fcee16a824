//! The workers' Telegram bot (#6).
//!
//! * [`core`]: the conversation, channel-neutral and pure — dialogue states,
//!   inputs, replies with buttons, effects. A WeChat or SMS adapter reuses it
//!   unchanged.
//! * [`service`]: runs the core for one channel against PostgreSQL (through
//!   `store`) and Redis (dialogue state).
//! * [`dispatch`]: the durable, rate-limited sender of offers and check-ins
//!   (`bot_queue`), one process at a time.
//! * [`telegram`]: the teloxide adapter: `handler_tree()`, the transport, `start()`.
//! * [`webhook`]: webhook mode, an actix-web listener in front of teloxide's dispatcher.
//! * [`shared`]: what lives in Redis (dialogue states, shared rates).
//! * [`survey`]: the monthly survey's questions and answers (pure, part of the core).

pub mod core;
pub mod dispatch;
pub mod service;
pub mod shared;
pub mod survey;
pub mod telegram;
pub mod webhook;
