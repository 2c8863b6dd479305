//! `initialized`: once the index is open, tell the user what they can act on (no model,
//! a rebuilt index), bring the index up to date with progress, and start watching.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tower_lsp_server::Client;
use tower_lsp_server::ls_types::MessageType;

use crate::server::Backend;
use crate::session::{Session, Slot};

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
    // The provisional BM25 workspace (while the model loads) is not brought up to date:
    // the full one that follows is.
    let settled = |s: &Slot| match s {
        Slot::Starting => false,
        Slot::Ready(w) => !w.provisional,
        _ => true,
    };
    let Ok(slot) = rx.wait_for(settled).await.map(|s| s.clone()) else {
        return;
    };
    let ws = match slot {
        Slot::Ready(ws) => ws,
        Slot::Failed(why) => {
            client
                .show_message(
                    MessageType::ERROR,
                    format!("Scry: the index is unavailable: {why}"),
                )
                .await;
            return;
        }
        Slot::NoWorkspace | Slot::Starting => return,
    };
    let status = ws.engine.status();
    if let Some(why) = &status.model_problem {
        client
            .show_message(
                MessageType::WARNING,
                format!(
                    "Scry: search is BM25-only (keywords, no embeddings): {why}. \
                     Install a model with `scry models pull` or pass --embed-model."
                ),
            )
            .await;
    }
    for notice in &status.notices {
        client
            .show_message(MessageType::INFO, format!("Scry: {notice}"))
            .await;
    }
    ws.indexing.store(true, Ordering::SeqCst);
    let result = crate::indexing::refresh(client, session, &ws, "Scry: indexing").await;
    ws.indexing.store(false, Ordering::SeqCst);
    if let Err(e) = result {
        client
            .show_message(
                MessageType::ERROR,
                format!("Scry: indexing failed: {}", e.message),
            )
            .await;
    }
    if session.opts.watch {
        let watcher = ws.engine.watch(|r| match r {
            Ok(report) if report.changed() => tracing::info!(
                "index updated from disk: {} indexed, {} removed (generation {})",
                report.files_indexed,
                report.files_removed,
                report.generation
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!("updating the index from disk failed: {e}"),
        });
        match watcher {
            Ok(w) => *ws.watcher.lock() = Some(w),
            Err(e) => {
                client
                    .show_message(
                        MessageType::WARNING,
                        format!(
                            "Scry: cannot watch the files ({e}); run `scry.reindex` after changes"
                        ),
                    )
                    .await;
            }
        }
    }
}
