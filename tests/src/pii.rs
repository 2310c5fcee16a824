//! Personal data must never reach a log line or a Telegram message (#11).
//!
//! [`install`] (called by every `TestApp::spawn`) sets a process-wide tracing
//! subscriber at debug level whose only layer reads every event and span
//! field; [`check`] (also called by the fake Telegram server for every text
//! it receives) records a violation when a text holds
//! * an ID number: 17 digits and a check character that is right for them
//!   (GB 11643-1999), so random digit runs do not count, or
//! * a phone number or ID number the tests themselves wrote into the ledger
//!   (every one made by `id_number`, `worker_json` or a shared contact is
//!   remembered).
//!
//! `TestApp`'s drop fails the test when anything was recorded, so the whole
//! suite runs under this check.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{Mutex, Once};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

static INIT: Once = Once::new();
static KNOWN: Mutex<Option<HashSet<String>>> = Mutex::new(None);
static VIOLATIONS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remember a value the tests wrote (a phone or ID number) as personal data.
pub fn remember(value: &str) {
    if value.len() >= 11 {
        KNOWN.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_with(HashSet::new).insert(value.to_owned());
    }
}

fn valid_id_at(b: &[u8]) -> bool {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: &[u8; 11] = b"10X98765432";
    let sum: u32 = b[..17].iter().zip(W).map(|(d, w)| u32::from(d - b'0') * w).sum();
    C[(sum % 11) as usize] == b[17].to_ascii_uppercase()
}

/// What in `text` is personal data, if anything.
pub fn find(text: &str) -> Option<String> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        // A run of digits on its own (not inside a word, not the decimals of a number).
        if b[i].is_ascii_digit() && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'.')) {
            let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            let x = b.get(i + 17).is_some_and(|c| *c == b'X' || *c == b'x');
            let end = i + run + usize::from(run == 17 && x);
            let bounded = b.get(end).is_none_or(|c| !c.is_ascii_alphanumeric());
            if bounded && end - i == 18 && valid_id_at(&b[i..end]) {
                return Some(format!("an ID number {}", &text[i..end]));
            }
            i += run.max(1);
        } else {
            i += 1;
        }
    }
    let known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    known.as_ref().and_then(|k| k.iter().find(|v| text.contains(v.as_str())).map(|v| format!("the ledger value {v}")))
}

/// Record a violation when `text` (from `source`) holds personal data.
pub fn check(source: &str, text: &str) {
    if let Some(what) = find(text) {
        VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{source}: {what} in {text:?}"));
    }
}

/// Violations so far, emptied.
pub fn take() -> Vec<String> {
    std::mem::take(&mut *VIOLATIONS.lock().unwrap_or_else(|e| e.into_inner()))
}

struct Fields(String);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
}

struct Scan;

impl<S: tracing::Subscriber> Layer<S> for Scan {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut f = Fields(String::new());
        event.record(&mut f);
        check(&format!("log {}", event.metadata().target()), &f.0);
    }

    fn on_new_span(&self, attrs: &tracing::span::Attributes<'_>, _: &tracing::span::Id, _: Context<'_, S>) {
        let mut f = Fields(String::new());
        attrs.record(&mut f);
        check(&format!("span {}", attrs.metadata().name()), &f.0);
    }

    fn on_record(&self, _: &tracing::span::Id, values: &tracing::span::Record<'_>, _: Context<'_, S>) {
        let mut f = Fields(String::new());
        values.record(&mut f);
        check("span record", &f.0);
    }
}

/// Scan every log event of this process from now on (idempotent).
pub fn install() {
    INIT.call_once(|| {
        // Debug for everything but the chattiest transport crates, which log
        // no payloads at debug anyway.
        let filter = EnvFilter::new("debug,h2=info,hyper=info,hyper_util=info,rustls=info,mio=info,tantivy=info");
        let _ = tracing_subscriber::registry().with(Scan.with_filter(filter)).try_init();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_id_numbers_by_checksum_and_remembered_values() {
        assert!(find("id=11010519491231002X here").is_some());
        assert!(find("id=110105194912310021").is_none(), "wrong check character");
        assert!(find("uuid 01a22589-0786-75f6-9c27-d82867731a71").is_none());
        remember("13812345678");
        assert!(find("phone 13812345678 logged").is_some());
        assert!(find("13812345679").is_none());
        assert!(find("ms=0.055393000000000005").is_none(), "decimals of a number");
    }

    #[test]
    fn a_logged_id_number_is_caught() {
        install();
        take();
        tracing::info!(worker = "110105194912310021", "not an ID: wrong check character");
        assert!(take().is_empty());
        tracing::warn!(id = "11010519491231002X", "leak");
        let v = take();
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("11010519491231002X"));
    }
}
