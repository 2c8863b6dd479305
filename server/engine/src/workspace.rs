//! One workspace's lifecycle, shared by `scry lsp`, `scry mcp` and `scry watch`: open
//! the index at once (BM25 from the index as it is, or following another process that
//! writes it, waiting briefly for a lock this process may still hold), load the
//! embedding model in the background, bring the index up to date, then keep it current
//! with a file watcher. The faces only listen ([`WorkspaceEvent`]) and report.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::{Condvar, Mutex};

use crate::{
    EmbedderInfo, EmbedderSpec, Engine, EngineConfig, EngineError, Progress, RefreshReport, Tier,
    UpgradeReport, Watcher,
};

/// Model time per upgrade step of the full tier: each step ends in a commit.
const UPGRADE_STEP: Duration = Duration::from_secs(10);
/// How often an idle upgrader looks for chunks that lack full vectors (a watcher's
/// refresh wakes it at once).
const UPGRADE_IDLE: Duration = Duration::from_secs(5);

/// How a workspace is kept.
#[derive(Debug, Clone)]
pub struct WorkspaceOptions {
    /// After the first pass, keep the index current with a file watcher (a follower's
    /// watcher also picks up the writer's commits and takes over when it exits).
    pub watch: bool,
    /// How long to wait for the index lock before following whoever holds it (or, with
    /// `follow_when_locked` off, failing with [`EngineError::Locked`]): this same
    /// process may be closing the previous engine on these roots.
    pub lock_wait: Duration,
}

impl Default for WorkspaceOptions {
    fn default() -> Self {
        WorkspaceOptions {
            watch: true,
            lock_wait: Duration::from_secs(2),
        }
    }
}

/// The embedding model (the full tier's, else the fast tier's), as far as the
/// workspace got with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelState {
    /// None is configured: search is BM25-only.
    NotConfigured,
    /// Loading in the background: search is BM25 until it is in.
    Loading,
    Ready(EmbedderInfo),
    /// It could not be loaded or reached (why): search is BM25-only.
    Failed(String),
}

/// Something that happened to the workspace, for a face to report.
#[derive(Debug, Clone)]
pub enum WorkspaceEvent {
    /// The embedding model loaded or failed to.
    Model(ModelState),
    /// The first pass is under way.
    Indexing(Progress),
    /// The first pass finished (or failed).
    Indexed(Result<RefreshReport, String>),
    /// The watcher brought the index up to date with a change (or failed to).
    Updated(Result<RefreshReport, String>),
    /// Full-tier vectors were committed (the fast tier came with the first pass); how
    /// many chunks still wait for theirs.
    Upgraded(UpgradeReport),
    /// The files cannot be watched (why): changes need an explicit refresh.
    NotWatching(String),
}

/// Where the workspace's lifecycle is.
#[derive(Debug, Clone)]
pub struct WorkspaceState {
    pub model: ModelState,
    /// The first pass is running: searches see the last committed generation.
    pub indexing: bool,
    /// The first pass's latest progress (its last, once it is over).
    pub progress: Option<Progress>,
    /// File changes are picked up as they happen.
    pub watching: bool,
    /// When a pass (the first, or one the watcher ran) last finished.
    pub last_finished: Option<SystemTime>,
    pub last_error: Option<String>,
    pub last_report: Option<RefreshReport>,
    /// The full tier's upgrade: the last step's report.
    pub upgrade: Option<UpgradeReport>,
}

type Listener = Arc<dyn Fn(&WorkspaceEvent) + Send + Sync>;

struct Lifecycle {
    state: Mutex<WorkspaceState>,
    /// Signalled when the first pass ends.
    indexed: Condvar,
    /// Signalled when the upgrader may have work (a refresh) or should stop (close).
    wake: Condvar,
    watcher: Mutex<Option<Watcher>>,
    closed: AtomicBool,
    /// Dropped on close, so a listener that owns the other end of a channel sees it end.
    listener: Mutex<Option<Listener>>,
}

