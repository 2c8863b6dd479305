//! `initialized`: once the workspace is open, report what it does in the background (the
//! engine's [`scry_engine::Workspace`] loads the model, runs the first pass, watches):
//! `$/progress` for the first pass, and `window/showMessage` for what the user can act
//! on (no model, a rebuilt index, a failed pass, files not watched).

use std::sync::Arc;
use std::time::Duration;

use scry_engine::{ModelState, Phase, Progress, WorkspaceEvent};
use tower_lsp_server::Client;
use tower_lsp_server::ls_types::MessageType;

use crate::progress::WorkDone;
use crate::server::Backend;
use crate::session::{Session, Slot};

/// How often progress is reported at most.
const REPORT_EVERY: Duration = Duration::from_millis(250);

pub fn initialized(b: &Backend) {
    let client = b.client.clone();
    let session = b.session.clone();
    tokio::spawn(async move {
        after_open(&client, &session).await;
    });
}

/// Everything that follows opening a workspace; also run after the folders change.
pub async fn after_open(client: &Client, session: &Arc<Session>) {
    let mut rx = session.slot.subscribe();
    let Ok(slot) = rx
        .wait_for(|s| !matches!(s, Slot::Starting))
        .await
        .map(|s| s.clone())
    else {
        return;
    };
    let ws = match slot {
        Slot::Ready(ws) => ws,
        Slot::Failed(why) => {
            show(
                client,
                MessageType::ERROR,
                format!("Scry: the index is unavailable: {why}"),
            )
            .await;
            return;
        }
        Slot::NoWorkspace | Slot::Starting => return,
    };
    let Some(mut events) = session.events.lock().take() else {
        return;
    };
    let mut shown = 0;
    shown += show_notices(client, ws.engine(), shown).await;
    let state = ws.lifecycle.state();
    if state.model == ModelState::NotConfigured {
        bm25_only(client, "no embedding model is configured").await;
    }
    let create = session
        .flags
        .read()
        .work_done_progress
        .then(|| session.next_progress_token("index"));
    let loading =
        (state.model == ModelState::Loading).then(|| "loading the embedding model".into());
    let mut work = Some(WorkDone::begin(client, None, create, "Scry: indexing", loading).await);
    let mut last_report: Option<tokio::time::Instant> = None;
    let mut upgrading: Option<WorkDone> = None;
    while let Some(event) = events.recv().await {
        match event {
            WorkspaceEvent::Model(ModelState::Failed(why)) => {
                bm25_only(client, &why).await;
                shown += show_notices(client, ws.engine(), shown).await;
            }
            WorkspaceEvent::Model(_) => {
                shown += show_notices(client, ws.engine(), shown).await;
            }
            WorkspaceEvent::Indexing(p) => {
                // At most every REPORT_EVERY; the latest state wins.
                if last_report.is_some_and(|t| t.elapsed() < REPORT_EVERY) {
                    continue;
                }
                if let Some(w) = &work {
                    let (message, pct) = describe(&p);
                    w.report(message, pct).await;
                    last_report = Some(tokio::time::Instant::now());
                }
            }
            WorkspaceEvent::Indexed(result) => {
                let summary = match &result {
                    Ok(r) => format!(
                        "{} files indexed, {} unchanged, {} removed",
                        r.files_indexed, r.files_unchanged, r.files_removed
                    ),
                    Err(e) => format!("failed: {e}"),
                };
                if let Some(w) = work.take() {
                    w.end(Some(summary)).await;
                }
                if let Err(e) = result {
                    show(
                        client,
                        MessageType::ERROR,
                        format!("Scry: indexing failed: {e}"),
                    )
                    .await;
                }
            }
            WorkspaceEvent::NotWatching(why) => {
                show(
                    client,
                    MessageType::WARNING,
                    format!(
                        "Scry: cannot watch the files ({why}); run `scry.reindex` after changes"
                    ),
                )
                .await;
            }
            // Logged by the engine; nothing for the user to act on.
            WorkspaceEvent::Updated(_) => {}
            // The full tier's vectors arriving in the background after the fast tier's.
            WorkspaceEvent::Upgraded(r) => {
                if upgrading.is_none() && r.embedded > 0 && r.remaining > 0 {
                    let create = session
                        .flags
                        .read()
                        .work_done_progress
                        .then(|| session.next_progress_token("vectors"));
                    upgrading = Some(
                        WorkDone::begin(client, None, create, "Scry: full vectors", None).await,
                    );
                }
                let done = r.chunks.saturating_sub(r.remaining);
                let message = format!("{done}/{} chunks", r.chunks);
                if r.remaining == 0 {
                    if let Some(w) = upgrading.take() {
                        w.end(Some(message)).await;
                    }
                } else if let Some(w) = &upgrading {
                    let pct = (done * 100 / r.chunks.max(1)) as u32;
                    w.report(message, Some(pct)).await;
                }
            }
        }
    }
}

/// The engine's notices from `already` on (a rebuilt index, following another writer…),
/// as information; how many there were.
async fn show_notices(client: &Client, engine: &scry_engine::Engine, already: usize) -> usize {
    let notices = engine.status().notices;
    for notice in notices.iter().skip(already) {
        show(client, MessageType::INFO, format!("Scry: {notice}")).await;
    }
    notices.len().saturating_sub(already)
}

async fn bm25_only(client: &Client, why: &str) {
    show(
        client,
        MessageType::WARNING,
        format!(
            "Scry: search is BM25-only (keywords, no embeddings): {why}. \
             Install a model with `scry models pull` or pass --embed-model."
        ),
    )
    .await;
}

async fn show(client: &Client, kind: MessageType, message: String) {
    client.show_message(kind, message).await;
}

/// The engine's progress as an LSP work-done report: "chunking: files 12/89 · 340
/// chunks · ETA 40s" and the share of the whole refresh.
pub fn describe(p: &Progress) -> (String, Option<u32>) {
    let message = match p.phase {
        Phase::Scanning | Phase::Done => p.summary(),
        phase => format!("{}: {}", phase.as_str(), p.summary()),
    };
    (message, p.fraction().map(|f| (f * 100.0) as u32))
}
