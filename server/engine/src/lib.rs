//! The protocol-free API both faces call: open workspaces, apply changes, search, status.
//!
//! An [`Engine`] serves one set of workspace roots from one index directory. Changes
//! (a refresh from disk, an editor's unsaved buffer) go through a single writer that
//! commits numbered generations; searches run on an immutable [`Snapshot`] of one
//! generation, so a search never sees half an update.
//!
//! ```no_run
//! use scry_engine::{Engine, EngineConfig, SearchRequest};
//! let engine = Engine::open(EngineConfig::builder(["."]).build())?;
//! engine.refresh(&Default::default(), &mut |_| {})?;
//! for hit in engine.search(&SearchRequest::new("parse config").k(5))?.hits {
//!     println!("{}:{}-{} {:?}", hit.path, hit.start_line, hit.end_line, hit.symbol);
//! }
//! # Ok::<(), scry_engine::EngineError>(())
//! ```
//!
//! Architecture invariant: nothing here knows JSON-RPC, URIs, LSP positions or MCP.

mod config;
mod discover;
mod dry_run;
mod error;
mod follow;
mod location;
mod read;
mod redact;
mod search;
mod symbols;
mod watch;
mod writer;

pub use config::{DEFAULT_SECRET_PATTERNS, EngineConfig, EngineConfigBuilder};
pub use discover::{SkipReason, looks_binary};
pub use dry_run::dry_run;
pub use error::EngineError;
pub use follow::FollowEvent;
pub use location::default_index_dir;
pub use read::FileText;
pub use redact::redact;
pub use scry_models::EmbedderInfo;
pub use scry_paths::{PathError, Resolved, Roots};
pub use search::{Hit, MAX_K, MAX_QUERY_BYTES, Ranks, SearchMode, SearchRequest, SearchResults};
pub use symbols::{MAX_SYMBOLS, SymbolHit, SymbolQuery, fuzzy_score};
pub use watch::Watcher;
pub use writer::{BatchStats, FAILPOINTS};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::{Mutex, RwLock};
use scry_index::{LexicalSnapshot, VectorStore, file_term_text};
use scry_models::{Embedder, EmbedderOptions, LlamaEmbedder};

use discover::Discovery;
use writer::{FileContent, FileUpdate, Writer};

/// An immutable view of one index generation.
pub(crate) struct Snapshot {
    pub generation: u64,
    pub lexical: LexicalSnapshot,
    pub live_keys: HashSet<u64>,
    pub vectors: Option<Arc<VectorStore>>,
    pub files: usize,
    pub missing_vectors: usize,
    pub languages: BTreeMap<String, usize>,
    pub problems: Vec<FileProblems>,
}

impl Snapshot {
    /// What a follower serves before it has read the writer's first generation.
    fn empty() -> Snapshot {
        Snapshot {
            generation: 0,
            lexical: scry_index::LexicalSnapshot::empty(),
            live_keys: HashSet::new(),
            vectors: None,
            files: 0,
            missing_vectors: 0,
            languages: BTreeMap::new(),
            problems: Vec::new(),
        }
    }
}

/// Problems recorded while chunking one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProblems {
    pub root: u32,
    pub path: String,
    pub problems: Vec<String>,
}

/// One chunk of the index, as listed by [`Engine::chunk_inventory`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct InventoryEntry {
    pub root: u32,
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    /// The vector key: the hash of what the chunk embeds as.
    pub key: u64,
}

/// What a refresh is doing, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Scanning,
    Indexing,
    Embedding,
    Done,
}

#[derive(Debug, Clone)]
pub struct Progress {
    pub phase: Phase,
    pub files_done: usize,
    pub files_total: usize,
    pub chunks: usize,
    pub embedded: usize,
    pub to_embed: usize,
    pub embed_tokens: usize,
    pub embed_seconds: f64,
}

/// What a refresh did.
#[derive(Debug, Clone, Default)]
pub struct RefreshReport {
    pub generation: u64,
    pub files_seen: usize,
    pub files_unchanged: usize,
    pub files_indexed: usize,
    pub files_removed: usize,
    pub files_skipped: BTreeMap<&'static str, usize>,
    pub chunks_indexed: usize,
    pub chunks_embedded: usize,
    pub embed_tokens: usize,
    pub embed_seconds: f64,
    pub embed_errors: Vec<String>,
    pub commits: usize,
    pub seconds: f64,
}

