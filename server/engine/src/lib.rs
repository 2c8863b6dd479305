//! The protocol-free API both faces call: open workspaces, apply changes, search, status.
//!
//! Two types, shaped like rust-analyzer's `AnalysisHost` and `Analysis`:
//!
//! - [`Engine`] serves one set of workspace roots from one index directory and applies
//!   changes: a refresh from disk, an editor's unsaved buffer, vectors for chunks that
//!   wait for them. Every change goes through a single writer that commits numbered
//!   generations.
//! - [`Snapshot`] is an immutable view of one generation. A search, a symbol lookup
//!   and a read each run on one snapshot, so none of them sees half an update, and each
//!   result says which file content it came from and whether that content is still
//!   what the editor or the disk holds ([`FileRef::stale`]).
//!
//! [`Workspace`] is the lifecycle both faces and `scry watch` share: open at once
//! (BM25), load the embedding model in the background, index, then keep watching.
//!
//! ```no_run
//! use scry_engine::{Engine, EngineConfig, SearchRequest};
//! let engine = Engine::open(EngineConfig::builder(["."]).build())?;
//! engine.refresh(&Default::default(), &mut |_| {})?;
//! for hit in engine.search(&SearchRequest::new("parse config").k(5))?.hits {
//!     let stale = if hit.file.stale { " (changed since indexing)" } else { "" };
//!     println!("{}:{}{stale} {:?}", hit.file.path, hit.span.start_line, hit.symbol);
//! }
//! # Ok::<(), scry_engine::EngineError>(())
//! ```
//!
//! Every public method of both types is listed in this file, each a short call into the
//! module that does the work. Architecture invariant: nothing here knows JSON-RPC, URIs,
//! LSP positions or MCP.

mod changes;
mod config;
mod discover;
mod dry_run;
mod error;
mod export;
mod follow;
mod freshness;
mod fusion;
mod location;
mod open;
mod overlay;
mod rank;
mod read;
mod read_only;
mod redact;
mod refresh;
mod report;
mod search;
mod snapshot;
mod state;
mod status;
mod store;
mod symbols;
mod tier;
mod upgrade;
mod watch;
mod workspace;
mod writer;

pub use config::{DEFAULT_SECRET_PATTERNS, EngineConfig, EngineConfigBuilder};
pub use discover::{SkipReason, looks_binary};
pub use error::EngineError;
pub use export::Export;
pub use follow::FollowEvent;
pub use freshness::{FileRef, Sources};
pub use fusion::Fusion;
pub use location::default_index_dir;
pub use rank::module_word;
pub use read::FileText;
pub use report::{BatchStats, DryRunReport, Phase, Progress, RefreshReport, human_secs};
pub use scry_chunk::{ChunkKind, Definition, Span};
pub use scry_index::FileHash;
pub use scry_index::{LexicalFilter, StoredChunk, file_key};
pub use scry_models::{EmbedderInfo, EmbedderSpec};
pub use scry_paths::{PathError, Resolved, Roots};
pub use search::{
    FileHit, Hit, MAX_K, MAX_QUERY_BYTES, RANGES_PER_FILE, Ranks, SearchMode, SearchRequest,
    SearchResults, StoreResults, search_store,
};
pub use status::{FileProblems, InventoryEntry, Status, TierStatus};
pub use store::{ChunkId, ChunkStore, LexicalHit};
pub use symbols::{MAX_SYMBOLS, SymbolHit, SymbolQuery, SymbolResults, fuzzy_score};
pub use tier::{PerTier, Tier};
pub use upgrade::UpgradeReport;
pub use watch::Watcher;
pub use workspace::{ModelState, Workspace, WorkspaceEvent, WorkspaceOptions, WorkspaceState};
pub use writer::FAILPOINTS;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use scry_models::{Embedder, ModelError};

use state::Inner;

