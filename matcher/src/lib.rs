//! The matcher: ranks workers for a job and jobs for a worker, with reasons,
//! and plans offers so that zero-employment households are served first.
//! Built by issue #5; this crate holds its place in the workspace layout.
