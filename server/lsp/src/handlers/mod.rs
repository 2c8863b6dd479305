//! One file per protocol method, plus what they share: panic containment, cancellation
//! and error mapping.

pub mod ask;
pub mod context;
pub mod did_change;
pub mod did_close;
pub mod did_open;
pub mod did_save;
pub mod execute_command;
pub mod initialize;
pub mod initialized;
pub mod search;
pub mod shutdown;
pub mod status;
pub mod test_panic;
pub mod workspace_folders;
pub mod workspace_symbol;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use tower_lsp_server::LspServiceBuilder;
use tower_lsp_server::jsonrpc::{self, Result};

use crate::protocol;
use crate::server::Backend;

/// Registers the `scry/*` requests.
pub fn custom_methods(
    b: LspServiceBuilder<Backend>,
    test_hooks: bool,
) -> LspServiceBuilder<Backend> {
    let b = b
        .custom_method(protocol::SEARCH, Backend::scry_search)
        .custom_method(protocol::CONTEXT, Backend::scry_context)
        .custom_method(protocol::ASK, Backend::scry_ask)
        .custom_method(protocol::STATUS, Backend::scry_status);
    if test_hooks {
        b.custom_method(protocol::TEST_PANIC, Backend::scry_test_panic)
    } else {
        b
    }
}

/// Runs a request handler; a panic becomes an internal error for this request only.
pub async fn guarded<T>(method: &str, fut: impl Future<Output = Result<T>>) -> Result<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(r) => r,
        Err(panic) => {
            let what = panic_message(&panic);
            tracing::error!("{method} panicked: {what}");
            Err(jsonrpc::Error {
                code: jsonrpc::ErrorCode::InternalError,
                message: format!("internal error in {method}: {what}").into(),
                data: None,
            })
        }
    }
}

/// Runs a notification handler (synchronous, so edits apply in arrival order); a panic
/// is logged and the server goes on.
pub fn notify_guarded(method: &str, f: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(AssertUnwindSafe(f)) {
        tracing::error!("{method} panicked: {}", panic_message(&panic));
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".into())
}

/// Set when the request's future is dropped: `$/cancelRequest`, or the session ending.
/// Blocking work polls it and stops.
pub struct CancelOnDrop(Arc<AtomicBool>);

impl CancelOnDrop {
    pub fn new() -> CancelOnDrop {
        CancelOnDrop(Arc::new(AtomicBool::new(false)))
    }
    pub fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

pub fn engine_error(e: scry_engine::EngineError) -> jsonrpc::Error {
    match e {
        scry_engine::EngineError::InvalidRequest(m) => protocol::invalid_params(m),
        scry_engine::EngineError::Path(p) => protocol::invalid_params(p.to_string()),
        other => crate::session::server_error(&other.to_string()),
    }
}

pub fn answer_error(e: scry_answer::AnswerError) -> jsonrpc::Error {
    match e {
        scry_answer::AnswerError::InvalidRequest(m) => protocol::invalid_params(m),
        scry_answer::AnswerError::Engine(e) => engine_error(e),
        scry_answer::AnswerError::Cancelled => jsonrpc::Error::request_cancelled(),
        other => crate::session::server_error(&other.to_string()),
    }
}

/// Runs blocking work on the blocking pool; a panic there is an internal error.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r,
        Err(e) => Err(jsonrpc::Error {
            code: jsonrpc::ErrorCode::InternalError,
            message: format!("internal error: {e}").into(),
            data: None,
        }),
    }
}
