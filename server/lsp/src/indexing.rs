//! `scry.reindex`: bringing the index up to date on request, with `$/progress`. (The
//! first pass at start is the engine workspace's; `initialized` reports it.)

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use scry_engine::{Progress, RefreshReport};
use tower_lsp_server::Client;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::ProgressToken;

use crate::handlers::initialized::describe;
use crate::handlers::{blocking, engine_error};
use crate::progress::WorkDone;
use crate::session::{Session, Workspace};

/// How often progress is reported at most.
const REPORT_EVERY: Duration = Duration::from_millis(250);

pub async fn refresh_with_token(
    client: &Client,
    session: &Arc<Session>,
    ws: &Arc<Workspace>,
    title: &str,
    token: Option<ProgressToken>,
) -> Result<RefreshReport> {
    let create = session
        .flags
        .read()
        .work_done_progress
        .then(|| session.next_progress_token("index"));
    let work = WorkDone::begin(client, token, create, title, None).await;
    let (tx, mut rx) = tokio::sync::watch::channel::<Option<Progress>>(None);
    let engine = ws.engine().clone();
    let job = blocking(move || {
        engine
            .refresh(&HashSet::new(), &mut |p| {
                let _ = tx.send(Some(p.clone()));
            })
            .map_err(engine_error)
    });
    tokio::pin!(job);
    let mut last_report: Option<tokio::time::Instant> = None;
    let result = loop {
        tokio::select! {
            r = &mut job => break r,
            changed = rx.changed() => {
                if changed.is_err() {
                    break (&mut job).await;
                }
                let p = rx.borrow_and_update().clone();
                // Report at most every REPORT_EVERY; the latest state wins.
                if last_report.is_some_and(|t| t.elapsed() < REPORT_EVERY) {
                    continue;
                }
                if let Some(p) = p {
                    let (message, pct) = describe(&p);
                    work.report(message, pct).await;
                    last_report = Some(tokio::time::Instant::now());
                }
            }
        }
    };
    let summary = match &result {
        Ok(r) => format!(
            "{} files indexed, {} unchanged, {} removed",
            r.files_indexed, r.files_unchanged, r.files_removed
        ),
        Err(e) => format!("failed: {}", e.message),
    };
    work.end(Some(summary)).await;
    result
}
