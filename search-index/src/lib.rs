//! Chinese full-text job search for 黔联, on tantivy with a jieba tokenizer, kept current from
//! the outbox.
//!
//! - [`JobIndex::apply`] upserts and deletes jobs in one commit that also records the outbox
//!   position it reached ([`JobIndex::cursor`]), so a restarted process resumes where it stopped.
//! - [`JobIndex::search`] answers [`SearchQuery`]s: words (with query-time synonyms from
//!   `seed/synonyms.txt`) over title, skills, occupation names, description, employer and place
//!   names; filters on places, occupation (hierarchy prefix), wage, cross-province, status and
//!   expiry; highlights from title and description.
//!
//! See `docs/search.md` in the workspace for the design and operating notes.

mod index;
mod places;
mod query;
mod synonyms;
mod tokenizer;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use index::JobIndex;
pub use places::with_aliases as place_aliases;
pub use synonyms::{Synonyms, shared_synonyms};
pub use tokenizer::{JiebaTokenStream, JiebaTokenizer, TOKENIZER_NAME, shared_jieba};

/// One open or closed job, denormalised for search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDoc {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub skills: Vec<String>,
    pub occupation_code: Option<String>,
    /// The occupation's name and its parents' names in the 2022 classification.
    pub occupation_names: Vec<String>,
    pub employer_name: String,
    /// 6 digits each.
    pub county_code: String,
    pub prefecture_code: String,
    pub province_code: String,
    /// County, prefecture and province names, e.g. `["兴义市","黔西南布依族苗族自治州","贵州省"]`.
    /// Short forms (兴义, 黔西南州, 黔西南, 贵州) are added by the index.
    pub place_names: Vec<String>,
    pub wage_min: i32,
    pub wage_max: i32,
    pub cross_province: bool,
    /// `"open"` | `"closed"`.
    pub status: String,
    pub posted_at: DateTime<Utc>,
    pub expires_on: Option<NaiveDate>,
}

/// What to search for. `SearchQuery::new(q, today)` gives the defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Any text; may be empty (then: every job matching the filters, newest first).
    pub q: String,
    pub county_code: Option<String>,
    pub prefecture_code: Option<String>,
    pub province_code: Option<String>,
    /// Matches the job's code or any descendant: `6-18` matches `6-18-02-04`, not `6-180`.
    pub occupation_code: Option<String>,
    /// Jobs whose `wage_max >= min_wage`.
    pub min_wage: Option<i32>,
    pub cross_province: Option<bool>,
    /// Default: only `"open"`.
    pub status: Option<String>,
    /// Jobs with `expires_on < today` are excluded unless `status` is given explicitly.
    pub today: NaiveDate,
    /// Clamped to 1..=100.
    pub limit: usize,
    /// Clamped to [`MAX_OFFSET`].
    pub offset: usize,
}

/// Deepest page start served (`offset` beyond it returns no hits, with the right `total`).
pub const MAX_OFFSET: usize = 10_000;

impl SearchQuery {
    /// A query for `q` with no filters, 20 hits from the first.
    pub fn new(q: impl Into<String>, today: NaiveDate) -> Self {
        SearchQuery {
            q: q.into(),
            county_code: None,
            prefecture_code: None,
            province_code: None,
            occupation_code: None,
            min_wage: None,
            cross_province: None,
            status: None,
            today,
            limit: 20,
            offset: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub id: Uuid,
    /// Relevance (BM25 with boosts); 0 when the query has no words.
    pub score: f32,
    /// `"title"` / `"description"` -> HTML-escaped snippet with `<em>..</em>` around matches;
    /// a field without a match is absent.
    pub highlights: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    pub hits: Vec<Hit>,
    /// Number of matching jobs (all pages).
    pub total: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the search index at {0} was built with another schema; rebuild it into a fresh directory \
         (see docs/search.md)"
    )]
    SchemaMismatch(std::path::PathBuf),
    #[error("the search index writer is unusable: a thread panicked while holding it")]
    Poisoned,
    #[error("stored document without a valid id")]
    CorruptDocument,
}
