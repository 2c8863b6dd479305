//! One client's session: the negotiated settings, the open documents, and the workspace
//! (an engine over the client's folders) once it is open.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use scry_engine::{Engine, EngineError, WorkspaceEvent, WorkspaceOptions};
use tokio::sync::{mpsc, watch};
use tower_lsp_server::jsonrpc;

use crate::LspOptions;
use crate::document::Document;
use crate::encoding::PositionEncoding;
use crate::overlay::OverlayQueue;

/// The engine's workspace over the current folders (its lifecycle: model, first pass,
/// watcher), and the queue that feeds it the editor's buffers.
pub struct Workspace {
    pub lifecycle: scry_engine::Workspace,
    pub overlays: Arc<OverlayQueue>,
}

impl Workspace {
    fn new(lifecycle: scry_engine::Workspace) -> Workspace {
        let overlays = OverlayQueue::start(lifecycle.engine().clone());
        Workspace {
            lifecycle,
            overlays,
        }
    }

    pub fn engine(&self) -> &Engine {
        self.lifecycle.engine()
    }

    /// The first pass over the files is still running.
    pub fn indexing(&self) -> bool {
        self.lifecycle.state().indexing
    }

    pub fn close(&self) {
        self.lifecycle.close();
        self.overlays.stop();
    }
}

#[derive(Clone)]
pub enum Slot {
    /// Opening the engine (or re-opening it for new folders).
    Starting,
    Ready(Arc<Workspace>),
    /// The client gave no folder; nothing to index.
    NoWorkspace,
    Failed(String),
}

/// What the client said it can do, as far as Scry cares.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClientFlags {
    pub work_done_progress: bool,
}

pub struct Session {
    pub opts: LspOptions,
    pub encoding: RwLock<PositionEncoding>,
    pub flags: RwLock<ClientFlags>,
    pub roots: Mutex<Vec<PathBuf>>,
    pub slot: watch::Sender<Slot>,
    /// Open buffers by URI string.
    pub documents: Mutex<HashMap<String, Document>>,
    pub shutdown: Arc<AtomicBool>,
    /// Bumped whenever a new workspace is opened, so a stale opener gives way.
    pub epoch: AtomicU64,
    /// What the workspace opened last reports, until `initialized` starts listening.
    pub events: Mutex<Option<mpsc::UnboundedReceiver<WorkspaceEvent>>>,
    progress_ids: AtomicU64,
}

/// How long a request waits for the workspace to finish opening.
const OPEN_WAIT: Duration = Duration::from_secs(60);

impl Session {
    pub fn new(opts: LspOptions, shutdown: Arc<AtomicBool>) -> Session {
        Session {
            opts,
            encoding: RwLock::new(PositionEncoding::Utf16),
            flags: RwLock::new(ClientFlags::default()),
            roots: Mutex::new(Vec::new()),
            slot: watch::channel(Slot::Starting).0,
            documents: Mutex::new(HashMap::new()),
            shutdown,
            epoch: AtomicU64::new(0),
            events: Mutex::new(None),
            progress_ids: AtomicU64::new(0),
        }
    }

    pub fn encoding(&self) -> PositionEncoding {
        *self.encoding.read()
    }

    pub fn next_progress_token(&self, what: &str) -> String {
        format!(
            "scry/{what}/{}",
            self.progress_ids.fetch_add(1, Ordering::SeqCst)
        )
    }

    /// The workspace, waiting while it opens; a clear error when there is none.
    pub async fn workspace(&self) -> jsonrpc::Result<Arc<Workspace>> {
        let mut rx = self.slot.subscribe();
        let slot = tokio::time::timeout(OPEN_WAIT, rx.wait_for(|s| !matches!(s, Slot::Starting)))
            .await
            .map_err(|_| server_error("the workspace is still opening; try again"))?
            .map_err(|_| server_error("the server is shutting down"))?
            .clone();
        match slot {
            Slot::Ready(w) => Ok(w),
            Slot::NoWorkspace => Err(server_error(
                "no workspace folder: open a folder (or a file inside a project) to use Scry",
            )),
            Slot::Failed(why) => Err(server_error(&format!("the index is unavailable: {why}"))),
            Slot::Starting => Err(server_error("the workspace is still opening")),
        }
    }

    /// The workspace if it is open now, without waiting.
    pub fn current(&self) -> Option<Arc<Workspace>> {
        match &*self.slot.borrow() {
            Slot::Ready(w) => Some(w.clone()),
            _ => None,
        }
    }

    /// Opens the workspace over `roots` (on a blocking thread: BM25 is served at once,
    /// the model loads and the first pass runs in the background), feeds it the open
    /// buffers, and publishes it. The previous workspace, if any, is closed first.
    pub async fn open(self: &Arc<Self>, roots: Vec<PathBuf>) -> Slot {
        let epoch = self.epoch.fetch_add(1, Ordering::SeqCst) + 1;
        let previous = self.slot.send_replace(Slot::Starting);
        if let Slot::Ready(w) = previous {
            w.close();
        }
        *self.roots.lock() = roots.clone();
        if roots.is_empty() {
            self.slot.send_replace(Slot::NoWorkspace);
            return Slot::NoWorkspace;
        }
        let mut config = self.opts.engine.clone();
        config.roots = roots;
        // Beside an agent's `scry mcp` (or `scry watch`) on the same workspace, follow
        // its index and take over when it exits.
        config.follow_when_locked = true;
        let opts = WorkspaceOptions {
            watch: self.opts.watch,
            ..WorkspaceOptions::default()
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let opened = tokio::task::spawn_blocking(move || {
            scry_engine::Workspace::open(config, opts, move |e| {
                let _ = tx.send(e.clone());
            })
        })
        .await;
        let slot = match opened {
            Ok(Ok(lifecycle)) => Slot::Ready(Arc::new(Workspace::new(lifecycle))),
            Ok(Err(EngineError::Locked(dir))) => Slot::Failed(format!(
                "the index at {} is being written by another scry process (`scry watch`, \
                 another editor); close it and run `scry.reindex`",
                dir.display()
            )),
            Ok(Err(e)) => Slot::Failed(e.to_string()),
            Err(e) => Slot::Failed(format!("opening the index failed: {e}")),
        };
        if self.epoch.load(Ordering::SeqCst) != epoch {
            // Folders changed again while this one opened; the newer open wins.
            if let Slot::Ready(w) = &slot {
                w.close();
            }
            return slot;
        }
        *self.events.lock() = Some(rx);
        self.publish(slot.clone());
        slot
    }

    fn publish(&self, slot: Slot) {
        self.slot.send_replace(slot.clone());
        // After publishing: a buffer opened meanwhile is either seen here or sees the
        // workspace itself (a duplicate is a no-op).
        if let Slot::Ready(w) = &slot {
            for d in self.documents.lock().values() {
                w.overlays.submit(&d.path, Some(d.text.clone()));
            }
        }
    }
}

pub fn server_error(message: &str) -> jsonrpc::Error {
    jsonrpc::Error {
        code: jsonrpc::ErrorCode::ServerError(-32000),
        message: message.to_owned().into(),
        data: None,
    }
}
