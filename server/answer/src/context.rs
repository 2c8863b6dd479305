//! `context`: retrieval packed into a token budget for a caller that writes its own
//! prompt — the editor's `scry/context` and the agent's `get_context`.

use scry_engine::{Engine, SearchMode, SearchRequest, SearchResults};
use scry_models::{ChatMessage, TokenCount};

use crate::pack::{Estimator, Piece, TokenCounter, pack};
use crate::{AnswerError, PromptTemplate};

/// Largest budget accepted: far beyond any context window in use.
pub const MAX_CONTEXT_BUDGET: usize = 200_000;
/// Smallest budget that can hold one labelled excerpt.
pub const MIN_CONTEXT_BUDGET: usize = 64;

#[derive(Debug, Clone)]
pub struct ContextOptions {
    /// Tokens for the context block.
    pub budget: usize,
    /// Hits retrieved before packing.
    pub k: usize,
    pub mode: SearchMode,
    pub path_glob: Option<String>,
    pub language: Option<String>,
}

impl Default for ContextOptions {
    fn default() -> Self {
        ContextOptions {
            budget: 4000,
            k: 40,
            mode: SearchMode::Hybrid,
            path_glob: None,
            language: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ContextOutcome {
    pub context: String,
    pub sources: Vec<Piece>,
    /// Tokens of `context`, never over `budget`.
    pub tokens: usize,
    pub budget: usize,
    /// Whether `tokens` is a tokenizer's count (else a conservative estimate).
    pub exact: bool,
    /// Hits that did not fit.
    pub omitted: usize,
    pub generation: u64,
    pub notices: Vec<String>,
}

/// Counts the text of the messages alone: the context template has no chat framing.
struct TextOnly<'a>(&'a dyn TokenCounter);

impl TokenCounter for TextOnly<'_> {
    fn count_text(&self, text: &str) -> TokenCount {
        self.0.count_text(text)
    }
    fn count_messages(&self, messages: &[ChatMessage]) -> TokenCount {
        let text: Vec<&str> = messages
            .iter()
            .map(|m| m.content.as_str())
            .filter(|t| !t.is_empty())
            .collect();
        self.0.count_text(&text.join("\n"))
    }
}

/// Searches for `query` and packs the hits into `opts.budget` tokens. `counter` is the
/// caller's tokenizer when it has one; otherwise a conservative estimate is used.
pub fn context(
    engine: &Engine,
    query: &str,
    opts: &ContextOptions,
    counter: Option<&dyn TokenCounter>,
) -> Result<ContextOutcome, AnswerError> {
    let query = query.trim();
    if query.is_empty() {
        return Err(AnswerError::InvalidRequest("the query is empty".into()));
    }
    if query.len() > crate::ask::MAX_QUESTION_BYTES {
        return Err(AnswerError::InvalidRequest(format!(
            "the query is {} bytes; the limit is {}",
            query.len(),
            crate::ask::MAX_QUESTION_BYTES
        )));
    }
    if !(MIN_CONTEXT_BUDGET..=MAX_CONTEXT_BUDGET).contains(&opts.budget) {
        return Err(AnswerError::InvalidRequest(format!(
            "a budget of {} tokens is outside {MIN_CONTEXT_BUDGET}..={MAX_CONTEXT_BUDGET}",
            opts.budget
        )));
    }
    let mut request = SearchRequest::new(query);
    request.k = opts.k.clamp(1, scry_engine::MAX_K);
    request.mode = opts.mode;
    request.path_glob = opts.path_glob.clone();
    request.language = opts.language.clone();
    let results = engine.search(&request)?;
    pack_results(results, opts, counter)
}

/// Packs hits already retrieved (by a caller that searched under its own deadline) into
/// `opts.budget` tokens, as [`context`] does. Each source says whether its file changed
/// since it was indexed.
pub fn pack_results(
    results: SearchResults,
    opts: &ContextOptions,
    counter: Option<&dyn TokenCounter>,
) -> Result<ContextOutcome, AnswerError> {
    if !(MIN_CONTEXT_BUDGET..=MAX_CONTEXT_BUDGET).contains(&opts.budget) {
        return Err(AnswerError::InvalidRequest(format!(
            "a budget of {} tokens is outside {MIN_CONTEXT_BUDGET}..={MAX_CONTEXT_BUDGET}",
            opts.budget
        )));
    }
    let counter = TextOnly(counter.unwrap_or(&Estimator));
    let packed = pack(
        &results.hits,
        &results.sources,
        "",
        &PromptTemplate::context(),
        &[],
        opts.budget,
        &counter,
    )?;
    let notices = results
        .notice
        .into_iter()
        .chain(crate::pack::stale_notice(&packed.pieces))
        .collect();
    Ok(ContextOutcome {
        context: packed.context,
        sources: packed.pieces,
        tokens: packed.tokens,
        budget: opts.budget,
        exact: packed.exact,
        omitted: packed.omitted,
        generation: results.generation,
        notices,
    })
}
