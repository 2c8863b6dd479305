//! The writer: applies file contents to the lexical and vector indexes and commits one
//! generation at a time (vector files, then tantivy with the generation as payload, then
//! the manifest, which is the commit point). Each vector tier (`tier.rs`) has its own
//! store and file; both follow the same chunks.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use scry_chunk::ChunkOptions;
use scry_index::{
    FORMAT, FileEntry, FileHash, FileTable, Lexical, LexicalSnapshot, MANIFEST_FILE, Manifest,
    SCHEMA_VERSION, VectorStore, VectorsEntry, file_term_text,
};
use scry_models::Embedder;

use crate::EngineError;
use crate::report::BatchStats;
use crate::snapshot::TierStore;
use crate::tier::{PerTier, Tier};

const LEXICAL_DIR: &str = "lexical";
pub(crate) const VECTORS_DIR: &str = "vectors";
/// Texts per embedding call.
const EMBED_GROUP: usize = 64;

/// New content for one file, or its removal.
pub(crate) struct FileUpdate {
    pub root: u32,
    pub rel: String,
    pub content: Option<FileContent>,
}

pub(crate) struct FileContent {
    pub bytes: Vec<u8>,
    pub size: u64,
    pub mtime_ns: i128,
    pub overlay: bool,
}

/// How a batch is applied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Apply {
    /// Embed new chunks now (else they wait for [`Writer::backfill`]).
    pub embed: bool,
    /// Keep the vectors of chunks that no longer exist until a later commit: for editor
    /// buffers, whose commits must not rewrite the vector file on each keystroke (and
    /// whose old chunks often come back on undo). Searches filter by live keys, so a
    /// kept vector is never a result.
    pub keep_dead_vectors: bool,
}

impl Apply {
    /// A refresh from disk: embed, and drop what is dead.
    pub const FULL: Apply = Apply {
        embed: true,
        keep_dead_vectors: false,
    };
    /// An editor buffer: lexical now, no rewrite of the vector file.
    pub const LEXICAL: Apply = Apply {
        embed: false,
        keep_dead_vectors: true,
    };
}

/// What the writer embeds with (and for which tier) and how it labels documents.
pub(crate) struct EmbedWith<'a> {
    pub embedder: Option<(Tier, &'a dyn Embedder)>,
    pub document_prefix: &'a str,
}

/// One tier's vectors in the writer.
struct TierVectors {
    store: Arc<VectorStore>,
    /// The id of the embedder they come from.
    model_id: String,
    /// Changed since the last commit.
    dirty: bool,
}

/// The single writer of an index directory. Its state changes only through its
/// methods, each of which ends in a commit or leaves the last one in force.
pub(crate) struct Writer {
    dir: PathBuf,
    lexical: Lexical,
    manifest: Manifest,
    /// Each tier's vectors, once its embedder is attached.
    tiers: PerTier<Option<TierVectors>>,
    refcounts: HashMap<u64, u32>,
    /// Set while the file table is being rebuilt (a new index, or a repair after an
    /// interrupted commit): vectors no file refers to yet are kept for the re-chunked
    /// files, until [`Writer::finish_rebuild`].
    keep_unreferenced_vectors: bool,
}

/// After each this much source staged, the chunks waiting for the inline tier are
/// embedded and freed heap goes back to the OS. The files' texts, their chunks and the
/// texts embedded are garbage by then, and glibc would keep their pages while tantivy's
/// growing segment takes fresh mappings (its arena's 1 MiB pages are at the mmap
/// threshold `tune_allocator` sets). The peak above a one-file tree, indexing a 10 MiB
/// tree, fell from 2.65x to 1.98x the source without a model and from 3.82x to 3.03x
/// with the fast tier (`scripts/bench-memory.py`, medians of 3 runs). Small batches (an
/// editor's saves) never reach it.
const RELEASE_EVERY_BYTES: usize = 1 << 20;

/// A batch chunked but not yet embedded or committed.
struct Staged {
    files: FileTable,
    /// (vector key, text) of new chunks to embed.
    pending: Vec<(u64, String)>,
    stats: BatchStats,
    /// A quarter of [`RELEASE_EVERY_BYTES`] or more went through since the last release
    /// of freed heap: another, before the commit, is worth its cost.
    release_due: bool,
}

