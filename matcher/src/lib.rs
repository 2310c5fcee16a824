//! The matcher: ranks workers for a job and jobs for a worker, explains every
//! score, and plans offers so that zero-employment households are served
//! first. Pure and in memory: the API loads the snapshots from PostgreSQL and
//! keeps them current from the outbox; nothing here does I/O.

pub mod model;
pub mod plan;
pub mod rank;
pub mod store;
pub mod weights;

pub use model::{DeclineSnap, JobSnap, TrainingSnap, WorkerSnap};
pub use rank::{Context, Reason, Scored, Verdict};
pub use store::CandidateStore;
pub use weights::Weights;

#[cfg(test)]
mod tests;
