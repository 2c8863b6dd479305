//! The ranking stage after fusion: what a list of retrieved chunks does not say by
//! itself. Fusion (`fusion.rs`) gives each candidate a base score in [0, 1]; each
//! signal here is a function of its own, tested on its own, and adds to that base in
//! the same unit (a boost of 1.0 is worth a best hit) or scales it:
//!
//! - paths: the share of the query's words in the file's name and folder adds up to
//!   [`PATH_WEIGHT`];
//! - definitions: a chunk that *defines* the name a query says adds
//!   [`DEFINITION_WEIGHT`] (half in a sentence; half for a re-export of the name or a
//!   definition in another case, unless the candidates hold nothing better), above
//!   chunks that merely mention it;
//! - file evidence: each file's best chunk adds up to [`EVIDENCE_WEIGHT`] for how
//!   strongly the whole file matched, read from a wider lexical retrieval than the
//!   candidates;
//! - kinds of files: tests, examples, benchmarks, vendored or generated code and prose
//!   are scaled by [`OTHER_KIND_FACTOR`] unless the query asks for them;
//! - diversity: each further chunk of a file is worth [`SATURATION`] of the one
//!   before, so the list is not one file repeated;
//! - centrality: a file whose module the rest of the code names widely adds up to
//!   [`CENTRALITY_WEIGHT`] (see [`centrality_of`]).

use std::collections::{HashMap, HashSet};

use scry_chunk::{ChunkKind, Definition};
use scry_index::{STOP_WORDS, stem, tokenize};

use crate::fusion::{Fusion, QueryShape, fuse, is_identifier, is_identifier_char, split_qualified};
use crate::search::Candidate;
use crate::tier::PerTier;

/// What a file name matching every query word adds: as much as a best hit.
pub(crate) const PATH_WEIGHT: f64 = 1.0;
/// What defining the symbol a lone-identifier query names adds; half of it for a
/// compound name said whole inside a sentence.
pub(crate) const DEFINITION_WEIGHT: f64 = 1.5;
/// What the file that matched most strongly as a whole adds to its best chunk.
pub(crate) const EVIDENCE_WEIGHT: f64 = 1.0;
/// How much a test, example, benchmark, vendored or generated file or prose counts
/// when the query does not ask for that kind.
pub(crate) const OTHER_KIND_FACTOR: f64 = 0.2;
/// Each further chunk of one file is worth this much of the one before it.
pub(crate) const SATURATION: f64 = 0.5;
/// What the module the whole index names most adds (see [`centrality_of`]).
pub(crate) const CENTRALITY_WEIGHT: f64 = 0.75;

/// Words of questions about code that name no particular code, beside the English stop
/// words: they match too many file and definition names to mean anything there.
const VAGUE_WORDS: &[&str] = &[
    "code", "done", "get", "gets", "handle", "handled", "handles", "use", "used", "uses", "using",
    "via", "work", "works",
];

fn is_content_word(t: &str) -> bool {
    !STOP_WORDS.contains(&t) && !VAGUE_WORDS.contains(&t)
}

/// What the ranking stage knows of the query.
pub(crate) struct QueryTerms {
    /// Every token, identifiers whole and in parts.
    all: HashSet<String>,
    /// Content words: no stop words, each as its stem (`requests` → `request`).
    words: HashSet<String>,
    /// Which kinds of files the query asks for.
    asks: HashSet<FileKind>,
    shape: QueryShape,
    /// For a lone-identifier query, the name it asks for (the last part of `a::b`).
    identifier: Option<String>,
    /// Qualified names a sentence says (`res.redirect`, `Session::send`), as (owner,
    /// name): the last two parts.
    qualified: Vec<(String, String)>,
}

impl QueryTerms {
    pub(crate) fn new(query: &str) -> QueryTerms {
        let all: HashSet<String> = tokenize(query).into_iter().map(|t| t.text).collect();
        let words: HashSet<String> = all
            .iter()
            .filter(|t| is_content_word(t))
            .map(|t| fold(t))
            .collect();
        let asks = all.iter().filter_map(|w| asked_kind(w)).collect();
        let shape = QueryShape::of(query);
        let identifier = (shape == QueryShape::Identifier)
            .then(|| split_qualified(query.trim()).last().map(|n| n.to_string()))
            .flatten();
        let qualified = match shape {
            QueryShape::Identifier => Vec::new(),
            QueryShape::Sentence => qualified_names(query),
        };
        QueryTerms {
            all,
            words,
            asks,
            shape,
            identifier,
            qualified,
        }
    }
}

/// The (owner, name) of each qualified name among a sentence's words: `how res.redirect
/// builds` says (`res`, `redirect`).
fn qualified_names(query: &str) -> Vec<(String, String)> {
    query
        .split_whitespace()
        .filter_map(|word| {
            // Punctuation around the word: `(app.render)`, `res.send,`, `app.listen()`.
            let word = word.trim_matches(|c: char| !is_identifier_char(c));
            match split_qualified(word).as_slice() {
                [.., owner, name] if is_identifier(owner) && is_identifier(name) => {
                    Some((owner.to_string(), name.to_string()))
                }
                _ => None,
            }
        })
        .collect()
}

/// Whether a definition's scope (`app`, `class Session`, `impl Router`, `Calc.prototype`)
/// names `owner` as one of its words.
fn scope_names(scope: &str, owner: &str) -> bool {
    scope
        .split(|c: char| !is_identifier_char(c))
        .any(|w| w == owner)
}

/// A word's English stem, so `requests` meets `request` and `throttling` meets
/// `throttle`, as they do in the lexical index.
pub(crate) fn fold(word: &str) -> String {
    stem(word).unwrap_or_else(|| word.to_owned())
}

