//! `textDocument/didClose`: forget the buffer; the file on disk is indexed again.

use tower_lsp_server::ls_types::DidCloseTextDocumentParams;

use crate::server::Backend;

pub fn did_close(b: &Backend, params: DidCloseTextDocumentParams) {
    let doc = b
        .session
        .documents
        .lock()
        .remove(&params.text_document.uri.to_string());
    if let (Some(doc), Some(ws)) = (doc, b.session.current()) {
        ws.overlays.submit(&doc.path, None);
    }
}
