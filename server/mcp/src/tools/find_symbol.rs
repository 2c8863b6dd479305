//! `find_symbol`: definitions by name, fuzzy by default, a page at a time.

use rmcp::model::Tool;
use schemars::JsonSchema;
use scry_engine::{MAX_SYMBOLS, SymbolQuery};
use serde::{Deserialize, Serialize};

use super::{Call, Freshness, Output, ToolError, cursor, define, read_only_annotations};

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
        let resumed: State = cursor::decode(NAME, c).map_err(ToolError::Invalid)?;
        if resumed.name != state.name {
            return Err(ToolError::Invalid(
                "the cursor belongs to another name; pass the same name with it".into(),
            ));
        }
        state = resumed;
    }
    call.first_index(None).await;
    call.blocking(move |s| {
        let end = (state.offset + state.limit as usize).min(MAX_SYMBOLS);
        let found = s.engine.symbols(&SymbolQuery {
            name: state.name.trim().to_owned(),
            kind: state.kind.clone(),
            fuzzy: state.fuzzy,
            limit: (end + 1).min(MAX_SYMBOLS),
        })?;
        let generation = found
            .first()
            .map_or_else(|| s.engine.generation(), |h| h.generation);
        let more = found.len() > end && end < MAX_SYMBOLS;
        let mut fresh = Freshness::new(&s.engine);
        let mut texts: std::collections::HashMap<(String, String), Option<String>> =
            Default::default();
        let symbols = found
            .iter()
            .skip(state.offset)
            .take(end.saturating_sub(state.offset))
            .map(|h| SymbolOut {
                name: h.symbol.clone(),
                kind: h.kind.clone(),
                container: h.scope.clone(),
                path: h.path.clone(),
                root: h.root.display().to_string(),
                language: h.language.clone(),
                line: h.start_line,
                start_line: h.start_line,
                end_line: h.end_line,
                score: h.score,
                stale: fresh.stale(&h.root, &h.path, &h.file_hash),
            })
            .map(|mut out| {
                // A definition's range starts at its doc comment; point at the name.
                if !out.stale && out.end_line > out.start_line {
                    let text = texts
                        .entry((out.root.clone(), out.path.clone()))
                        .or_insert_with(|| {
                            s.engine
                                .read_file(&format!("{}/{}", out.root, out.path))
                                .ok()
                                .map(|f| f.text)
                        });
                    if let Some(text) = text {
                        out.line = name_line(text, &out.name, out.start_line, out.end_line);
                    }
                }
                out
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
            generation,
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

/// The first line in `start..=end` where `name` appears as a whole word outside a
/// comment; `start` when there is none.
fn name_line(text: &str, name: &str, start: u32, end: u32) -> u32 {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    for (i, line) in text.lines().enumerate().skip(start as usize - 1) {
        let n = i as u32 + 1;
        if n > end {
            break;
        }
        let t = line.trim_start();
        if ["//", "#", "*", "/*", "--", "\"\"\""]
            .iter()
            .any(|p| t.starts_with(p))
        {
            continue;
        }
        let mut from = 0;
        while let Some(at) = line[from..].find(name).map(|i| i + from) {
            let before = line[..at].chars().next_back();
            let after = line[at + name.len()..].chars().next();
            if !before.is_some_and(is_word) && !after.is_some_and(is_word) {
                return n;
            }
            from = at + name.len().max(1);
        }
    }
    start
}

#[cfg(test)]
mod tests {
    use super::name_line;

    #[test]
    fn the_definition_line_skips_doc_comments_and_longer_names() {
        let text = "/// Calls parse_config.\n/// More.\npub fn parse_config_all() {}\npub fn parse_config() {}\n";
        assert_eq!(name_line(text, "parse_config", 1, 4), 4);
        assert_eq!(name_line(text, "missing", 1, 4), 1);
        assert_eq!(name_line(text, "parse_config", 1, 3), 1);
    }
}