/// What a file is for, as its path says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FileKind {
    Implementation,
    Test,
    Example,
    Benchmark,
    /// Vendored or generated code.
    Foreign,
    /// Markdown, changelogs, text.
    Prose,
}

fn asked_kind(word: &str) -> Option<FileKind> {
    Some(match word {
        "test" | "tests" | "testing" | "spec" | "specs" | "fixture" | "fixtures" | "mock"
        | "mocks" => FileKind::Test,
        "example" | "examples" | "sample" | "samples" | "demo" | "demos" | "tutorial"
        | "tutorials" => FileKind::Example,
        "bench" | "benches" | "benchmark" | "benchmarks" => FileKind::Benchmark,
        "vendor" | "vendored" | "generated" => FileKind::Foreign,
        "doc" | "docs" | "documentation" | "readme" | "changelog" | "guide" | "guides" => {
            FileKind::Prose
        }
        _ => return None,
    })
}

pub(crate) fn file_kind(path: &str) -> FileKind {
    let lower = path.to_ascii_lowercase();
    let (dirs, name) = lower.rsplit_once('/').unwrap_or(("", &lower));
    // `_examples`, `__tests__`: a leading underscore hides a folder from tools (Go's
    // build ignores `_examples`), it does not change what the folder holds.
    let dirs: Vec<&str> = dirs.split('/').map(|d| d.trim_start_matches('_')).collect();
    let has_dir = |names: &[&str]| dirs.iter().any(|d| names.contains(d));
    let stem = name.split('.').next().unwrap_or(name);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    if has_dir(&[
        "vendor",
        "third_party",
        "thirdparty",
        "node_modules",
        "generated",
    ]) || name.ends_with(".pb.go")
        || name.contains(".min.")
        || stem.ends_with("_generated")
    {
        return FileKind::Foreign;
    }
    if matches!(ext, "md" | "mdx" | "rst" | "txt" | "adoc")
        || stem == "changelog"
        || stem == "history"
        || has_dir(&["docs", "doc"])
    {
        return FileKind::Prose;
    }
    if has_dir(&[
        "test", "tests", "spec", "specs", "testdata", "testing", "fixtures",
    ]) || stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem == "test"
        || stem == "tests"
        || stem == "conftest"
        || name.contains(".test.")
        || name.contains(".spec.")
        || (ext == "java" || ext == "kt") && (stem.ends_with("test") || stem.ends_with("tests"))
    {
        return FileKind::Test;
    }
    if has_dir(&[
        "example", "examples", "samples", "sample", "demo", "demos", "tutorial",
    ]) {
        return FileKind::Example;
    }
    if has_dir(&["bench", "benches", "benchmark", "benchmarks"]) || stem.ends_with("_bench") {
        return FileKind::Benchmark;
    }
    FileKind::Implementation
}

/// Tests, examples, benchmarks, foreign code and prose rank below implementation
/// unless the query asks for that kind.
pub(crate) fn kind_factor(kind: FileKind, q: &QueryTerms) -> f64 {
    if kind == FileKind::Implementation || q.asks.contains(&kind) {
        1.0
    } else {
        OTHER_KIND_FACTOR
    }
}

/// A chunk defining the name the query says: for a lone identifier (`FromRequest`,
/// `Sinatra::Base`), a definition of that name (its last part), the full
/// [`DEFINITION_WEIGHT`]; in a sentence, the full weight too for a definition of a
/// qualified name it says, in a scope that names the owner (`how res.redirect builds
/// the Location header` → `res.redirect = function redirect…`), and half of it for a
/// definition whose compound name the sentence says whole (`where does
/// merge_environment_settings read proxies`). A one-word name inside a sentence (`send`,
/// `session`) matches too many chunks to mean the definition: BM25's symbol field
/// already weighs it.
///
/// A weaker form of the match counts fully only where the candidates hold no stronger
/// one (see [`Defined`]): a definition in another case than the query's (`session()`
/// for `Session`) and a re-export each take half of what a definition would.
pub(crate) fn definition_boost(defs: &[Definition], q: &QueryTerms, defined: &Defined) -> f64 {
    if let Some(name) = &q.identifier {
        let mut best = 0.0f64;
        for d in defs.iter().filter(|d| d.name.eq_ignore_ascii_case(name)) {
            // A re-export is where this module hands the name out, not where it is
            // made: it ranks above mentions and below the definition.
            let strong =
                d.kind != ChunkKind::Reexport && (same_case(&d.name, name) || !defined.exact_case);
            best = best.max(if strong {
                DEFINITION_WEIGHT
            } else {
                DEFINITION_WEIGHT / 2.0
            });
        }
        return best;
    }
    // A qualified name names one definition as exactly as a lone identifier does.
    let qualified = defs.iter().any(|d| {
        d.kind != ChunkKind::Reexport
            && q.qualified.iter().any(|(owner, name)| {
                d.name == *name && d.scope.as_deref().is_some_and(|s| scope_names(s, owner))
            })
    });
    if qualified {
        return DEFINITION_WEIGHT;
    }
    let named = defs.iter().any(|d| {
        // The whole name first (cheap, and usually absent), then whether it is compound.
        let whole = d.name.trim_matches('_').to_lowercase();
        if !q.all.contains(&whole) || tokenize(&d.name).len() < 2 {
            return false;
        }
        // A re-export stands for a definition the index does not hold (`pub use
        // axum_core::extract::FromRequest`): where the name enters this code.
        d.kind != ChunkKind::Reexport || !defined.compound.contains(&whole)
    });
    if named { DEFINITION_WEIGHT / 2.0 } else { 0.0 }
}

