//! What every MCP session shares: the engine, the models, the limits, and the state of
//! the background indexing that keeps the index current.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use parking_lot::Mutex;
use scry_engine::{Engine, EngineConfig, RefreshReport, Watcher};
use scry_models::ModelManager;
use tokio::sync::Semaphore;

use crate::McpError;

/// How `scry mcp` serves.
pub struct McpOptions {
    pub engine: EngineConfig,
    pub models: Arc<ModelManager>,
    /// Default token budget of `ask` prompts.
    pub ask_budget: usize,
    /// Watch the roots (and, as a follower, the writer's commits).
    pub watch: bool,
    /// Tool calls that run at once; more wait their turn.
    pub concurrency: usize,
}

impl McpOptions {
    pub fn new(engine: EngineConfig, models: Arc<ModelManager>) -> McpOptions {
        McpOptions {
            engine,
            models,
            ask_budget: 8000,
            watch: true,
            concurrency: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(2, 8),
        }
    }
}

/// The background indexing, as `index_status` reports it.
#[derive(Debug, Clone, Default)]
pub struct IndexingState {
    pub running: bool,
    pub files_done: usize,
    pub files_total: usize,
    pub last_finished: Option<SystemTime>,
    pub last_error: Option<String>,
    pub last_report: Option<RefreshReport>,
}

pub struct Shared {
    pub engine: Engine,
    pub models: Arc<ModelManager>,
    pub ask_budget: usize,
    pub indexing: Mutex<IndexingState>,
    pub started: Instant,
    /// Bounds the blocking work in flight (RELIABILITY 14: 1,000 parallel calls).
    pub permits: Semaphore,
    pub watching: bool,
    _watcher: Mutex<Option<Watcher>>,
}

impl Shared {
    pub(crate) fn start(opts: McpOptions) -> Result<Arc<Shared>, McpError> {
        let mut config = opts.engine;
        // Beside an editor's `scry lsp` on the same workspace, follow its index.
        config.follow_when_locked = true;
        let engine = Engine::open(config)?;
        for n in engine.status().notices {
            tracing::info!("{n}");
        }
        let shared = Arc::new(Shared {
            engine,
            models: opts.models,
            ask_budget: opts.ask_budget,
            indexing: Mutex::new(IndexingState {
                running: true,
                ..Default::default()
            }),
            started: Instant::now(),
            permits: Semaphore::new(opts.concurrency.max(1)),
            watching: opts.watch,
            _watcher: Mutex::new(None),
        });
        let s = shared.clone();
        std::thread::Builder::new()
            .name("scry-mcp-index".into())
            .spawn(move || s.index_then_watch(opts.watch))
            .map_err(|e| McpError::io("cannot start the indexing thread", e))?;
        Ok(shared)
    }

    /// Brings the index up to date (searches meanwhile see the last committed
    /// generation), then watches.
    fn index_then_watch(self: Arc<Self>, watch: bool) {
        let weak = Arc::downgrade(&self);
        let result = self.engine.refresh(&Default::default(), &mut |p| {
            if let Some(s) = weak.upgrade() {
                let mut st = s.indexing.lock();
                st.files_done = p.files_done;
                st.files_total = p.files_total;
            }
        });
        self.record(result);
        if watch {
            let weak = Arc::downgrade(&self);
            match self.engine.watch(move |r| {
                if let Some(s) = weak.upgrade() {
                    s.record(r);
                }
            }) {
                Ok(w) => *self._watcher.lock() = Some(w),
                Err(e) => tracing::warn!("not watching files: {e}"),
            }
        }
    }

    fn record(&self, r: Result<RefreshReport, scry_engine::EngineError>) {
        let mut st = self.indexing.lock();
        st.running = false;
        st.last_finished = Some(SystemTime::now());
        match r {
            Ok(report) => {
                if report.changed() {
                    tracing::info!(
                        "index generation {}: {} files indexed, {} removed",
                        report.generation,
                        report.files_indexed,
                        report.files_removed
                    );
                }
                st.last_error = None;
                st.last_report = Some(report);
            }
            Err(e) => {
                tracing::warn!("indexing failed: {e}");
                st.last_error = Some(e.to_string());
            }
        }
    }
}
