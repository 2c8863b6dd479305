//! `search_code`: ranked hits for a query (or, with `by_file`, ranked files with their
//! best ranges), a page at a time, each checked against disk.

use rmcp::model::{LoggingLevel, Tool};
use schemars::JsonSchema;
use scry_engine::{FileHit, Hit, MAX_K, SearchMode, SearchRequest, SearchResults};
use serde::{Deserialize, Serialize};

use super::{Call, Output, ToolError, clip_lines, cursor, define, read_only_annotations};

pub const NAME: &str = "search_code";
/// Largest page.
pub const MAX_PAGE: u64 = 50;
const DEFAULT_PAGE: u64 = 10;
/// Lines of a hit's text shown in its snippet.
pub(crate) const SNIPPET_LINES: usize = 40;
/// Lines of each range's snippet in a search by file (a file brings several).
const FILE_RANGE_SNIPPET_LINES: usize = 12;

pub fn tool() -> Tool {
    define::<Input, SearchOutput>(
        NAME,
        "Search code",
        "Find where something is in the workspace: ranked code chunks (functions, types, \
         sections) for a query in words or identifiers, each with path, 1-based line range, \
         symbol, a snippet, its score and which retrievers found it (BM25, embeddings). \
         Use it to locate code; use get_context instead to gather code to read or reason \
         over. Every hit is checked against the disk: `stale: true` means the file changed \
         since indexing. Narrow with `language` (e.g. \"rust\") or `path_glob` \
         (e.g. \"src/**/*.rs\"). For \"which files…\" questions set `by_file`: files \
         ranked by their evidence, each with its best ranges. Pass `next_cursor` back as `cursor` (with the same query) \
         for the next page. With `deadline_ms`, a slow search returns BM25 hits marked \
         `partial` and a cursor that completes it.",
        read_only_annotations(),
    )
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// BM25 and embeddings fused (the default; BM25 alone without a model).
    Hybrid,
    /// BM25 only: exact identifiers and words.
    Lexical,
    /// Embeddings only: meaning, without shared words.
    Vector,
}

impl From<Mode> for SearchMode {
    fn from(m: Mode) -> SearchMode {
        match m {
            Mode::Hybrid => SearchMode::Hybrid,
            Mode::Lexical => SearchMode::Lexical,
            Mode::Vector => SearchMode::Vector,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// What to find: identifiers, words, or a short description ("where are retries
    /// configured"). At most 8 KiB.
    pub query: String,
    /// Hits per page, 1 to 50 (default 10).
    #[schemars(range(min = 1, max = 50))]
    pub k: Option<u64>,
    /// Retrieval mode (default hybrid).
    pub mode: Option<Mode>,
    /// Only chunks of this language (rust, python, typescript, markdown…).
    pub language: Option<String>,
    /// Only files whose workspace-relative path matches this glob ("src/**/*.rs").
    pub path_glob: Option<String>,
    /// Results by file: `k` files ranked by their evidence, each with its best ranges
    /// (default false: ranked ranges).
    pub by_file: Option<bool>,
    /// Return what is ready after this many milliseconds (1 to 120000), marked partial.
    #[schemars(range(min = 1, max = 120000))]
    pub deadline_ms: Option<u64>,
    /// `next_cursor` from a previous call with the same query: the next page, or the
    /// completion of a partial result.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SearchOutput {
    /// The ranked ranges (empty with `by_file`).
    pub hits: Vec<HitOut>,
    /// With `by_file`: the ranked files, each with its best ranges.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<FileOut>>,
    /// The index generation every hit was read from.
    pub generation: u64,
    /// The mode actually used (lexical when no embedding model is available or a
    /// deadline cut the search short).
    pub mode: String,
    /// True when a deadline cut the work short; `next_cursor` completes it.
    pub partial: bool,
    /// Pass back as `cursor` for more.
    pub next_cursor: Option<String>,
    /// Things to know about these results (BM25-only, partial…).
    pub notices: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct HitOut {
    /// Relative to `root`, `/`-separated.
    pub path: String,
    /// The workspace root the path is in.
    pub root: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
    /// The definition in the hit that matched the query (a hit may hold several small
    /// definitions), or the hit's own: its name and its own lines.
    pub definition: Option<DefinitionOut>,
    /// function, method, struct, class, impl, section…
    pub kind: String,
    pub language: String,
    /// The chunk's text as indexed (secrets masked), at most 40 lines.
    pub snippet: String,
    pub snippet_truncated: bool,
    /// The fused score after ranking (the best hit's base is 1.0); higher is better,
    /// comparable within one call.
    pub score: f64,
    pub provenance: Provenance,
    pub generation: u64,
    /// blake3 (128 bits, hex) of the file content that was indexed.
    pub file_hash: String,
    /// The file on disk changed since it was indexed (read_range shows it as it is now).
    pub stale: bool,
}

/// A file of a search by file.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct FileOut {
    /// Relative to `root`, `/`-separated.
    pub path: String,
    pub root: String,
    pub language: String,
    /// Its best range's score; the whole file's evidence is weighed into it.
    pub score: f64,
    /// blake3 (128 bits, hex) of the file content that was indexed.
    pub file_hash: String,
    /// The file on disk changed since it was indexed.
    pub stale: bool,
    /// Its best ranges (at most 3), best first, snippets of at most 12 lines.
    pub ranges: Vec<HitOut>,
}

/// A definition inside a hit.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct DefinitionOut {
    pub name: String,
    pub kind: String,
    /// The enclosing type or module, when there is one.
    pub container: Option<String>,
    /// The whole definition (doc comments included), 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// 1-based line where the name is defined.
    pub line: u32,
}

impl DefinitionOut {
    pub fn of(d: &scry_engine::Definition) -> DefinitionOut {
        DefinitionOut {
            name: d.name.clone(),
            kind: d.kind.as_str().to_owned(),
            container: d.scope.clone(),
            start_line: d.span.start_line,
            end_line: d.span.end_line,
            line: d.name_span.start_line,
        }
    }
}

/// Which retrievers found a hit, and at what rank (1 is best).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Provenance {
    pub lexical_rank: Option<u32>,
    /// In the full vector tier (the embedding model's own vectors).
    pub vector_rank: Option<u32>,
    /// In the fast vector tier (a static table distilled from the model).
    pub fast_rank: Option<u32>,
}