/// What the candidates define of the names a query says, so that a weaker match (a
/// re-export, a name in another case) counts as a definition only where no
/// candidate holds the real one.
#[derive(Debug, Default)]
pub(crate) struct Defined {
    /// Some candidate defines the lone identifier in the query's own case.
    exact_case: bool,
    /// Some candidate from implementation code defines the lone identifier, in any case.
    in_implementation: bool,
    /// The compound names a sentence says whole that some candidate defines (not
    /// re-exports), lowercased.
    compound: HashSet<String>,
}

impl Defined {
    pub(crate) fn among(candidates: &[Candidate], q: &QueryTerms) -> Defined {
        let mut defining = candidates
            .iter()
            .flat_map(|c| &c.chunk.definitions)
            .filter(|d| d.kind != ChunkKind::Reexport);
        match &q.identifier {
            Some(name) => Defined {
                exact_case: defining.any(|d| same_case(&d.name, name)),
                // The few defining chunks first: a file's kind takes a lowercased path.
                in_implementation: candidates
                    .iter()
                    .filter(|c| defines_identifier(&c.chunk.definitions, q))
                    .any(|c| file_kind(&c.chunk.path) == FileKind::Implementation),
                ..Defined::default()
            },
            None => Defined {
                compound: defining
                    .map(|d| d.name.trim_matches('_').to_lowercase())
                    .filter(|w| q.all.contains(w))
                    .collect(),
                ..Defined::default()
            },
        }
    }
}

/// Whether the definitions include one of the lone identifier the query is (any case).
fn defines_identifier(defs: &[Definition], q: &QueryTerms) -> bool {
    q.identifier.as_ref().is_some_and(|name| {
        defs.iter()
            .any(|d| d.kind != ChunkKind::Reexport && d.name.eq_ignore_ascii_case(name))
    })
}

/// The kind factor of a chunk: a lone identifier defined only outside implementation
/// code (a helper in a test, a function of an example) asks for that file as surely as
/// the word `test` would, so its definition keeps its score there.
fn chunk_kind_factor(file_factor: f64, c: &Candidate, q: &QueryTerms, defined: &Defined) -> f64 {
    if file_factor < 1.0
        && !defined.in_implementation
        && defines_identifier(&c.chunk.definitions, q)
    {
        1.0
    } else {
        file_factor
    }
}

/// Whether a definition's name is the query's name in the query's own case
/// (`Session`, not `session`), leading and trailing underscores aside.
fn same_case(name: &str, query_name: &str) -> bool {
    name.trim_matches('_') == query_name.trim_matches('_')
}

/// The share of the query's words found in the file's name or its folder's name
/// (stems compared, so `throttling` finds `throttle.go`), times [`PATH_WEIGHT`]. A
/// share under a tenth is noise.
pub(crate) fn path_boost(path: &str, q: &QueryTerms) -> f64 {
    let (dirs, stem) = folders_and_stem(path);
    // A lone identifier names one thing: its file is the one named after it whole
    // (`IntoResponse` → `into_response.rs`), not every file sharing a part of it.
    if let Some(ident) = &q.identifier {
        let squash = |s: &str| s.replace(['_', '-'], "").to_lowercase();
        return if squash(stem) == squash(ident) {
            PATH_WEIGHT
        } else {
            0.0
        };
    }
    let keywords: Vec<&String> = q.words.iter().filter(|w| w.len() > 2).collect();
    if keywords.is_empty() {
        return 0.0;
    }
    let folder = dirs.rsplit('/').next().unwrap_or("");
    let parts: HashSet<String> = tokenize(&format!("{stem} {folder}"))
        .into_iter()
        .map(|t| fold(&t.text))
        .collect();
    // Stems miss agent nouns and abbreviations (`logging` → `log`, `logger` stays;
    // `configuration`, `config`): a word and a part also meet when one starts the other.
    let meets = |w: &str| {
        parts.contains(w)
            || parts.iter().any(|p| {
                let (short, long) = if p.len() <= w.len() {
                    (p.as_str(), w)
                } else {
                    (w, p.as_str())
                };
                short.len() >= PATH_PREFIX_MIN && long.starts_with(short)
            })
    };
    let share = keywords.iter().filter(|w| meets(w)).count() as f64 / keywords.len() as f64;
    if share < 0.1 {
        0.0
    } else {
        PATH_WEIGHT * share
    }
}

/// A path's folders and its file name without extensions (`a/b`, `c` of `a/b/c.d.rs`).
fn folders_and_stem(path: &str) -> (&str, &str) {
    let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path));
    (dirs, name.split('.').next().unwrap_or(name))
}

/// The shortest word or name part that may match a longer one by starting it.
pub(crate) const PATH_PREFIX_MIN: usize = 3;

