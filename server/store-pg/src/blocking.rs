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
use scry_models::{Embedder, ModelError};
use tokio::runtime::Runtime;

use crate::reader::{PgReader, RepoGeneration};
use crate::{PgStore, RepoFilter, StoreError};

/// A [`PgStore`] for synchronous callers, or several: shards, each holding some
/// repositories, searched as one (see [`BlockingPgStore::open_shards`]).
pub struct BlockingPgStore {
    rt: Runtime,
    shards: Vec<Shard>,
}

struct Shard {
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

/// Shards at most: a chunk's shard rides in the top bits of its root and its id.
pub const MAX_SHARDS: usize = 255;

/// A repository's root in a search over shards: its shard above 24 bits of its id in
/// that shard's database.
fn root_of(shard: usize, repo_id: i64) -> u32 {
    ((shard as u32) << 24) | (repo_id as u32 & 0x00ff_ffff)
}

/// A chunk's id in a search over shards: its shard above 48 bits of its row id.
fn chunk_id(shard: usize, row: i64) -> ChunkId {
    ((shard as u64) << 48) | (row as u64 & 0xffff_ffff_ffff)
}

fn shard_of(id: ChunkId) -> (usize, i64) {
    ((id >> 48) as usize, (id & 0xffff_ffff_ffff) as i64)
}

impl BlockingPgStore {
    /// Connects (see [`PgStore::open`]). Not from inside an async task.
    pub fn open(url: &str, dims: usize, model: &str) -> Result<BlockingPgStore, StoreError> {
        let rt = runtime()?;
        let store = rt.block_on(PgStore::open(url, dims, model))?;
        Ok(BlockingPgStore::of(rt, vec![store]))
    }

    /// Connects to a store an indexer created (see [`PgStore::open_existing`]).
    pub fn open_existing(url: &str) -> Result<BlockingPgStore, StoreError> {
        BlockingPgStore::open_shards(&[url.to_owned()])
    }

    /// Connects to the stores that hold an organisation's repositories between them
    /// (each repository in one; [`BlockingPgStore::shard_for`] says which). A search
    /// asks every shard and ranks what they found together, once. They must hold one
    /// model's vectors.
    pub fn open_shards(urls: &[String]) -> Result<BlockingPgStore, StoreError> {
        if urls.is_empty() || urls.len() > MAX_SHARDS {
            return Err(StoreError::Shards(urls.len()));
        }
        let rt = runtime()?;
        let mut stores = Vec::new();
        for url in urls {
            let store = rt.block_on(PgStore::open_existing(url))?;
            if let Some(first) = stores.first() {
                let first: &PgStore = first;
                if store.model() != first.model() || store.dims() != first.dims() {
                    return Err(StoreError::Model {
                        stored: first.model().to_owned(),
                        asked: store.model().to_owned(),
                    });
                }
            }
            stores.push(store);
        }
        Ok(BlockingPgStore::of(rt, stores))
    }

    /// Opens the shard a repository belongs in, creating its schema if needed, for an
    /// indexer (see [`BlockingPgStore::shard_for`]).
    pub fn open_for_writing(
        urls: &[String],
        org: &str,
        repo: &str,
        dims: usize,
        model: &str,
    ) -> Result<BlockingPgStore, StoreError> {
        if urls.is_empty() || urls.len() > MAX_SHARDS {
            return Err(StoreError::Shards(urls.len()));
        }
        BlockingPgStore::open(&urls[shard_index(urls.len(), org, repo)], dims, model)
    }

    fn of(rt: Runtime, stores: Vec<PgStore>) -> BlockingPgStore {
        BlockingPgStore {
            rt,
            shards: stores
                .into_iter()
                .map(|store| Shard {
                    store,
                    primary: None,
                })
                .collect(),
        }
    }

