//! The index: schema, writing (upserts, deletes, cursor payload) and searching.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::Datelike;
use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};
use tantivy::collector::sort_key::{SortBySimilarityScore, SortByStaticFastValue};
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, EmptyQuery, Occur, PhraseQuery, Query,
    RangeQuery, TermQuery,
};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, Searcher, TantivyDocument, TantivyError, Term,
};

use crate::query::{Concept, ParsedQuery, parse};
use crate::synonyms::{Synonyms, shared_synonyms};
use crate::tokenizer::{HighlightTokenizer, JiebaTokenizer, TOKENIZER_NAME, shared_jieba};
use crate::{Hit, IndexError, JobDoc, MAX_OFFSET, SearchQuery, SearchResult, places};

/// Memory budget of the one writer (split between its indexing threads).
const WRITER_MEMORY_BYTES: usize = 50_000_000;

/// Field boosts: a word in the title counts most.
const TITLE_BOOST: f32 = 3.0;
const SKILLS_BOOST: f32 = 2.0;
const OCCUPATION_BOOST: f32 = 1.5;
const PLACE_BOOST: f32 = 1.5;
const DESCRIPTION_BOOST: f32 = 1.0;
const EMPLOYER_BOOST: f32 = 0.5;

/// Share of the score of a concept's other matching forms added to its best form's.
const FORMS_TIE_BREAKER: f32 = 0.1;

/// Snippet length (characters) for descriptions; titles are short and shown whole.
const DESCRIPTION_SNIPPET_CHARS: usize = 120;
const TITLE_SNIPPET_CHARS: usize = 200;

/// Version of the commit payload's layout.
const PAYLOAD_FORMAT: u32 = 1;

const POSTED_AT: &str = "posted_at";

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    title: Field,
    description: Field,
    skills: Field,
    occupation: Field,
    employer: Field,
    place: Field,
    county: Field,
    prefecture: Field,
    province: Field,
    occupation_path: Field,
    status: Field,
    cross_province: Field,
    wage_max: Field,
    posted_at: Field,
    expires_on: Field,
}

impl Fields {
    /// The text fields searched, with their boosts.
    fn searched(&self) -> [(Field, f32); 6] {
        [
            (self.title, TITLE_BOOST),
            (self.skills, SKILLS_BOOST),
            (self.occupation, OCCUPATION_BOOST),
            (self.place, PLACE_BOOST),
            (self.description, DESCRIPTION_BOOST),
            (self.employer, EMPLOYER_BOOST),
        ]
    }
}

fn build_schema() -> (Schema, Fields) {
    let indexing = TextFieldIndexing::default()
        .set_tokenizer(TOKENIZER_NAME)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let text = TextOptions::default().set_indexing_options(indexing);
    let stored_text = text.clone().set_stored();
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        title: b.add_text_field("title", stored_text.clone()),
        description: b.add_text_field("description", stored_text),
        skills: b.add_text_field("skills", text.clone()),
        occupation: b.add_text_field("occupation", text.clone()),
        employer: b.add_text_field("employer", text.clone()),
        place: b.add_text_field("place", text),
        county: b.add_text_field("county_code", STRING),
        prefecture: b.add_text_field("prefecture_code", STRING),
        province: b.add_text_field("province_code", STRING),
        occupation_path: b.add_text_field("occupation_path", STRING),
        status: b.add_text_field("status", STRING),
        cross_province: b.add_bool_field("cross_province", INDEXED),
        wage_max: b.add_i64_field("wage_max", INDEXED | FAST),
        posted_at: b.add_i64_field(POSTED_AT, FAST),
        expires_on: b.add_i64_field("expires_on", INDEXED | FAST),
    };
    (b.build(), fields)
}

/// What the commit payload holds.
#[derive(Serialize, Deserialize)]
struct Payload {
    format: u32,
    /// Outbox position `(txid, id)` of the last event applied.
    cursor: (i64, i64),
}