impl RefreshReport {
    fn add(&mut self, s: &BatchStats) {
        self.files_indexed += s.files_indexed;
        self.files_removed += s.files_removed;
        self.chunks_indexed += s.chunks_indexed;
        self.chunks_embedded += s.chunks_embedded;
        self.embed_tokens += s.embed_tokens;
        self.embed_seconds += s.embed_seconds;
        self.embed_errors.extend(s.embed_errors.iter().cloned());
        self.commits += 1;
    }
    pub fn changed(&self) -> bool {
        self.files_indexed + self.files_removed + self.chunks_embedded > 0
    }
}

/// What `--dry-run` reports: the work a refresh would do, without doing it.
#[derive(Debug, Clone)]
pub struct DryRunReport {
    /// `Hybrid` if the configured model loads, else `Lexical`.
    pub mode: SearchMode,
    pub model_problem: Option<String>,
    pub files: usize,
    pub files_to_index: usize,
    pub files_skipped: BTreeMap<&'static str, usize>,
    pub chunks: usize,
    pub chunks_to_embed: usize,
    pub embed_tokens: usize,
    /// Measured on a sample of the chunks; `None` without a model.
    pub estimated_embed_seconds: Option<f64>,
}

/// The state of the index, for `status` and health checks.
#[derive(Debug, Clone)]
pub struct Status {
    pub roots: Vec<PathBuf>,
    pub index_dir: PathBuf,
    pub generation: u64,
    pub files: usize,
    pub chunks: u64,
    pub vectors: usize,
    pub chunks_without_vectors: usize,
    /// `Hybrid` with an embedding model, `Lexical` (BM25-only) without.
    pub mode: SearchMode,
    pub model: Option<EmbedderInfo>,
    pub model_problem: Option<String>,
    pub notices: Vec<String>,
    pub languages: BTreeMap<String, usize>,
    pub problems: Vec<FileProblems>,
    pub embedded_this_session: usize,
}

pub(crate) struct WriterState {
    writer: Writer,
    /// Editor buffers that override the disk, by file key.
    overlays: HashMap<String, Vec<u8>>,
}

pub(crate) struct Inner {
    pub config: EngineConfig,
    pub roots: Roots,
    pub dir: PathBuf,
    discovery: Discovery,
    pub embedder: Option<Arc<dyn Embedder>>,
    pub model_problem: Option<String>,
    /// `None` while another process writes the index and this one follows it.
    state: Mutex<Option<WriterState>>,
    following: std::sync::atomic::AtomicBool,
    follow: Mutex<follow::FollowState>,
    snapshot: RwLock<Arc<Snapshot>>,
    notices: Mutex<Vec<String>>,
    embedded_total: Mutex<usize>,
    symbol_cache: scry_index::SymbolCache,
    /// Locked (by the OS, for as long as this process lives) while this process writes.
    lock_file: std::fs::File,
}