/// The engine: one index of one set of roots, and the only way to change it. Cheap to
/// clone; every clone serves the same index.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// Opens (or creates) the index for the configured roots and loads the configured
    /// embedders (both tiers'). A missing or broken model is not an error: the engine
    /// runs BM25-only (or on the tier it has) and says why in [`Status::model_problem`]
    /// and in every search.
    pub fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        let specs = [
            (Tier::Fast, config.fast_embedder.clone()),
            (Tier::Full, config.embedder.clone()),
        ]
        .map(|(tier, spec)| (tier, spec.filter(|_| config.loads_tier(tier))));
        // The models load while the index opens (a one-shot search pays for the longer
        // of the two, not their sum); each is attached as it is in.
        std::thread::scope(|scope| {
            let loading: Vec<_> = specs
                .into_iter()
                .filter_map(|(tier, spec)| {
                    let spec = spec?;
                    Some((tier, scope.spawn(move || spec.load())))
                })
                .collect();
            let engine = open::open(config, PerTier::default())?;
            for (tier, handle) in loading {
                let loaded = handle.join().unwrap_or_else(|_| {
                    Err(ModelError::Config(format!(
                        "loading the {tier} tier's model panicked"
                    )))
                });
                engine.attach_embedder(tier, loaded)?;
            }
            Ok(engine)
        })
    }

    /// Opens the index without loading any model: searches are BM25 from the index as
    /// it is until [`Engine::attach_embedder`]. For a caller that loads the models in
    /// the background (what [`Workspace`] does).
    pub fn open_lexical(config: EngineConfig) -> Result<Engine, EngineError> {
        open::open(config, PerTier::default())
    }

    /// Like [`Engine::open`], with the full tier's embedder made elsewhere (or why
    /// there is none), and no fast tier.
    pub fn open_with_embedder(
        config: EngineConfig,
        embedder: Result<Arc<dyn Embedder>, ModelError>,
    ) -> Result<Engine, EngineError> {
        let loaded = PerTier {
            fast: None,
            full: Some(embedder),
        };
        open::open(config, loaded)
    }

    /// Gives the engine a tier's embedder (or the reason it has none): that tier's
    /// vectors are loaded and searches use them. Chunks without a vector wait for the
    /// next [`Engine::refresh`] or [`Engine::embed_missing`] (the fast tier, or the
    /// only one), or for [`Engine::upgrade_vectors`] (the full tier after a fast one).
    pub fn attach_embedder(
        &self,
        tier: Tier,
        embedder: Result<Arc<dyn Embedder>, ModelError>,
    ) -> Result<(), EngineError> {
        open::attach_embedder(self, tier, embedder)
    }

    pub fn roots(&self) -> &Roots {
        &self.inner.roots
    }

    pub fn index_dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The generation searches see now. A follower first picks up the generation the
    /// writer committed last (unless another thread is already doing so).
    pub fn snapshot(&self) -> Snapshot {
        snapshot::current(self)
    }

    pub fn generation(&self) -> u64 {
        self.snapshot().generation()
    }

    /// Brings the index up to date with the disk: new, changed and deleted files, then
    /// vectors for chunks that have none. Files whose size and mtime match are not read,
    /// unless listed in `force` (paths a watcher saw change).
    pub fn refresh(
        &self,
        force: &HashSet<PathBuf>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<RefreshReport, EngineError> {
        refresh::refresh(self, force, progress)
    }

    /// Makes an editor's unsaved buffer the indexed content of `path` until
    /// [`Engine::clear_overlay`]. Searchable (lexically) when this returns; its new
    /// chunks get vectors from [`Engine::embed_missing`].
    pub fn set_overlay(&self, path: &str, text: &str) -> Result<RefreshReport, EngineError> {
        overlay::set(self, path, text)
    }

    /// Drops the buffer for `path`; the disk is authoritative again.
    pub fn clear_overlay(&self, path: &str) -> Result<RefreshReport, EngineError> {
        overlay::clear(self, path)
    }

    /// Embeds the chunks that have no vector yet and commits. For a caller that put
    /// buffers in lexically first and has a quiet moment now.
    pub fn embed_missing(&self) -> Result<RefreshReport, EngineError> {
        refresh::embed_missing(self)
    }

    /// With both tiers: computes full-tier vectors for about `budget` of model time,
    /// most wanted chunks first (editor buffers, recently changed files), then commits
    /// them. Call it again while [`UpgradeReport::embedded`] is positive and chunks
    /// remain; `stop` ends it early (after the group in hand).
    pub fn upgrade_vectors(
        &self,
        budget: std::time::Duration,
        stop: &dyn Fn() -> bool,
        progress: &mut dyn FnMut(&UpgradeReport),
    ) -> Result<UpgradeReport, EngineError> {
        upgrade::upgrade(self, budget, stop, progress)
    }

    /// Chunks of the current generation waiting for a vector of some loaded tier (0
    /// without a model).
    pub fn missing_vectors(&self) -> usize {
        self.snapshot().missing_vectors()
    }

    /// Starts watching every root; `on_update` hears about each refresh a batch of
    /// changes caused (or its error). A follower's watcher also polls the writer's
    /// commits and takes over when it exits. Dropping the [`Watcher`] stops it.
    pub fn watch(
        &self,
        on_update: impl Fn(Result<RefreshReport, EngineError>) + Send + 'static,
    ) -> Result<Watcher, EngineError> {
        watch::start(self, on_update)
    }

    /// For a follower: reloads when the writer committed a new generation, and takes
    /// over when the writer is gone. Cheap when nothing changed (one `stat`).
    pub fn follow(&self) -> Result<FollowEvent, EngineError> {
        follow::poll(self)
    }

    /// Whether this process writes the index (else it follows another process's).
    pub fn is_writer(&self) -> bool {
        self.inner.is_writer()
    }

    pub fn status(&self) -> Status {
        status::status(self)
    }

    /// Searches the current generation. See [`Snapshot::search`].
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, EngineError> {
        self.snapshot().search(req)
    }

    /// Definitions by name in the current generation. See [`Snapshot::symbols`].
    pub fn symbols(&self, q: &SymbolQuery) -> Result<SymbolResults, EngineError> {
        self.snapshot().symbols(q)
    }

    /// A workspace file as it is now. See [`Snapshot::read_file`].
    pub fn read_file(&self, path: &str) -> Result<FileText, EngineError> {
        self.snapshot().read_file(path)
    }

    /// The query's embedding as a search would compute it; `None` without a model.
    pub fn embed_query(&self, query: &str) -> Option<Result<Vec<f32>, EngineError>> {
        self.snapshot().embed_query(query)
    }

    /// Compiles the grammars' queries now, so the first edit does not pay for it.
    pub fn warm_up(&self) {
        scry_chunk::warm_up();
    }

    /// Checks the index against itself: the lexical commit is the manifest's
    /// generation, every file's chunks are exactly the manifest's, the vector index holds
    /// exactly the live keys, and no temporary file is left over.
    pub fn verify(&self) -> Result<(), String> {
        status::verify(self)
    }

    /// Whether every live chunk has a vector and the vector index holds nothing else.
    pub fn vectors_consistent(&self) -> bool {
        self.snapshot().vectors_consistent()
    }

    /// Every indexed chunk of the current generation, sorted; for consistency checks.
    pub fn chunk_inventory(&self) -> Result<Vec<InventoryEntry>, EngineError> {
        self.snapshot().chunk_inventory()
    }

    /// The work indexing `config`'s roots would do now (files, chunks, embedding tokens,
    /// time), computed without creating, locking or writing anything.
    pub fn dry_run(config: &EngineConfig) -> Result<DryRunReport, EngineError> {
        dry_run::dry_run(config)
    }
}

