//! Keeping this process's copy of the search index current from the outbox.
//!
//! Every API process has its own index on disk (`QIANLINK_INDEX_DIR`) and
//! keeps its own position: the outbox cursor is stored in the index's commit
//! payload, so a restarted process catches up from where it left off, and a
//! new or unreadable index is rebuilt from PostgreSQL. Nothing is written to
//! the index inside a request that changes a job.

use search_index::{JobDoc, JobIndex};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use store::outbox::{self, Cursor};
use store::search::{JobRow, Names};
use store::{Pool, StoreError};
use uuid::Uuid;

pub struct Indexer {
    pub index: JobIndex,
    names: Mutex<Option<Names>>,
    /// Read past rows that changed no job (persisted with the next commit).
    ahead: Mutex<Option<Cursor>>,
    busy: Mutex<()>,
    /// A catch-up asked for by [`Indexer::nudge`] is queued or running.
    nudged: AtomicBool,
}

pub fn to_doc(r: JobRow) -> JobDoc {
    JobDoc {
        id: r.id,
        cross_province: r.province_code != domain::division::GUIZHOU,
        title: r.title,
        description: r.description,
        skills: r.skills,
        occupation_code: r.occupation_code,
        occupation_names: r.occupation_names,
        employer_name: r.employer_name,
        county_code: r.county_code,
        prefecture_code: r.prefecture_code,
        province_code: r.province_code,
        place_names: r.place_names,
        wage_min: r.wage_min,
        wage_max: r.wage_max,
        status: r.status,
        posted_at: r.posted_at,
        expires_on: r.expires_on,
    }
}

fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Other(format!("search index: {e}"))
}

impl Indexer {
    pub fn open(dir: &std::path::Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("cannot create {} (QIANLINK_INDEX_DIR): {e}", dir.display())))?;
        let index = JobIndex::open(dir)
            .map_err(|e| err(format!("{e}; remove {} and run `qianlink reindex`", dir.display())))?;
        Ok(Self {
            index,
            names: Mutex::new(None),
            ahead: Mutex::new(None),
            busy: Mutex::new(()),
            nudged: AtomicBool::new(false),
        })
    }

    /// Rows for these jobs (or a page of all jobs), with names loaded once.
    fn rows(
        &self,
        conn: &mut diesel::PgConnection,
        ids: Option<&[Uuid]>,
        after: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<JobRow>, StoreError> {
        let mut g = self.names.lock().map_err(|_| err("names poisoned"))?;
        if g.is_none() {
            *g = Some(Names::load(conn)?);
        }
        match g.as_ref() {
            Some(n) => store::search::rows(conn, n, ids, after, limit),
            None => Err(err("names missing")),
        }
    }

    /// Rebuild from PostgreSQL in one commit; `progress(done)` after each batch.
    pub fn rebuild(&self, pool: &Pool, progress: &dyn Fn(usize)) -> Result<usize, StoreError> {
        let mut conn = pool.get()?;
        let cursor = outbox::horizon(&mut conn)?;
        let mut docs = Vec::new();
        let mut after: Option<Uuid> = None;
        loop {
            let batch = self.rows(&mut conn, None, after, 5000)?;
            let Some(last) = batch.last().map(|r| r.id) else { break };
            after = Some(last);
            docs.extend(batch.into_iter().map(to_doc));
            progress(docs.len());
        }
        let n = docs.len();
        self.index.replace_all(docs, (cursor.txid, cursor.id)).map_err(err)?;
        if let Ok(mut a) = self.ahead.lock() {
            *a = None;
        }
        Ok(n)
    }

    /// Apply what the outbox says changed since the index's cursor. Returns
    /// the number of jobs re-indexed (0 when another caller is at it).
    pub fn catch_up(&self, pool: &Pool) -> Result<usize, StoreError> {
        let Ok(_guard) = self.busy.try_lock() else { return Ok(0) };
        let Some((txid, id)) = self.index.cursor() else {
            return self.rebuild(pool, &|_| {});
        };
        let mut conn = pool.get()?;
        let mut cursor =
            self.ahead.lock().ok().and_then(|a| *a).filter(|a| *a > Cursor { txid, id }).unwrap_or(Cursor { txid, id });
        let mut total = 0;
        loop {
            let rows = outbox::read_batch(&mut conn, cursor, 2000)?;
            let Some(last) = rows.last().map(|r| r.cursor()) else { break };
            let mut ids: Vec<Uuid> = rows
                .iter()
                .filter(|r| r.is_about(store::outbox::Aggregate::Job))
                .filter_map(|r| Uuid::parse_str(&r.aggregate_id).ok())
                .collect();
            ids.sort();
            ids.dedup();
            if ids.is_empty() {
                cursor = last;
                if let Ok(mut a) = self.ahead.lock() {
                    *a = Some(last);
                }
                continue;
            }
            let found = self.rows(&mut conn, Some(&ids), None, ids.len() as i64 + 1)?;
            let deletes: Vec<Uuid> = ids.iter().filter(|i| !found.iter().any(|r| r.id == **i)).copied().collect();
            total += found.len();
            self.index
                .apply(&found.into_iter().map(to_doc).collect::<Vec<_>>(), &deletes, (last.txid, last.id))
                .map_err(err)?;
            cursor = last;
            if let Ok(mut a) = self.ahead.lock() {
                *a = None;
            }
        }
        Ok(total)
    }

    /// Catch up on a blocking thread of its own, at most one at a time, and
    /// return at once. A search calls this instead of catching up itself: a
    /// tantivy commit can take hundreds of milliseconds on a busy disk, and
    /// the search that happened to do it paid for it (the mixed load of
    /// bench/load.sh had a p99 over 1 s at 4 connections for that reason).
    pub fn nudge(self: &Arc<Self>, pool: &Pool) {
        if self.nudged.swap(true, Ordering::AcqRel) {
            return;
        }
        let (me, pool) = (Arc::clone(self), pool.clone());
        tokio::task::spawn_blocking(move || {
            me.nudged.store(false, Ordering::Release);
            if let Err(e) = me.catch_up(&pool) {
                tracing::warn!(error = %e, "search index catch-up failed");
            }
        });
    }

    /// Outbox rows not yet applied to this index.
    pub fn lag(&self, pool: &Pool) -> Result<i64, StoreError> {
        let mut conn = pool.get()?;
        let c = match self.index.cursor() {
            None => Cursor::default(),
            Some((txid, id)) => Cursor { txid, id },
        };
        let c = self.ahead.lock().ok().and_then(|a| *a).filter(|a| *a > c).unwrap_or(c);
        outbox::lag(&mut conn, c)
    }
}
