//! `scry lsp`: Scry for editors, over the Language Server Protocol (tower-lsp-server).
//!
//! This crate is the edge: it turns URIs into path strings (the engine confines them),
//! LSP positions into byte offsets and back ([`encoding`]), and engine results into LSP
//! and `scry/*` JSON ([`protocol`]). The engine sees none of it. Each protocol method has
//! its own file under `handlers/`; [`framing`] guards the input stream; [`session`] holds
//! the workspace, the open documents and the queue that feeds them to the engine.

mod convert;
mod document;
pub mod encoding;
pub mod framing;
mod handlers;
mod indexing;
mod journal;
mod overlay;
mod progress;
pub mod protocol;
mod server;
mod session;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use scry_answer::AskOptions;
use scry_engine::EngineConfig;
use scry_models::ModelManager;
use tokio::io::{AsyncRead, AsyncWrite};
use tower_lsp_server::{LspService, Server};

pub use document::Document;

/// What `scry lsp` serves with: everything but the roots, which come from the client.
#[derive(Clone)]
pub struct LspOptions {
    /// Engine settings; `roots` is replaced by the client's workspace folders.
    pub engine: EngineConfig,
    pub models: Arc<ModelManager>,
    pub ask: AskOptions,
    /// Where logs go besides stderr, shown by `scry/status` and `:checkhealth scry`.
    pub log_file: Option<PathBuf>,
    /// Serve test-only requests ([`protocol::TEST_PANIC`]).
    pub test_hooks: bool,
    /// Keep the index current with the disk through a file watcher.
    pub watch: bool,
}

impl LspOptions {
    pub fn new(engine: EngineConfig, models: Arc<ModelManager>) -> LspOptions {
        LspOptions {
            engine,
            models,
            ask: AskOptions::default(),
            log_file: None,
            test_hooks: std::env::var("SCRY_LSP_TEST_HOOKS").is_ok_and(|v| v == "1"),
            watch: true,
        }
    }
}

/// How the session ended, as the process exit code LSP prescribes: 0 when `exit`
/// followed `shutdown`, 1 otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExitStatus(pub i32);

/// Serves one client over `input`/`output` until `exit` or the end of input.
pub async fn serve<I, O>(input: I, output: O, opts: LspOptions) -> ExitStatus
where
    I: AsyncRead + Unpin + Send + 'static,
    O: AsyncWrite + Unpin + Send + 'static,
{
    let shutdown = Arc::new(AtomicBool::new(false));
    let test_hooks = opts.test_hooks;
    let (service, socket) = {
        let shutdown = shutdown.clone();
        let builder = LspService::build(move |client| {
            server::Backend::new(client, opts.clone(), shutdown.clone())
        });
        handlers::custom_methods(builder, test_hooks).finish()
    };
    let (to_server, server_in) = tokio::io::duplex(1 << 20);
    let (server_out, from_server) = tokio::io::duplex(1 << 20);
    let (errors_tx, errors_rx) = tokio::sync::mpsc::channel(64);
    let reader = tokio::spawn(framing::guard_input(
        input,
        to_server,
        errors_tx,
        shutdown.clone(),
    ));
    let writer = tokio::spawn(framing::write_output(from_server, errors_rx, output));
    Server::new(server_in, server_out, socket)
        .concurrency_level(32)
        .serve(service)
        .await;
    // The server has closed its end; the writer drains what is left and returns.
    let _ = writer.await;
    reader.abort();
    ExitStatus(if shutdown.load(Ordering::SeqCst) {
        0
    } else {
        1
    })
}

/// `scry lsp` over stdin and `protocol_out`: the process's stdout, which the caller has
/// taken over (a private copy of the descriptor, with descriptor 1 pointed at stderr, so a
/// stray print from C code can never corrupt the stream).
pub fn run_stdio(opts: LspOptions, protocol_out: std::fs::File) -> std::io::Result<ExitStatus> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scry-lsp")
        .enable_all()
        .build()?;
    let status = rt.block_on(async move {
        let output = tokio::fs::File::from_std(protocol_out);
        serve(tokio::io::stdin(), output, opts).await
    });
    // Stdin's reader thread may be blocked in read(2); do not wait for it.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    Ok(status)
}
