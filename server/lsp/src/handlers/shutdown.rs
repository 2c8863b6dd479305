//! `shutdown`: stop watching and indexing; `exit` then ends the process with code 0.

use std::sync::atomic::Ordering;

use tower_lsp_server::jsonrpc::Result;

use crate::server::Backend;

pub async fn shutdown(b: &Backend) -> Result<()> {
    b.session.shutdown.store(true, Ordering::SeqCst);
    if let Some(ws) = b.session.current() {
        let _ = tokio::task::spawn_blocking(move || ws.close()).await;
    }
    Ok(())
}
