//! The writer: applies file contents to the lexical and vector indexes and commits one
//! generation at a time (vectors file, then tantivy with the generation as payload, then
//! the manifest, which is the commit point).

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

/// What the writer embeds with and how it labels documents.
pub(crate) struct EmbedWith<'a> {
    pub embedder: Option<&'a dyn Embedder>,
    pub document_prefix: &'a str,
}

/// The single writer of an index directory. Its state changes only through its
/// methods, each of which ends in a commit or leaves the last one in force.
pub(crate) struct Writer {
    dir: PathBuf,
    lexical: Lexical,
    manifest: Manifest,
    vectors: Option<Arc<VectorStore>>,
    model_id: Option<String>,
    refcounts: HashMap<u64, u32>,
    vectors_dirty: bool,
    /// Set while the file table is being rebuilt (a new index, or a repair after an
    /// interrupted commit): vectors no file refers to yet are kept for the re-chunked
    /// files, until [`Writer::finish_rebuild`].
    keep_unreferenced_vectors: bool,
}

/// A batch chunked but not yet embedded or committed.
struct Staged {
    files: FileTable,
    /// (vector key, text) of new chunks to embed.
    pending: Vec<(u64, String)>,
    stats: BatchStats,
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
        embedder: Option<&dyn Embedder>,
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
            vectors: None,
            model_id: None,
            refcounts: HashMap::new(),
            vectors_dirty: false,
            keep_unreferenced_vectors: false,
        };
        w.rebuild_refcounts();
        // After a repair the file table is empty, so every vector would look orphaned;
        // they are kept instead: re-chunking the same files finds them by content hash,
        // and nothing is embedded twice.
        w.keep_unreferenced_vectors = mismatch || w.manifest.files.is_empty();
        w.attach_model(embedder, notices)?;
        if mismatch {
            // Commit the repair now, so no reader ever sees the orphaned lexical commit.
            w.commit(Arc::default(), false)?;
        }
        w.remove_leftovers();
        Ok(w)
    }

    /// Starts using `embedder`'s vectors: the ones committed for it when the manifest
    /// names it, else an empty store (its vectors are computed by later commits). `None`
    /// leaves vectors alone: the next commit keeps the file it finds.
    pub fn attach_model(
        &mut self,
        embedder: Option<&dyn Embedder>,
        notices: &mut Vec<String>,
    ) -> Result<(), EngineError> {
        let Some(e) = embedder else {
            return Ok(());
        };
        let info = e.info();
        let loaded = match &self.manifest.vectors {
            Some(v) if v.model == info.id && v.dims == info.dims => {
                match VectorStore::load(
                    &self.dir.join(VECTORS_DIR).join(&v.file),
                    &v.checksum,
                    v.dims,
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
                    "the embedding model changed ({} -> {}); vectors will be recomputed",
                    v.model, info.id
                ));
                None
            }
            None => None,
        };
        if loaded.is_none() {
            self.manifest.vectors = None;
        }
        self.vectors = Some(Arc::new(match loaded {
            Some(s) => s,
            None => VectorStore::new(info.dims)?,
        }));
        self.model_id = Some(info.id.clone());
        self.compact_vectors_if_needed()
    }

    fn rebuild_refcounts(&mut self) {
        self.refcounts.clear();
        for f in self.manifest.files.values() {
            for k in &f.keys {
                *self.refcounts.entry(*k).or_default() += 1;
            }
        }
    }

    /// Vectors whose chunks went away while no model was loaded linger in the vector
    /// file; when there are any, the store is rebuilt from the live vectors.
    fn compact_vectors_if_needed(&mut self) -> Result<(), EngineError> {
        let Some(store) = &self.vectors else {
            return Ok(());
        };
        if self.keep_unreferenced_vectors {
            return Ok(());
        }
        let live_present = self
            .refcounts
            .keys()
            .filter(|k| store.contains(**k))
            .count();
        if live_present == store.len() {
            return Ok(());
        }
        let fresh = VectorStore::new(store.dims())?;
        let items: Vec<(u64, Vec<f32>)> = self
            .refcounts
            .keys()
            .filter_map(|k| store.get(*k).map(|v| (*k, v)))
            .collect();
        fresh.add_all(&items)?;
        self.vectors = Some(Arc::new(fresh));
        self.vectors_dirty = true;
        Ok(())
    }

    /// Temp files and vector files of other generations: what a crash leaves behind.
    fn remove_leftovers(&self) {
        let keep = self.manifest.vectors.as_ref().map(|v| v.file.clone());
        if let Ok(rd) = std::fs::read_dir(self.dir.join(VECTORS_DIR)) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if Some(&name) != keep.as_ref() {
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

    pub fn vectors(&self) -> Option<Arc<VectorStore>> {
        self.vectors.clone()
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

    /// Whether live chunks wait for vectors (only with a model).
    pub fn has_missing_vectors(&self) -> bool {
        self.vectors.is_some() && self.missing_vector_keys().next().is_some()
    }

    /// Keys of live chunks that have no vector yet.
    fn missing_vector_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.refcounts
            .iter()
            .filter(|(k, c)| **c > 0 && self.vectors.as_ref().is_none_or(|v| !v.contains(**k)))
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
        if self.vectors_dirty {
            let files = self.manifest.files.clone();
            self.commit(files, false)?;
        }
        Ok(())
    }

    pub fn commit_stamps(&mut self) -> Result<(), EngineError> {
        let files = self.manifest.files.clone();
        self.commit(files, false)
    }

    /// Applies updates, embeds what is new (per `how`), and commits one generation. On
    /// failure the previous generation stays current and nothing of this batch is
    /// visible.
    pub fn apply(
        &mut self,
        updates: Vec<FileUpdate>,
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
                embedder.map(|_| with.document_prefix),
                progress,
            )
            .and_then(|mut staged| {
                self.embed_pending(staged.pending, embedder, &mut staged.stats, progress)?;
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
    /// with a document prefix (an embedder), collects the new chunks' texts to embed.
    fn stage(
        &mut self,
        updates: Vec<FileUpdate>,
        chunk_opts: &ChunkOptions,
        embed_prefix: Option<&str>,
        progress: StepReport,
    ) -> Result<Staged, EngineError> {
        let mut stats = BatchStats::default();
        let mut files = FileTable::clone(&self.manifest.files);
        let mut pending: Vec<(u64, String)> = Vec::new();
        let mut pending_keys = HashSet::new();
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
            for c in &chunked.chunks {
                self.lexical
                    .add(u.root, &u.rel, file_hash, chunked.language, c)?;
                let k = c.hash.key();
                keys.push(k);
                *self.refcounts.entry(k).or_default() += 1;
                if let Some(prefix) = embed_prefix
                    && let Some(v) = &self.vectors
                    && !v.contains(k)
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
        }
        Ok(Staged {
            files,
            pending,
            stats,
        })
    }

    /// Embeds chunks that are indexed but have no vector (indexed lexically first, or
    /// before the model was attached, or under another model), reading their text from
    /// the index, and commits when any was embedded.
    pub fn backfill(
        &mut self,
        with: &EmbedWith,
        progress: StepReport,
    ) -> Result<BatchStats, EngineError> {
        let mut stats = BatchStats::default();
        let (Some(store), Some(_)) = (self.vectors.clone(), with.embedder) else {
            return Ok(stats);
        };
        let snap = self.lexical.snapshot()?;
        let mut pending = Vec::new();
        let mut push = |c: &scry_index::StoredChunk| {
            let text = scry_chunk::embedding_text(
                &c.path,
                c.scope.as_deref(),
                c.context.as_deref(),
                &c.text,
            );
            pending.push((c.vec_key, format!("{}{text}", with.document_prefix)));
        };
        let missing: Vec<u64> = self.missing_vector_keys().collect();
        if missing.is_empty() {
            return Ok(stats);
        }
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
        self.embed_pending(pending, with.embedder, &mut stats, progress)?;
        if stats.chunks_embedded > 0 {
            let files = self.manifest.files.clone();
            self.commit(files, false)?;
        }
        Ok(stats)
    }

    /// Embeds the given texts into the vector store. A failing batch leaves those
    /// chunks without vectors (they stay findable lexically) and is reported.
    fn embed_pending(
        &mut self,
        pending: Vec<(u64, String)>,
        embedder: Option<&dyn Embedder>,
        stats: &mut BatchStats,
        progress: StepReport,
    ) -> Result<(), EngineError> {
        let (Some(store), Some(embedder)) = (&self.vectors, embedder) else {
            return Ok(());
        };
        let total = pending.len();
        let (tokens_before, seconds_before) = (stats.embed_tokens, stats.embed_seconds);
        for group in pending.chunks(EMBED_GROUP) {
            let texts: Vec<String> = group.iter().map(|(_, t)| t.clone()).collect();
            let t = Instant::now();
            match embedder.embed(&texts) {
                Ok(out) => {
                    stats.embed_seconds += t.elapsed().as_secs_f64();
                    stats.embed_tokens += out.tokens;
                    let items: Vec<(u64, Vec<f32>)> =
                        group.iter().map(|(k, _)| *k).zip(out.vectors).collect();
                    match store.add_all(&items) {
                        Ok(()) => {
                            stats.chunks_embedded += items.len();
                            self.vectors_dirty = true;
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
        // What this machine does, for the next dry run's estimate.
        scry_models::EmbedSpeed::default().record(
            &embedder.info().id,
            stats.embed_tokens - tokens_before,
            stats.embed_seconds - seconds_before,
        );
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
            if let Some(v) = &self.vectors
                && v.contains(*k)
            {
                v.remove(*k)?;
                self.vectors_dirty = true;
            }
        }
        let mut next = Manifest {
            format: FORMAT,
            schema_version: SCHEMA_VERSION,
            generation,
            roots: self.manifest.roots.clone(),
            vectors: self.manifest.vectors.clone(),
            files,
        };
        let mut old_vector_file = None;
        failpoint("commit-before-vectors");
        if let (Some(store), Some(model)) = (&self.vectors, &self.model_id)
            && (self.vectors_dirty || next.vectors.is_none())
        {
            let name = format!("vectors-{generation}.usearch");
            let (checksum, size) = store.save(&self.dir.join(VECTORS_DIR), &name)?;
            old_vector_file = next.vectors.as_ref().map(|v| v.file.clone());
            next.vectors = Some(VectorsEntry {
                file: name,
                checksum,
                size,
                model: model.clone(),
                dims: store.dims(),
                count: store.len(),
            });
        }
        failpoint("commit-after-vectors");
        self.lexical.commit(generation)?;
        failpoint("commit-after-lexical");
        next.store(&self.dir)?;
        failpoint("commit-after-manifest");
        self.manifest = next;
        self.vectors_dirty = false;
        if let Some(old) = old_vector_file {
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
        if let Some(v) = self
            .vectors
            .as_ref()
            .filter(|_| !self.keep_unreferenced_vectors)
        {
            let live = self.live_keys();
            if v.len() != live.iter().filter(|k| v.contains(**k)).count() {
                return Err(format!(
                    "vector index holds {} vectors that no chunk uses",
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
