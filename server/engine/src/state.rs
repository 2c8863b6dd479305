//! What an open engine holds: what was fixed when it opened, who writes the index (this
//! process, or another one it follows), the embedding model, and the published snapshot.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};
use scry_index::SymbolCache;
use scry_models::Embedder;
use scry_paths::Roots;

use crate::EngineConfig;
use crate::discover::Discovery;
use crate::follow::FollowState;
use crate::snapshot::View;
use crate::tier::{PerTier, Tier};
use crate::writer::Writer;

/// Editor buffers that override the disk, by file key. Shared with every snapshot
/// published while they hold, so a snapshot reads the text it indexed.
pub(crate) type Overlays = Arc<HashMap<String, Arc<[u8]>>>;

/// What is fixed when an engine opens: its configuration, roots, index directory and
/// file rules. Shared with every snapshot, which needs nothing else of the engine (a
/// snapshot never keeps the index lock).
pub(crate) struct Setup {
    pub config: EngineConfig,
    pub roots: Roots,
    pub dir: PathBuf,
    pub discovery: Discovery,
    pub symbol_cache: SymbolCache,
}

/// An open engine: its setup, and what changes.
pub(crate) struct Inner {
    pub setup: Arc<Setup>,
    /// Locked for as long as a change is applied (or a follower reloads).
    pub role: Mutex<Role>,
    /// Whether `role` is `Writer`, readable without waiting behind a long refresh.
    pub writes: AtomicBool,
    /// The embedders of both vector tiers.
    pub models: RwLock<PerTier<Model>>,
    pub published: RwLock<Arc<View>>,
    pub log: Mutex<Log>,
    /// Locked (by the OS, for as long as this process lives) while this process writes;
    /// `None` when opened read-only (it never writes, so never takes the lock).
    pub lock_file: Option<std::fs::File>,
}

/// Who writes the index.
pub(crate) enum Role {
    /// This process: it applies every change.
    Writer(Box<WriterState>),
    /// Another process; this one reads each generation it commits.
    Follower(Box<FollowState>),
}

pub(crate) struct WriterState {
    pub writer: Writer,
    pub overlays: Overlays,
}

/// One tier's embedder, or why there is none.
#[derive(Clone, Default)]
pub(crate) enum Model {
    Loaded(Arc<dyn Embedder>),
    Unavailable(String),
    /// The tier is not configured.
    #[default]
    Off,
    /// Configured, but this command leaves it unloaded (it searches the fast tier).
    Deferred,
}

impl Model {
    pub fn embedder(&self) -> Option<&Arc<dyn Embedder>> {
        match self {
            Model::Loaded(e) => Some(e),
            Model::Unavailable(_) | Model::Off | Model::Deferred => None,
        }
    }

    pub fn problem(&self) -> Option<&str> {
        match self {
            Model::Loaded(_) => None,
            Model::Unavailable(why) => Some(why),
            Model::Off => Some(crate::open::NO_MODEL),
            Model::Deferred => Some(crate::open::FULL_DEFERRED),
        }
    }
}

impl PerTier<Model> {
    /// Why no tier embeds, when none does: the full tier's reason first (the model a
    /// user configured), else the fast tier's.
    pub fn problem(&self) -> Option<&str> {
        if self.fast.embedder().is_some() || self.full.embedder().is_some() {
            return None;
        }
        match (&self.full, &self.fast) {
            // Absent, or not tried by this command: the fast tier's state is the news.
            (Model::Off | Model::Deferred, fast) => fast.problem(),
            (full, _) => full.problem(),
        }
    }

    /// The tier a refresh embeds as it indexes: the fast one when it is loaded (the
    /// full one then follows in the background), else the full one.
    pub fn inline_tier(&self) -> Option<Tier> {
        if self.fast.embedder().is_some() {
            Some(Tier::Fast)
        } else if self.full.embedder().is_some() {
            Some(Tier::Full)
        } else {
            None
        }
    }
}

/// What this process did and was told, for status.
#[derive(Default)]
pub(crate) struct Log {
    pub notices: Vec<String>,
    /// Chunks embedded since the engine opened.
    pub embedded: usize,
}

impl std::ops::Deref for Inner {
    type Target = Setup;
    fn deref(&self) -> &Setup {
        &self.setup
    }
}

impl Inner {
    pub fn is_writer(&self) -> bool {
        self.writes.load(Ordering::Acquire)
    }

    /// Records that this process took the writing over (called with `role` locked).
    pub fn now_writes(&self) {
        self.writes.store(true, Ordering::Release);
    }

    /// The tier a refresh embeds as it indexes, with its embedder.
    pub fn inline_embedder(&self) -> Option<(Tier, Arc<dyn Embedder>)> {
        let models = self.models.read();
        let tier = models.inline_tier()?;
        Some((tier, models.get(tier).embedder()?.clone()))
    }

    /// Publishes what the writer has committed (and the buffers it holds) as the
    /// snapshot searches see from now on.
    pub fn publish(&self, state: &WriterState) -> Result<(), crate::EngineError> {
        let view = View::of_writer(&state.writer, state.overlays.clone(), &self.models.read())?;
        *self.published.write() = Arc::new(view);
        Ok(())
    }

    pub fn notice(&self, n: String) {
        tracing::info!("{n}");
        self.log.lock().notices.push(n);
    }
}