/// An immutable view of one index generation: what searches, symbol lookups and reads
/// run on. Cheap to clone; holding one keeps its generation readable.
#[derive(Clone)]
pub struct Snapshot {
    pub(crate) view: Arc<snapshot::View>,
    pub(crate) setup: Arc<state::Setup>,
}

impl Snapshot {
    pub fn generation(&self) -> u64 {
        self.view.generation
    }

    /// Hybrid search: BM25 and vectors fused by Reciprocal Rank Fusion. Each hit names
    /// the definition in its chunk that matched the query and says whether its file
    /// changed since it was indexed.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, EngineError> {
        search::search(self, req)
    }

    /// Definitions whose name matches, best first, each with its freshness.
    pub fn symbols(&self, q: &SymbolQuery) -> Result<SymbolResults, EngineError> {
        symbols::find(self, q)
    }

    /// Reads `path` (relative to a root, or absolute inside one) from disk, confined to
    /// the roots with symlinks resolved, secrets masked; with the hash this generation
    /// indexed for it. Secret-bearing files, `.git`, binaries and oversized files are
    /// refused.
    pub fn read_file(&self, path: &str) -> Result<FileText, EngineError> {
        read::read_file(self, path)
    }

    /// File texts as this generation indexed them, read at most once each: for cutting
    /// merged context and for exact positions.
    pub fn sources(&self) -> Sources {
        Sources::new(self.clone())
    }

    /// The query's embedding as a search on this snapshot would compute it.
    pub fn embed_query(&self, query: &str) -> Option<Result<Vec<f32>, EngineError>> {
        search::embed_query(self, query)
    }

    /// Chunks waiting for a vector (0 without a model).
    pub fn missing_vectors(&self) -> usize {
        self.view.missing_vectors()
    }

    pub fn vectors_consistent(&self) -> bool {
        self.view.vectors_consistent()
    }

    pub fn chunk_inventory(&self) -> Result<Vec<InventoryEntry>, EngineError> {
        status::inventory(self)
    }

    /// Every chunk of this generation with its vector in `tier`, for another store.
    pub fn export(&self, tier: Tier) -> Result<Export, EngineError> {
        export::export(self, tier)
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot")
            .field("generation", &self.view.generation)
            .field("index_dir", &self.setup.dir)
            .finish_non_exhaustive()
    }
}