/// The job index: one writer (behind a mutex), one reader reloaded after each commit.
/// `Send + Sync`: share it in an `Arc`; searches run concurrently with writes.
pub struct JobIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    fields: Fields,
    jieba: Arc<Jieba>,
    synonyms: &'static Synonyms,
    cursor: RwLock<Option<(i64, i64)>>,
}

impl std::fmt::Debug for JobIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobIndex").field("num_docs", &self.num_docs()).field("cursor", &self.cursor()).finish()
    }
}

impl JobIndex {
    /// Opens the index in `dir`, creating the directory and an empty index if needed.
    ///
    /// Only one process may have it open (tantivy takes a writer lock in the directory).
    /// An index built with another schema gives [`IndexError::SchemaMismatch`].
    pub fn open(dir: &Path) -> Result<Self, IndexError> {
        std::fs::create_dir_all(dir)?;
        let (schema, fields) = build_schema();
        let directory = MmapDirectory::open(dir)?;
        let index = match Index::open_or_create(directory, schema) {
            Ok(index) => index,
            Err(TantivyError::SchemaError(_)) => return Err(IndexError::SchemaMismatch(dir.to_path_buf())),
            Err(e) => return Err(e.into()),
        };
        Self::from_index(index, fields)
    }

    /// An index in memory (tests, benchmarks).
    pub fn in_ram() -> Result<Self, IndexError> {
        let (schema, fields) = build_schema();
        Self::from_index(Index::create_in_ram(schema), fields)
    }

    fn from_index(index: Index, fields: Fields) -> Result<Self, IndexError> {
        let jieba = shared_jieba();
        index.tokenizers().register(TOKENIZER_NAME, TextAnalyzer::from(JiebaTokenizer::new(Arc::clone(&jieba))));
        let writer: IndexWriter = index.writer(WRITER_MEMORY_BYTES)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let cursor = index.load_metas()?.payload.as_deref().and_then(parse_payload);
        Ok(JobIndex {
            reader,
            writer: Mutex::new(writer),
            fields,
            jieba,
            synonyms: shared_synonyms(),
            cursor: RwLock::new(cursor),
        })
    }

