//! `shutdown`: stop watching and indexing; `exit` then ends the process with code 0.

use std::sync::atomic::Ordering;

use tower_lsp_server::jsonrpc::Result;

use crate::server::Backend;

pub async fn shutdown(b: &Backend) -> Result<()> {
    b.session.shutdown.store(true, Ordering::SeqCst);
    // Stop watching; the buffer queue ends on its own. Nothing here waits on indexing,
    // so `exit` can follow at once.
    let watcher = b.session.current().and_then(|ws| ws.watcher.lock().take());
    if let Some(w) = watcher {
        // Dropping a watcher joins its thread, which may be mid-refresh.
        tokio::task::spawn_blocking(move || drop(w));
    }
    Ok(())
}