/// What the writer has done inside a batch, for progress.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Step {
    /// One more file chunked into `chunks` chunks from `bytes` of source.
    Chunked { chunks: usize, bytes: u64 },
    /// Chunks embedded so far in this batch, of `total`, with tokens and seconds so far.
    Embedded {
        done: usize,
        total: usize,
        tokens: usize,
        seconds: f64,
    },
}

pub(crate) type StepReport<'a> = &'a mut dyn FnMut(Step);

impl Writer {
    /// Opens the index in `dir`, detecting and repairing what an interrupted or damaged
    /// previous run left. Every repair is reported as a notice.
    pub fn open(
        dir: &Path,
        roots: &[PathBuf],
        embedders: PerTier<Option<&dyn Embedder>>,
        notices: &mut Vec<String>,
    ) -> Result<Writer, EngineError> {
        std::fs::create_dir_all(dir.join(VECTORS_DIR)).map_err(|e| EngineError::io(dir, e))?;
        let root_strings: Vec<String> = roots.iter().map(|r| r.display().to_string()).collect();
        let mut manifest = match Manifest::load(dir) {
            Ok(Some(m)) if m.schema_version == SCHEMA_VERSION && m.roots == root_strings => m,
            Ok(Some(_)) => {
                notices.push(
                    "the index was made by another version or for other roots; rebuilding it"
                        .into(),
                );
                wipe(dir)?;
                Manifest::default()
            }
            Ok(None) => Manifest::default(),
            Err(e) => {
                notices.push(format!("{e}; rebuilding the index"));
                wipe(dir)?;
                Manifest::default()
            }
        };
        manifest.format = FORMAT;
        manifest.schema_version = SCHEMA_VERSION;
        manifest.roots = root_strings;

        let lexical_dir = dir.join(LEXICAL_DIR);
        let mut lexical =
            match Lexical::open(&lexical_dir).and_then(|l| l.validate(&lexical_dir).map(|()| l)) {
                Ok(l) => l,
                Err(e) => {
                    notices.push(format!("{e}; rebuilding the lexical index"));
                    let _ = std::fs::remove_dir_all(&lexical_dir);
                    manifest.files = Default::default();
                    Lexical::open(&lexical_dir)?
                }
            };
        let committed = lexical.committed_generation();
        let mismatch = committed != Some(manifest.generation)
            && (manifest.generation > 0 || committed.is_some());
        if mismatch {
            notices.push(format!(
                "the lexical index (generation {}) does not match the manifest (generation {}), \
                 probably after an interrupted commit; rebuilding the lexical index",
                committed.map_or("none".into(), |g| g.to_string()),
                manifest.generation
            ));
            lexical.delete_all()?;
            manifest.files = Default::default();
        }

        let mut w = Writer {
            dir: dir.to_owned(),
            lexical,
            manifest,
            tiers: PerTier::default(),
            refcounts: HashMap::new(),
            keep_unreferenced_vectors: false,
        };
        w.rebuild_refcounts();
        // After a repair the file table is empty, so every vector would look orphaned;
        // they are kept instead: re-chunking the same files finds them by content hash,
        // and nothing is embedded twice.
        w.keep_unreferenced_vectors = mismatch || w.manifest.files.is_empty();
        for (tier, embedder) in embedders.iter() {
            w.keep_committed(tier, notices);
            w.attach_model(tier, *embedder, notices)?;
        }
        if mismatch {
            // Commit the repair now, so no reader ever sees the orphaned lexical commit.
            w.commit(Arc::default(), false)?;
        }
        w.remove_leftovers();
        Ok(w)
    }

    /// Starts using `embedder`'s vectors for `tier`: the ones committed for it when the
    /// manifest names it, else an empty store (its vectors are computed by later
    /// commits). `None` leaves the tier alone: the next commit keeps the file it finds.
    pub fn attach_model(
        &mut self,
        tier: Tier,
        embedder: Option<&dyn Embedder>,
        notices: &mut Vec<String>,
    ) -> Result<(), EngineError> {
        let Some(e) = embedder else {
            return Ok(());
        };
        let info = e.info();
        // Already loaded for this model (committed vectors are read when the index
        // opens, whether or not a model is there yet).
        if let Some(t) = self.tiers.get(tier)
            && t.model_id == info.id
            && t.store.dims() == info.dims
        {
            return self.compact_vectors_if_needed();
        }
        let loaded = match entry(&self.manifest, tier) {
            Some(v) if v.model == info.id && v.dims == info.dims => {
                match VectorStore::load(
                    &self.dir.join(VECTORS_DIR).join(&v.file),
                    &v.checksum,
                    v.dims,
                    tier.precision(),
                ) {
                    Ok(store) => Some(store),
                    Err(err) => {
                        notices.push(format!("{err}; vectors will be recomputed"));
                        None
                    }
                }
            }
            Some(v) => {
                notices.push(format!(
                    "the embedding model of the {tier} tier changed ({} -> {}); its vectors \
                     will be recomputed",
                    v.model, info.id
                ));
                None
            }
            None => None,
        };
        if loaded.is_none() {
            *entry_mut(&mut self.manifest, tier) = None;
        }
        *self.tiers.get_mut(tier) = Some(TierVectors {
            store: Arc::new(match loaded {
                Some(s) => s,
                None => VectorStore::new(info.dims, tier.precision())?,
            }),
            model_id: info.id.clone(),
            dirty: false,
        });
        self.compact_vectors_if_needed()
    }

