//! `initialize`: negotiate the position encoding, learn the folders, start opening the
//! index (the reply does not wait for it), and say what Scry serves.

use std::path::PathBuf;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    ExecuteCommandOptions, InitializeParams, InitializeResult, OneOf, SaveOptions,
    ServerCapabilities, ServerInfo, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, WorkspaceFoldersServerCapabilities,
    WorkspaceServerCapabilities,
};

use crate::convert::uri_to_path;
use crate::encoding::PositionEncoding;
use crate::protocol;
use crate::server::Backend;
use crate::session::ClientFlags;

pub async fn initialize(b: &Backend, params: InitializeParams) -> Result<InitializeResult> {
    let offered = params
        .capabilities
        .general
        .as_ref()
        .and_then(|g| g.position_encodings.as_deref());
    let enc = PositionEncoding::negotiate(offered);
    *b.session.encoding.write() = enc;
    *b.session.flags.write() = ClientFlags {
        work_done_progress: params
            .capabilities
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false),
    };

    let roots = client_roots(&params);
    let session = b.session.clone();
    tokio::spawn(async move {
        session.open(roots).await;
    });

    Ok(InitializeResult {
        capabilities: ServerCapabilities {
            position_encoding: Some(enc.kind()),
            text_document_sync: Some(TextDocumentSyncCapability::Options(
                TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(TextDocumentSyncKind::INCREMENTAL),
                    save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                        include_text: Some(false),
                    })),
                    ..Default::default()
                },
            )),
            workspace_symbol_provider: Some(OneOf::Left(true)),
            execute_command_provider: Some(ExecuteCommandOptions {
                commands: vec![protocol::CMD_REINDEX.into(), protocol::CMD_ASK.into()],
                ..Default::default()
            }),
            workspace: Some(WorkspaceServerCapabilities {
                workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                    supported: Some(true),
                    change_notifications: Some(OneOf::Left(true)),
                }),
                file_operations: None,
            }),
            experimental: Some(serde_json::json!({
                "scryRequests": [protocol::SEARCH, protocol::CONTEXT, protocol::ASK, protocol::STATUS],
            })),
            ..Default::default()
        },
        server_info: Some(ServerInfo {
            name: "scry".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        ..Default::default()
    })
}

/// The folders to index: `workspaceFolders`, else the deprecated `rootUri`. Folders
/// that are not local directories are skipped.
fn client_roots(params: &InitializeParams) -> Vec<PathBuf> {
    let mut uris = Vec::new();
    if let Some(folders) = &params.workspace_folders {
        uris.extend(folders.iter().map(|f| f.uri.clone()));
    }
    #[allow(deprecated)]
    if uris.is_empty()
        && let Some(root) = &params.root_uri
    {
        uris.push(root.clone());
    }
    uris.iter()
        .filter_map(uri_to_path)
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}
