//! `find_symbol`: definitions by name, fuzzy by default, a page at a time.

use rmcp::model::Tool;
use schemars::JsonSchema;
use scry_engine::{MAX_SYMBOLS, SymbolQuery};
use serde::{Deserialize, Serialize};

use super::{Call, Output, ToolError, cursor, define, read_only_annotations};

pub const NAME: &str = "find_symbol";
const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 200;
/// Longest name accepted.
const MAX_NAME_BYTES: usize = 256;

pub fn tool() -> Tool {
    define::<Input, SymbolsOutput>(
        NAME,
        "Find symbol",
        "Find definitions (functions, methods, types, classes, traits, constants…) by \
         name. Fuzzy by default, best match first: exact, then case-insensitive, prefix, \
         word starts, acronyms (\"rtreq\" finds route_request). Set `fuzzy: false` for \
         exact, case-sensitive names, and `kind` to keep one kind. Returns path and line \
         of each definition; read it with read_range.",
        read_only_annotations(),
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The name or part of it. At most 256 bytes.
    pub name: String,
    /// Only this kind: function, method, struct, enum, trait, class, interface, type,
    /// constant, module, impl…
    pub kind: Option<String>,
    /// Fuzzy matching (default true).
    pub fuzzy: Option<bool>,
    /// Definitions per page, 1 to 200 (default 20).
    #[schemars(range(min = 1, max = 200))]
    pub limit: Option<u64>,
    /// `next_cursor` from a previous call with the same name.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SymbolsOutput {
    pub symbols: Vec<SymbolOut>,
    pub generation: u64,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SymbolOut {
    pub name: String,
    pub kind: String,
    /// The enclosing type or module, when there is one.
    pub container: Option<String>,
    pub path: String,
    pub root: String,
    pub language: String,
    /// 1-based line where the name is defined.
    pub line: u32,
    /// The whole definition (doc comments included), 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// Higher is a better match.
    pub score: u32,
    /// The file changed on disk since it was indexed.
    pub stale: bool,
}

#[derive(Serialize, Deserialize)]
struct State {
    name: String,
    kind: Option<String>,
    fuzzy: bool,
    limit: u64,
    offset: usize,
}

pub async fn run(call: &Call<'_>, input: Input) -> Result<SymbolsOutput, ToolError> {
    let mut state = State {
        name: input.name,
        kind: input.kind,
        fuzzy: input.fuzzy.unwrap_or(true),
        limit: input.limit.unwrap_or(DEFAULT_LIMIT),
        offset: 0,
    };
    if state.name.trim().is_empty() {
        return Err(ToolError::Invalid("the name is empty".into()));
    }
    if state.name.len() > MAX_NAME_BYTES {
        return Err(ToolError::Invalid(format!(
            "the name is {} bytes; the limit is {MAX_NAME_BYTES}",
            state.name.len()
        )));
    }
    if !(1..=MAX_LIMIT).contains(&state.limit) {
        return Err(ToolError::Invalid(format!(
            "limit must be within 1..={MAX_LIMIT}, not {}",
            state.limit
        )));
    }
    if let Some(c) = &input.cursor {
        state = cursor::resume(NAME, c, "name", |s: &State| s.name == state.name)
            .map_err(ToolError::Invalid)?;
    }
    call.first_index(None).await;
    call.blocking(move |s| {
        let end = (state.offset + state.limit as usize).min(MAX_SYMBOLS);
        let found = s.engine().symbols(&SymbolQuery {
            name: state.name.trim().to_owned(),
            kind: state.kind.clone(),
            fuzzy: state.fuzzy,
            limit: (end + 1).min(MAX_SYMBOLS),
        })?;
        let more = found.hits.len() > end && end < MAX_SYMBOLS;
        let symbols = found
            .hits
            .iter()
            .skip(state.offset)
            .take(end.saturating_sub(state.offset))
            .map(|h| {
                let d = &h.definition;
                SymbolOut {
                    name: d.name.clone(),
                    kind: d.kind.as_str().to_owned(),
                    container: d.scope.clone(),
                    path: h.file.path.clone(),
                    root: h.file.root.display().to_string(),
                    language: h.language.clone(),
                    line: d.name_span.start_line,
                    start_line: d.span.start_line,
                    end_line: d.span.end_line,
                    score: h.score,
                    stale: h.file.stale,
                }
            })
            .collect();
        let next_cursor = more.then(|| {
            cursor::encode(
                NAME,
                &State {
                    offset: end,
                    ..state
                },
            )
        });
        Ok(SymbolsOutput {
            symbols,
            generation: found.generation,
            next_cursor,
        })
    })
    .await
}

impl Output for SymbolsOutput {
    fn text(&self) -> String {
        let mut s = String::new();
        for d in &self.symbols {
            s.push_str(&format!(
                "{} {}{} at {}:{}{}\n",
                d.kind,
                d.container
                    .as_deref()
                    .map(|c| format!("{c}::"))
                    .unwrap_or_default(),
                d.name,
                d.path,
                d.line,
                if d.stale { " (STALE)" } else { "" }
            ));
        }
        if self.symbols.is_empty() {
            s.push_str("no definitions found\n");
        }
        if let Some(c) = &self.next_cursor {
            s.push_str(&format!("next_cursor: {c}\n"));
        }
        s
    }
}