    /// Reads a tier's committed vectors, before (or without) its model: a tier whose
    /// model is not loaded here (a one-shot command that searches the fast tier) keeps
    /// them up to date all the same (dead ones go, its coverage stays exact), so nothing
    /// is recomputed when the model comes back.
    fn keep_committed(&mut self, tier: Tier, notices: &mut Vec<String>) {
        let Some(v) = entry(&self.manifest, tier).clone() else {
            return;
        };
        match VectorStore::load(
            &self.dir.join(VECTORS_DIR).join(&v.file),
            &v.checksum,
            v.dims,
            tier.precision(),
        ) {
            Ok(store) => {
                *self.tiers.get_mut(tier) = Some(TierVectors {
                    store: Arc::new(store),
                    model_id: v.model,
                    dirty: false,
                });
            }
            Err(err) => {
                notices.push(format!(
                    "{err}; the {tier} tier's vectors will be recomputed"
                ));
                *entry_mut(&mut self.manifest, tier) = None;
            }
        }
    }

    fn rebuild_refcounts(&mut self) {
        self.refcounts.clear();
        for f in self.manifest.files.values() {
            for k in &f.keys {
                *self.refcounts.entry(*k).or_default() += 1;
            }
        }
    }

    /// Vectors whose chunks went away while a tier's model was not loaded linger in its
    /// vector file; when there are any, the store is rebuilt from the live vectors.
    fn compact_vectors_if_needed(&mut self) -> Result<(), EngineError> {
        if self.keep_unreferenced_vectors {
            return Ok(());
        }
        for tier in Tier::ALL {
            let Some(t) = self.tiers.get_mut(tier) else {
                continue;
            };
            let store = &t.store;
            let live_present = self
                .refcounts
                .keys()
                .filter(|k| store.contains(**k))
                .count();
            if live_present == store.len() {
                continue;
            }
            let fresh = VectorStore::new(store.dims(), tier.precision())?;
            let items: Vec<(u64, Vec<f32>)> = self
                .refcounts
                .keys()
                .filter_map(|k| store.get(*k).map(|v| (*k, v)))
                .collect();
            fresh.add_all(&items)?;
            t.store = Arc::new(fresh);
            t.dirty = true;
        }
        Ok(())
    }

    fn vectors_dirty(&self) -> bool {
        self.tiers
            .iter()
            .any(|(_, t)| t.as_ref().is_some_and(|t| t.dirty))
    }

    /// Temp files and vector files of other generations: what a crash leaves behind.
    fn remove_leftovers(&self) {
        let keep: Vec<String> = Tier::ALL
            .iter()
            .filter_map(|t| entry(&self.manifest, *t).as_ref().map(|v| v.file.clone()))
            .collect();
        if let Ok(rd) = std::fs::read_dir(self.dir.join(VECTORS_DIR)) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if !keep.contains(&name) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let _ = std::fs::remove_file(self.dir.join(format!("{MANIFEST_FILE}.tmp")));
    }

    pub fn generation(&self) -> u64 {
        self.manifest.generation
    }

    /// The committed file table, by file key (shared, not copied).
    pub fn files(&self) -> &Arc<FileTable> {
        &self.manifest.files
    }

    pub fn file(&self, key: &str) -> Option<&FileEntry> {
        self.manifest.files.get(key)
    }

    /// A tier's vectors, and the id of the model they come from.
    pub fn vectors(&self, tier: Tier) -> Option<TierStore> {
        self.tiers.get(tier).as_ref().map(|t| TierStore {
            model: t.model_id.clone(),
            store: t.store.clone(),
        })
    }

