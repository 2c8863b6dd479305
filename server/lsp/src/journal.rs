//! Finished queries (`scry/search`, `scry/context`, `scry/ask`, `workspace/symbol`),
//! written to the index's activity journal so a dashboard on the same index lists the
//! editor's work beside its own. Status polls and document sync are not queries and are
//! not written.

use std::future::Future;
use std::time::Instant;

use scry_journal::{Activity, Face, Journal, Outcome};
use tower_lsp_server::jsonrpc::{self, ErrorCode};
use tower_lsp_server::ls_types::WorkspaceSymbolResponse;

use crate::protocol::{AskResult, ContextResult, SearchResult};
use crate::server::Backend;

/// What a result tells the journal.
pub trait Journaled {
    fn describe(&self, a: &mut Activity);
}

/// Runs a query's handler (already guarded) and writes how it went.
pub async fn journaled<T: Journaled>(
    b: &Backend,
    method: &str,
    fut: impl Future<Output = jsonrpc::Result<T>>,
) -> jsonrpc::Result<T> {
    let started = Instant::now();
    let result = fut.await;
    // No workspace, no index to write beside: nothing to journal.
    if let Some(ws) = b.session.current() {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut a = Activity::new(Face::Lsp, "editor", method, ms);
        match &result {
            Ok(r) => r.describe(&mut a),
            Err(e) => a.failed(outcome_of(e.code), &e.message),
        }
        let index = ws.engine().index_dir().to_owned();
        // A small write, but a file system call all the same: off the async threads.
        tokio::task::spawn_blocking(move || Journal::new(&index).append(&a));
    }
    result
}

fn outcome_of(code: ErrorCode) -> Outcome {
    match code {
        ErrorCode::InvalidParams | ErrorCode::InvalidRequest => Outcome::Invalid,
        ErrorCode::RequestCancelled => Outcome::Cancelled,
        _ => Outcome::Failed,
    }
}

impl Journaled for SearchResult {
    fn describe(&self, a: &mut Activity) {
        a.mode = Some(self.mode.to_owned());
        a.results = Some(self.files.as_ref().map_or(self.hits.len(), Vec::len));
        if let Some(n) = &self.notice {
            a.notice(n);
        }
    }
}

impl Journaled for ContextResult {
    fn describe(&self, a: &mut Activity) {
        a.results = Some(self.sources.len());
        for n in &self.notices {
            a.notice(n);
        }
    }
}

impl Journaled for AskResult {
    fn describe(&self, a: &mut Activity) {
        a.results = Some(self.sources.len());
        for n in self.fallbacks.iter().chain(&self.notices) {
            a.notice(n);
        }
        if self.answer.is_some() {
            a.answered(self.tokens_out);
        }
    }
}

impl Journaled for Option<WorkspaceSymbolResponse> {
    fn describe(&self, a: &mut Activity) {
        a.results = Some(match self {
            Some(WorkspaceSymbolResponse::Flat(v)) => v.len(),
            Some(WorkspaceSymbolResponse::Nested(v)) => v.len(),
            None => 0,
        });
    }
}
