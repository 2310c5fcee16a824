//! What this process knows of the outside services it cannot do without for
//! some of its work but can serve without: today the Telegram Bot API. The
//! bot writes it; `/readyz` reads it.

use chrono::{DateTime, Utc};
use std::sync::Mutex;

/// One channel's state as last seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ChannelState {
    /// Not configured in this process (no token).
    #[default]
    Disabled,
    /// Configured; the first call has not answered yet.
    Starting,
    /// The last call answered.
    Up,
    /// The last call failed; retried with backoff.
    Down { error: String, since: DateTime<Utc> },
}

/// What the probe (a regular call) last saw, and whether the update listener
/// (polling or the webhook) could not start: either failing is "down".
#[derive(Debug, Default)]
pub struct ChannelHealth {
    state: Mutex<ChannelState>,
    listener: Mutex<Option<(String, DateTime<Utc>)>>,
}

impl ChannelHealth {
    pub fn get(&self) -> ChannelState {
        let listener = self.listener.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        match listener {
            Some((error, since)) => ChannelState::Down { error, since },
            None => self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone(),
        }
    }

    /// The update listener cannot start (a failed `setWebhook`, say), whatever the probe sees.
    pub fn listener_down(&self, error: impl Into<String>) {
        let mut l = self.listener.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = l.as_ref().map(|(_, s)| *s).unwrap_or_else(Utc::now);
        *l = Some((error.into(), since));
    }

    /// The update listener started.
    pub fn listener_up(&self) {
        *self.listener.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    fn set(&self, f: impl FnOnce(&ChannelState) -> ChannelState) {
        let mut s = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *s = f(&s);
    }

    pub fn starting(&self) {
        self.set(|_| ChannelState::Starting);
    }

    pub fn up(&self) {
        self.set(|_| ChannelState::Up);
    }

    /// Down since the first failure of a run of failures.
    pub fn down(&self, error: impl Into<String>) {
        let error = error.into();
        self.set(|s| match s {
            ChannelState::Down { since, .. } => ChannelState::Down { error, since: *since },
            _ => ChannelState::Down { error, since: Utc::now() },
        });
    }

    pub fn disabled(&self) {
        self.set(|_| ChannelState::Disabled);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_keeps_the_time_of_the_first_failure() {
        let h = ChannelHealth::default();
        assert_eq!(h.get(), ChannelState::Disabled);
        h.starting();
        h.down("unreachable");
        let ChannelState::Down { since: first, .. } = h.get() else { panic!("down") };
        h.down("still unreachable");
        assert!(
            matches!(h.get(), ChannelState::Down { since, ref error } if since == first && error == "still unreachable")
        );
        h.up();
        assert_eq!(h.get(), ChannelState::Up);
        // A listener that cannot start is down even while the probe answers.
        h.listener_down("setWebhook failed");
        h.up();
        assert!(matches!(h.get(), ChannelState::Down { ref error, .. } if error == "setWebhook failed"));
        h.listener_up();
        assert_eq!(h.get(), ChannelState::Up);
    }
}