    /// What the last commit says of each tier's vectors.
    pub fn committed_vectors(&self) -> PerTier<Option<VectorsEntry>> {
        PerTier {
            fast: self.manifest.fast_vectors.clone(),
            full: self.manifest.vectors.clone(),
        }
    }

    /// A searcher pinned to the last commit.
    pub fn lexical_snapshot(&self) -> Result<LexicalSnapshot, EngineError> {
        Ok(self.lexical.snapshot()?)
    }

    pub fn live_keys(&self) -> HashSet<u64> {
        self.refcounts
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(k, _)| *k)
            .collect()
    }

    /// How many chunks (distinct vector keys) this generation has.
    pub fn live_count(&self) -> usize {
        self.refcounts.values().filter(|c| **c > 0).count()
    }

    /// Whether live chunks wait for `tier`'s vectors (only with its model).
    pub fn has_missing_vectors(&self, tier: Tier) -> bool {
        self.tiers.get(tier).is_some() && self.missing_vector_keys(tier).next().is_some()
    }

    /// How many live chunks wait for a vector of `tier` (0 without its model).
    pub fn missing_count(&self, tier: Tier) -> usize {
        if self.tiers.get(tier).is_none() {
            return 0;
        }
        self.missing_vector_keys(tier).count()
    }

    /// Keys of live chunks that have no vector of `tier` yet.
    fn missing_vector_keys(&self, tier: Tier) -> impl Iterator<Item = u64> + '_ {
        let store = self.tiers.get(tier).as_ref().map(|t| &t.store);
        self.refcounts
            .iter()
            .filter(move |(k, c)| **c > 0 && store.is_none_or(|v| !v.contains(**k)))
            .map(|(k, _)| *k)
    }

    /// Records a new size and mtime for files whose content did not change; committed
    /// with the next batch or by [`Writer::commit_stamps`].
    pub fn touch(&mut self, key: &str, size: u64, mtime_ns: i128) -> bool {
        let moved = self
            .manifest
            .files
            .get(key)
            .is_some_and(|e| e.size != size || e.mtime_ns != mtime_ns);
        // Copied (from the table snapshots share) only when a stamp really moved.
        if moved && let Some(e) = Arc::make_mut(&mut self.manifest.files).get_mut(key) {
            e.size = size;
            e.mtime_ns = mtime_ns;
        }
        moved
    }

    /// Commits the new sizes and mtimes [`Writer::touch`] recorded.
    /// After a full pass over the disk: vectors no file refers to now are dropped, and
    /// the compaction committed.
    pub fn finish_rebuild(&mut self) -> Result<(), EngineError> {
        if !std::mem::take(&mut self.keep_unreferenced_vectors) {
            return Ok(());
        }
        self.compact_vectors_if_needed()?;
        if self.vectors_dirty() {
            let files = self.manifest.files.clone();
            self.commit(files, false)?;
        }
        Ok(())
    }

    pub fn commit_stamps(&mut self) -> Result<(), EngineError> {
        let files = self.manifest.files.clone();
        self.commit(files, false)
    }

    /// Applies updates, embeds what is new (per `how`), and commits one generation; with
    /// no update at all, commits nothing. `updates` is consumed one file at a time, so a
    /// caller that reads files as it is asked for them holds one file's content, not a
    /// batch's. On failure the previous generation stays current and nothing of this
    /// batch is visible.
    pub fn apply(
        &mut self,
        updates: impl IntoIterator<Item = FileUpdate>,
        how: Apply,
        chunk_opts: &ChunkOptions,
        with: &EmbedWith,
        progress: StepReport,
    ) -> Result<BatchStats, EngineError> {
        let embedder = with.embedder.filter(|_| how.embed);
        let result = self
            .stage(
                updates,
                chunk_opts,
                embedder.map(|(tier, e)| (tier, with.document_prefix, e)),
                progress,
            )
            .and_then(|mut staged| {
                if !staged.stats.changed() {
                    return Ok(staged.stats);
                }
                if let Some((tier, e)) = embedder {
                    self.embed_pending(tier, staged.pending, e, &mut staged.stats, progress)?;
                    record_speed(e, &staged.stats);
                }
                if staged.release_due {
                    scry_models::memory::release_freed_memory();
                }
                self.commit(Arc::new(staged.files), how.keep_dead_vectors)?;
                Ok(staged.stats)
            });
        if result.is_err() {
            let _ = self.lexical.rollback();
            self.rebuild_refcounts();
        }
        result
    }

    /// Chunks the updates into the (uncommitted) lexical index and the next file table;
    /// with a tier, its document prefix and its embedder, collects the new chunks' texts
    /// to embed, and embeds them every [`RELEASE_EVERY_BYTES`] of source.
    fn stage(
        &mut self,
        updates: impl IntoIterator<Item = FileUpdate>,
        chunk_opts: &ChunkOptions,
        embed_for: Option<(Tier, &str, &dyn Embedder)>,
        progress: StepReport,
    ) -> Result<Staged, EngineError> {
        let mut stats = BatchStats::default();
        let mut files = FileTable::clone(&self.manifest.files);
        let mut pending: Vec<(u64, String)> = Vec::new();
        let mut pending_keys = HashSet::new();
        let mut since_release = 0;
        for u in updates {
            let key = file_term_text(u.root, &u.rel);
            if let Some(old) = files.remove(&key) {
                for k in &old.keys {
                    if let Some(c) = self.refcounts.get_mut(k) {
                        *c = c.saturating_sub(1);
                    }
                }
                self.lexical.delete_file(u.root, &u.rel);
            }
            let Some(content) = u.content else {
                stats.files_removed += 1;
                continue;
            };
            // Secrets are masked in every text before anything is stored or embedded.
            let chunked = crate::redact::chunk(&u.rel, &content.bytes, chunk_opts);
            let file_hash = FileHash::of(&content.bytes);
            let mut keys = Vec::with_capacity(chunked.chunks.len());
            self.lexical
                .add_file(u.root, &u.rel, file_hash, chunked.language, &chunked.chunks)?;
            for c in &chunked.chunks {
                let k = c.hash.key();
                keys.push(k);
                *self.refcounts.entry(k).or_default() += 1;
                if let Some((tier, prefix, _)) = embed_for
                    && let Some(t) = self.tiers.get(tier)
                    && !t.store.contains(k)
                    && pending_keys.insert(k)
                {
                    pending.push((k, format!("{prefix}{}", c.embedding_text(&u.rel))));
                }
            }
            stats.files_indexed += 1;
            stats.chunks_indexed += keys.len();
            progress(Step::Chunked {
                chunks: keys.len(),
                bytes: content.bytes.len() as u64,
            });
            since_release += content.bytes.len();
            files.insert(
                key,
                FileEntry {
                    root: u.root,
                    path: u.rel,
                    size: content.size,
                    mtime_ns: content.mtime_ns,
                    hash: file_hash,
                    language: chunked.language.to_owned(),
                    chunks: keys.len() as u32,
                    keys,
                    overlay: content.overlay,
                    problems: chunked
                        .problems
                        .iter()
                        .map(|p| format!("{}: {}", p.kind.as_str(), p.message))
                        .collect(),
                },
            );
            if since_release >= RELEASE_EVERY_BYTES {
                since_release = 0;
                if let Some((tier, _, e)) = embed_for {
                    self.embed_pending(
                        tier,
                        std::mem::take(&mut pending),
                        e,
                        &mut stats,
                        progress,
                    )?;
                }
                scry_models::memory::release_freed_memory();
            }
        }
        Ok(Staged {
            files,
            pending,
            stats,
            release_due: since_release >= RELEASE_EVERY_BYTES / 4,
        })
    }

    /// Embeds chunks that are indexed but have no vector of the tier (indexed lexically
    /// first, or before the model was attached, or under another model), reading their
    /// text from the index, and commits when any was embedded.
    pub fn backfill(
        &mut self,
        with: &EmbedWith,
        progress: StepReport,
    ) -> Result<BatchStats, EngineError> {
        let mut stats = BatchStats::default();
        let Some((tier, embedder)) = with.embedder else {
            return Ok(stats);
        };
        let pending = self.texts_missing(tier, usize::MAX, with.document_prefix)?;
        if pending.is_empty() {
            return Ok(stats);
        }
        self.embed_pending(tier, pending, embedder, &mut stats, progress)?;
        record_speed(embedder, &stats);
        if stats.chunks_embedded > 0 {
            let files = self.manifest.files.clone();
            self.commit(files, false)?;
        }
        Ok(stats)
    }

    /// The (vector key, text) of up to `limit` live chunks without a vector of `tier`,
    /// most wanted first: chunks of editor buffers, then of the files changed most
    /// recently.
    pub fn texts_missing(
        &self,
        tier: Tier,
        limit: usize,
        document_prefix: &str,
    ) -> Result<Vec<(u64, String)>, EngineError> {
        let Some(t) = self.tiers.get(tier) else {
            return Ok(Vec::new());
        };
        let store = &t.store;
        let mut files: Vec<&FileEntry> = self
            .manifest
            .files
            .values()
            .filter(|f| f.keys.iter().any(|k| !store.contains(*k)))
            .collect();
        files.sort_by_key(|f| (std::cmp::Reverse(f.overlay), std::cmp::Reverse(f.mtime_ns)));
        let mut wanted = Vec::new();
        let mut seen = HashSet::new();
        'files: for f in files {
            for k in &f.keys {
                if wanted.len() >= limit {
                    break 'files;
                }
                if !store.contains(*k) && seen.insert(*k) {
                    wanted.push(*k);
                }
            }
        }
        let snap = self.lexical.snapshot()?;
        let text = |c: &scry_index::StoredChunk| {
            let text = scry_chunk::embedding_text(
                &c.path,
                c.scope.as_deref(),
                c.context.as_deref(),
                &c.text,
            );
            (c.vec_key, format!("{document_prefix}{text}"))
        };
        let mut pending = Vec::with_capacity(wanted.len());
        if wanted.len() <= 256 {
            // A few (an editor's recent edits, one step of an upgrade): look each up.
            for key in wanted {
                if let Some(addr) = snap.docs_with_key(key)?.first() {
                    pending.push(text(&snap.load(*addr)?));
                }
            }
        } else {
            let wanted: HashSet<u64> = wanted.into_iter().collect();
            let mut by_key = HashMap::new();
            for c in snap.all_chunks()? {
                if wanted.contains(&c.vec_key) {
                    by_key.entry(c.vec_key).or_insert_with(|| text(&c));
                }
            }
            pending = by_key.into_values().collect();
        }
        Ok(pending)
    }

    /// Adds vectors computed elsewhere (outside the writer's lock) to `tier`, for the
    /// chunks that are still live; they are committed with the next commit. How many
    /// were added.
    pub fn add_vectors(
        &mut self,
        tier: Tier,
        model_id: &str,
        items: Vec<(u64, Vec<f32>)>,
    ) -> Result<usize, EngineError> {
        let Some(t) = self.tiers.get_mut(tier).as_mut() else {
            return Ok(0);
        };
        // The model may have been swapped while they were computed.
        if t.model_id != model_id {
            return Ok(0);
        }
        let live: Vec<(u64, Vec<f32>)> = items
            .into_iter()
            .filter(|(k, _)| self.refcounts.get(k).is_some_and(|c| *c > 0) && !t.store.contains(*k))
            .collect();
        t.store.add_all(&live)?;
        t.dirty |= !live.is_empty();
        Ok(live.len())
    }

    /// Commits what [`Writer::add_vectors`] added, if anything.
    pub fn commit_vectors(&mut self) -> Result<bool, EngineError> {
        if !self.vectors_dirty() {
            return Ok(false);
        }
        let files = self.manifest.files.clone();
        self.commit(files, false)?;
        Ok(true)
    }

    /// Embeds the given texts into `tier`'s store. A failing batch leaves those chunks
    /// without vectors (they stay findable lexically) and is reported.
    fn embed_pending(
        &mut self,
        tier: Tier,
        pending: Vec<(u64, String)>,
        embedder: &dyn Embedder,
        stats: &mut BatchStats,
        progress: StepReport,
    ) -> Result<(), EngineError> {
        let Some(t) = self.tiers.get_mut(tier).as_mut() else {
            return Ok(());
        };
        // Cumulative over the batch, which may embed in several rounds.
        let total = stats.chunks_embedded + pending.len();
        for group in pending.chunks(EMBED_GROUP) {
            let texts: Vec<String> = group.iter().map(|(_, text)| text.clone()).collect();
            let started = Instant::now();
            match embedder.embed(&texts) {
                Ok(out) => {
                    stats.embed_seconds += started.elapsed().as_secs_f64();
                    stats.embed_tokens += out.tokens;
                    let items: Vec<(u64, Vec<f32>)> =
                        group.iter().map(|(k, _)| *k).zip(out.vectors).collect();
                    match t.store.add_all(&items) {
                        Ok(()) => {
                            stats.chunks_embedded += items.len();
                            t.dirty = true;
                        }
                        Err(e) => stats.embed_errors.push(e.to_string()),
                    }
                }
                Err(e) => stats.embed_errors.push(e.to_string()),
            }
            progress(Step::Embedded {
                done: stats.chunks_embedded,
                total,
                tokens: stats.embed_tokens,
                seconds: stats.embed_seconds,
            });
        }
        Ok(())
    }

    /// Writes one generation: vectors (if changed), tantivy, then the manifest.
    fn commit(
        &mut self,
        files: Arc<FileTable>,
        keep_dead_vectors: bool,
    ) -> Result<(), EngineError> {
        let generation = self.manifest.generation + 1;
        // Vectors of chunks that no longer exist go; they are never mixed into results
        // in the meantime because searches filter by the snapshot's live keys.
        let dead: Vec<u64> = if keep_dead_vectors {
            Vec::new()
        } else {
            self.refcounts
                .iter()
                .filter(|(_, c)| **c == 0)
                .map(|(k, _)| *k)
                .collect()
        };
        for k in &dead {
            self.refcounts.remove(k);
            for tier in Tier::ALL {
                if let Some(t) = self.tiers.get_mut(tier)
                    && t.store.contains(*k)
                {
                    t.store.remove(*k)?;
                    t.dirty = true;
                }
            }
        }
        let mut next = Manifest {
            format: FORMAT,
            schema_version: SCHEMA_VERSION,
            generation,
            roots: self.manifest.roots.clone(),
            vectors: self.manifest.vectors.clone(),
            fast_vectors: self.manifest.fast_vectors.clone(),
            files,
        };
        let mut old_vector_files = Vec::new();
        failpoint("commit-before-vectors");
        for tier in Tier::ALL {
            let Some(t) = self.tiers.get(tier) else {
                continue;
            };
            let slot = entry_mut(&mut next, tier);
            if !t.dirty && slot.is_some() {
                continue;
            }
            let name = match tier {
                Tier::Full => format!("vectors-{generation}.usearch"),
                Tier::Fast => format!("fast-{generation}.usearch"),
            };
            let (checksum, size) = t.store.save(&self.dir.join(VECTORS_DIR), &name)?;
            old_vector_files.extend(slot.as_ref().map(|v| v.file.clone()));
            let covered = self
                .refcounts
                .keys()
                .filter(|k| t.store.contains(**k))
                .count();
            *slot = Some(VectorsEntry {
                file: name,
                checksum,
                size,
                model: t.model_id.clone(),
                dims: t.store.dims(),
                count: t.store.len(),
                covered,
            });
        }
        failpoint("commit-after-vectors");
        self.lexical.commit(generation)?;
        failpoint("commit-after-lexical");
        next.store(&self.dir)?;
        failpoint("commit-after-manifest");
        self.manifest = next;
        for tier in Tier::ALL {
            if let Some(t) = self.tiers.get_mut(tier) {
                t.dirty = false;
            }
        }
        for old in old_vector_files {
            let _ = std::fs::remove_file(self.dir.join(VECTORS_DIR).join(old));
        }
        Ok(())
    }
}

