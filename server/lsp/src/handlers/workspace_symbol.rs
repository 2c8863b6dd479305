//! `workspace/symbol`: definitions from the index, fuzzy on their names.

use scry_engine::SymbolQuery;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    Location, SymbolInformation, WorkspaceSymbolParams, WorkspaceSymbolResponse,
};

use super::search::FLUSH_WAIT;
use super::{blocking, engine_error};
use crate::convert::{RangeMaker, file_uri, symbol_kind};
use crate::server::Backend;

/// Symbols returned per request; editors filter further as the user types.
const LIMIT: usize = 256;

pub async fn symbol(
    b: &Backend,
    params: WorkspaceSymbolParams,
) -> Result<Option<WorkspaceSymbolResponse>> {
    let ws = b.session.workspace().await?;
    ws.overlays.flushed(FLUSH_WAIT).await;
    let enc = b.session.encoding();
    blocking(move || {
        let mut q = SymbolQuery::new(params.query);
        q.limit = LIMIT;
        let found = ws.engine().symbols(&q).map_err(engine_error)?;
        let mut ranges = RangeMaker::new(&found.sources, enc);
        #[allow(deprecated)] // `deprecated` is a required field of SymbolInformation.
        let list = found
            .hits
            .into_iter()
            .map(|s| {
                let d = s.definition;
                // The whole definition, as LSP's SymbolInformation asks ("usually spans
                // more than the actual symbol's name").
                let range = ranges.range(&s.file, d.span, "");
                SymbolInformation {
                    name: d.name,
                    kind: symbol_kind(d.kind.as_str()),
                    tags: None,
                    deprecated: None,
                    location: Location::new(file_uri(&s.file), range),
                    container_name: d.scope,
                }
            })
            .collect();
        Ok(Some(WorkspaceSymbolResponse::Flat(list)))
    })
    .await
}