/// What a cursor carries.
#[derive(Serialize, Deserialize)]
struct State {
    query: String,
    k: u64,
    mode: Mode,
    language: Option<String>,
    path_glob: Option<String>,
    #[serde(default)]
    by_file: bool,
    offset: usize,
}

pub async fn run(call: &Call<'_>, input: Input) -> Result<SearchOutput, ToolError> {
    let deadline = call.deadline(input.deadline_ms)?;
    let mut state = State {
        query: input.query,
        k: input.k.unwrap_or(DEFAULT_PAGE),
        mode: input.mode.unwrap_or(Mode::Hybrid),
        language: input.language,
        path_glob: input.path_glob,
        by_file: input.by_file.unwrap_or(false),
        offset: 0,
    };
    if !(1..=MAX_PAGE).contains(&state.k) {
        return Err(ToolError::Invalid(format!(
            "k must be within 1..={MAX_PAGE}, not {}",
            state.k
        )));
    }
    if let Some(c) = &input.cursor {
        state = cursor::resume(NAME, c, "query", |s: &State| s.query == state.query)
            .map_err(ToolError::Invalid)?;
    }
    let page_end = (state.offset + state.k as usize).min(MAX_K);
    let request = SearchRequest::new(state.query.clone())
        .k((page_end + 1).min(MAX_K))
        .mode(state.mode.into())
        .language(state.language.clone())
        .path_glob(state.path_glob.clone())
        .by_file(state.by_file);
    let indexing = call.first_index(deadline).await;
    call.progress(0.0, Some(2.0), Some("searching".into()))
        .await;
    // Out of time: BM25 hits, and the cursor finishes the job.
    let (results, partial) = call.search_within(deadline, request).await?;
    call.progress(1.0, Some(2.0), Some("paging".into())).await;
    let mut out = page(results, &state, page_end, partial);
    out.notices.extend(indexing);
    for n in &out.notices {
        call.log(LoggingLevel::Warning, n.clone()).await;
    }
    call.progress(2.0, Some(2.0), None).await;
    if out.hits.is_empty() && out.files.as_ref().is_none_or(Vec::is_empty) && !partial {
        out.notices
            .push("no hits: try other words, an identifier, or a wider path_glob/language".into());
    }
    Ok(out)
}

fn page(results: SearchResults, state: &State, page_end: usize, partial: bool) -> SearchOutput {
    let found = if state.by_file {
        results.files.len()
    } else {
        results.hits.len()
    };
    let more = found > page_end && page_end < MAX_K;
    let this_page = page_end.saturating_sub(state.offset);
    let hits: Vec<HitOut> = results
        .hits
        .iter()
        .skip(state.offset)
        .take(this_page)
        .map(|h| hit_out(h, SNIPPET_LINES))
        .collect();
    let files = state.by_file.then(|| {
        results
            .files
            .iter()
            .skip(state.offset)
            .take(this_page)
            .map(file_out)
            .collect()
    });
    let mut notices: Vec<String> = results.notice.into_iter().collect();
    let next_cursor = if partial {
        notices.push(
            "partial: the deadline passed before the full search finished; these are BM25 \
             hits. Call again with next_cursor for the complete ranking."
                .into(),
        );
        Some(cursor::encode(NAME, state))
    } else if more {
        Some(cursor::encode(
            NAME,
            &State {
                offset: page_end,
                query: state.query.clone(),
                k: state.k,
                mode: state.mode,
                language: state.language.clone(),
                path_glob: state.path_glob.clone(),
                by_file: state.by_file,
            },
        ))
    } else {
        None
    };
    SearchOutput {
        hits,
        files,
        generation: results.generation,
        mode: results.mode.as_str().to_owned(),
        partial,
        next_cursor,
        notices,
    }
}