/// The engine. Cheap to clone; every clone serves the same index.
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl Engine {
    /// Opens (or creates) the index for the configured roots and loads the embedding
    /// model if one is configured. A missing or broken model is not an error: the engine
    /// runs BM25-only and says why in [`Status::model_problem`] and in every search.
    pub fn open(config: EngineConfig) -> Result<Engine, EngineError> {
        let embedder = Engine::load_embedder(&config);
        Engine::open_with_embedder(config, embedder)
    }

    /// The configured embedding model, loaded; or why there is none. For a caller that
    /// serves BM25 first and opens again once the model is in.
    pub fn load_embedder(config: &EngineConfig) -> Result<Arc<dyn Embedder>, String> {
        match &config.embedding_model {
            Some(p) => LlamaEmbedder::load(
                p,
                EmbedderOptions::default()
                    .with_threads(config.embed_threads)
                    .with_batch_tokens(config.embed_batch_tokens),
            )
            .map(|e| Arc::new(e) as Arc<dyn Embedder>)
            .map_err(|e| e.to_string()),
            None => Err("no embedding model is configured".to_owned()),
        }
    }

    /// Like [`Engine::open`], with an embedder made elsewhere (or the reason there is none).
    pub fn open_with_embedder(
        config: EngineConfig,
        embedder: Result<Arc<dyn Embedder>, String>,
    ) -> Result<Engine, EngineError> {
        if config.roots.is_empty() {
            return Err(EngineError::NoRoots);
        }
        let roots = Roots::new(&config.roots)?;
        let dir = match &config.index_dir {
            Some(d) => d.clone(),
            None => default_index_dir(roots.roots())?,
        };
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(&dir, e))?;
        let lock_path = dir.join("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| EngineError::io(&lock_path, e))?;
        let writes = follow::try_lock(&lock, &lock_path)?;
        if !writes && !config.follow_when_locked {
            return Err(EngineError::Locked(dir));
        }
        let (embedder, model_problem) = match embedder {
            Ok(e) => (Some(e), None),
            Err(why) => (None, Some(why)),
        };
        let mut notices = Vec::new();
        let (state, snapshot) = if writes {
            let writer = Writer::open(&dir, roots.roots(), embedder.as_deref(), &mut notices)?;
            for n in &notices {
                tracing::warn!("{n}");
            }
            let snapshot = Arc::new(make_snapshot(&writer)?);
            let state = WriterState {
                writer,
                overlays: HashMap::new(),
            };
            (Some(state), snapshot)
        } else {
            let pid = follow::writer_pid(&lock).map_or(String::new(), |p| format!(" (pid {p})"));
            notices.push(format!(
                "{}{pid}{}",
                follow::FOLLOWING,
                follow::FOLLOWING_DETAIL
            ));
            tracing::info!("{}{pid}", follow::FOLLOWING);
            (None, Arc::new(Snapshot::empty()))
        };
        let discovery = Discovery::new(&config, &dir);
        let engine = Engine {
            inner: Arc::new(Inner {
                config,
                roots,
                dir,
                discovery,
                embedder,
                model_problem,
                state: Mutex::new(state),
                following: std::sync::atomic::AtomicBool::new(!writes),
                follow: Mutex::new(follow::FollowState::default()),
                snapshot: RwLock::new(snapshot),
                notices: Mutex::new(notices),
                embedded_total: Mutex::new(0),
                symbol_cache: scry_index::SymbolCache::default(),
                lock_file: lock,
            }),
        };
        if !writes {
            // The writer may have died in between: this takes over, or loads its index.
            engine.follow()?;
        }
        Ok(engine)
    }

    pub fn roots(&self) -> &Roots {
        &self.inner.roots
    }

    pub fn index_dir(&self) -> &Path {
        &self.inner.dir
    }

    pub fn generation(&self) -> u64 {
        self.snapshot().generation
    }

    /// The generation searches see now. A follower first picks up the generation the
    /// writer committed last, unless another thread is already doing so.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        if self
            .inner
            .following
            .load(std::sync::atomic::Ordering::Acquire)
            && let Err(e) = self.reload_if_changed()
        {
            tracing::warn!("following the index: {e}");
        }
        self.inner.snapshot.read().clone()
    }

    fn publish(&self, writer: &Writer) -> Result<(), EngineError> {
        let snap = Arc::new(make_snapshot(writer)?);
        *self.inner.snapshot.write() = snap;
        Ok(())
    }

    /// Brings the index up to date with the disk: new, changed and deleted files, then
    /// vectors for chunks that have none. Files whose size and mtime match are not read,
    /// unless listed in `force` (paths a watcher saw change).
    pub fn refresh(
        &self,
        force: &HashSet<PathBuf>,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<RefreshReport, EngineError> {
        let t0 = Instant::now();
        let inner = &self.inner;
        let mut report = RefreshReport::default();
        // A follower leaves the disk to the writer; it reloads, or takes over.
        if !self.is_writer() && self.follow()? != FollowEvent::TookOver {
            report.generation = self.generation();
            return Ok(report);
        }
        let mut p = Progress {
            phase: Phase::Scanning,
            files_done: 0,
            files_total: 0,
            chunks: 0,
            embedded: 0,
            to_embed: 0,
            embed_tokens: 0,
            embed_seconds: 0.0,
        };
        progress(&p);
        let walked = inner.discovery.walk(&inner.roots);
        for (_, reason) in &walked.skipped {
            *report.files_skipped.entry(reason.as_str()).or_default() += 1;
        }
        report.files_seen = walked.files.len();

        let mut guard = inner.state.lock();
        let Some(state) = guard.as_mut() else {
            report.generation = self.inner.snapshot.read().generation;
            return Ok(report);
        };
        let mut seen = HashSet::with_capacity(walked.files.len());
        let mut to_check = Vec::new();
        for c in walked.files {
            let key = file_term_text(c.root, &c.rel);
            let unchanged = match state.writer.manifest.files.get(&key) {
                Some(e) => {
                    !e.overlay
                        && e.size == c.size
                        && e.mtime_ns == c.mtime_ns
                        && !force.contains(&c.abs)
                }
                None => false,
            };
            let overlaid = state.overlays.contains_key(&key);
            seen.insert(key);
            if overlaid {
                continue;
            }
            if unchanged {
                report.files_unchanged += 1;
            } else {
                to_check.push(c);
            }
        }
        let mut removals: Vec<FileUpdate> = state
            .writer
            .manifest
            .files
            .iter()
            .filter(|(k, _)| !seen.contains(*k) && !state.overlays.contains_key(*k))
            .map(|(_, e)| FileUpdate {
                root: e.root,
                rel: e.path.clone(),
                content: None,
            })
            .collect();

        p.phase = Phase::Indexing;
        p.files_total = to_check.len();
        progress(&p);
        let mut touched = false;
        let per_commit = inner.config.files_per_commit;
        let mut batches: Vec<&[discover::Candidate]> = to_check.chunks(per_commit).collect();
        if batches.is_empty() && !removals.is_empty() {
            batches.push(&[]);
        }
        for batch in batches {
            let mut updates = std::mem::take(&mut removals);
            for c in batch {
                let key = file_term_text(c.root, &c.rel);
                let known = state.writer.manifest.files.get(&key).cloned();
                match inner.discovery.read(&c.abs) {
                    Err(reason) => {
                        *report.files_skipped.entry(reason.as_str()).or_default() += 1;
                        if known.is_some() {
                            updates.push(FileUpdate {
                                root: c.root,
                                rel: c.rel.clone(),
                                content: None,
                            });
                        }
                    }
                    Ok(bytes) => {
                        let hash = blake3::hash(&bytes).to_hex()[..32].to_owned();
                        match known {
                            Some(e) if e.hash == hash && !e.overlay => {
                                touched |= state.writer.touch(&key, c.size, c.mtime_ns);
                                report.files_unchanged += 1;
                            }
                            _ => updates.push(FileUpdate {
                                root: c.root,
                                rel: c.rel.clone(),
                                content: Some(FileContent {
                                    bytes,
                                    size: c.size,
                                    mtime_ns: c.mtime_ns,
                                    overlay: false,
                                }),
                            }),
                        }
                    }
                }
            }
            p.files_done += batch.len();
            if !updates.is_empty() {
                let stats = self.apply_locked(&mut state.writer, updates, &mut p, progress)?;
                report.add(&stats);
                touched = false;
            }
            p.chunks = report.chunks_indexed;
            progress(&p);
        }
        if touched {
            let files = state.writer.manifest.files.clone();
            state.writer.commit(files)?;
            report.commits += 1;
        }
        if state.writer.vectors.is_some() && state.writer.keys_missing_vectors() > 0 {
            let stats = self.backfill_vectors(&mut state.writer, &mut p, progress)?;
            if stats.chunks_embedded > 0 || !stats.embed_errors.is_empty() {
                report.add(&stats);
            }
        }
        if report.commits > 0 {
            self.publish(&state.writer)?;
        }
        report.generation = state.writer.generation();
        report.seconds = t0.elapsed().as_secs_f64();
        p.phase = Phase::Done;
        progress(&p);
        Ok(report)
    }

    fn apply_locked(
        &self,
        writer: &mut Writer,
        updates: Vec<FileUpdate>,
        p: &mut Progress,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<BatchStats, EngineError> {
        self.apply_with(writer, updates, true, p, progress)
    }

    /// `embed: false` indexes lexically; the new chunks wait for `embed_missing`.
    fn apply_with(
        &self,
        writer: &mut Writer,
        updates: Vec<FileUpdate>,
        embed: bool,
        p: &mut Progress,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<BatchStats, EngineError> {
        let inner = &self.inner;
        let stats = writer.apply(
            updates,
            &inner.config.chunk,
            inner.embedder.as_deref().filter(|_| embed),
            &inner.config.document_prefix,
            &mut embed_progress(p, progress),
        )?;
        p.phase = Phase::Indexing;
        *inner.embedded_total.lock() += stats.chunks_embedded;
        self.publish(writer)?;
        Ok(stats)
    }

    /// Embeds chunks that are indexed but have no vector (indexed before a model was
    /// configured, or after the model changed), reading their text from the index.
    fn backfill_vectors(
        &self,
        writer: &mut Writer,
        p: &mut Progress,
        progress: &mut dyn FnMut(&Progress),
    ) -> Result<BatchStats, EngineError> {
        let inner = &self.inner;
        let Some(store) = writer.vectors.clone() else {
            return Ok(BatchStats::default());
        };
        let snap = writer.lexical.snapshot()?;
        let mut pending = Vec::new();
        let mut push = |c: &scry_index::StoredChunk| {
            let text =
                scry_chunk::embedding_text(c.scope.as_deref(), c.context.as_deref(), &c.text);
            pending.push((c.vec_key, format!("{}{text}", inner.config.document_prefix)));
        };
        let missing: Vec<u64> = writer.missing_vector_keys().collect();
        if missing.len() <= 256 {
            // A few (an editor's recent edits): look each one up.
            for key in missing {
                if let Some(addr) = snap.docs_with_key(key)?.first() {
                    push(&snap.load(*addr)?);
                }
            }
        } else {
            let mut seen = HashSet::new();
            for c in snap.all_chunks()? {
                if !store.contains(c.vec_key) && seen.insert(c.vec_key) {
                    push(&c);
                }
            }
        }
        let mut stats = BatchStats::default();
        writer.embed_pending(
            pending,
            inner.embedder.as_deref(),
            &mut stats,
            &mut embed_progress(p, progress),
        )?;
        if stats.chunks_embedded > 0 {
            let files = writer.manifest.files.clone();
            writer.commit(files)?;
            *inner.embedded_total.lock() += stats.chunks_embedded;
        }
        Ok(stats)
    }

    /// Makes an editor's unsaved buffer the indexed content of `path` until
    /// [`Engine::clear_overlay`]. Searchable when this returns.
    pub fn set_overlay(&self, path: &str, text: &str) -> Result<RefreshReport, EngineError> {
        let inner = &self.inner;
        let r = inner.roots.resolve(path)?;
        if inner.discovery.is_secret(&r.abs) {
            return Err(EngineError::InvalidRequest(format!(
                "{}: files that usually hold secrets are not indexed",
                r.rel
            )));
        }
        if text.len() as u64 > inner.config.max_file_bytes {
            return Err(EngineError::InvalidRequest(format!(
                "{}: larger than the {}-byte file limit",
                r.rel, inner.config.max_file_bytes
            )));
        }
        let key = file_term_text(r.root, &r.rel);
        let mut guard = inner.state.lock();
        let Some(state) = guard.as_mut() else {
            // The writer is the other process; it indexes its own editor's buffers.
            return Ok(RefreshReport {
                generation: self.inner.snapshot.read().generation,
                ..Default::default()
            });
        };
        if state
            .overlays
            .get(&key)
            .is_some_and(|b| b == text.as_bytes())
        {
            return Ok(RefreshReport {
                generation: state.writer.generation(),
                ..Default::default()
            });
        }
        let hash = blake3::hash(text.as_bytes()).to_hex()[..32].to_owned();
        let indexed_as_is = state
            .writer
            .manifest
            .files
            .get(&key)
            .is_some_and(|e| e.hash == hash);
        state.overlays.insert(key, text.as_bytes().to_vec());
        if indexed_as_is {
            // The index already holds exactly this text (an editor opening a file it has
            // not changed, or typing back to what was indexed): nothing to commit.
            return Ok(RefreshReport {
                generation: state.writer.generation(),
                ..Default::default()
            });
        }
        let update = FileUpdate {
            root: r.root,
            rel: r.rel,
            content: Some(FileContent {
                bytes: text.as_bytes().to_vec(),
                size: text.len() as u64,
                mtime_ns: 0,
                overlay: true,
            }),
        };
        // Lexical only, and without rewriting the vector file: an edit is searchable
        // at keyword speed; its new chunks are embedded by `embed_missing` once the
        // editor pauses.
        let mut p = idle_progress();
        state.writer.defer_vector_gc = true;
        let stats = self.apply_with(&mut state.writer, vec![update], false, &mut p, &mut |_| {});
        state.writer.defer_vector_gc = false;
        let stats = stats?;
        let mut report = RefreshReport::default();
        report.add(&stats);
        report.generation = state.writer.generation();
        Ok(report)
    }

    /// Does the one-time work of chunking (compiling the grammars' queries) now, so
    /// the first edit does not pay for it.
    pub fn warm_up(&self) {
        scry_chunk::warm_up();
    }

    /// Chunks indexed without a vector (edits from editor buffers, or chunks indexed
    /// before a model was configured), in the current generation.
    pub fn missing_vectors(&self) -> usize {
        if self.inner.embedder.is_none() {
            return 0;
        }
        self.snapshot().missing_vectors
    }

    /// Embeds the chunks that have no vector yet and commits. For a caller that put
    /// buffers in lexically first (`set_overlay`) and has a quiet moment now.
    pub fn embed_missing(&self) -> Result<RefreshReport, EngineError> {
        let mut report = RefreshReport::default();
        if self.inner.embedder.is_none() {
            return Ok(report);
        }
        let mut guard = self.inner.state.lock();
        let Some(state) = guard.as_mut() else {
            return Ok(report);
        };
        let mut p = idle_progress();
        let stats = self.backfill_vectors(&mut state.writer, &mut p, &mut |_| {})?;
        if stats.chunks_embedded > 0 {
            self.publish(&state.writer)?;
        }
        report.add(&stats);
        report.generation = state.writer.generation();
        Ok(report)
    }

    /// Drops the buffer for `path`; the disk is authoritative again.
    pub fn clear_overlay(&self, path: &str) -> Result<RefreshReport, EngineError> {
        let r = self.inner.roots.resolve(path)?;
        let key = file_term_text(r.root, &r.rel);
        let removed = self
            .inner
            .state
            .lock()
            .as_mut()
            .is_some_and(|s| s.overlays.remove(&key).is_some());
        if !removed {
            return Ok(RefreshReport {
                generation: self.generation(),
                ..Default::default()
            });
        }
        let force = HashSet::from([r.abs]);
        self.refresh(&force, &mut |_| {})
    }

    /// The text a hit was indexed from, when the editor buffer or the file on disk still
    /// holds exactly that content (checked against the hit's hash); `None` when the file
    /// changed since it was indexed.
    pub fn indexed_text(&self, hit: &Hit) -> Option<String> {
        self.indexed_file_text(&hit.root, &hit.path, &hit.file_hash)
    }

    /// [`Engine::indexed_text`] for a file named by its root, path and indexed hash
    /// (from a hit or a symbol).
    pub fn indexed_file_text(&self, root: &Path, path: &str, file_hash: &str) -> Option<String> {
        let roots = self.inner.roots.roots();
        let root_index = roots.iter().position(|r| r == root)? as u32;
        let key = file_term_text(root_index, path);
        let overlay = self
            .inner
            .state
            .lock()
            .as_ref()
            .and_then(|s| s.overlays.get(&key).cloned());
        let bytes = match overlay {
            Some(b) => b,
            None => {
                let path = self
                    .inner
                    .roots
                    .resolve(&root.join(path).to_string_lossy())
                    .ok()?;
                std::fs::read(path.abs).ok()?
            }
        };
        (&blake3::hash(&bytes).to_hex()[..32] == file_hash)
            .then(|| String::from_utf8_lossy(&redact::redact(&bytes)).into_owned())
    }

    pub fn status(&self) -> Status {
        let snap = self.snapshot();
        let inner = &self.inner;
        Status {
            roots: inner.roots.roots().to_vec(),
            index_dir: inner.dir.clone(),
            generation: snap.generation,
            files: snap.files,
            chunks: snap.lexical.num_chunks(),
            vectors: snap.vectors.as_ref().map_or(0, |v| v.len()),
            chunks_without_vectors: if inner.embedder.is_some() {
                snap.missing_vectors
            } else {
                0
            },
            mode: if inner.embedder.is_some() {
                SearchMode::Hybrid
            } else {
                SearchMode::Lexical
            },
            model: inner.embedder.as_ref().map(|e| e.info().clone()),
            model_problem: inner.model_problem.clone(),
            notices: inner.notices.lock().clone(),
            languages: snap.languages.clone(),
            problems: snap.problems.clone(),
            embedded_this_session: *inner.embedded_total.lock(),
        }
    }

    /// Every indexed chunk of the current generation, sorted; for consistency checks.
    pub fn chunk_inventory(&self) -> Result<Vec<InventoryEntry>, EngineError> {
        let snap = self.snapshot();
        let mut v: Vec<_> = snap
            .lexical
            .all_chunks()?
            .into_iter()
            .map(|c| InventoryEntry {
                root: c.root,
                path: c.path,
                start_line: c.start_line,
                end_line: c.end_line,
                key: c.vec_key,
            })
            .collect();
        v.sort();
        Ok(v)
    }

    /// Checks the index against itself: the lexical commit is the manifest's generation,
    /// every file's chunks in the lexical index are exactly the manifest's, the vector
    /// index holds exactly the live keys (when a model is loaded), and no temporary file
    /// is left over. `Err` describes the first inconsistency.
    pub fn verify(&self) -> Result<(), String> {
        let guard = self.inner.state.lock();
        let Some(state) = guard.as_ref() else {
            return Ok(());
        };
        let w = &state.writer;
        let committed = w.lexical.committed_generation();
        if committed != Some(w.generation()) && !(w.generation() == 0 && committed.is_none()) {
            return Err(format!(
                "lexical generation {committed:?} != manifest generation {}",
                w.generation()
            ));
        }
        let snap = w.lexical.snapshot().map_err(|e| e.to_string())?;
        let mut by_file: HashMap<String, Vec<u64>> = HashMap::new();
        for c in snap.all_chunks().map_err(|e| e.to_string())? {
            by_file
                .entry(file_term_text(c.root, &c.path))
                .or_default()
                .push(c.vec_key);
        }
        for (key, entry) in &w.manifest.files {
            let mut want = entry.keys.clone();
            want.sort_unstable();
            let mut have = by_file.remove(key).unwrap_or_default();
            have.sort_unstable();
            if want != have {
                return Err(format!(
                    "{}: manifest has {} chunks, lexical index {}",
                    entry.path,
                    want.len(),
                    have.len()
                ));
            }
        }
        if let Some(extra) = by_file.keys().next() {
            return Err(format!(
                "lexical index has chunks of {extra:?}, which the manifest does not list"
            ));
        }
        if let Some(v) = &w.vectors {
            let live = w.live_keys();
            if v.len() != live.iter().filter(|k| v.contains(**k)).count() {
                return Err(format!(
                    "vector index holds {} vectors that no chunk uses",
                    v.len()
                ));
            }
        }
        for dir in [self.inner.dir.clone(), self.inner.dir.join("vectors")] {
            for e in std::fs::read_dir(&dir)
                .map_err(|e| e.to_string())?
                .flatten()
            {
                if e.file_name().to_string_lossy().ends_with(".tmp") {
                    return Err(format!("leftover temporary file {}", e.path().display()));
                }
            }
        }
        Ok(())
    }

    /// Whether every live chunk has a vector and the vector index holds nothing else.
    pub fn vectors_consistent(&self) -> bool {
        let snap = self.snapshot();
        match &snap.vectors {
            Some(v) => {
                snap.live_keys.iter().all(|k| v.contains(*k)) && v.len() == snap.live_keys.len()
            }
            None => true,
        }
    }
}

/// Reports a batch's embedding progress on top of what earlier batches did.
fn embed_progress<'a>(
    p: &'a mut Progress,
    progress: &'a mut dyn FnMut(&Progress),
) -> impl FnMut(usize, usize, usize, f64) + 'a {
    let base = (p.embedded, p.embed_tokens, p.embed_seconds);
    move |done, total, tokens, secs| {
        p.phase = Phase::Embedding;
        p.embedded = base.0 + done;
        p.to_embed = base.0 + total;
        p.embed_tokens = base.1 + tokens;
        p.embed_seconds = base.2 + secs;
        progress(p);
    }
}

fn idle_progress() -> Progress {
    Progress {
        phase: Phase::Indexing,
        files_done: 0,
        files_total: 1,
        chunks: 0,
        embedded: 0,
        to_embed: 0,
        embed_tokens: 0,
        embed_seconds: 0.0,
    }
}

fn make_snapshot(writer: &Writer) -> Result<Snapshot, EngineError> {
    let mut languages = BTreeMap::new();
    let mut problems = Vec::new();
    for f in writer.manifest.files.values() {
        *languages.entry(f.language.clone()).or_default() += 1;
        if !f.problems.is_empty() {
            problems.push(FileProblems {
                root: f.root,
                path: f.path.clone(),
                problems: f.problems.clone(),
            });
        }
    }
    Ok(Snapshot {
        generation: writer.generation(),
        lexical: writer.lexical.snapshot()?,
        live_keys: writer.live_keys(),
        vectors: writer.vectors.clone(),
        files: writer.manifest.files.len(),
        missing_vectors: writer.keys_missing_vectors(),
        languages,
        problems,
    })
}
