//! The one way a test waits: [`eventually`] polls a condition until it
//! holds, for at most [`WITHIN`], and fails naming what it waited for (with
//! the last state seen, when the condition gives one). No test sleeps a
//! fixed time and hopes.
//!
//! A condition answers `bool`, `Option<T>` (`Some` is done, with its value)
//! or `Result<T, E>` (`Err` is "not yet", and the last `E` is printed on a
//! timeout).

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// How long a condition may take: generous, because transaction ids are
/// cluster-wide and another test's open transaction can hold the outbox's
/// horizon back for a moment; a passing condition returns at once.
pub const WITHIN: Duration = Duration::from_secs(20);
/// How often a condition is looked at.
pub const EVERY: Duration = Duration::from_millis(20);

/// What a condition answers: done (with a value) or not yet (with what was seen).
pub trait Poll {
    type Out;
    fn done(self) -> Result<Self::Out, String>;
}

impl Poll for bool {
    type Out = ();
    fn done(self) -> Result<(), String> {
        if self { Ok(()) } else { Err("false".into()) }
    }
}

impl<T> Poll for Option<T> {
    type Out = T;
    fn done(self) -> Result<T, String> {
        self.ok_or_else(|| "None".into())
    }
}

impl<T, E: Debug> Poll for Result<T, E> {
    type Out = T;
    fn done(self) -> Result<T, String> {
        self.map_err(|e| format!("{e:?}"))
    }
}

/// Poll `f` until it is done, for at most [`WITHIN`].
pub async fn eventually<P: Poll>(what: &str, f: impl AsyncFnMut() -> P) -> P::Out {
    eventually_within(what, WITHIN, f).await
}

/// Poll `f` until it is done, for at most `within`.
pub async fn eventually_within<P: Poll>(what: &str, within: Duration, mut f: impl AsyncFnMut() -> P) -> P::Out {
    let deadline = Instant::now() + within;
    loop {
        match f().await.done() {
            Ok(v) => return v,
            Err(seen) if Instant::now() >= deadline => {
                panic!("timed out after {within:?} waiting for {what}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(EVERY).await,
        }
    }
}

/// [`eventually`] for blocking code (a `spawn_blocking` closure, a plain thread).
pub fn eventually_blocking<P: Poll>(what: &str, mut f: impl FnMut() -> P) -> P::Out {
    let deadline = Instant::now() + WITHIN;
    loop {
        match f().done() {
            Ok(v) => return v,
            Err(seen) if Instant::now() >= deadline => {
                panic!("timed out after {WITHIN:?} waiting for {what}; last seen: {seen}")
            }
            Err(_) => std::thread::sleep(EVERY),
        }
    }
}