/// How strongly each candidate's file matched as a whole, in [0, 1] (1 for the
/// strongest file): from the wider lexical retrieval where the search had one (the
/// sum of the file's best lexical scores), and from the candidates' own base scores,
/// each counted as fusion weighs its retriever.
pub(crate) fn file_evidence(candidates: &[Candidate]) -> HashMap<(u32, String), f64> {
    let mut wide: HashMap<(u32, String), f64> = HashMap::new();
    let mut own: HashMap<(u32, String), Vec<f64>> = HashMap::new();
    for c in candidates {
        if let Some(f) = c.raw.file {
            wide.insert(file_of(c), f64::from(f));
        }
        own.entry(file_of(c)).or_default().push(c.score);
    }
    let own: HashMap<(u32, String), f64> = own
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by(|a, b| b.total_cmp(a));
            (k, v.iter().take(EVIDENCE_CHUNKS).sum())
        })
        .collect();
    let max_wide = wide.values().copied().fold(0.0, f64::max);
    let max_own = own.values().copied().fold(0.0, f64::max);
    let vectors = candidates
        .iter()
        .any(|c| c.raw.vector.is_some() || c.raw.fast.is_some());
    own.into_iter()
        .map(|(k, o)| {
            let o = if max_own > 0.0 { o / max_own } else { 0.0 };
            let w = wide.get(&k).map_or(0.0, |w| w / max_wide);
            let e = if max_wide <= 0.0 {
                // No lexical retrieval (vector-only): the candidates say it all.
                o
            } else if vectors {
                // Hybrid: the wide lexical evidence and the candidates' own, halves; a
                // file only the vectors found has only the second.
                (w + o) / 2.0
            } else {
                w
            };
            (k, e)
        })
        .collect()
}

/// The word other code names a file's module by: its name without extensions, or its
/// folder's for the files that stand for a folder (`mod.rs`, `index.ts`,
/// `__init__.py`). Module centrality counts the chunks that mention it.
pub fn module_word(path: &str) -> Option<String> {
    let (dirs, stem) = folders_and_stem(path);
    let word = if matches!(stem, "mod" | "index" | "lib" | "main" | "__init__" | "init") {
        dirs.rsplit('/').next().unwrap_or("")
    } else {
        stem
    };
    let word = word.to_lowercase();
    (word.len() >= 3 && !STOP_WORDS.contains(&word.as_str())).then_some(word)
}

/// Each candidate file's centrality (see [`centrality_of`]), read once per file from
/// the lexical index's term statistics: no document is loaded.
pub(crate) fn centrality(
    candidates: &mut [Candidate],
    store: &dyn crate::store::ChunkStore,
) -> Result<(), crate::EngineError> {
    if ablated().contains(&Signal::Central) {
        return Ok(());
    }
    // Each candidate file's module word once: one question to the store for them all.
    let mut words: Vec<String> = Vec::new();
    let mut word_of_path: HashMap<String, Option<usize>> = HashMap::new();
    for c in candidates.iter() {
        word_of_path.entry(c.chunk.path.clone()).or_insert_with(|| {
            let w = module_word(&c.chunk.path)?;
            Some(match words.iter().position(|x| *x == w) {
                Some(i) => i,
                None => {
                    words.push(w);
                    words.len() - 1
                }
            })
        });
    }
    let (mentions, total) = if words.is_empty() {
        (Vec::new(), 0)
    } else {
        store.mentions(&words)?
    };
    for c in candidates.iter_mut() {
        c.raw.centrality =
            word_of_path[&c.chunk.path].map_or(0.0, |i| centrality_of(mentions[i], total) as f32);
    }
    Ok(())
}

/// How widely the code names a module: the chunks mentioning its name, on a log scale
/// of all chunks, in [0, 1]. The module everything imports and calls (`Gson.java`,
/// `GsonBuilder.java`, chi's `mux.go`) is where a design is made; a leaf only its
/// neighbours name is rarely what a question about the whole is after.
pub(crate) fn centrality_of(mentions: u64, chunks: u64) -> f64 {
    if chunks == 0 {
        return 0.0;
    }
    ((1.0 + mentions.min(chunks) as f64).ln() / (1.0 + chunks as f64).ln()).clamp(0.0, 1.0)
}

/// How many of a file's chunks count towards its evidence: several good chunks beat
/// one, and a file of a hundred weak ones does not win by size.
pub(crate) const EVIDENCE_CHUNKS: usize = 3;

/// Fuses the candidates' retriever scores and re-scores them with every signal, best
/// first.
pub(crate) fn rank(
    mut candidates: Vec<Candidate>,
    query: &str,
    fusion: Fusion,
    rrf_k: f64,
) -> Vec<Candidate> {
    let q = QueryTerms::new(query);
    let off = ablated();
    let lexical = candidates.iter().any(|c| c.ranks.lexical.is_some());
    let tiers = PerTier {
        fast: candidates.iter().any(|c| c.ranks.fast.is_some()),
        full: candidates.iter().any(|c| c.ranks.vector.is_some()),
    };
    fuse(&mut candidates, fusion, rrf_k, q.shape, lexical, tiers);
    let mut evidence = if off.contains(&Signal::Evidence) {
        HashMap::new()
    } else {
        file_evidence(&candidates)
    };
    let defined = Defined::among(&candidates, &q);
    // What depends on the file alone (path boost, kind factor), once per file:
    // candidates share few files.
    let mut per_path: HashMap<String, (f64, f64)> = HashMap::new();
    for c in &mut candidates {
        let (path, _) = *per_path.entry(c.chunk.path.clone()).or_insert_with(|| {
            let path = if off.contains(&Signal::Path) {
                0.0
            } else {
                path_boost(&c.chunk.path, &q)
            };
            let kind = if off.contains(&Signal::Kind) {
                1.0
            } else {
                kind_factor(file_kind(&c.chunk.path), &q)
            };
            (path, kind)
        });
        c.score += path;
        // A prior from the lexical index's statistics, beside lexical evidence: a
        // vector-only search asked for meaning alone.
        if lexical {
            c.score += CENTRALITY_WEIGHT * f64::from(c.raw.centrality);
        }
        if !off.contains(&Signal::Definition) {
            c.score += definition_boost(&c.chunk.definitions, &q, &defined);
        }
    }
    sort(&mut candidates);
    for c in &mut candidates {
        // In score order a file's first chunk is its best: it alone takes the evidence.
        if let Some(e) = evidence.remove(&file_of(c)) {
            c.score += EVIDENCE_WEIGHT * e;
        }
        c.score *= chunk_kind_factor(per_path[&c.chunk.path].1, c, &q, &defined);
    }
    sort(&mut candidates);
    if !off.contains(&Signal::Spread) {
        saturate(&mut candidates);
        sort(&mut candidates);
    }
    candidates
}

