//! Scry's own LSP requests (`scry/search`, `scry/context`, `scry/ask`, `scry/status`):
//! their parameters and results on the wire. Specified in docs/lsp-protocol.md; change
//! both together.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tower_lsp_server::ls_types::{ProgressToken, Range, Uri};

pub const SEARCH: &str = "scry/search";
pub const CONTEXT: &str = "scry/context";
pub const ASK: &str = "scry/ask";
pub const STATUS: &str = "scry/status";
/// Only served when `SCRY_LSP_TEST_HOOKS=1`: panics inside a handler, to prove a panic
/// costs one request and not the server.
pub const TEST_PANIC: &str = "scry/_testPanic";

pub const CMD_REINDEX: &str = "scry.reindex";
pub const CMD_ASK: &str = "scry.ask";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SearchParams {
    pub query: String,
    #[serde(default)]
    pub k: Option<usize>,
    /// `hybrid` (default), `lexical` or `semantic`.
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub path_glob: Option<String>,
    /// Results by file: `k` files ranked by their evidence, each with its best ranges,
    /// in `files` (and `hits` empty).
    #[serde(default)]
    pub by_file: bool,
    #[serde(default)]
    pub work_done_token: Option<ProgressToken>,
    #[serde(default)]
    pub partial_result_token: Option<ProgressToken>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchResult {
    pub generation: u64,
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
    pub hits: Vec<SearchHit>,
    /// With `byFile`: the ranked files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<SearchFile>>,
}

/// A file of a search by file.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchFile {
    pub uri: Uri,
    pub language: String,
    /// Its best range's score; the whole file's evidence is weighed into it.
    pub score: f64,
    pub file_hash: String,
    pub stale: bool,
    /// Its best ranges (at most 3), best first.
    pub ranges: Vec<SearchHit>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub uri: Uri,
    pub range: Range,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub kind: String,
    pub language: String,
    pub score: f64,
    pub provenance: Provenance,
    pub generation: u64,
    pub file_hash: String,
    /// The file changed after it was indexed: the range may be off.
    pub stale: bool,
    pub snippet: String,
    /// The definition in the hit that matched the query (a hit may hold several small
    /// definitions), or the hit's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<DefinitionOut>,
}

/// A definition: its name, kind and scope, the whole definition (doc comments included)
/// and where its name is.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionOut {
    pub name: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub range: Range,
    pub selection_range: Range,
}

/// Where a hit came from: its 1-based rank in each retriever that found it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexical_rank: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vector_rank: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fast_rank: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContextParams {
    pub query: String,
    /// Tokens for the context block (default 4000).
    #[serde(default)]
    pub budget: Option<i64>,
    #[serde(default)]
    pub k: Option<usize>,
    #[serde(default)]
    pub path_glob: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub work_done_token: Option<ProgressToken>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContextResult {
    pub context: String,
    pub tokens: usize,
    pub budget: usize,
    /// `false`: `tokens` is a conservative estimate, never below the true count.
    pub exact_tokens: bool,
    pub omitted: usize,
    pub generation: u64,
    pub sources: Vec<Source>,
    pub notices: Vec<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub uri: Uri,
    pub range: Range,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// `full`, `signature` or `path`: how much of it is in the context.
    pub tier: &'static str,
    /// The file changed after it was indexed: the context shows the indexed text.
    pub stale: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AskParams {
    pub question: String,
    /// Tokens for the whole prompt (default: the configured budget).
    #[serde(default)]
    pub budget: Option<i64>,
    /// `fast` or `strong`; default: chosen by the question.
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default)]
    pub max_tokens: Option<usize>,
    /// Receives `{ "text": "…" }` as each piece of the answer arrives.
    #[serde(default)]
    pub partial_result_token: Option<ProgressToken>,
    #[serde(default)]
    pub work_done_token: Option<ProgressToken>,
}

/// One piece of a streamed answer, sent as the value of `$/progress`.
#[derive(Debug, Serialize)]
pub struct AskPartial<'a> {
    pub text: &'a str,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AskResult {
    /// `None` when no model answered; `context` then holds what would have been sent.
    pub answer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub role: &'static str,
    pub sources: Vec<Source>,
    pub notices: Vec<String>,
    pub fallbacks: Vec<String>,
    pub tokens_in: usize,
    pub tokens_out: usize,
    pub generation: u64,
    pub latency_ms: u64,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    /// `starting`, `indexing`, `ready`, `noWorkspace` or `error`.
    pub state: &'static str,
    pub version: &'static str,
    pub roots: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_dir: Option<String>,
    pub generation: u64,
    pub files: usize,
    pub chunks: u64,
    pub vectors: usize,
    /// `hybrid`, or `lexical` when there is no embedding model.
    pub mode: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embedding_model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_problem: Option<String>,
    /// Each vector tier's coverage (absent: the tier is not configured).
    pub vector_tiers: VectorTiers,
    pub chat_models: Vec<String>,
    pub open_documents: usize,
    pub problems: usize,
    /// The first files with problems (at most 20), for `:checkhealth`.
    pub problem_files: Vec<ProblemFile>,
    pub notices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub position_encoding: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
}

/// The fast tier (a static table distilled from the embedding model) and the full tier
/// (the model's own vectors, computed in the background).
#[derive(Debug, Default, Serialize)]
pub struct VectorTiers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fast: Option<VectorTier>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full: Option<VectorTier>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VectorTier {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub loaded: bool,
    pub chunks_with_vectors: usize,
    pub chunks: usize,
}

impl VectorTiers {
    pub fn of(tiers: &scry_engine::PerTier<Option<scry_engine::TierStatus>>) -> VectorTiers {
        let tier = |t: &Option<scry_engine::TierStatus>| {
            t.as_ref().map(|t| VectorTier {
                model: t.model.clone(),
                loaded: t.loaded,
                chunks_with_vectors: t.covered,
                chunks: t.chunks,
            })
        };
        VectorTiers {
            fast: tier(&tiers.fast),
            full: tier(&tiers.full),
        }
    }
}

/// A file with recorded chunking problems (parse errors, invalid UTF-8, too large…).
#[derive(Debug, Serialize)]
pub struct ProblemFile {
    pub path: String,
    pub problems: Vec<String>,
}

/// `scry.reindex`'s result.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReindexResult {
    pub generation: u64,
    pub files_indexed: usize,
    pub files_removed: usize,
    pub files_unchanged: usize,
    pub chunks_embedded: usize,
    pub seconds: f64,
}

/// Parses a request's params, turning a serde error into -32602 with the reason.
pub fn parse<T: serde::de::DeserializeOwned>(
    params: Option<Value>,
) -> tower_lsp_server::jsonrpc::Result<T> {
    serde_json::from_value(params.unwrap_or(Value::Null)).map_err(|e| invalid_params(e.to_string()))
}

pub fn invalid_params(message: impl Into<String>) -> tower_lsp_server::jsonrpc::Error {
    tower_lsp_server::jsonrpc::Error::invalid_params(message.into())
}
