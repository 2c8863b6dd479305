//! `textDocument/didSave`: nothing to do. The buffer is already indexed, and it stays
//! authoritative while open; the watcher sees the write and the disk takes over at close.

use tower_lsp_server::ls_types::DidSaveTextDocumentParams;

use crate::server::Backend;

pub fn did_save(_: &Backend, params: DidSaveTextDocumentParams) {
    tracing::debug!("saved {}", params.text_document.uri.as_str());
}
