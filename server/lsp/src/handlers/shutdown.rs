//! `shutdown`: stop watching and indexing; `exit` then ends the process with code 0.

use std::sync::atomic::Ordering;

use tower_lsp_server::jsonrpc::Result;

use crate::server::Backend;

pub async fn shutdown(b: &Backend) -> Result<()> {
    b.session.shutdown.store(true, Ordering::SeqCst);
    // Stop watching; the buffer queue ends on its own. Nothing here waits on indexing,
    // so `exit` can follow at once.
    if let Some(ws) = b.session.current() {
        // Dropping the watcher joins its thread, which may be mid-refresh.
        tokio::task::spawn_blocking(move || ws.lifecycle.close());
    }
    Ok(())
}