    /// Applies one batch in one commit: every job of `upserts` replaces the indexed job with the
    /// same id (or is added), then every id of `deletes` is removed (an id in both lists ends up
    /// deleted), and `cursor` is stored in the commit. Searches see the whole batch or none of
    /// it. On error nothing of the batch is kept and the cursor is unchanged.
    pub fn apply(&self, upserts: &[JobDoc], deletes: &[uuid::Uuid], cursor: (i64, i64)) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().map_err(|_: PoisonError<_>| IndexError::Poisoned)?;
        let outcome = self.write_batch(&mut writer, false, upserts.iter().cloned(), deletes, cursor);
        self.finish(&mut writer, outcome, cursor)
    }

    /// Full rebuild in one commit: removes every job, indexes `docs` and stores `cursor`.
    /// Until the commit, searches keep seeing the old content (no empty window). Use the outbox
    /// position read *before* loading `docs` as `cursor`, then catch up from it with
    /// [`apply`](Self::apply): replaying events already reflected in `docs` is harmless.
    pub fn replace_all(&self, docs: impl IntoIterator<Item = JobDoc>, cursor: (i64, i64)) -> Result<(), IndexError> {
        let mut writer = self.writer.lock().map_err(|_: PoisonError<_>| IndexError::Poisoned)?;
        let outcome = self.write_batch(&mut writer, true, docs, &[], cursor);
        self.finish(&mut writer, outcome, cursor)
    }

    /// Removes every job and stores `cursor`, in one commit (`replace_all` with no jobs).
    pub fn clear(&self, cursor: (i64, i64)) -> Result<(), IndexError> {
        self.replace_all(std::iter::empty(), cursor)
    }

    fn write_batch(
        &self,
        writer: &mut IndexWriter,
        delete_all: bool,
        upserts: impl IntoIterator<Item = JobDoc>,
        deletes: &[uuid::Uuid],
        cursor: (i64, i64),
    ) -> Result<(), IndexError> {
        if delete_all {
            writer.delete_all_documents()?;
        }
        for job in upserts {
            if !delete_all {
                writer.delete_term(self.id_term(&job.id));
            }
            writer.add_document(self.document(&job))?;
        }
        for id in deletes {
            writer.delete_term(self.id_term(id));
        }
        let payload = serde_json::to_string(&Payload { format: PAYLOAD_FORMAT, cursor })
            .map_err(|e| TantivyError::InternalError(e.to_string()))?;
        let mut prepared = writer.prepare_commit()?;
        prepared.set_payload(&payload);
        prepared.commit()?;
        Ok(())
    }

    fn finish(
        &self,
        writer: &mut IndexWriter,
        outcome: Result<(), IndexError>,
        cursor: (i64, i64),
    ) -> Result<(), IndexError> {
        if let Err(e) = outcome {
            if let Err(rollback) = writer.rollback() {
                tracing::error!(error = %rollback, "search index rollback failed");
            }
            return Err(e);
        }
        *self.cursor.write().unwrap_or_else(PoisonError::into_inner) = Some(cursor);
        self.reader.reload()?;
        tracing::debug!(?cursor, num_docs = self.num_docs(), "search index committed");
        Ok(())
    }

    /// The outbox position stored by the last commit (`None` for a new index: rebuild it).
    pub fn cursor(&self) -> Option<(i64, i64)> {
        *self.cursor.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of indexed jobs (open and closed) visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn id_term(&self, id: &uuid::Uuid) -> Term {
        Term::from_field_text(self.fields.id, &id.hyphenated().to_string())
    }

    fn document(&self, job: &JobDoc) -> TantivyDocument {
        let f = &self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, job.id.hyphenated().to_string());
        doc.add_text(f.title, &job.title);
        doc.add_text(f.description, &job.description);
        for skill in &job.skills {
            doc.add_text(f.skills, skill);
        }
        for name in &job.occupation_names {
            doc.add_text(f.occupation, name);
        }
        doc.add_text(f.employer, &job.employer_name);
        for name in &job.place_names {
            for alias in places::with_aliases(name) {
                doc.add_text(f.place, alias);
            }
        }
        doc.add_text(f.county, job.county_code.trim());
        doc.add_text(f.prefecture, job.prefecture_code.trim());
        doc.add_text(f.province, job.province_code.trim());
        if let Some(code) = &job.occupation_code {
            for prefix in occupation_prefixes(code) {
                doc.add_text(f.occupation_path, prefix);
            }
        }
        doc.add_text(f.status, job.status.trim().to_lowercase());
        doc.add_bool(f.cross_province, job.cross_province);
        doc.add_i64(f.wage_max, i64::from(job.wage_max));
        doc.add_i64(f.posted_at, job.posted_at.timestamp_millis());
        doc.add_i64(f.expires_on, job.expires_on.map_or(i64::MAX, |d| i64::from(d.num_days_from_ce())));
        doc
    }

    /// Searches; never panics. Query text is read by a forgiving grammar (see `query.rs`):
    /// what is not understood is searched as plain words.
    ///
    /// Words are all required; when that finds nothing and there are several, any of them is
    /// enough (ranked by how many and how well they match).
    pub fn search(&self, q: &SearchQuery) -> Result<SearchResult, IndexError> {
        let searcher = self.reader.searcher();
        let parsed = parse(&q.q, &self.jieba, self.synonyms);
        let filters = self.filters(q);
        let limit = q.limit.clamp(1, 100);
        let offset = q.offset;

        let Some(text) = self.text_query(&parsed, true) else {
            let query = with_filters(Box::new(AllQuery), &parsed, self, filters);
            let (rows, total) = self.collect_newest(&searcher, &*query, limit, offset)?;
            let hits = self.hits(&searcher, rows, None)?;
            return Ok(SearchResult { hits, total });
        };
        let query = with_filters(text.box_clone(), &parsed, self, filters.iter().map(|f| f.box_clone()).collect());
        let (mut rows, mut total) = self.collect_scored(&searcher, &*query, limit, offset)?;
        let mut text = text;
        if total == 0
            && parsed.groups.len() > 1
            && let Some(relaxed) = self.text_query(&parsed, false)
        {
            let query = with_filters(relaxed.box_clone(), &parsed, self, filters);
            (rows, total) = self.collect_scored(&searcher, &*query, limit, offset)?;
            text = relaxed;
        }
        let hits = self.hits(&searcher, rows, Some(&*text))?;
        Ok(SearchResult { hits, total })
    }

    fn collect_scored(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<(f32, DocAddress)>, usize), IndexError> {
        if offset > MAX_OFFSET {
            return Ok((Vec::new(), searcher.search(query, &Count)?));
        }
        let top = TopDocs::with_limit(limit)
            .and_offset(offset)
            .order_by((SortBySimilarityScore, (SortByStaticFastValue::<i64>::for_field(POSTED_AT), Order::Desc)));
        let (rows, total) = searcher.search(query, &(top, Count))?;
        Ok((rows.into_iter().map(|((score, _), addr)| (score, addr)).collect(), total))
    }

    fn collect_newest(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        limit: usize,
        offset: usize,
    ) -> Result<(Vec<(f32, DocAddress)>, usize), IndexError> {
        if offset > MAX_OFFSET {
            return Ok((Vec::new(), searcher.search(query, &Count)?));
        }
        let top = TopDocs::with_limit(limit).and_offset(offset).order_by_fast_field::<i64>(POSTED_AT, Order::Desc);
        let (rows, total) = searcher.search(query, &(top, Count))?;
        Ok((rows.into_iter().map(|(_, addr)| (0.0, addr)).collect(), total))
    }

    fn hits(
        &self,
        searcher: &Searcher,
        rows: Vec<(f32, DocAddress)>,
        text: Option<&dyn Query>,
    ) -> Result<Vec<Hit>, IndexError> {
        let generators = match text {
            Some(text) if !rows.is_empty() => {
                let title = self.snippet_generator(searcher, text, self.fields.title, TITLE_SNIPPET_CHARS)?;
                let description =
                    self.snippet_generator(searcher, text, self.fields.description, DESCRIPTION_SNIPPET_CHARS)?;
                Some([("title", title), ("description", description)])
            }
            _ => None,
        };
        let mut hits = Vec::with_capacity(rows.len());
        for (score, addr) in rows {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let id = doc
                .get_first(self.fields.id)
                .and_then(|v| v.as_str())
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .ok_or(IndexError::CorruptDocument)?;
            let mut highlights = BTreeMap::new();
            if let Some(generators) = &generators {
                for (name, generator) in generators {
                    if let Some(html) = highlight(generator, &doc) {
                        highlights.insert((*name).to_string(), html);
                    }
                }
            }
            hits.push(Hit { id, score, highlights });
        }
        Ok(hits)
    }

    /// Like `SnippetGenerator::create`, but with a tokenizer whose tokens do not overlap (see
    /// `HighlightTokenizer`).
    fn snippet_generator(
        &self,
        searcher: &Searcher,
        query: &dyn Query,
        field: Field,
        max_num_chars: usize,
    ) -> Result<SnippetGenerator, IndexError> {
        let mut terms: Vec<Term> = Vec::new();
        query.query_terms(&mut |term, _| {
            if term.field() == field {
                terms.push(term.clone());
            }
        });
        let mut terms_text: BTreeMap<String, f32> = BTreeMap::new();
        for term in &terms {
            let value = term.value();
            let Some(text) = value.as_str() else { continue };
            if terms_text.contains_key(text) {
                continue;
            }
            let doc_freq = searcher.doc_freq(term)?;
            if doc_freq > 0 {
                terms_text.insert(text.to_string(), 1.0 / (1.0 + doc_freq as f32));
            }
        }
        let words: HashSet<String> = terms_text.keys().cloned().collect();
        let tokenizer = HighlightTokenizer::new(Arc::clone(&self.jieba), Arc::new(words));
        Ok(SnippetGenerator::new(terms_text, TextAnalyzer::from(tokenizer), field, max_num_chars))
    }

    /// The positive part of the query: every group required (`strict`) or any of them.
    fn text_query(&self, parsed: &ParsedQuery, strict: bool) -> Option<Box<dyn Query>> {
        if !parsed.has_text() {
            return None;
        }
        let group_occur = if strict { Occur::Must } else { Occur::Should };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for group in &parsed.groups {
            let q: Box<dyn Query> = match group.as_slice() {
                [one] => self.concept_query(one),
                many => {
                    Box::new(BooleanQuery::new(many.iter().map(|c| (Occur::Should, self.concept_query(c))).collect()))
                }
            };
            clauses.push((group_occur, q));
        }
        for phrase in &parsed.phrases {
            clauses.push((Occur::Must, self.words_query(phrase, 1.0)));
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    /// A concept matches if any of its forms occurs in any searched field. Each field scores
    /// its best form (plus a little for the others), and the fields add up: a posting that
    /// says 家政 (a synonym) in its title must not outscore one that says the 保姆 the user
    /// typed there just because 家政, 家政服务员 and 家政服务 all match the same words.
    fn concept_query(&self, concept: &Concept) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (field, boost) in self.fields.searched() {
            let mut forms: Vec<Box<dyn Query>> =
                concept.forms.iter().map(|(words, weight)| field_query(field, words, boost * weight)).collect();
            let q: Box<dyn Query> = if forms.len() == 1 {
                forms.swap_remove(0)
            } else {
                Box::new(DisjunctionMaxQuery::with_tie_breaker(forms, FORMS_TIE_BREAKER))
            };
            clauses.push((Occur::Should, q));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// `words` (a term, or a phrase of several) in any searched field; the fields' scores add
    /// up (a word in the title and the skills is stronger evidence than in one of them).
    fn words_query(&self, words: &[String], weight: f32) -> Box<dyn Query> {
        let clauses = self
            .fields
            .searched()
            .into_iter()
            .map(|(field, boost)| (Occur::Should, field_query(field, words, boost * weight)))
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }

    fn filters(&self, q: &SearchQuery) -> Vec<Box<dyn Query>> {
        let f = &self.fields;
        let mut out: Vec<Box<dyn Query>> = Vec::new();
        let term = |field: Field, value: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(Term::from_field_text(field, value.trim()), IndexRecordOption::Basic))
        };
        if let Some(code) = &q.county_code {
            out.push(term(f.county, code));
        }
        if let Some(code) = &q.prefecture_code {
            out.push(term(f.prefecture, code));
        }
        if let Some(code) = &q.province_code {
            out.push(term(f.province, code));
        }
        if let Some(code) = &q.occupation_code {
            out.push(term(f.occupation_path, code.trim().trim_end_matches('-')));
        }
        if let Some(min) = q.min_wage {
            out.push(Box::new(RangeQuery::new(
                Bound::Included(Term::from_field_i64(f.wage_max, i64::from(min))),
                Bound::Unbounded,
            )));
        }
        if let Some(cross) = q.cross_province {
            out.push(Box::new(TermQuery::new(
                Term::from_field_bool(f.cross_province, cross),
                IndexRecordOption::Basic,
            )));
        }
        match &q.status {
            Some(status) => out.push(term(f.status, &status.trim().to_lowercase())),
            None => {
                out.push(term(f.status, "open"));
                let today = i64::from(q.today.num_days_from_ce());
                out.push(Box::new(RangeQuery::new(
                    Bound::Included(Term::from_field_i64(f.expires_on, today)),
                    Bound::Unbounded,
                )));
            }
        }
        out
    }
}

