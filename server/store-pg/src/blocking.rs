//! The store behind the engine's storage seam ([`scry_engine::ChunkStore`]): a search of
//! the shared store runs the engine's own retrieval, fusion, ranking stage and result
//! shape, each question to the store a query in one read transaction.
//!
//! The engine is synchronous; the store's client is not. [`BlockingPgStore`] owns a
//! small runtime that drives its connections, and blocks the calling thread (a CLI's,
//! or a server's blocking pool) on each query.

use std::path::PathBuf;

use scry_engine::{
    ChunkId, ChunkStore, EngineError, FileRef, Fusion, LexicalFilter, LexicalHit, SearchRequest,
    StoreResults, StoredChunk, Tier,
};
use tokio::runtime::Runtime;

use crate::reader::{PgReader, RepoGeneration};
use crate::{PgStore, RepoFilter, StoreError};

/// A [`PgStore`] for synchronous callers.
pub struct BlockingPgStore {
    rt: Runtime,
    store: PgStore,
    /// When this store is a logical replica: the primary, asked for each repository's
    /// active generation so a hit from one the replica has not caught up with says so.
    primary: Option<PgStore>,
}

/// A search's results, and the repositories and generations it read.
#[derive(Debug, Clone)]
pub struct StoreSearch {
    pub results: StoreResults,
    pub repos: Vec<RepoGeneration>,
}

impl BlockingPgStore {
    /// Connects (see [`PgStore::open`]). Not from inside an async task.
    pub fn open(url: &str, dims: usize, model: &str) -> Result<BlockingPgStore, StoreError> {
        let rt = runtime()?;
        let store = rt.block_on(PgStore::open(url, dims, model))?;
        Ok(BlockingPgStore {
            rt,
            store,
            primary: None,
        })
    }

    /// Connects to a store an indexer created (see [`PgStore::open_existing`]).
    pub fn open_existing(url: &str) -> Result<BlockingPgStore, StoreError> {
        let rt = runtime()?;
        let store = rt.block_on(PgStore::open_existing(url))?;
        Ok(BlockingPgStore {
            rt,
            store,
            primary: None,
        })
    }

    /// Searches here are of a replica of the store at `primary`: each hit says whether
    /// its repository has a newer generation there.
    pub fn with_primary(mut self, primary: &str) -> Result<BlockingPgStore, StoreError> {
        self.primary = Some(self.rt.block_on(PgStore::open_existing(primary))?);
        Ok(self)
    }

    pub fn store(&self) -> &PgStore {
        &self.store
    }

    /// Runs `f` on the store's runtime, blocking until it ends.
    pub fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// Searches `org`'s repositories (all, or those named) the way the local store is
    /// searched. `vector` is the query's embedding by the store's model, in the tier
    /// that model is; without one the search is BM25-only and says so.
    pub fn search(
        &self,
        org: &str,
        repos: &RepoFilter,
        req: &SearchRequest,
        vector: Option<(Tier, Vec<f32>)>,
        fusion: Fusion,
        rrf_k: f32,
    ) -> Result<StoreSearch, EngineError> {
        let started = std::time::Instant::now();
        let reader = self
            .rt
            .block_on(self.store.reader(org, repos))
            .map_err(io)?;
        let read = Read {
            rt: &self.rt,
            reader: &reader,
        };
        let repos = reader.repos().to_vec();
        let newest = match &self.primary {
            // The replica read first: a commit in between can only make hits stale.
            Some(p) => self.rt.block_on(p.active_generations(org)).map_err(io)?,
            None => Vec::new(),
        };
        let place = |c: &StoredChunk| place(&repos, &newest, c);
        let vectors: Vec<(Tier, Vec<f32>)> = vector.into_iter().collect();
        let results = scry_engine::search_store(&read, req, &vectors, fusion, rrf_k, &place);
        // Read-only: ending it cannot lose anything; a failure to is logged.
        if let Err(e) = self.rt.block_on(reader.finish()) {
            tracing::debug!("ending a read of the store: {e}");
        }
        tracing::debug!(
            repositories = repos.len(),
            micros = started.elapsed().as_micros() as u64,
            "store search"
        );
        Ok(StoreSearch {
            results: results?,
            repos,
        })
    }
}

fn runtime() -> Result<Runtime, StoreError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("scry-pg")
        .enable_all()
        .build()
        .map_err(|e| StoreError::Runtime(e.to_string()))
}

