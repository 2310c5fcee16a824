//! The workers' Telegram bot (teloxide): a channel-neutral conversation core
//! and a Telegram adapter behind a durable, rate-limited dispatcher.
//! Built by issue #6; this crate holds its place in the workspace layout.
