//! What every MCP session shares: the engine, the models, the limits, and the state of
//! the background indexing that keeps the index current.

use std::sync::Arc;
use std::time::Instant;

use scry_engine::{Engine, EngineConfig, Workspace, WorkspaceOptions};
use scry_models::ModelManager;
use tokio::sync::Semaphore;

use crate::McpError;
use crate::observe::{ObserveOptions, Observer};

/// How `scry mcp` serves.
pub struct McpOptions {
    pub engine: EngineConfig,
    pub models: Arc<ModelManager>,
    /// Token budget of `ask` prompts when a call names none; `None`: 8,000 tokens, or
    /// what the model reads in about 20 s here if that is less.
    pub ask_budget: Option<usize>,
    /// Watch the roots (and, as a follower, the writer's commits).
    pub watch: bool,
    /// Tool calls that run at once; more wait their turn.
    pub concurrency: usize,
    /// Rate limits and the response cache.
    pub observe: ObserveOptions,
}

impl McpOptions {
    pub fn new(engine: EngineConfig, models: Arc<ModelManager>) -> McpOptions {
        McpOptions {
            engine,
            models,
            ask_budget: None,
            watch: true,
            concurrency: std::thread::available_parallelism()
                .map_or(2, |n| n.get())
                .clamp(2, 8),
            observe: ObserveOptions::default(),
        }
    }
}

pub struct Shared {
    /// The engine's workspace: the index, its model, its first pass and its watcher.
    pub workspace: Workspace,
    pub models: Arc<ModelManager>,
    pub ask_budget: Option<usize>,
    pub started: Instant,
    /// Bounds the blocking work in flight (RELIABILITY 14: 1,000 parallel calls).
    pub permits: Semaphore,
    /// Calls recorded, metrics, the response cache and rate limits.
    pub observer: Observer,
    /// The tool definitions (their schemas), made once.
    pub(crate) tools: std::sync::OnceLock<Vec<rmcp::model::Tool>>,
}

impl Shared {
    pub fn engine(&self) -> &Engine {
        self.workspace.engine()
    }

    /// Opens the workspace (or follows the process that writes its index); the model,
    /// the first pass and the watcher run in the background.
    pub(crate) fn start(opts: McpOptions) -> Result<Arc<Shared>, McpError> {
        let mut config = opts.engine;
        // Beside an editor's `scry lsp` on the same workspace, follow its index.
        config.follow_when_locked = true;
        let workspace = Workspace::open(
            config,
            WorkspaceOptions {
                watch: opts.watch,
                ..WorkspaceOptions::default()
            },
            |_| {},
        )?;
        for n in workspace.engine().status().notices {
            tracing::info!("{n}");
        }
        Ok(Arc::new(Shared {
            models: opts.models,
            ask_budget: opts.ask_budget,
            started: Instant::now(),
            permits: Semaphore::new(opts.concurrency.max(1)),
            observer: Observer::new(&opts.observe, workspace.engine().index_dir()),
            tools: std::sync::OnceLock::new(),
            workspace,
        }))
    }
}
