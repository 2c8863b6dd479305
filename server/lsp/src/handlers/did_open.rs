//! `textDocument/didOpen`: track the buffer and make its text what the index holds.

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;

use crate::convert::uri_to_path;
use crate::document::{Document, MAX_DOCUMENT_BYTES};
use crate::server::Backend;

pub fn did_open(b: &Backend, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    let Some(path) = uri_to_path(&doc.uri) else {
        return;
    };
    let text = doc.text;
    let queued = (text.len() <= MAX_DOCUMENT_BYTES).then(|| text.clone());
    b.session.documents.lock().insert(
        doc.uri.to_string(),
        Document::new(path.clone(), text, doc.version),
    );
    if let (Some(ws), Some(text)) = (b.session.current(), queued) {
        ws.overlays.submit(&path, Some(text));
    }
}