/// The signals, for the quality benchmark's ablation (`SCRY_RANK_ABLATE=path,kind`
/// switches those off; nothing else reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signal {
    Kind,
    Definition,
    Path,
    Evidence,
    Spread,
    Central,
}

fn ablated() -> &'static [Signal] {
    static OFF: std::sync::OnceLock<Vec<Signal>> = std::sync::OnceLock::new();
    OFF.get_or_init(|| {
        let names = std::env::var("SCRY_RANK_ABLATE").unwrap_or_default();
        names
            .split(',')
            .filter_map(|n| match n.trim() {
                "kind" => Some(Signal::Kind),
                "definition" => Some(Signal::Definition),
                "path" => Some(Signal::Path),
                "evidence" => Some(Signal::Evidence),
                "spread" => Some(Signal::Spread),
                "central" => Some(Signal::Central),
                _ => None,
            })
            .collect()
    })
}

fn sort(c: &mut [Candidate]) {
    c.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.chunk.path.cmp(&b.chunk.path))
            .then_with(|| a.chunk.span.byte_start.cmp(&b.chunk.span.byte_start))
    });
}

fn file_of(c: &Candidate) -> (u32, String) {
    (c.chunk.root, c.chunk.path.clone())
}

/// In score order, the second chunk of a file keeps [`SATURATION`] of its score, the
/// third its square, and so on.
pub(crate) fn saturate(sorted: &mut [Candidate]) {
    let mut seen: HashMap<(u32, String), i32> = HashMap::new();
    for c in sorted.iter_mut() {
        let n = seen.entry(file_of(c)).or_default();
        c.score *= SATURATION.powi(*n);
        *n += 1;
    }
}

#[cfg(test)]
mod tests {
    use scry_chunk::{ChunkKind, Span};
    use scry_index::{FileHash, StoredChunk};

    use super::*;
    use crate::search::Ranks;

    fn def(name: &str) -> Definition {
        Definition {
            name: name.into(),
            kind: ChunkKind::Function,
            scope: None,
            span: Span::new(0, 10, 1, 2),
            name_span: Span::new(3, 6, 1, 1),
        }
    }

    fn candidate(path: &str, start: usize, score: f64, defs: &[&str]) -> Candidate {
        Candidate {
            chunk: StoredChunk {
                root: 0,
                path: path.into(),
                span: Span::new(start, start + 10, 1, 2),
                symbol: None,
                scope: None,
                context: None,
                text: String::new(),
                kind: "function".into(),
                language: "rust".into(),
                definitions: defs.iter().map(|d| def(d)).collect(),
                vec_key: start as u64,
                file_hash: FileHash::of(b""),
            },
            ranks: Ranks {
                lexical: Some(1),
                ..Ranks::default()
            },
            raw: crate::search::RawScores {
                lexical: Some(score as f32),
                ..Default::default()
            },
            awaiting: PerTier::default(),
            score,
        }
    }

    fn paths(c: &[Candidate]) -> Vec<&str> {
        c.iter().map(|c| c.chunk.path.as_str()).collect()
    }

    #[test]
    fn files_are_told_apart_by_their_paths() {
        for (path, kind) in [
            ("src/sessions.py", FileKind::Implementation),
            ("tests/test_sessions.py", FileKind::Test),
            ("middleware/throttle_test.go", FileKind::Test),
            (
                "src/test/java/com/google/gson/GsonTest.java",
                FileKind::Test,
            ),
            ("packages/zod/src/tests/string.test.ts", FileKind::Test),
            ("examples/hello/main.rs", FileKind::Example),
            ("_examples/rest/main.go", FileKind::Example),
            ("benches/search.rs", FileKind::Benchmark),
            ("vendor/github.com/x/y.go", FileKind::Foreign),
            ("api/v1/types.pb.go", FileKind::Foreign),
            ("docs/extract.md", FileKind::Prose),
            ("CHANGELOG.md", FileKind::Prose),
            ("contest.py", FileKind::Implementation),
        ] {
            assert_eq!(file_kind(path), kind, "{path}");
        }
    }

    #[test]
    fn tests_and_docs_rank_below_code_unless_asked_for() {
        let q = QueryTerms::new("how null values are handled during serialization");
        assert_eq!(kind_factor(FileKind::Test, &q), OTHER_KIND_FACTOR);
        assert_eq!(kind_factor(FileKind::Prose, &q), OTHER_KIND_FACTOR);
        assert_eq!(kind_factor(FileKind::Implementation, &q), 1.0);
        let q = QueryTerms::new("tests for null serialization");
        assert_eq!(kind_factor(FileKind::Test, &q), 1.0);
        let q = QueryTerms::new("docs on extractors");
        assert_eq!(kind_factor(FileKind::Prose, &q), 1.0);
        let q = QueryTerms::new("examples of routing");
        assert_eq!(kind_factor(FileKind::Example, &q), 1.0);
        let ranked = rank(
            vec![
                candidate("tests/test_null.py", 0, 1.0, &[]),
                candidate("src/gson.py", 0, 0.5, &[]),
            ],
            "null serialization",
            Fusion::Scores,
            60.0,
        );
        assert_eq!(paths(&ranked), ["src/gson.py", "tests/test_null.py"]);
    }