/// `positive AND filters AND NOT excluded`; filters do not score.
fn with_filters(
    positive: Box<dyn Query>,
    parsed: &ParsedQuery,
    index: &JobIndex,
    filters: Vec<Box<dyn Query>>,
) -> Box<dyn Query> {
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, positive)];
    for filter in filters {
        clauses.push((Occur::Must, Box::new(ConstScoreQuery::new(filter, 0.0))));
    }
    for words in &parsed.excluded {
        clauses.push((Occur::MustNot, index.words_query(words, 1.0)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// The snippet of `doc` as HTML with `<em>` around matches, if anything matched. tantivy's
/// snippet code slices strings with offsets it computes: a bug there must cost a highlight,
/// not the search, so a panic is caught (and logged).
fn highlight(generator: &SnippetGenerator, doc: &TantivyDocument) -> Option<String> {
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut snippet = generator.snippet_from_doc(doc);
        if snippet.is_empty() {
            return None;
        }
        snippet.set_snippet_prefix_postfix("<em>", "</em>");
        Some(snippet.to_html())
    }));
    result.unwrap_or_else(|_| {
        tracing::warn!("snippet generation panicked; hit returned without highlight");
        None
    })
}

/// `words` in `field`: a term, or a phrase of several words, weighted.
///
/// A phrase scores the sum of its words' BM25 scores; dividing its weight by its length keeps a
/// two-word synonym (家政 服务员) from outscoring the one word the user typed.
fn field_query(field: Field, words: &[String], weight: f32) -> Box<dyn Query> {
    let q: Box<dyn Query> = match words {
        [] => return Box::new(EmptyQuery),
        [word] => Box::new(TermQuery::new(Term::from_field_text(field, word), IndexRecordOption::WithFreqs)),
        many => Box::new(PhraseQuery::new(many.iter().map(|w| Term::from_field_text(field, w)).collect())),
    };
    Box::new(BoostQuery::new(q, weight / words.len() as f32))
}

