//! `workspace/didChangeWorkspaceFolders`: re-open the index over the new set of folders
//! (the index directory belongs to the set), feed it the open buffers, and refresh.

use std::path::PathBuf;

use tower_lsp_server::ls_types::DidChangeWorkspaceFoldersParams;

use crate::convert::uri_to_path;
use crate::server::Backend;

pub fn did_change_workspace_folders(b: &Backend, params: DidChangeWorkspaceFoldersParams) {
    let mut roots = b.session.roots.lock().clone();
    for removed in &params.event.removed {
        if let Some(p) = uri_to_path(&removed.uri) {
            roots.retain(|r| r.as_path() != std::path::Path::new(&p));
        }
    }
    for added in &params.event.added {
        if let Some(p) = uri_to_path(&added.uri).map(PathBuf::from)
            && p.is_dir()
            && !roots.contains(&p)
        {
            roots.push(p);
        }
    }
    let session = b.session.clone();
    let client = b.client.clone();
    tokio::spawn(async move {
        session.open(roots).await;
        super::initialized::after_open(&client, &session).await;
    });
}