    #[test]
    fn a_chunk_defining_the_named_symbol_outranks_one_mentioning_it() {
        let none = Defined::default();
        let q = QueryTerms::new("FromRequest");
        assert_eq!(
            definition_boost(&[def("FromRequest")], &q, &none),
            DEFINITION_WEIGHT
        );
        assert_eq!(
            definition_boost(&[def("from_request_parts")], &q, &none),
            0.0
        );
        assert_eq!(definition_boost(&[], &q, &none), 0.0);
        let q = QueryTerms::new("axum::extract::FromRequest");
        assert_eq!(
            definition_boost(&[def("FromRequest")], &q, &none),
            DEFINITION_WEIGHT
        );
        let q = QueryTerms::new("where does merge_environment_settings read proxies");
        assert_eq!(
            definition_boost(&[def("merge_environment_settings")], &q, &none),
            DEFINITION_WEIGHT / 2.0
        );
        // Parts scattered in a sentence, or a one-word name, are left to BM25.
        let q = QueryTerms::new("merge environment settings of a session");
        assert_eq!(
            definition_boost(&[def("merge_environment_settings")], &q, &none),
            0.0
        );
        assert_eq!(definition_boost(&[def("Session")], &q, &none), 0.0);
        let ranked = rank(
            vec![
                candidate("src/uses.rs", 0, 1.0, &[]),
                candidate("src/uses_more.rs", 0, 0.9, &[]),
                candidate("src/lib.rs", 0, 0.3, &["FromRequest"]),
            ],
            "FromRequest",
            Fusion::Scores,
            60.0,
        );
        assert_eq!(paths(&ranked)[0], "src/lib.rs");
    }

    #[test]
    fn an_identifier_defined_only_in_an_example_or_test_is_found_there() {
        // `scry_marker_7` appended to an example: the only definition beats a mention
        // of `marker` in the library.
        let only_example = vec![
            candidate("src/plugin.rs", 0, 1.0, &["MARKER"]),
            candidate("examples/snippet.rs", 0, 0.5, &["scry_marker_7"]),
        ];
        let ranked = rank(only_example, "scry_marker_7", Fusion::Scores, 60.0);
        assert_eq!(paths(&ranked)[0], "examples/snippet.rs");
        // Where the library defines it too, the library's comes first.
        let both = vec![
            candidate("tests/helpers.rs", 0, 1.0, &["scry_marker_7"]),
            candidate("src/lib.rs", 0, 0.5, &["scry_marker_7"]),
        ];
        let ranked = rank(both, "scry_marker_7", Fusion::Scores, 60.0);
        assert_eq!(paths(&ranked), ["src/lib.rs", "tests/helpers.rs"]);
    }

    #[test]
    fn a_qualified_name_in_a_sentence_raises_its_definition_in_that_scope() {
        let none = Defined::default();
        let scoped = |name: &str, scope: &str| Definition {
            scope: Some(scope.into()),
            ..def(name)
        };
        let q = QueryTerms::new("how res.redirect builds the Location header");
        assert_eq!(
            definition_boost(&[scoped("redirect", "res")], &q, &none),
            DEFINITION_WEIGHT
        );
        // Another owner's `redirect`, or one with no scope, is a one-word name.
        assert_eq!(
            definition_boost(&[scoped("redirect", "app")], &q, &none),
            0.0
        );
        assert_eq!(definition_boost(&[def("redirect")], &q, &none), 0.0);
        let q = QueryTerms::new("what does (Session::send) do with hooks?");
        assert_eq!(
            definition_boost(&[scoped("send", "class Session")], &q, &none),
            DEFINITION_WEIGHT
        );

        let ranked = rank(
            vec![
                candidate("lib/response.js", 0, 1.0, &["location"]),
                candidate("lib/application.js", 0, 0.9, &[]),
                Candidate {
                    chunk: StoredChunk {
                        definitions: vec![scoped("redirect", "res")],
                        ..candidate("lib/response.js", 500, 0.3, &[]).chunk
                    },
                    ..candidate("lib/response.js", 500, 0.3, &[])
                },
            ],
            "how res.redirect builds the Location header",
            Fusion::Scores,
            60.0,
        );
        assert_eq!(ranked[0].chunk.span.byte_start, 500);
    }

    #[test]
    fn a_definition_in_the_query_case_outranks_one_in_another_case() {
        // `Session` asks for the class, not the `session()` helper beside it; when only
        // the other case is defined, it is still the definition.
        let q = QueryTerms::new("Session");
        let both = [
            candidate("sessions.py", 900, 1.0, &["session"]),
            candidate("sessions.py", 100, 0.6, &["Session"]),
        ];
        let defined = Defined::among(&both, &q);
        assert_eq!(
            definition_boost(&[def("session")], &q, &defined),
            DEFINITION_WEIGHT / 2.0
        );
        assert_eq!(
            definition_boost(&[def("Session")], &q, &defined),
            DEFINITION_WEIGHT
        );
        let only_lower = Defined::among(&both[..1], &q);
        assert_eq!(
            definition_boost(&[def("session")], &q, &only_lower),
            DEFINITION_WEIGHT
        );
        let ranked = rank(both.to_vec(), "Session", Fusion::Scores, 60.0);
        assert_eq!(ranked[0].chunk.span.byte_start, 100);
    }

