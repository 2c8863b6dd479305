//! `get_context`: the code that answers a question, packed into a token budget, with
//! its sources — what an agent should call first.

use rmcp::model::{LoggingLevel, Tool};
use schemars::JsonSchema;
use scry_answer::{ContextOptions, MAX_CONTEXT_BUDGET, MIN_CONTEXT_BUDGET, pack_results};
use scry_engine::{SearchMode, SearchRequest};
use serde::{Deserialize, Serialize};

use super::{Call, Output, ToolError, cursor, define, read_only_annotations};

pub const NAME: &str = "get_context";
const DEFAULT_BUDGET: u64 = 4000;
/// Hits retrieved before packing.
const RETRIEVE: usize = 40;

pub fn tool() -> Tool {
    define::<Input, ContextOutput>(
        NAME,
        "Get context",
        "Reach for this first. Give it a question or task in plain words (\"how does the \
         server handle cancellation\") and a token budget; it searches the workspace and \
         returns the most relevant code packed to fit the budget exactly (whole functions \
         first, then signatures of the rest), labelled with paths and line ranges, ready to \
         read or paste into a prompt, plus the list of sources. Sources marked `stale` \
         changed on disk since indexing. With `deadline_ms`, a slow call returns context \
         from BM25 hits marked `partial` and a cursor that completes it.",
        read_only_annotations(),
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The question or task, in plain words or identifiers. At most 8 KiB.
    pub query: String,
    /// Tokens the context may take, 64 to 200000 (default 4000).
    #[schemars(range(min = 64, max = 200000))]
    pub budget: Option<u64>,
    /// Only chunks of this language.
    pub language: Option<String>,
    /// Only files whose workspace-relative path matches this glob.
    pub path_glob: Option<String>,
    /// Return what is ready after this many milliseconds (1 to 120000), marked partial.
    #[schemars(range(min = 1, max = 120000))]
    pub deadline_ms: Option<u64>,
    /// `next_cursor` of a partial result (same query): completes it.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ContextOutput {
    /// The packed context: labelled excerpts, within `budget` tokens.
    pub context: String,
    pub sources: Vec<SourceOut>,
    /// Tokens `context` takes.
    pub tokens: usize,
    pub budget: usize,
    /// Whether `tokens` was counted by a tokenizer (else a conservative estimate).
    pub exact_tokens: bool,
    /// Hits that did not fit the budget.
    pub omitted: usize,
    pub generation: u64,
    pub partial: bool,
    pub next_cursor: Option<String>,
    pub notices: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SourceOut {
    pub path: String,
    pub root: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
    /// "full" (the whole chunk) or "signature" (its signature only).
    pub tier: String,
    /// The file changed on disk since it was indexed.
    pub stale: bool,
}

impl SourceOut {
    /// One line of a text rendering: `- path:lines symbol (tier) STALE`.
    pub fn line(&self) -> String {
        format!(
            "- {}:{}-{}{} ({}){}\n",
            self.path,
            self.start_line,
            self.end_line,
            self.symbol
                .as_deref()
                .map(|x| format!(" {x}"))
                .unwrap_or_default(),
            self.tier,
            if self.stale { " STALE" } else { "" }
        )
    }

    pub fn of(p: &scry_answer::Piece) -> SourceOut {
        SourceOut {
            path: p.file.path.clone(),
            root: p.file.root.display().to_string(),
            start_line: p.start_line,
            end_line: p.end_line,
            symbol: p.symbol.clone(),
            tier: p.tier.as_str().to_owned(),
            stale: p.file.stale,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct State {
    query: String,
    budget: u64,
    language: Option<String>,
    path_glob: Option<String>,
}

pub async fn run(call: &Call<'_>, input: Input) -> Result<ContextOutput, ToolError> {
    let deadline = call.deadline(input.deadline_ms)?;
    let mut state = State {
        query: input.query,
        budget: input.budget.unwrap_or(DEFAULT_BUDGET),
        language: input.language,
        path_glob: input.path_glob,
    };
    if let Some(c) = &input.cursor {
        state = cursor::resume(NAME, c, "query", |s: &State| s.query == state.query)
            .map_err(ToolError::Invalid)?;
    }
    if !(MIN_CONTEXT_BUDGET as u64..=MAX_CONTEXT_BUDGET as u64).contains(&state.budget) {
        return Err(ToolError::Invalid(format!(
            "budget must be within {MIN_CONTEXT_BUDGET}..={MAX_CONTEXT_BUDGET} tokens, not {}",
            state.budget
        )));
    }
    let request = SearchRequest::new(state.query.clone())
        .k(RETRIEVE)
        .mode(SearchMode::Hybrid)
        .language(state.language.clone())
        .path_glob(state.path_glob.clone());
    let indexing = call.first_index(deadline).await;
    call.progress(0.0, Some(3.0), Some("searching".into()))
        .await;
    let (results, partial) = call.search_within(deadline, request).await?;
    call.progress(1.0, Some(3.0), Some("packing".into())).await;
    let opts = ContextOptions {
        budget: state.budget as usize,
        k: RETRIEVE,
        language: state.language.clone(),
        path_glob: state.path_glob.clone(),
        ..ContextOptions::default()
    };
    let mut out = call
        .blocking(move |_| {
            let packed = pack_results(results, &opts, None)?;
            let sources = packed.sources.iter().map(SourceOut::of).collect();
            Ok(ContextOutput {
                context: packed.context,
                sources,
                tokens: packed.tokens,
                budget: packed.budget,
                exact_tokens: packed.exact,
                omitted: packed.omitted,
                generation: packed.generation,
                partial,
                next_cursor: None,
                notices: packed.notices,
            })
        })
        .await?;
    call.progress(3.0, Some(3.0), None).await;
    if partial {
        out.notices.push(
            "partial: the deadline passed before the full search finished; this context \
             comes from BM25 hits. Call again with next_cursor for the complete one."
                .into(),
        );
        out.next_cursor = Some(cursor::encode(NAME, &state));
    }
    out.notices.extend(indexing);
    for n in &out.notices {
        call.log(LoggingLevel::Warning, n.clone()).await;
    }
    Ok(out)
}

impl Output for ContextOutput {
    fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.notices {
            s.push_str(&format!("note: {n}\n"));
        }
        s.push_str(&self.context);
        if !self.context.ends_with('\n') {
            s.push('\n');
        }
        s.push_str(&format!(
            "\n{} tokens of {}; sources:\n",
            self.tokens, self.budget
        ));
        for src in &self.sources {
            s.push_str(&src.line());
        }
        if let Some(c) = &self.next_cursor {
            s.push_str(&format!("next_cursor: {c}\n"));
        }
        s
    }
}
