//! `scry/context`: retrieval packed into a token budget, with its sources, for a client
//! that writes its own prompt.

use scry_answer::{ContextOptions, MAX_CONTEXT_BUDGET, MIN_CONTEXT_BUDGET, Piece};
use scry_engine::MAX_K;
use tower_lsp_server::jsonrpc::Result;

use super::search::FLUSH_WAIT;
use super::{answer_error, blocking, guarded};
use crate::convert::{file_uri, line_range};
use crate::encoding::PositionEncoding;
use crate::journal::journaled;
use crate::protocol::{ContextParams, ContextResult, Source, invalid_params};
use crate::server::Backend;

pub const DEFAULT_CONTEXT_BUDGET: usize = 4000;

impl Backend {
    pub async fn scry_context(&self, p: ContextParams) -> Result<ContextResult> {
        journaled(
            self,
            "scry/context",
            guarded("scry/context", context(self, p)),
        )
        .await
    }
}

/// A budget from the wire: positive and within the limits.
pub fn budget(given: Option<i64>, default: usize, min: usize, max: usize) -> Result<usize> {
    match given {
        None => Ok(default),
        Some(b) if b < min as i64 || b > max as i64 => Err(invalid_params(format!(
            "a budget of {b} tokens is outside {min}..={max}"
        ))),
        Some(b) => Ok(b as usize),
    }
}

async fn context(b: &Backend, p: ContextParams) -> Result<ContextResult> {
    let opts = ContextOptions {
        budget: budget(
            p.budget,
            DEFAULT_CONTEXT_BUDGET,
            MIN_CONTEXT_BUDGET,
            MAX_CONTEXT_BUDGET,
        )?,
        k: p.k.unwrap_or(ContextOptions::default().k).clamp(1, MAX_K),
        path_glob: p.path_glob,
        language: p.language,
        ..ContextOptions::default()
    };
    let ws = b.session.workspace().await?;
    ws.overlays.flushed(FLUSH_WAIT).await;
    let enc = b.session.encoding();
    blocking(move || {
        let out = scry_answer::context(ws.engine(), &p.query, &opts, None).map_err(answer_error)?;
        Ok(ContextResult {
            context: out.context,
            tokens: out.tokens,
            budget: out.budget,
            exact_tokens: out.exact,
            omitted: out.omitted,
            generation: out.generation,
            sources: sources(&out.sources, enc),
            notices: out.notices,
        })
    })
    .await
}

/// Packed pieces as LSP locations (whole lines: a piece may merge several hits).
pub fn sources(pieces: &[Piece], enc: PositionEncoding) -> Vec<Source> {
    pieces
        .iter()
        .map(|p| Source {
            uri: file_uri(&p.file),
            range: line_range(p.start_line, p.end_line, "", enc),
            symbol: p.symbol.clone(),
            tier: p.tier.as_str(),
            stale: p.file.stale,
        })
        .collect()
}