    #[test]
    fn a_reexport_ranks_between_the_definition_and_a_mention() {
        let reexport = |name: &str| Definition {
            kind: ChunkKind::Reexport,
            ..def(name)
        };
        let none = Defined::default();
        let q = QueryTerms::new("FromRequest");
        assert_eq!(
            definition_boost(&[reexport("FromRequest")], &q, &none),
            DEFINITION_WEIGHT / 2.0
        );
        assert_eq!(
            definition_boost(&[reexport("FromRequest"), def("FromRequest")], &q, &none),
            DEFINITION_WEIGHT
        );
        // In a sentence a re-exported compound name is no definition where a candidate
        // defines it, and stands for the definition where none does (`pub use
        // axum_core::extract::FromRequest`: the index holds no other).
        let q = QueryTerms::new("where does merge_environment_settings read proxies");
        let defining = [candidate(
            "src/sessions.py",
            0,
            0.5,
            &["merge_environment_settings"],
        )];
        let defined = Defined::among(&defining, &q);
        assert_eq!(
            definition_boost(&[reexport("merge_environment_settings")], &q, &defined),
            0.0
        );
        assert_eq!(
            definition_boost(&[reexport("merge_environment_settings")], &q, &none),
            DEFINITION_WEIGHT / 2.0
        );
        let mut reexporting = candidate("src/extract/mod.rs", 0, 0.7, &[]);
        reexporting.chunk.definitions = vec![reexport("FromRequestParts")];
        let ranked = rank(
            vec![
                candidate("src/extract/query.rs", 0, 1.0, &[]),
                candidate("src/extract/path.rs", 0, 0.9, &[]),
                reexporting,
            ],
            "how extractors implement FromRequestParts",
            Fusion::Scores,
            60.0,
        );
        assert_eq!(paths(&ranked)[0], "src/extract/mod.rs");
    }

    #[test]
    fn query_words_in_a_file_name_raise_the_file() {
        // Stems meet: `throttling` finds `throttle.go`, `cookies` finds `cookies.py`.
        let q = QueryTerms::new("request throttling");
        assert_eq!(path_boost("middleware/throttle.go", &q), PATH_WEIGHT / 2.0);
        let q = QueryTerms::new("throttling middleware");
        assert_eq!(path_boost("middleware/throttle.go", &q), PATH_WEIGHT);
        assert_eq!(path_boost("middleware/logger.go", &q), PATH_WEIGHT / 2.0);
        // A word and a name part meet when one starts the other.
        let q = QueryTerms::new("request logging middleware");
        assert!(
            path_boost("middleware/logger.go", &q)
                > path_boost("middleware/request_id.go", &q) - 0.01
        );
        let q = QueryTerms::new("configuration loading");
        assert_eq!(path_boost("src/flask/config.py", &q), PATH_WEIGHT / 2.0);
        let q = QueryTerms::new("io buffering");
        assert_eq!(
            path_boost("src/iota.rs", &q),
            0.0,
            "two letters start too much"
        );
        let q = QueryTerms::new("how are cookies persisted");
        assert!(path_boost("src/requests/cookies.py", &q) > 0.0);
        assert_eq!(path_boost("src/requests/adapters.py", &q), 0.0);
        // Stop words and vague words never count; nor do folders above the parent.
        let q = QueryTerms::new("what is the where");
        assert_eq!(path_boost("src/what/where.py", &q), 0.0);
        let q = QueryTerms::new("session handling");
        assert_eq!(path_boost("session/src/lib/a.py", &q), 0.0);
        // A lone identifier raises the file named after it whole, not one sharing a part.
        let q = QueryTerms::new("IntoResponse");
        assert_eq!(path_boost("src/response/into_response.rs", &q), PATH_WEIGHT);
        assert_eq!(path_boost("src/middleware/map_response.rs", &q), 0.0);
        let ranked = rank(
            vec![
                candidate("middleware/request_id.go", 0, 1.0, &[]),
                candidate("middleware/throttle.go", 0, 0.9, &[]),
            ],
            "throttling middleware",
            Fusion::Scores,
            60.0,
        );
        assert_eq!(paths(&ranked)[0], "middleware/throttle.go");
    }

    #[test]
    fn a_file_that_matched_strongly_as_a_whole_raises_its_best_chunk() {
        let mut strong = candidate("strong.rs", 0, 0.8, &[]);
        strong.raw.file = Some(9.0);
        let mut weak = candidate("weak.rs", 0, 1.0, &[]);
        weak.raw.file = Some(1.0);
        let mut second = candidate("strong.rs", 100, 0.5, &[]);
        second.raw.file = Some(9.0);
        let evidence = file_evidence(&[strong.clone(), weak.clone(), second.clone()]);
        assert_eq!(evidence[&(0, "strong.rs".to_string())], 1.0);
        assert!(evidence[&(0, "weak.rs".to_string())] < 0.2);
        let ranked = rank(vec![weak, strong, second], "anything", Fusion::Scores, 60.0);
        assert_eq!(paths(&ranked)[0], "strong.rs");
        // Only the best chunk of a file takes the evidence.
        assert!(ranked[1].chunk.path == "weak.rs", "{:?}", paths(&ranked));
    }

    #[test]
    fn a_chunk_the_full_tier_has_not_reached_counts_there_as_it_placed_in_the_fast_tier() {
        let ranked = |full: Option<u32>, awaiting_full: bool| {
            let mut c = candidate("a.rs", 0, 1.0, &[]);
            c.ranks = Ranks {
                lexical: Some(3),
                fast: Some(2),
                vector: full,
            };
            c.awaiting.full = awaiting_full;
            c
        };
        let mut cands = vec![
            ranked(Some(2), false),
            ranked(None, true),
            ranked(None, false),
            // Only lexical and fast: the best of the four cannot be the waiting one.
            ranked(Some(1), false),
        ];
        let both = PerTier {
            fast: true,
            full: true,
        };
        fuse(
            &mut cands,
            Fusion::Rrf,
            60.0,
            QueryShape::Sentence,
            true,
            both,
        );
        let (reached, waiting, missed) = (cands[0].score, cands[1].score, cands[2].score);
        assert!((reached - waiting).abs() < 1e-12, "{reached} vs {waiting}");
        assert!(missed < waiting);
        assert!(cands[3].score > reached);
        // With the fast tier's weight at 0 the full tier decides alone, as without a
        // fast tier: the waiting chunk still counts where it placed in the fast list.
        let mut only_fast = vec![ranked(None, false)];
        let fast = PerTier {
            fast: true,
            full: false,
        };
        fuse(
            &mut only_fast,
            Fusion::Rrf,
            60.0,
            QueryShape::Sentence,
            true,
            fast,
        );
        assert_eq!(only_fast[0].score, 1.0);
    }