    /// Searches here are of a replica of the store at `primary`: each hit says whether
    /// its repository has a newer generation there. (One store, not shards.)
    pub fn with_primary(mut self, primary: &str) -> Result<BlockingPgStore, StoreError> {
        if self.shards.len() != 1 {
            return Err(StoreError::Shards(self.shards.len()));
        }
        self.shards[0].primary = Some(self.rt.block_on(PgStore::open_existing(primary))?);
        Ok(self)
    }

    /// The (first) store: its model and dimensions are every shard's.
    pub fn store(&self) -> &PgStore {
        &self.shards[0].store
    }

    /// Whether `embedder` makes the store's vectors (the model and dimensions its
    /// indexers published with): only then can it embed a query for them.
    pub fn takes_queries_from(&self, embedder: &dyn Embedder) -> bool {
        let info = embedder.info();
        info.id == self.store().model() && info.dims == self.store().dims()
    }

    /// The query's vector for a search of the store (see [`BlockingPgStore::search`]):
    /// `None` when `embedder` is not the store's model.
    pub fn query_vector(
        &self,
        embedder: &dyn Embedder,
        prefix: &str,
        query: &str,
    ) -> Option<Result<(Tier, Vec<f32>), ModelError>> {
        if !self.takes_queries_from(embedder) {
            return None;
        }
        let out = embedder.embed(&[format!("{prefix}{}", query.trim())]);
        Some(out.and_then(|o| {
            o.vectors
                .into_iter()
                .next()
                .map(|v| (Tier::Fast, v))
                .ok_or_else(|| {
                    ModelError::Embed("the model returned no vector for the query".into())
                })
        }))
    }

    /// The store of `org`/`repo` among these shards.
    pub fn shard_for(&self, org: &str, repo: &str) -> &PgStore {
        &self.shards[shard_index(self.shards.len(), org, repo)].store
    }

    /// Each repository's active generation in `org`, over every shard, by name.
    pub fn active_generations(&self, org: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let mut out = Vec::new();
        for s in &self.shards {
            out.extend(self.rt.block_on(s.store.active_generations(org))?);
        }
        out.sort();
        Ok(out)
    }

    /// Runs `f` on the store's runtime, blocking until it ends.
    pub fn block_on<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        self.rt.block_on(f)
    }

    /// Searches `org`'s repositories (all, or those named) the way the local store is
    /// searched, over every shard at once. `vector` is the query's embedding by the
    /// store's model, in the tier that model is; without one the search is BM25-only
    /// and says so.
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
        let mut readers = Vec::with_capacity(self.shards.len());
        for s in &self.shards {
            readers.push(self.rt.block_on(s.store.reader(org, repos)).map_err(io)?);
        }
        let read = Read {
            rt: &self.rt,
            readers: &readers,
        };
        let mut repos: Vec<RepoGeneration> = Vec::new();
        let mut newest = Vec::new();
        for (k, (reader, shard)) in readers.iter().zip(&self.shards).enumerate() {
            repos.extend(reader.repos().iter().map(|r| RepoGeneration {
                id: i64::from(root_of(k, r.id)),
                ..r.clone()
            }));
            if let Some(p) = &shard.primary {
                // The replica read first: a commit in between can only make hits stale.
                newest.extend(self.rt.block_on(p.active_generations(org)).map_err(io)?);
            }
        }
        let place = |c: &StoredChunk| place(&repos, &newest, c);
        let vectors: Vec<(Tier, Vec<f32>)> = vector.into_iter().collect();
        let results = scry_engine::search_store(&read, req, &vectors, fusion, rrf_k, &place);
        for reader in readers {
            // Read-only: ending it cannot lose anything; a failure to is logged.
            if let Err(e) = self.rt.block_on(reader.finish()) {
                tracing::debug!("ending a read of the store: {e}");
            }
        }
        repos.sort_by(|a, b| a.name.cmp(&b.name));
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

/// Which of `n` shards holds `org`/`repo`: a fixed hash of the name (FNV-1a), so every
/// indexer and server agrees without asking. Changing the number of shards moves
/// repositories: republish them.
fn shard_index(n: usize, org: &str, repo: &str) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in org.bytes().chain([0u8]).chain(repo.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    (h % n.max(1) as u64) as usize
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

/// One search's questions to the store (every shard), each blocking on the reads'
/// transactions.
struct Read<'a> {
    rt: &'a Runtime,
    readers: &'a [PgReader],
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
        let mut hits = Vec::new();
        for (k, reader) in self.readers.iter().enumerate() {
            let rows = self.ask("lexical", reader.lexical(query, limit, filter))?;
            hits.extend(rows.into_iter().map(|(score, repo, path, id)| LexicalHit {
                score,
                file: scry_engine::file_key(root_of(k, repo), &path),
                id: chunk_id(k, id),
            }));
        }
        // Shards' BM25 scores side by side (each shard's statistics are its own).
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
        hits.truncate(limit);
        Ok(hits)
    }

