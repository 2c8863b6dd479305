//! The `LanguageServer` implementation: each method hands off to its file in `handlers/`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    DidChangeTextDocumentParams, DidChangeWorkspaceFoldersParams, DidCloseTextDocumentParams,
    DidOpenTextDocumentParams, DidSaveTextDocumentParams, ExecuteCommandParams, InitializeParams,
    InitializeResult, InitializedParams, LSPAny, WorkspaceSymbolParams, WorkspaceSymbolResponse,
};
use tower_lsp_server::{Client, LanguageServer};

use crate::LspOptions;
use crate::handlers;
use crate::session::Session;

pub struct Backend {
    pub client: Client,
    pub session: Arc<Session>,
}

impl Backend {
    pub fn new(client: Client, opts: LspOptions, shutdown: Arc<AtomicBool>) -> Backend {
        Backend {
            client,
            session: Arc::new(Session::new(opts, shutdown)),
        }
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        handlers::guarded("initialize", handlers::initialize::initialize(self, params)).await
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::initialized::initialized(self);
    }

    async fn shutdown(&self) -> Result<()> {
        handlers::shutdown::shutdown(self).await
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::notify_guarded("didOpen", || handlers::did_open::did_open(self, params));
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::notify_guarded("didChange", || {
            handlers::did_change::did_change(self, params)
        });
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        handlers::notify_guarded("didSave", || handlers::did_save::did_save(self, params));
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::notify_guarded("didClose", || handlers::did_close::did_close(self, params));
    }

    async fn did_change_workspace_folders(&self, params: DidChangeWorkspaceFoldersParams) {
        handlers::workspace_folders::did_change_workspace_folders(self, params);
    }

    async fn symbol(
        &self,
        params: WorkspaceSymbolParams,
    ) -> Result<Option<WorkspaceSymbolResponse>> {
        let method = "workspace/symbol";
        let handled = handlers::guarded(method, handlers::workspace_symbol::symbol(self, params));
        crate::journal::journaled(self, method, handled).await
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<LSPAny>> {
        handlers::guarded(
            "workspace/executeCommand",
            handlers::execute_command::execute_command(self, params),
        )
        .await
    }
}
