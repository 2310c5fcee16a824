//! Chinese full-text job search with tantivy and jieba, kept current from the
//! outbox. Built by issue #4; this crate holds its place in the workspace layout.