impl Lifecycle {
    fn emit(&self, event: WorkspaceEvent) {
        let listener = self.listener.lock().clone();
        if let Some(listen) = listener {
            listen(&event);
        }
    }

    /// Records (and logs) a finished pass: the first, or one the watcher ran.
    fn finished(&self, result: &Result<RefreshReport, EngineError>) {
        match result {
            Ok(r) if r.changed() => tracing::info!(
                "index generation {}: {} files indexed, {} removed",
                r.generation,
                r.files_indexed,
                r.files_removed
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("indexing failed: {e}"),
        }
        let mut st = self.state.lock();
        st.last_finished = Some(SystemTime::now());
        match result {
            Ok(report) => {
                st.last_error = None;
                st.last_report = Some(report.clone());
            }
            Err(e) => st.last_error = Some(e.to_string()),
        }
    }
}

/// An open workspace and its background work. Dropping it (or [`Workspace::close`])
/// stops watching; a pass under way finishes first.
pub struct Workspace {
    engine: Engine,
    life: Arc<Lifecycle>,
}

impl Workspace {
    /// Opens the index and starts the background work: the model, the first pass, the
    /// watcher. `on_event` hears what happens, on background threads. Opening itself is
    /// quick (it reads the manifest and repairs what a crash left) and fails only when
    /// the index cannot be opened at all.
    pub fn open(
        config: EngineConfig,
        opts: WorkspaceOptions,
        on_event: impl Fn(&WorkspaceEvent) + Send + Sync + 'static,
    ) -> Result<Workspace, EngineError> {
        let specs = (config.fast_embedder.clone(), config.embedder.clone());
        let engine = open_waiting(config, opts.lock_wait)?;
        let model = if specs.0.is_some() || specs.1.is_some() {
            ModelState::Loading
        } else {
            ModelState::NotConfigured
        };
        let life = Arc::new(Lifecycle {
            state: Mutex::new(WorkspaceState {
                model,
                indexing: true,
                progress: None,
                watching: false,
                last_finished: None,
                last_error: None,
                last_report: None,
                upgrade: None,
            }),
            indexed: Condvar::new(),
            wake: Condvar::new(),
            watcher: Mutex::new(None),
            closed: AtomicBool::new(false),
            listener: Mutex::new(Some(Arc::new(on_event))),
        });
        let (e, l) = (engine.clone(), life.clone());
        std::thread::Builder::new()
            .name("scry-workspace".into())
            .spawn(move || background(e, l, specs, opts.watch))
            .map_err(EngineError::Spawn)?;
        Ok(Workspace { engine, life })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn state(&self) -> WorkspaceState {
        self.life.state.lock().clone()
    }

    /// Waits until the first pass has finished, at most `timeout` (`Duration::MAX`:
    /// for as long as it takes); whether it has.
    pub fn wait_indexed(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = self.life.state.lock();
        while st.indexing {
            match deadline {
                Some(d) => {
                    if self.life.indexed.wait_until(&mut st, d).timed_out() {
                        return !st.indexing;
                    }
                }
                None => self.life.indexed.wait(&mut st),
            }
        }
        true
    }

    /// Stops watching and reporting. The background work ends after the step it is in.
    pub fn close(&self) {
        self.life.closed.store(true, Ordering::SeqCst);
        self.life.listener.lock().take();
        self.life.watcher.lock().take();
        self.life.state.lock().watching = false;
        self.life.wake.notify_all();
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        self.close();
    }
}

/// Opens the engine, waiting up to `wait` for a lock held (probably) by this process's
/// previous engine on the same roots; then follows whoever holds it, if allowed.
fn open_waiting(config: EngineConfig, wait: Duration) -> Result<Engine, EngineError> {
    let deadline = Instant::now() + wait;
    let may_follow = config.follow_when_locked;
    let mut first = config;
    first.follow_when_locked = false;
    loop {
        match Engine::open_lexical(first.clone()) {
            Err(EngineError::Locked(dir)) if Instant::now() >= deadline => {
                if !may_follow {
                    return Err(EngineError::Locked(dir));
                }
                first.follow_when_locked = true;
                return Engine::open_lexical(first);
            }
            Err(EngineError::Locked(_)) => std::thread::sleep(Duration::from_millis(50)),
            other => return other,
        }
    }
}

/// The models (the fast tier first: it is what the first pass embeds), the first pass,
/// the watcher, then the full tier's upgrade for as long as the workspace is open.
fn background(
    engine: Engine,
    life: Arc<Lifecycle>,
    (fast, full): (Option<EmbedderSpec>, Option<EmbedderSpec>),
    watch: bool,
) {
    let only_fast = full.is_none();
    for (tier, spec) in [(Tier::Fast, fast), (Tier::Full, full)] {
        let Some(spec) = spec else { continue };
        let loaded = spec.load();
        let state = match &loaded {
            Ok(e) => ModelState::Ready(e.info().clone()),
            Err(e) => ModelState::Failed(e.to_string()),
        };
        if let Err(e) = engine.attach_embedder(tier, loaded) {
            tracing::warn!("using the {tier} tier's embedder failed: {e}");
        }
        // The full tier is the model a user configured; the fast tier speaks for itself
        // only when it is the only one.
        if tier == Tier::Full || only_fast {
            life.state.lock().model = state.clone();
            life.emit(WorkspaceEvent::Model(state));
        } else if let ModelState::Failed(why) = state {
            tracing::warn!("no fast vector tier: {why}");
        }
    }
    if life.closed.load(Ordering::SeqCst) {
        end_first_pass(&life, Err("the workspace was closed".into()));
        return;
    }
    let result = engine.refresh(&HashSet::new(), &mut |p| {
        life.state.lock().progress = Some(p.clone());
        life.emit(WorkspaceEvent::Indexing(p.clone()));
    });
    life.finished(&result);
    end_first_pass(&life, result.map_err(|e| e.to_string()));
    if !watch || life.closed.load(Ordering::SeqCst) {
        return;
    }
    let l = Arc::downgrade(&life);
    let watcher = engine.watch(move |r| {
        let Some(life) = l.upgrade() else { return };
        life.finished(&r);
        life.emit(WorkspaceEvent::Updated(r.map_err(|e| e.to_string())));
        life.wake.notify_all();
    });
    match watcher {
        Ok(w) => {
            let mut slot = life.watcher.lock();
            // Closed meanwhile: drop it at once.
            if !life.closed.load(Ordering::SeqCst) {
                *slot = Some(w);
                life.state.lock().watching = true;
            }
        }
        Err(e) => {
            tracing::warn!("not watching files: {e}");
            life.emit(WorkspaceEvent::NotWatching(e.to_string()));
        }
    }
    upgrade_while_open(&engine, &life);
}

/// Computes the full tier's vectors in steps (each a commit) until the workspace
/// closes; when none are missing, waits for a refresh to bring new chunks.
fn upgrade_while_open(engine: &Engine, life: &Lifecycle) {
    let closed = || life.closed.load(Ordering::SeqCst);
    while !closed() {
        let idle = match engine.upgrade_vectors(UPGRADE_STEP, &closed, &mut |_| {}) {
            Ok(r) => {
                let idle = r.embedded == 0;
                if !idle {
                    life.state.lock().upgrade = Some(r.clone());
                    life.emit(WorkspaceEvent::Upgraded(r));
                }
                idle
            }
            Err(e) => {
                tracing::warn!("computing full-tier vectors: {e}");
                true
            }
        };
        if idle {
            let mut st = life.state.lock();
            if !closed() {
                life.wake.wait_for(&mut st, UPGRADE_IDLE);
            }
        }
    }
}

/// Reports the first pass's end, then lets [`Workspace::wait_indexed`] return: a caller
/// that waited has heard everything the pass said.
fn end_first_pass(life: &Lifecycle, result: Result<RefreshReport, String>) {
    life.emit(WorkspaceEvent::Indexed(result));
    life.state.lock().indexing = false;
    life.indexed.notify_all();
}
