//! The ranking stage after fusion: what a list of retrieved chunks does not say by
//! itself. Each signal multiplies a chunk's fused score; each is a function of its own,
//! tested on its own.
//!
//! - definitions: a chunk that *defines* a name the query says ranks above chunks that
//!   merely mention it;
//! - paths: query words in the file's name (or its folders) raise the file;
//! - file evidence: a file with several good chunks raises its best one;
//! - kinds of files: tests, examples, benchmarks, vendored or generated code and prose
//!   rank below implementation, unless the query asks for them;
//! - diversity: at most [`PER_FILE_IN_TOP`] chunks of one file in the first
//!   [`TOP`] results.

use std::collections::{HashMap, HashSet};

use scry_chunk::Definition;
use scry_index::{STOP_WORDS, tokenize};

use crate::search::Candidate;

/// The results a person reads first, where one file may not take every place.
pub(crate) const TOP: usize = 10;
pub(crate) const PER_FILE_IN_TOP: usize = 3;

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
    /// Content words: no stop words, plurals folded (`requests` → `request`).
    words: HashSet<String>,
    /// Which kinds of files the query asks for.
    asks: HashSet<FileKind>,
}

impl QueryTerms {
    pub(crate) fn new(query: &str) -> QueryTerms {
        let all: HashSet<String> = tokenize(query).into_iter().map(|t| t.text).collect();
        let words: HashSet<String> = all
            .iter()
            .filter(|t| is_content_word(t))
            .map(|t| fold(t))
            .collect();
        let asks = words.iter().filter_map(|w| asked_kind(w)).collect();
        QueryTerms { all, words, asks }
    }
}

/// A word without its plural ending, so `requests` and `request` meet.
pub(crate) fn fold(word: &str) -> String {
    if word.len() > 3
        && let Some(stem) = word.strip_suffix('s')
        && !stem.ends_with('s')
    {
        return stem.to_owned();
    }
    word.to_owned()
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
        "test" | "testing" | "spec" | "fixture" | "mock" => FileKind::Test,
        "example" | "sample" | "demo" | "tutorial" => FileKind::Example,
        "bench" | "benchmark" => FileKind::Benchmark,
        "vendor" | "vendored" | "generated" => FileKind::Foreign,
        "doc" | "docs" | "documentation" | "readme" | "changelog" | "guide" => FileKind::Prose,
        _ => return None,
    })
}

pub(crate) fn file_kind(path: &str) -> FileKind {
    let lower = path.to_ascii_lowercase();
    let (dirs, name) = lower.rsplit_once('/').unwrap_or(("", &lower));
    let dirs: Vec<&str> = dirs.split('/').collect();
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
        "test",
        "tests",
        "__tests__",
        "spec",
        "specs",
        "testdata",
        "testing",
        "fixtures",
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
    if q.asks.contains(&kind) {
        return 1.0;
    }
    match kind {
        FileKind::Implementation => 1.0,
        FileKind::Test => 0.6,
        FileKind::Example | FileKind::Benchmark => 0.7,
        FileKind::Prose => 0.6,
        FileKind::Foreign => 0.5,
    }
}

/// A chunk defining a compound name the query says whole (`FromRequest`,
/// `parse_config`). A one-word name (`send`, `Session`) or a name's parts scattered in
/// a sentence matched too many chunks on the benchmark to help: BM25's symbol field
/// already weighs them.
pub(crate) fn definition_factor(defs: &[Definition], q: &QueryTerms) -> f64 {
    let named = defs.iter().any(|d| {
        let tokens: Vec<String> = tokenize(&d.name).into_iter().map(|t| t.text).collect();
        tokens.len() > 1 && q.all.contains(&tokens[0])
    });
    if named { 2.0 } else { 1.0 }
}

/// Query words in the file's name, then in its folders.
pub(crate) fn path_factor(path: &str, q: &QueryTerms) -> f64 {
    let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path));
    let stem = name.split('.').next().unwrap_or(name);
    let words = |text: &str| -> HashSet<String> {
        tokenize(text)
            .into_iter()
            .map(|t| fold(&t.text))
            .filter(|t| t.len() >= 3 && is_content_word(t))
            .collect()
    };
    let in_name = words(stem).intersection(&q.words).count();
    let in_dirs = words(dirs).intersection(&q.words).count();
    1.0 + 0.3 * in_name.min(2) as f64 + 0.1 * in_dirs.min(2) as f64
}