pub(crate) fn file_out(f: &FileHit) -> FileOut {
    FileOut {
        path: f.file.path.clone(),
        root: f.file.root.display().to_string(),
        language: f.language.clone(),
        score: f.score,
        file_hash: f.file.hash.to_string(),
        stale: f.file.stale,
        ranges: f
            .ranges
            .iter()
            .map(|h| hit_out(h, FILE_RANGE_SNIPPET_LINES))
            .collect(),
    }
}

pub(crate) fn hit_out(h: &Hit, snippet_lines: usize) -> HitOut {
    let (snippet, snippet_truncated) = clip_lines(&h.text, snippet_lines);
    HitOut {
        path: h.file.path.clone(),
        root: h.file.root.display().to_string(),
        start_line: h.span.start_line,
        end_line: h.span.end_line,
        symbol: h.symbol.clone(),
        definition: h.definition.as_ref().map(DefinitionOut::of),
        kind: h.kind.clone(),
        language: h.language.clone(),
        snippet,
        snippet_truncated,
        score: h.score,
        provenance: Provenance {
            lexical_rank: h.ranks.lexical,
            vector_rank: h.ranks.vector,
            fast_rank: h.ranks.fast,
        },
        generation: h.generation,
        file_hash: h.file.hash.to_string(),
        stale: h.file.stale,
    }
}

impl Output for SearchOutput {
    fn text(&self) -> String {
        render(
            &self.hits,
            self.files.as_deref(),
            &self.notices,
            self.next_cursor.as_deref(),
        )
    }
}

/// Hits or files as text for clients that read only `content`.
pub(crate) fn render(
    hits: &[HitOut],
    files: Option<&[FileOut]>,
    notices: &[String],
    next_cursor: Option<&str>,
) -> String {
    {
        let mut s = String::new();
        for n in notices {
            s.push_str(&format!("note: {n}\n"));
        }
        for f in files.into_iter().flatten() {
            s.push_str(&format!(
                "{}{}  [{}, score {:.4}{}]\n",
                if f.root.is_empty() || f.root.starts_with('/') {
                    String::new()
                } else {
                    format!("{}/", f.root)
                },
                f.path,
                f.language,
                f.score,
                stale_mark(f.stale),
            ));
            for h in &f.ranges {
                s.push_str(&format!(
                    "  {}-{}{}  [{}]\n{}",
                    h.start_line,
                    h.end_line,
                    symbol_suffix(h),
                    h.kind,
                    fenced(h),
                ));
            }
        }
        for h in hits {
            s.push_str(&format!(
                "{}{}:{}-{}{}  [{} {}, score {:.4}{}]\n{}",
                repo_prefix(h),
                h.path,
                h.start_line,
                h.end_line,
                symbol_suffix(h),
                h.language,
                h.kind,
                h.score,
                stale_mark(h.stale),
                fenced(h),
            ));
        }
        if hits.is_empty() && files.is_none_or(<[FileOut]>::is_empty) {
            s.push_str("no hits\n");
        }
        if let Some(c) = next_cursor {
            s.push_str(&format!("next_cursor: {c}\n"));
        }
        s
    }
}

/// `repo/` before a shared store's paths (whose root is a repository's name, not a
/// folder); nothing for a workspace's.
fn repo_prefix(h: &HitOut) -> String {
    if h.root.is_empty() || h.root.starts_with('/') {
        String::new()
    } else {
        format!("{}/", h.root)
    }
}

/// ` name` after a hit's lines, when it has a symbol.
fn symbol_suffix(h: &HitOut) -> String {
    h.symbol
        .as_deref()
        .map(|x| format!(" {x}"))
        .unwrap_or_default()
}

fn stale_mark(stale: bool) -> &'static str {
    if stale {
        ", STALE: changed on disk"
    } else {
        ""
    }
}

/// A hit's snippet in a fenced block of its language.
fn fenced(h: &HitOut) -> String {
    let end = if h.snippet.ends_with('\n') { "" } else { "\n" };
    format!("```{}\n{}{end}```\n", h.language, h.snippet)
}