/// A hit's file: the repository stands where a workspace root would, and the
/// generation is the one this read saw of it; stale when the primary (`newest`, for a
/// replica) has a newer one.
fn place(repos: &[RepoGeneration], newest: &[(String, i64)], c: &StoredChunk) -> (FileRef, u64) {
    let repo = repos.iter().find(|r| r.id as u32 == c.root);
    let (name, generation) = repo.map_or((String::new(), 0), |r| (r.name.clone(), r.generation));
    let stale = newest.iter().any(|(n, g)| *n == name && *g > generation);
    (
        FileRef {
            root: PathBuf::from(name),
            path: c.path.clone(),
            hash: c.file_hash,
            stale,
        },
        generation.max(0) as u64,
    )
}

/// One search's questions to the store, each blocking on the read's transaction.
struct Read<'a> {
    rt: &'a Runtime,
    reader: &'a PgReader,
}

impl Read<'_> {
    /// Runs one question, logging how long it took (`SCRY_LOG=scry_store_pg=trace`).
    fn ask<T>(
        &self,
        what: &'static str,
        f: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, EngineError> {
        let started = std::time::Instant::now();
        let out = self.rt.block_on(f).map_err(io);
        tracing::trace!(
            what,
            micros = started.elapsed().as_micros() as u64,
            "store read"
        );
        out
    }
}

fn io(e: StoreError) -> EngineError {
    EngineError::Store(e.to_string())
}

impl ChunkStore for Read<'_> {
    fn lexical(
        &self,
        query: &str,
        limit: usize,
        filter: &LexicalFilter,
    ) -> Result<Vec<LexicalHit>, EngineError> {
        let rows = self.ask("lexical", self.reader.lexical(query, limit, filter))?;
        Ok(rows
            .into_iter()
            .map(|(score, repo, path, id)| LexicalHit {
                score,
                file: scry_engine::file_key(repo as u32, &path),
                id: id as ChunkId,
            })
            .collect())
    }

    fn nearest(
        &self,
        _tier: Tier,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<(f32, ChunkId)>, EngineError> {
        let rows = self.ask("nearest", self.reader.nearest(vector, limit))?;
        Ok(rows.into_iter().map(|(s, id)| (s, id as ChunkId)).collect())
    }

    fn load(&self, ids: &[ChunkId]) -> Result<Vec<StoredChunk>, EngineError> {
        let ids: Vec<i64> = ids.iter().map(|id| *id as i64).collect();
        let chunks = self.ask("load", self.reader.load(&ids))?;
        if chunks.len() != ids.len() {
            // Cannot happen inside one repeatable-read transaction; never misalign.
            return Err(EngineError::Store(format!(
                "{} of {} chunks could not be read",
                ids.len() - chunks.len(),
                ids.len()
            )));
        }
        Ok(chunks)
    }

    fn mentions(&self, words: &[String]) -> Result<(Vec<u64>, u64), EngineError> {
        self.ask("mentions", self.reader.mentions(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_engine::FileHash;

    #[test]
    fn a_hit_names_its_repository_and_the_generation_read() {
        let repos = [
            RepoGeneration {
                id: 3,
                name: "api".into(),
                generation: 7,
            },
            RepoGeneration {
                id: 9,
                name: "web".into(),
                generation: 2,
            },
        ];
        let chunk = StoredChunk {
            root: 9,
            path: "src/app.ts".into(),
            span: scry_engine::Span::new(0, 10, 1, 2),
            symbol: None,
            scope: None,
            context: None,
            text: "x".into(),
            kind: "function".into(),
            language: "typescript".into(),
            definitions: Vec::new(),
            vec_key: 1,
            file_hash: FileHash::of(b"x"),
        };
        let (file, generation) = place(&repos, &[], &chunk);
        assert_eq!(file.root, PathBuf::from("web"));
        assert_eq!(file.path, "src/app.ts");
        assert_eq!(generation, 2);
        assert!(!file.stale);
        // A replica behind its primary says so; one caught up does not.
        let behind = [("web".to_owned(), 3), ("api".to_owned(), 9)];
        assert!(place(&repos, &behind, &chunk).0.stale);
        let caught_up = [("web".to_owned(), 2), ("api".to_owned(), 9)];
        assert!(!place(&repos, &caught_up, &chunk).0.stale);
    }
}