/// Re-scores fused candidates with every signal and orders them, best first, with at
/// most [`PER_FILE_IN_TOP`] of one file among the first [`TOP`].
pub(crate) fn rank(mut candidates: Vec<Candidate>, query: &str) -> Vec<Candidate> {
    let q = QueryTerms::new(query);
    let off = ablated();
    for c in &mut candidates {
        if !off.contains(&Signal::Kind) {
            c.score *= kind_factor(file_kind(&c.chunk.path), &q);
        }
        if !off.contains(&Signal::Definition) {
            c.score *= definition_factor(&c.chunk.definitions, &q);
        }
        if !off.contains(&Signal::Path) {
            c.score *= path_factor(&c.chunk.path, &q);
        }
    }
    sort(&mut candidates);
    if !off.contains(&Signal::Evidence) {
        file_evidence(&mut candidates);
        sort(&mut candidates);
    }
    if off.contains(&Signal::Spread) {
        return candidates;
    }
    spread(candidates)
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

/// A file's best chunk gains a little for each other chunk of the file among the
/// candidates (up to three): several pieces of evidence beat one.
pub(crate) fn file_evidence(sorted: &mut [Candidate]) {
    let mut chunks_of: HashMap<(u32, String), usize> = HashMap::new();
    for c in sorted.iter() {
        *chunks_of.entry(file_of(c)).or_default() += 1;
    }
    for c in sorted.iter_mut() {
        // In score order a file's first chunk is its best: it alone takes the count.
        if let Some(n) = chunks_of.remove(&file_of(c)) {
            c.score *= 1.0 + 0.1 * (n - 1).min(3) as f64;
        }
    }
}

fn file_of(c: &Candidate) -> (u32, String) {
    (c.chunk.root, c.chunk.path.clone())
}

/// Keeps the order but lets no file take more than [`PER_FILE_IN_TOP`] of the first
/// [`TOP`] places; the chunks it could not place follow.
pub(crate) fn spread(sorted: Vec<Candidate>) -> Vec<Candidate> {
    let mut top = Vec::with_capacity(sorted.len());
    let mut rest = Vec::new();
    let mut per_file: HashMap<(u32, String), usize> = HashMap::new();
    for c in sorted {
        let n = per_file.entry(file_of(&c)).or_default();
        if top.len() < TOP && *n < PER_FILE_IN_TOP {
            *n += 1;
            top.push(c);
        } else {
            rest.push(c);
        }
    }
    top.extend(rest);
    top
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
            ranks: Ranks::default(),
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
        assert!(kind_factor(FileKind::Test, &q) < 1.0);
        assert!(kind_factor(FileKind::Prose, &q) < 1.0);
        assert_eq!(kind_factor(FileKind::Implementation, &q), 1.0);
        let q = QueryTerms::new("tests for null serialization");
        assert_eq!(kind_factor(FileKind::Test, &q), 1.0);
        let q = QueryTerms::new("docs on extractors");
        assert_eq!(kind_factor(FileKind::Prose, &q), 1.0);
    }

    #[test]
    fn a_chunk_defining_the_named_symbol_outranks_one_mentioning_it() {
        let q = QueryTerms::new("FromRequest");
        assert_eq!(definition_factor(&[def("FromRequest")], &q), 2.0);
        assert_eq!(definition_factor(&[def("from_request_parts")], &q), 1.0);
        assert_eq!(definition_factor(&[], &q), 1.0);
        let q = QueryTerms::new("where does merge_environment_settings read proxies");
        assert_eq!(
            definition_factor(&[def("merge_environment_settings")], &q),
            2.0
        );
        // Parts scattered in a sentence, or a one-word name, are left to BM25.
        let q = QueryTerms::new("merge environment settings of a session");
        assert_eq!(
            definition_factor(&[def("merge_environment_settings")], &q),
            1.0
        );
        assert_eq!(definition_factor(&[def("Session")], &q), 1.0);
        let ranked = rank(
            vec![
                candidate("src/uses.rs", 0, 1.0, &[]),
                candidate("src/extract.rs", 0, 0.8, &["FromRequest"]),
            ],
            "FromRequest",
        );
        assert_eq!(paths(&ranked), ["src/extract.rs", "src/uses.rs"]);
    }

    #[test]
    fn query_words_in_a_file_name_raise_the_file() {
        let q = QueryTerms::new("request throttling middleware");
        assert!(
            path_factor("middleware/throttle.go", &q)
                > path_factor("middleware/request_id.go", &q) - 0.31
        );
        let q = QueryTerms::new("how are cookies persisted");
        assert!(
            path_factor("src/requests/cookies.py", &q) > 1.2,
            "plural folded"
        );
        assert_eq!(path_factor("src/requests/adapters.py", &q), 1.0);
        // Stop words never count.
        let q = QueryTerms::new("what is the where");
        assert_eq!(path_factor("src/what/where.py", &q), 1.0);
    }

    #[test]
    fn several_good_chunks_raise_a_files_best_one() {
        let mut c = vec![
            candidate("a.rs", 0, 1.0, &[]),
            candidate("b.rs", 0, 0.95, &[]),
            candidate("b.rs", 100, 0.5, &[]),
            candidate("b.rs", 200, 0.4, &[]),
        ];
        file_evidence(&mut c);
        assert!(c[1].score > c[0].score, "{} {}", c[1].score, c[0].score);
        assert_eq!(c[2].score, 0.5, "only the best chunk of a file gains");
    }

    #[test]
    fn one_file_takes_at_most_three_of_the_first_ten_places() {
        let mut c: Vec<Candidate> = (0..8)
            .map(|i| candidate("big.rs", i * 100, 1.0 - i as f64 * 0.01, &[]))
            .collect();
        c.push(candidate("other.rs", 0, 0.1, &[]));
        let ranked = spread(c);
        assert_eq!(
            paths(&ranked[..4]),
            ["big.rs", "big.rs", "big.rs", "other.rs"]
        );
        assert_eq!(ranked.len(), 9, "nothing is dropped");
    }
}
