//! `workspace/symbol`: definitions from the index, fuzzy on their names.

use scry_engine::SymbolQuery;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::{
    Location, SymbolInformation, WorkspaceSymbolParams, WorkspaceSymbolResponse,
};

use super::search::FLUSH_WAIT;
use super::{blocking, engine_error};
use crate::convert::{RangeMaker, path_to_uri, symbol_kind};
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
        let found = ws.engine.symbols(&q).map_err(engine_error)?;
        let mut ranges = RangeMaker::new(&ws.engine, enc);
        #[allow(deprecated)] // `deprecated` is a required field of SymbolInformation.
        let list = found
            .into_iter()
            .map(|s| {
                let (range, _) = ranges.span(
                    &s.root,
                    &s.path,
                    &s.file_hash,
                    (s.byte_start, s.byte_end),
                    (s.start_line, s.end_line),
                    "",
                );
                SymbolInformation {
                    name: s.symbol,
                    kind: symbol_kind(&s.kind),
                    tags: None,
                    deprecated: None,
                    location: Location::new(path_to_uri(&s.root, &s.path), range),
                    container_name: s.scope,
                }
            })
            .collect();
        Ok(Some(WorkspaceSymbolResponse::Flat(list)))
    })
    .await
}