    #[test]
    fn in_a_hybrid_search_a_file_only_the_vectors_found_keeps_its_own_evidence() {
        let mut lexical = candidate("lexical.rs", 0, 1.0, &[]);
        lexical.raw.file = Some(4.0);
        let mut meaning = candidate("meaning.rs", 0, 1.0, &[]);
        meaning.ranks = Ranks {
            vector: Some(1),
            ..Ranks::default()
        };
        meaning.raw = crate::search::RawScores {
            vector: Some(0.8),
            ..Default::default()
        };
        let e = file_evidence(&[lexical, meaning]);
        assert_eq!(e[&(0, "lexical.rs".to_string())], 1.0);
        assert_eq!(e[&(0, "meaning.rs".to_string())], 0.5);
    }

    #[test]
    fn each_further_chunk_of_a_file_counts_for_less() {
        let mut c: Vec<Candidate> = (0..4)
            .map(|i| candidate("big.rs", i * 100, 1.0, &[]))
            .collect();
        c.push(candidate("other.rs", 0, 0.6, &[]));
        saturate(&mut c);
        sort(&mut c);
        assert_eq!(
            paths(&c),
            ["big.rs", "other.rs", "big.rs", "big.rs", "big.rs"]
        );
        assert_eq!(c[2].score, SATURATION);
        assert_eq!(c.len(), 5, "nothing is dropped");
    }
    #[test]
    fn a_module_is_named_by_its_file_or_by_the_folder_it_stands_for() {
        for (path, word) in [
            (
                "gson/src/main/java/com/google/gson/GsonBuilder.java",
                Some("gsonbuilder"),
            ),
            ("middleware/throttle.go", Some("throttle")),
            ("axum/src/routing/mod.rs", Some("routing")),
            ("packages/zod/src/v4/core/index.ts", Some("core")),
            ("src/requests/__init__.py", Some("requests")),
            ("src/io.go", None),
            ("lib/the.js", None),
            ("README", Some("readme")),
        ] {
            assert_eq!(module_word(path).as_deref(), word, "{path}");
        }
    }

    #[test]
    fn centrality_grows_with_mentions_on_a_log_scale() {
        assert_eq!(centrality_of(0, 1000), 0.0);
        assert_eq!(centrality_of(1000, 1000), 1.0);
        assert_eq!(centrality_of(5, 0), 0.0);
        // More than all (a stale count) stays in range.
        assert_eq!(centrality_of(2000, 1000), 1.0);
        let (few, some, many) = (
            centrality_of(3, 1000),
            centrality_of(30, 1000),
            centrality_of(300, 1000),
        );
        assert!(0.0 < few && few < some && some < many && many < 1.0);
        // Log scale: ten times the mentions adds about the same each time.
        assert!(((some - few) - (many - some)).abs() < 0.05);
    }

    #[test]
    fn a_file_the_code_names_widely_outranks_a_leaf_that_matched_as_well() {
        // The leaf sorts first by path: only centrality puts the hub above it.
        let mut leaf = candidate("gson/FieldsData.java", 0, 1.0, &[]);
        leaf.raw.centrality = 0.2;
        let mut hub = candidate("gson/Gson.java", 0, 1.0, &[]);
        hub.raw.centrality = 0.9;
        let mut weaker_hub = candidate("gson/GsonBuilder.java", 0, 0.2, &[]);
        weaker_hub.raw.centrality = 0.9;
        let ranked = rank(
            vec![leaf, hub, weaker_hub],
            "reflection based field serialization",
            Fusion::Rrf,
            60.0,
        );
        assert_eq!(paths(&ranked)[0], "gson/Gson.java");
        // A prior, not a trump: a much better match still wins over a hub.
        let mut leaf = candidate("gson/FieldsData.java", 0, 1.0, &[]);
        leaf.raw.centrality = 0.2;
        let mut far_hub = candidate("gson/Gson.java", 0, 1.0, &[]);
        far_hub.ranks.lexical = Some(40);
        far_hub.raw.centrality = 0.9;
        let ranked = rank(
            vec![far_hub, leaf],
            "field serialization",
            Fusion::Rrf,
            60.0,
        );
        assert_eq!(paths(&ranked)[0], "gson/FieldsData.java");
        // A vector-only search ranks by meaning: no prior from the lexical index.
        let vector_only = |path: &str, centrality: f32| {
            let mut c = candidate(path, 0, 1.0, &[]);
            c.ranks = Ranks {
                vector: Some(1),
                ..Ranks::default()
            };
            c.raw = crate::search::RawScores {
                vector: Some(0.8),
                centrality,
                ..Default::default()
            };
            c
        };
        let ranked = rank(
            vec![
                vector_only("gson/Gson.java", 0.9),
                vector_only("gson/FieldsData.java", 0.2),
            ],
            "serialization of values",
            Fusion::Rrf,
            60.0,
        );
        assert_eq!(ranked[0].score, ranked[1].score);
    }
}
