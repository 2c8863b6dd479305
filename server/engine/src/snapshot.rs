//! The published view of one generation (what a [`crate::Snapshot`] holds) and how
//! the current one is taken.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use scry_index::{FileTable, LexicalSnapshot, VectorStore};
use scry_models::Embedder;

use crate::state::{Model, Overlays};
use crate::status::FileProblems;
use crate::writer::Writer;
use crate::{Engine, EngineError, Snapshot};

/// Everything a query needs of one generation, immutable once published.
pub(crate) struct View {
    pub generation: u64,
    /// A tantivy searcher pinned to this generation's commit.
    pub lexical: LexicalSnapshot,
    /// Vector keys of this generation's chunks: vector hits outside it are filtered out.
    pub live_keys: HashSet<u64>,
    pub vectors: Option<Arc<VectorStore>>,
    /// The embedding model when the view was published (or why there was none).
    pub model: Model,
    /// The manifest's file table: what was indexed for each file, by file key. The
    /// writer's own, shared, not a copy.
    pub files: Arc<FileTable>,
    /// The editor buffers this generation indexed.
    pub overlays: Overlays,
    missing_vectors: usize,
    pub languages: BTreeMap<String, usize>,
    pub problems: Vec<FileProblems>,
}

impl View {
    pub fn new(
        generation: u64,
        lexical: LexicalSnapshot,
        files: Arc<FileTable>,
        vectors: Option<Arc<VectorStore>>,
        overlays: Overlays,
        model: Model,
    ) -> View {
        let live_keys: HashSet<u64> = files
            .values()
            .flat_map(|f| f.keys.iter().copied())
            .collect();
        let missing_vectors = match &vectors {
            Some(v) => live_keys.iter().filter(|k| !v.contains(**k)).count(),
            None => live_keys.len(),
        };
        let mut languages = BTreeMap::new();
        let mut problems = Vec::new();
        for f in files.values() {
            *languages.entry(f.language.clone()).or_default() += 1;
            if !f.problems.is_empty() {
                problems.push(FileProblems {
                    root: f.root,
                    path: f.path.clone(),
                    problems: f.problems.clone(),
                });
            }
        }
        View {
            generation,
            lexical,
            live_keys,
            vectors,
            model,
            files,
            overlays,
            missing_vectors,
            languages,
            problems,
        }
    }

    /// What a follower serves before it has read the writer's first generation.
    pub fn empty(model: Model) -> View {
        View::new(
            0,
            LexicalSnapshot::empty(),
            Arc::default(),
            None,
            Overlays::default(),
            model,
        )
    }

    /// The generation the writer committed last, with the buffers it holds.
    pub fn of_writer(
        writer: &Writer,
        overlays: Overlays,
        model: &Model,
    ) -> Result<View, EngineError> {
        Ok(View::new(
            writer.generation(),
            writer.lexical_snapshot()?,
            writer.files().clone(),
            writer.vectors(),
            overlays,
            model.clone(),
        ))
    }

    /// The model queries are embedded with: only when this generation has its vectors.
    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        self.model.embedder().filter(|_| self.vectors.is_some())
    }

    /// Chunks waiting for a vector; 0 without a model (nothing would embed them).
    pub fn missing_vectors(&self) -> usize {
        if self.model.embedder().is_some() {
            self.missing_vectors
        } else {
            0
        }
    }

    pub fn vectors_consistent(&self) -> bool {
        match &self.vectors {
            Some(v) => {
                self.live_keys.iter().all(|k| v.contains(*k)) && v.len() == self.live_keys.len()
            }
            None => true,
        }
    }
}

/// The snapshot searches see now. A follower first loads the generation the writer
/// committed last, unless another thread is already doing so.
pub(crate) fn current(engine: &Engine) -> Snapshot {
    let inner = &engine.inner;
    if !inner.is_writer()
        && let Err(e) = crate::follow::reload_if_changed(engine)
    {
        tracing::warn!("following the index: {e}");
    }
    Snapshot {
        view: inner.published.read().clone(),
        setup: inner.setup.clone(),
    }
}
