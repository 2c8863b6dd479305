//! `scry/search`: hybrid search → hits (or, with `byFile`, files with their best
//! ranges) with URIs, exact ranges in the negotiated encoding, provenance, the
//! generation read, and a `stale` flag.

use std::time::Duration;

use scry_engine::{MAX_K, MAX_QUERY_BYTES, SearchMode, SearchRequest};
use tower_lsp_server::jsonrpc::Result;

use super::{CancelOnDrop, blocking, engine_error, guarded};
use crate::convert::{RangeMaker, file_uri};
use crate::journal::journaled;
use crate::protocol::{
    DefinitionOut, Provenance, SearchFile, SearchHit, SearchParams, SearchResult, invalid_params,
};
use crate::server::Backend;

/// How long a search waits for queued buffer edits to reach the index.
pub const FLUSH_WAIT: Duration = Duration::from_secs(2);
pub const DEFAULT_K: usize = 20;
/// Said with results served while the first indexing still runs.
pub const INDEXING_NOTICE: &str = "indexing is still running: results may be incomplete";

impl Backend {
    pub async fn scry_search(&self, p: SearchParams) -> Result<SearchResult> {
        journaled(self, "scry/search", guarded("scry/search", search(self, p))).await
    }
}

pub fn parse_mode(mode: Option<&str>) -> Result<SearchMode> {
    match mode {
        None => Ok(SearchMode::Hybrid),
        Some(m) => m.parse().map_err(invalid_params),
    }
}

async fn search(b: &Backend, p: SearchParams) -> Result<SearchResult> {
    if p.query.trim().is_empty() {
        return Err(invalid_params("the query is empty"));
    }
    if p.query.len() > MAX_QUERY_BYTES {
        return Err(invalid_params(format!(
            "the query is {} bytes; the limit is {MAX_QUERY_BYTES}",
            p.query.len()
        )));
    }
    let mode = parse_mode(p.mode.as_deref())?;
    let mut req = SearchRequest::new(p.query)
        .k(p.k.unwrap_or(DEFAULT_K).clamp(1, MAX_K))
        .mode(mode)
        .language(p.language)
        .path_glob(p.path_glob)
        .by_file(p.by_file);
    req.kind = p.kind;
    let by_file = p.by_file;
    let ws = b.session.workspace().await?;
    ws.overlays.flushed(FLUSH_WAIT).await;
    let enc = b.session.encoding();
    let indexing = ws.indexing();
    let cancel = CancelOnDrop::new();
    let flag = cancel.flag();
    blocking(move || {
        let results = ws.engine().search(&req).map_err(engine_error)?;
        if flag.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(tower_lsp_server::jsonrpc::Error::request_cancelled());
        }
        let mut ranges = RangeMaker::new(&results.sources, enc);
        let hits = results
            .hits
            .iter()
            .map(|h| search_hit(h, &mut ranges))
            .collect();
        let files = by_file.then(|| {
            results
                .files
                .iter()
                .map(|f| SearchFile {
                    uri: file_uri(&f.file),
                    language: f.language.clone(),
                    score: f.score,
                    file_hash: f.file.hash.to_string(),
                    stale: f.file.stale,
                    ranges: f
                        .ranges
                        .iter()
                        .map(|h| search_hit(h, &mut ranges))
                        .collect(),
                })
                .collect()
        });
        let notice = match (results.notice, indexing) {
            (n, false) => n,
            (None, true) => Some(INDEXING_NOTICE.to_owned()),
            (Some(n), true) => Some(format!("{n}; {INDEXING_NOTICE}")),
        };
        Ok(SearchResult {
            generation: results.generation,
            mode: results.mode.as_str(),
            notice,
            hits,
            files,
        })
    })
    .await
}

fn search_hit(h: &scry_engine::Hit, ranges: &mut RangeMaker) -> SearchHit {
    let definition = h.definition.as_ref().map(|d| DefinitionOut {
        name: d.name.clone(),
        kind: d.kind.as_str(),
        scope: d.scope.clone(),
        range: ranges.range(&h.file, d.span, ""),
        selection_range: ranges.range(&h.file, d.name_span, ""),
    });
    SearchHit {
        uri: file_uri(&h.file),
        range: ranges.range(&h.file, h.span, &h.text),
        symbol: h.symbol.clone(),
        scope: h.scope.clone(),
        kind: h.kind.clone(),
        language: h.language.clone(),
        score: h.score,
        provenance: Provenance {
            lexical_rank: h.ranks.lexical,
            vector_rank: h.ranks.vector,
            fast_rank: h.ranks.fast,
        },
        generation: h.generation,
        file_hash: h.file.hash.to_string(),
        stale: h.file.stale,
        snippet: h.text.clone(),
        definition,
    }
}
