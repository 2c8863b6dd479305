//! The rmcp `ServerHandler`: initialize (capabilities, instructions), `tools/list`,
//! `tools/call` dispatch and `logging/setLevel`. One per session; all share [`Shared`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult, LoggingLevel,
    LoggingMessageNotificationParam, PaginatedRequestParams, ServerCapabilities, ServerConfig,
    SetLevelRequestParams, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::state::Shared;
use crate::tools;

/// What an agent is told at initialize: which tool to reach for when.
pub const INSTRUCTIONS: &str = "\
Scry indexes this workspace's code (tree-sitter chunks, BM25 plus embeddings) and \
keeps the index current as files change. All tools are read-only.

- Start with `get_context`: give it the question or task in plain words and a token \
budget; it returns the most relevant code, packed to fit, with its sources. Paste the \
context into your reasoning instead of opening files one by one.
- Use `search_code` to locate code (where is X handled, who calls Y): ranked hits with \
path, lines, symbol and a snippet. Page with `cursor`.
- Use `find_symbol` when you know (part of) a name: definitions, fuzzy by default \
(`rtreq` finds `route_request`).
- Use `read_range` to read exact lines of a file, e.g. around a hit; it always reads \
the disk.
- `ask` answers a question with the local model and cites sources; without a model it \
returns the packed context and says so.
- `index_status` tells whether the index is complete and fresh.

Every hit carries `stale`: true means the file changed on disk since it was indexed \
(use `read_range` for the current text). With `deadline_ms`, a slow call returns \
`partial: true` and a `cursor` that finishes the work. Paths are relative to a \
workspace root; nothing outside the roots is ever served, and secrets are masked.";

/// Levels as numbers, lowest first, for "at least this severe".
fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

#[derive(Clone)]
pub struct ScryMcp {
    pub(crate) shared: Arc<Shared>,
    /// The least severe level this session's client wants to hear.
    log_level: Arc<AtomicU8>,
}

impl ScryMcp {
    pub fn new(shared: Arc<Shared>) -> ScryMcp {
        ScryMcp {
            shared,
            log_level: Arc::new(AtomicU8::new(rank(LoggingLevel::Info))),
        }
    }

    /// Sends a `notifications/message` if the client asked for this level.
    pub(crate) async fn log(
        &self,
        ctx: &RequestContext<RoleServer>,
        level: LoggingLevel,
        text: impl Into<String>,
    ) {
        if rank(level) < self.log_level.load(Ordering::Relaxed) {
            return;
        }
        let mut p = LoggingMessageNotificationParam::new(level, text.into().into());
        p.logger = Some("scry".into());
        if let Err(e) = ctx.peer.notify_logging_message(p).await {
            tracing::debug!("log notification not sent: {e}");
        }
    }
}

impl ServerHandler for ScryMcp {
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .build();
        let mut info = ServerConfig::new(capabilities).with_instructions(INSTRUCTIONS);
        let mut implementation = Implementation::new("scry", env!("CARGO_PKG_VERSION"));
        implementation.title = Some("Scry code context".into());
        implementation.description =
            Some("Offline code search, context packing and answers over a live index".into());
        info.server_info = implementation;
        info
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        // Six tools fit one page; a cursor we never issued is a client error.
        if let Some(c) = request.and_then(|r| r.cursor) {
            return Err(ErrorData::invalid_params(
                format!("unknown cursor {c:?}: tools/list has a single page"),
                None,
            ));
        }
        Ok(ListToolsResult::with_all_items(tools::list(&self.shared)))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        tools::list(&self.shared)
            .into_iter()
            .find(|t| t.name == name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        ctx: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        tools::call(self, request, ctx).await.map(Into::into)
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _ctx: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.log_level.store(rank(request.level), Ordering::Relaxed);
        Ok(())
    }
}
