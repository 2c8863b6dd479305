//! The state of the index for `status` and health checks, and its consistency checks.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::state::Role;
use crate::{EmbedderInfo, Engine, EngineError, SearchMode, Snapshot};

/// The state of the index.
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

pub(crate) fn status(engine: &Engine) -> Status {
    let snap = engine.snapshot();
    let (inner, view) = (&engine.inner, &snap.view);
    let log = inner.log.lock();
    let model = view.model.embedder();
    Status {
        roots: inner.roots.roots().to_vec(),
        index_dir: inner.dir.clone(),
        generation: view.generation,
        files: view.files.len(),
        chunks: view.lexical.num_chunks(),
        vectors: view.vectors.as_ref().map_or(0, |v| v.len()),
        chunks_without_vectors: view.missing_vectors(),
        mode: if model.is_some() {
            SearchMode::Hybrid
        } else {
            SearchMode::Lexical
        },
        model: model.map(|e| e.info().clone()),
        model_problem: view.model.problem().map(str::to_owned),
        notices: log.notices.clone(),
        languages: view.languages.clone(),
        problems: view.problems.clone(),
        embedded_this_session: log.embedded,
    }
}

/// The writer's consistency check; a follower has nothing of its own to check.
pub(crate) fn verify(engine: &Engine) -> Result<(), String> {
    match &*engine.inner.role.lock() {
        Role::Writer(state) => state.writer.verify(),
        Role::Follower(_) => Ok(()),
    }
}

pub(crate) fn inventory(snap: &Snapshot) -> Result<Vec<InventoryEntry>, EngineError> {
    let mut v: Vec<_> = snap
        .view
        .lexical
        .all_chunks()?
        .into_iter()
        .map(|c| InventoryEntry {
            root: c.root,
            path: c.path,
            start_line: c.span.start_line,
            end_line: c.span.end_line,
            key: c.vec_key,
        })
        .collect();
    v.sort();
    Ok(v)
}
