//! `textDocument/didChange`: apply the edits, then queue the new text for the index, so
//! unsaved edits are searchable.

use tower_lsp_server::ls_types::DidChangeTextDocumentParams;

use crate::document::MAX_DOCUMENT_BYTES;
use crate::server::Backend;

pub fn did_change(b: &Backend, params: DidChangeTextDocumentParams) {
    let enc = b.session.encoding();
    let key = params.text_document.uri.to_string();
    let mut docs = b.session.documents.lock();
    let Some(doc) = docs.get_mut(&key) else {
        tracing::warn!("didChange for {key}, which is not open");
        return;
    };
    doc.apply(params.content_changes, params.text_document.version, enc);
    if let Some(ws) = b.session.current()
        && doc.text.len() <= MAX_DOCUMENT_BYTES
    {
        ws.overlays.submit(&doc.path, Some(doc.text.clone()));
    }
}