impl Writer {
    /// Checks the index against itself: the lexical commit is the manifest's generation,
    /// every file's chunks in the lexical index are exactly the manifest's, the vector
    /// index holds only live keys, and no temporary file is left over. `Err` describes
    /// the first inconsistency.
    pub fn verify(&self) -> Result<(), String> {
        let committed = self.lexical.committed_generation();
        let generation = self.generation();
        if committed != Some(generation) && !(generation == 0 && committed.is_none()) {
            return Err(format!(
                "lexical generation {committed:?} != manifest generation {generation}"
            ));
        }
        let snap = self.lexical.snapshot().map_err(|e| e.to_string())?;
        let mut by_file: HashMap<String, Vec<u64>> = HashMap::new();
        for c in snap.all_chunks().map_err(|e| e.to_string())? {
            by_file
                .entry(file_term_text(c.root, &c.path))
                .or_default()
                .push(c.vec_key);
        }
        for (key, entry) in self.manifest.files.iter() {
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
        // While the file table is rebuilt, vectors wait for their re-chunked files
        // (searches only ever see the keys of live chunks).
        for tier in Tier::ALL {
            let Some(t) = self
                .tiers
                .get(tier)
                .as_ref()
                .filter(|_| !self.keep_unreferenced_vectors)
            else {
                continue;
            };
            let live = self.live_keys();
            let v = &t.store;
            if v.len() != live.iter().filter(|k| v.contains(**k)).count() {
                return Err(format!(
                    "the {tier} tier's vector index holds {} vectors that no chunk uses",
                    v.len()
                ));
            }
        }
        for dir in [self.dir.clone(), self.dir.join(VECTORS_DIR)] {
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
}

/// Remembers what this machine embeds per second, for the next dry run's estimate: once
/// per batch, however many rounds it embedded in.
fn record_speed(embedder: &dyn Embedder, stats: &BatchStats) {
    scry_models::EmbedSpeed::default().record(
        &embedder.info().id,
        stats.embed_tokens,
        stats.embed_seconds,
    );
}

/// Test-only fault injection: when `SCRY_FAILPOINT` names this point, the process
/// aborts right here, as a crash or `kill -9` would. Costs one load when unset.
fn failpoint(name: &str) {
    static POINT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if POINT
        .get_or_init(|| std::env::var("SCRY_FAILPOINT").ok())
        .as_deref()
        == Some(name)
    {
        std::process::abort();
    }
}

/// The commit steps a crash can fall between, for fault-injection tests.
pub const FAILPOINTS: &[&str] = &[
    "commit-before-vectors",
    "commit-after-vectors",
    "commit-after-lexical",
    "commit-after-manifest",
];

/// Removes everything Scry keeps in an index directory except the lock.
pub(crate) fn wipe(dir: &Path) -> Result<(), EngineError> {
    let _ = std::fs::remove_dir_all(dir.join(LEXICAL_DIR));
    let _ = std::fs::remove_dir_all(dir.join(VECTORS_DIR));
    let _ = std::fs::remove_file(dir.join(MANIFEST_FILE));
    std::fs::create_dir_all(dir.join(VECTORS_DIR)).map_err(|e| EngineError::io(dir, e))
}

/// The manifest's entry for a tier's vectors.
fn entry(m: &Manifest, tier: Tier) -> &Option<VectorsEntry> {
    match tier {
        Tier::Fast => &m.fast_vectors,
        Tier::Full => &m.vectors,
    }
}

fn entry_mut(m: &mut Manifest, tier: Tier) -> &mut Option<VectorsEntry> {
    match tier {
        Tier::Fast => &mut m.fast_vectors,
        Tier::Full => &mut m.vectors,
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn update(i: usize) -> FileUpdate {
        let text = format!("pub fn handler_{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n");
        FileUpdate {
            root: 0,
            rel: format!("src/h{i}.rs"),
            content: Some(FileContent {
                size: text.len() as u64,
                bytes: text.into_bytes(),
                mtime_ns: 0,
                overlay: false,
            }),
        }
    }

    /// A refresh reads each file when the writer asks for it, so the writer holds one
    /// file's content at a time; that holds only while it chunks each update before it
    /// pulls the next (a batch was once read whole: up to 400 files in memory).
    #[test]
    fn apply_chunks_each_update_before_it_asks_for_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let ws = tempfile::tempdir().unwrap();
        let mut notices = Vec::new();
        let mut w = Writer::open(
            dir.path(),
            &[ws.path().to_path_buf()],
            PerTier::default(),
            &mut notices,
        )
        .unwrap();
        let with = EmbedWith {
            embedder: None,
            document_prefix: "",
        };
        let (asked, chunked) = (Cell::new(0), Cell::new(0));
        let updates = (0..6).map(|i| {
            assert_eq!(chunked.get(), asked.get(), "file {i} read too early");
            asked.set(i + 1);
            update(i)
        });
        let mut count_chunked = |s: Step| {
            if let Step::Chunked { .. } = s {
                chunked.set(chunked.get() + 1);
            }
        };
        let stats = w
            .apply(
                updates,
                Apply::FULL,
                &ChunkOptions::default(),
                &with,
                &mut count_chunked,
            )
            .unwrap();
        assert_eq!((stats.files_indexed, asked.get()), (6, 6));

        // A batch whose files all turned out unchanged commits nothing.
        let generation = w.generation();
        let stats = w
            .apply(
                std::iter::empty(),
                Apply::FULL,
                &ChunkOptions::default(),
                &with,
                &mut |_| {},
            )
            .unwrap();
        assert!(!stats.changed());
        assert_eq!(w.generation(), generation);
    }
}
