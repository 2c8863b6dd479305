//! The published view of one generation (what a [`crate::Snapshot`] holds) and how
//! the current one is taken.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use scry_index::{FileTable, LexicalSnapshot, VectorStore, VectorsEntry};
use scry_models::Embedder;

use crate::state::{Model, Overlays};
use crate::status::FileProblems;
use crate::tier::{PerTier, Tier};
use crate::writer::Writer;
use crate::{Engine, EngineError, Snapshot};

/// Everything a query needs of one generation, immutable once published.
pub(crate) struct View {
    pub generation: u64,
    /// A tantivy searcher pinned to this generation's commit.
    pub lexical: LexicalSnapshot,
    /// Vector keys of this generation's chunks: vector hits outside it are filtered out.
    pub live_keys: HashSet<u64>,
    /// Each tier's committed vectors (whether or not its model is loaded here).
    pub vectors: PerTier<Option<TierStore>>,
    /// Each tier's embedder when the view was published (or why there was none).
    pub models: PerTier<Model>,
    /// What the commit says of each tier's vectors (also when its model is not loaded).
    pub committed: PerTier<Option<VectorsEntry>>,
    /// The manifest's file table: what was indexed for each file, by file key. The
    /// writer's own, shared, not a copy.
    pub files: Arc<FileTable>,
    /// The editor buffers this generation indexed.
    pub overlays: Overlays,
    missing_vectors: PerTier<usize>,
    pub languages: BTreeMap<String, usize>,
    pub problems: Vec<FileProblems>,
}

/// One tier's vectors and the model they come from.
#[derive(Clone)]
pub(crate) struct TierStore {
    pub model: String,
    pub store: Arc<VectorStore>,
}

impl View {
    pub fn new(
        generation: u64,
        lexical: LexicalSnapshot,
        files: Arc<FileTable>,
        vectors: PerTier<Option<TierStore>>,
        committed: PerTier<Option<VectorsEntry>>,
        overlays: Overlays,
        models: PerTier<Model>,
    ) -> View {
        let live_keys: HashSet<u64> = files
            .values()
            .flat_map(|f| f.keys.iter().copied())
            .collect();
        let missing_vectors = vectors.map(|_, v| match v {
            Some(v) => live_keys.iter().filter(|k| !v.store.contains(**k)).count(),
            None => live_keys.len(),
        });
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
            models,
            committed,
            files,
            overlays,
            missing_vectors,
            languages,
            problems,
        }
    }

    /// What a follower serves before it has read the writer's first generation.
    pub fn empty(models: PerTier<Model>) -> View {
        View::new(
            0,
            LexicalSnapshot::empty(),
            Arc::default(),
            PerTier::default(),
            PerTier::default(),
            Overlays::default(),
            models,
        )
    }

    /// The generation the writer committed last, with the buffers it holds.
    pub fn of_writer(
        writer: &Writer,
        overlays: Overlays,
        models: &PerTier<Model>,
    ) -> Result<View, EngineError> {
        Ok(View::new(
            writer.generation(),
            writer.lexical_snapshot()?,
            writer.files().clone(),
            PerTier {
                fast: writer.vectors(Tier::Fast),
                full: writer.vectors(Tier::Full),
            },
            writer.committed_vectors(),
            overlays,
            models.clone(),
        ))
    }

    /// The model `tier`'s queries are embedded with, and its vectors: only when this
    /// generation has some (a full tier that has not started costs a search nothing).
    pub fn tier(&self, tier: Tier) -> Option<(&Arc<dyn Embedder>, &Arc<VectorStore>)> {
        let (e, store) = self.usable(tier)?;
        let started = *self.missing_vectors.get(tier) < self.live_keys.len();
        let other = match tier {
            Tier::Fast => Tier::Full,
            Tier::Full => Tier::Fast,
        };
        let other_usable = self.usable(other).is_some();
        (started || self.live_keys.is_empty() || !other_usable).then_some((e, store))
    }

    /// The tier's model and vectors, when the model is loaded and the vectors are its.
    fn usable(&self, tier: Tier) -> Option<(&Arc<dyn Embedder>, &Arc<VectorStore>)> {
        let e = self.models.get(tier).embedder()?;
        let v = self.vectors.get(tier).as_ref()?;
        (v.model == e.info().id && v.store.dims() == e.info().dims).then_some((e, &v.store))
    }

    /// This view with other models (one was attached): the same generation and vectors.
    pub fn with_models(&self, models: PerTier<Model>) -> View {
        View {
            generation: self.generation,
            lexical: self.lexical.clone(),
            live_keys: self.live_keys.clone(),
            vectors: self.vectors.clone(),
            models,
            committed: self.committed.clone(),
            files: self.files.clone(),
            overlays: self.overlays.clone(),
            missing_vectors: self.missing_vectors.clone(),
            languages: self.languages.clone(),
            problems: self.problems.clone(),
        }
    }

    /// Whether any tier can be searched.
    pub fn has_vectors(&self) -> bool {
        Tier::ALL.iter().any(|t| self.tier(*t).is_some())
    }

    /// Chunks waiting for a vector of `tier`; 0 without its model (nothing would embed
    /// them).
    pub fn missing_vectors_of(&self, tier: Tier) -> usize {
        if self.models.get(tier).embedder().is_none() {
            0
        } else if self.usable(tier).is_some() {
            *self.missing_vectors.get(tier)
        } else {
            // Another model's vectors: every chunk waits for this one's.
            self.live_keys.len()
        }
    }

    /// Chunks waiting for a vector of some loaded tier (the most of either).
    pub fn missing_vectors(&self) -> usize {
        Tier::ALL
            .iter()
            .map(|t| self.missing_vectors_of(*t))
            .max()
            .unwrap_or(0)
    }

    pub fn vectors_consistent(&self) -> bool {
        self.vectors.iter().all(|(_, v)| match v {
            Some(v) => {
                self.live_keys.iter().all(|k| v.store.contains(*k))
                    && v.store.len() == self.live_keys.len()
            }
            None => true,
        })
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