    fn nearest(
        &self,
        _tier: Tier,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<(f32, ChunkId)>, EngineError> {
        let mut out = Vec::new();
        for (k, reader) in self.readers.iter().enumerate() {
            let rows = self.ask("nearest", reader.nearest(vector, limit))?;
            out.extend(rows.into_iter().map(|(s, id)| (s, chunk_id(k, id))));
        }
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        out.truncate(limit);
        Ok(out)
    }

    fn load(&self, ids: &[ChunkId]) -> Result<Vec<StoredChunk>, EngineError> {
        let mut by_id: std::collections::HashMap<ChunkId, StoredChunk> =
            std::collections::HashMap::with_capacity(ids.len());
        for (k, reader) in self.readers.iter().enumerate() {
            let rows: Vec<i64> = ids
                .iter()
                .map(|id| shard_of(*id))
                .filter(|(shard, _)| *shard == k)
                .map(|(_, row)| row)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let chunks = self.ask("load", reader.load(&rows))?;
            for (row, mut chunk) in rows.into_iter().zip(chunks) {
                chunk.root = root_of(k, i64::from(chunk.root));
                by_id.insert(chunk_id(k, row), chunk);
            }
        }
        ids.iter()
            .map(|id| {
                by_id
                    .get(id)
                    .cloned()
                    .ok_or_else(|| EngineError::Store(format!("chunk {id} is in no shard")))
            })
            .collect()
    }

    fn mentions(&self, words: &[String]) -> Result<(Vec<u64>, u64), EngineError> {
        let mut counts = vec![0u64; words.len()];
        let mut total = 0;
        for reader in self.readers {
            let (c, t) = self.ask("mentions", reader.mentions(words))?;
            for (sum, n) in counts.iter_mut().zip(c) {
                *sum += n;
            }
            total += t;
        }
        Ok((counts, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_engine::FileHash;

    #[test]
    fn a_repository_always_lands_in_the_same_shard_and_ids_carry_their_shard() {
        // Fixed values: every indexer and server, any version, must agree.
        assert_eq!(shard_index(1, "acme", "api"), 0);
        let spread: std::collections::HashSet<usize> = (0..64)
            .map(|i| shard_index(4, "acme", &format!("repo-{i}")))
            .collect();
        assert_eq!(spread.len(), 4, "names spread over every shard");
        assert_eq!(shard_index(4, "acme", "api"), shard_index(4, "acme", "api"));
        assert_ne!(
            (0..8)
                .map(|i| shard_index(8, "acme", &format!("r{i}")))
                .collect::<Vec<_>>(),
            (0..8)
                .map(|i| shard_index(8, "globex", &format!("r{i}")))
                .collect::<Vec<_>>(),
            "the organisation is part of the name"
        );
        for (shard, row) in [(0, 1), (3, 77), (254, (1 << 48) - 1)] {
            assert_eq!(shard_of(chunk_id(shard, row)), (shard, row));
        }
        assert_ne!(root_of(0, 1), root_of(1, 1));
    }

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