/// `6-18-02-04` -> `6`, `6-18`, `6-18-02`, `6-18-02-04`.
fn occupation_prefixes(code: &str) -> Vec<String> {
    let code = code.trim().trim_end_matches('-');
    let mut out = Vec::new();
    let mut end = 0;
    for part in code.split('-') {
        end += part.len();
        if !part.is_empty() {
            out.push(code[..end].to_string());
        }
        end += 1;
    }
    out
}

fn parse_payload(payload: &str) -> Option<(i64, i64)> {
    match serde_json::from_str::<Payload>(payload) {
        Ok(p) if p.format == PAYLOAD_FORMAT => Some(p.cursor),
        Ok(p) => {
            tracing::warn!(format = p.format, "unknown search index payload format; the index needs a rebuild");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "unreadable search index payload; the index needs a rebuild");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_index_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<JobIndex>();
    }

    #[test]
    fn occupation_prefixes_follow_the_hierarchy() {
        assert_eq!(occupation_prefixes("6-18-02-04"), vec!["6", "6-18", "6-18-02", "6-18-02-04"]);
        assert_eq!(occupation_prefixes("4"), vec!["4"]);
        assert_eq!(occupation_prefixes(" 6-18- "), vec!["6", "6-18"]);
        assert!(occupation_prefixes("").is_empty());
    }

    #[test]
    fn payload_round_trip() {
        let text = serde_json::to_string(&Payload { format: PAYLOAD_FORMAT, cursor: (7, 42) }).unwrap();
        assert_eq!(parse_payload(&text), Some((7, 42)));
        assert_eq!(parse_payload("garbage"), None);
        assert_eq!(parse_payload(r#"{"format":99,"cursor":[1,2]}"#), None);
    }
}
