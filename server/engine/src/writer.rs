//! The writer: applies file contents to the lexical and vector indexes and commits one
//! generation at a time (vectors file, then tantivy with the generation as payload, then
//! the manifest, which is the commit point).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use scry_chunk::{ChunkOptions, chunk_file};
use scry_index::{
    FORMAT, FileEntry, Lexical, MANIFEST_FILE, Manifest, SCHEMA_VERSION, VectorStore, VectorsEntry,
    file_term_text,
};
use scry_models::Embedder;

use crate::EngineError;

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

/// What one batch did.
#[derive(Debug, Default, Clone)]
pub struct BatchStats {
    pub files_indexed: usize,
    pub files_removed: usize,
    pub chunks_indexed: usize,
    pub chunks_embedded: usize,
    pub embed_tokens: usize,
    pub embed_seconds: f64,
    pub embed_errors: Vec<String>,
}

pub(crate) struct Writer {
    pub dir: PathBuf,
    pub lexical: Lexical,
    pub manifest: Manifest,
    pub vectors: Option<Arc<VectorStore>>,
    model_id: Option<String>,
    refcounts: HashMap<u64, u32>,
    vectors_dirty: bool,
    /// Keep the vectors of chunks that no longer exist until a later commit: set for
    /// editor buffers, whose commits must not rewrite the vector file on each keystroke
    /// (and whose old chunks often come back on undo). Searches filter by live keys, so
    /// a kept vector is never a result.
    pub defer_vector_gc: bool,
}

/// Progress inside a batch: (chunks embedded so far, chunks to embed, tokens so far).
pub(crate) type EmbedProgress<'a> = &'a mut dyn FnMut(usize, usize, usize, f64);

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
                    manifest.files.clear();
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
            manifest.files.clear();
        }

        let vectors = match embedder {
            None => None,
            Some(e) => {
                let info = e.info();
                let loaded = match &manifest.vectors {
                    Some(v) if v.model == info.id && v.dims == info.dims => {
                        match VectorStore::load(
                            &dir.join(VECTORS_DIR).join(&v.file),
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
                    manifest.vectors = None;
                }
                Some(Arc::new(match loaded {
                    Some(s) => s,
                    None => VectorStore::new(info.dims)?,
                }))
            }
        };

        let mut w = Writer {
            dir: dir.to_owned(),
            lexical,
            manifest,
            vectors,
            model_id: embedder.map(|e| e.info().id.clone()),
            refcounts: HashMap::new(),
            vectors_dirty: false,
            defer_vector_gc: false,
        };
        w.rebuild_refcounts();
        w.compact_vectors_if_needed()?;
        if mismatch {
            // Commit the repair now, so no reader ever sees the orphaned lexical commit.
            w.commit(std::collections::BTreeMap::new())?;
        }
        w.remove_leftovers();
        Ok(w)
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

    pub fn live_keys(&self) -> HashSet<u64> {
        self.refcounts
            .iter()
            .filter(|(_, c)| **c > 0)
            .map(|(k, _)| *k)
            .collect()
    }

    /// Live keys that have no vector yet.
    pub fn keys_missing_vectors(&self) -> usize {
        self.missing_vector_keys().count()
    }

    /// Keys of live chunks that have no vector yet.
    pub fn missing_vector_keys(&self) -> impl Iterator<Item = u64> + '_ {
        self.refcounts
            .iter()
            .filter(|(k, c)| **c > 0 && self.vectors.as_ref().is_none_or(|v| !v.contains(**k)))
            .map(|(k, _)| *k)
    }

    /// Records a new size and mtime for files whose content did not change.
    pub fn touch(&mut self, key: &str, size: u64, mtime_ns: i128) -> bool {
        match self.manifest.files.get_mut(key) {
            Some(e) if e.size != size || e.mtime_ns != mtime_ns => {
                e.size = size;
                e.mtime_ns = mtime_ns;
                true
            }
            _ => false,
        }
    }

    /// Applies updates, embeds what is new, and commits one generation. On failure the
    /// previous generation stays current and nothing of this batch is visible.
    pub fn apply(
        &mut self,
        updates: Vec<FileUpdate>,
        chunk_opts: &ChunkOptions,
        embedder: Option<&dyn Embedder>,
        document_prefix: &str,
        progress: EmbedProgress,
    ) -> Result<BatchStats, EngineError> {
        let result = self.apply_inner(updates, chunk_opts, embedder, document_prefix, progress);
        if result.is_err() {
            let _ = self.lexical.rollback();
            self.rebuild_refcounts();
        }
        result
    }

    fn apply_inner(
        &mut self,
        updates: Vec<FileUpdate>,
        chunk_opts: &ChunkOptions,
        embedder: Option<&dyn Embedder>,
        document_prefix: &str,
        progress: EmbedProgress,
    ) -> Result<BatchStats, EngineError> {
        let mut stats = BatchStats::default();
        let mut files = self.manifest.files.clone();
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
            // Secrets are masked (same length) before anything is stored or embedded.
            let chunked = chunk_file(&u.rel, &crate::redact::redact(&content.bytes), chunk_opts);
            let file_hash = blake3::hash(&content.bytes).to_hex()[..32].to_owned();
            let mut keys = Vec::with_capacity(chunked.chunks.len());
            for c in &chunked.chunks {
                self.lexical
                    .add(u.root, &u.rel, &file_hash, chunked.language, c)?;
                let k = c.hash.key();
                keys.push(k);
                *self.refcounts.entry(k).or_default() += 1;
                if let Some(v) = &self.vectors
                    && !v.contains(k)
                    && pending_keys.insert(k)
                {
                    pending.push((k, format!("{document_prefix}{}", c.embedding_text())));
                }
            }
            stats.files_indexed += 1;
            stats.chunks_indexed += keys.len();
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
        self.embed_pending(pending, embedder, &mut stats, progress)?;
        self.commit(files)?;
        Ok(stats)
    }

    /// Embeds the given texts into the vector store. A failing batch leaves those
    /// chunks without vectors (they stay findable lexically) and is reported.
    pub fn embed_pending(
        &mut self,
        pending: Vec<(u64, String)>,
        embedder: Option<&dyn Embedder>,
        stats: &mut BatchStats,
        progress: EmbedProgress,
    ) -> Result<(), EngineError> {
        let (Some(store), Some(embedder)) = (&self.vectors, embedder) else {
            return Ok(());
        };
        let total = pending.len();
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
            progress(
                stats.chunks_embedded,
                total,
                stats.embed_tokens,
                stats.embed_seconds,
            );
        }
        Ok(())
    }

    /// Writes one generation: vectors (if changed), tantivy, then the manifest.
    pub fn commit(
        &mut self,
        files: std::collections::BTreeMap<String, FileEntry>,
    ) -> Result<(), EngineError> {
        let generation = self.manifest.generation + 1;
        // Vectors of chunks that no longer exist go; they are never mixed into results
        // in the meantime because searches filter by the snapshot's live keys.
        let dead: Vec<u64> = if self.defer_vector_gc {
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
