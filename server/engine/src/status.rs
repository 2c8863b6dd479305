//! The state of the index for `status` and health checks, and its consistency checks.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::state::{Model, Role};
use crate::tier::{PerTier, Tier};
use crate::{EmbedderInfo, Engine, EngineError, SearchMode, Snapshot};

/// The state of the index.
#[derive(Debug, Clone)]
pub struct Status {
    pub roots: Vec<PathBuf>,
    pub index_dir: PathBuf,
    pub generation: u64,
    pub files: usize,
    pub chunks: u64,
    /// Vectors of the tier [`Status::model`] names.
    pub vectors: usize,
    /// Chunks waiting for a vector of a loaded tier (the most of either).
    pub chunks_without_vectors: usize,
    /// `Hybrid` with a vector tier, `Lexical` (BM25-only) without.
    pub mode: SearchMode,
    /// The embedder searches use: the full tier's when it is loaded, else the fast
    /// tier's.
    pub model: Option<EmbedderInfo>,
    pub model_problem: Option<String>,
    /// Each vector tier that is configured or has committed vectors: its coverage.
    pub tiers: PerTier<Option<TierStatus>>,
    pub notices: Vec<String>,
    pub languages: BTreeMap<String, usize>,
    pub problems: Vec<FileProblems>,
    pub embedded_this_session: usize,
}

/// One vector tier's coverage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TierStatus {
    /// The embedder's id (loaded, or named by the commit).
    pub model: Option<String>,
    /// Whether its model is loaded in this process (searches use the tier).
    pub loaded: bool,
    /// Why it is not, when it is configured.
    pub problem: Option<String>,
    /// The loaded embedder's weights (or static table) in this process's memory.
    pub weights_bytes: Option<u64>,
    /// Chunks of this generation with a vector of the tier.
    pub covered: usize,
    /// Chunks of this generation.
    pub chunks: usize,
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
    let shown = [Tier::Full, Tier::Fast]
        .into_iter()
        .find(|t| view.tier(*t).is_some());
    let model = shown.and_then(|t| view.tier(t));
    let live = view.live_keys.len();
    let tiers = view.models.map(|tier, m| {
        let committed = view.committed.get(tier).as_ref();
        let configured = !matches!(m, Model::Off);
        if !configured && committed.is_none() {
            return None;
        }
        let loaded = view.tier(tier);
        Some(TierStatus {
            model: m
                .embedder()
                .map(|e| e.info().id.clone())
                .or_else(|| committed.map(|c| c.model.clone()))
                .or_else(|| {
                    let spec = match tier {
                        Tier::Fast => &inner.config.fast_embedder,
                        Tier::Full => &inner.config.embedder,
                    };
                    spec.as_ref().and_then(|s| s.expected_id())
                }),
            loaded: loaded.is_some(),
            weights_bytes: m.embedder().and_then(|e| e.info().weights_bytes),
            problem: if configured {
                m.problem().map(str::to_owned)
            } else {
                None
            },
            covered: match loaded {
                Some(_) => live - view.missing_vectors_of(tier).min(live),
                None => committed.map_or(0, |c| c.covered),
            },
            chunks: live,
        })
    });
    Status {
        roots: inner.roots.roots().to_vec(),
        index_dir: inner.dir.clone(),
        generation: view.generation,
        files: view.files.len(),
        chunks: view.lexical.num_chunks(),
        vectors: model.map_or(0, |(_, v)| v.len()),
        chunks_without_vectors: view.missing_vectors(),
        mode: if model.is_some() {
            SearchMode::Hybrid
        } else {
            SearchMode::Lexical
        },
        model: model.map(|(e, _)| e.info().clone()),
        model_problem: view.models.problem().map(str::to_owned),
        tiers,
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
