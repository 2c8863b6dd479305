//! Bytes and a language in, chunks and problems out: tree-sitter chunking that never fails.
//!
//! `scry-chunk` turns one file's bytes into [`Chunk`]s: definitions (functions, methods,
//! classes, impls, …) with their leading doc comments and attributes, Markdown sections,
//! or line windows for data and unknown text. It does no IO and never panics: a parse
//! error, a timeout, a 50 MB single line or invalid UTF-8 yields fallback windows and a
//! recorded [`Problem`].
//!
//! ```
//! use scry_chunk::{chunk_file, ChunkOptions};
//! let src = b"/// Adds.\nfn add(a: u32, b: u32) -> u32 { a + b }\n";
//! let out = chunk_file("src/lib.rs", src, &ChunkOptions::default());
//! assert_eq!(out.language, "rust");
//! assert_eq!(out.chunks[0].symbol.as_deref(), Some("add"));
//! assert_eq!(out.chunks[0].span.start_line, 1); // the doc comment comes along
//! let add = &out.chunks[0].definitions[0];
//! assert_eq!((add.name.as_str(), add.kind.as_str()), ("add", "function"));
//! assert_eq!(add.name_span.start_line, 2);
//! ```

mod markdown;
mod registry;
mod segments;
mod split;
mod syntax;
mod text;
mod types;

pub use registry::{Language, Strategy, detect_language, language_by_name, languages};
pub use types::{
    Chunk, ChunkKind, ChunkOptions, Chunked, ContentHash, Definition, Problem, ProblemKind, Span,
    embedding_text,
};

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use text::SourceText;

/// Compiles every language's tree-sitter query now (it happens once per process, on
/// the first file chunked otherwise): for a server that wants its first edit fast.
pub fn warm_up() {
    let _ = chunk_file("warm_up.rs", b"fn warm_up() {}\n", &ChunkOptions::default());
}

/// Chunks one file. `path` (relative or absolute) is used only to pick the language.
pub fn chunk_file(path: &str, bytes: &[u8], opts: &ChunkOptions) -> Chunked {
    let language = detect_language(path, bytes);
    chunk_source(language, SourceText::new(bytes), opts)
}

/// Chunks one file by its real text, `bytes`, while every text the chunks carry (their
/// text, labels, signatures) is taken from `shown`: the same bytes with secrets masked,
/// same length. Parsing the real text is what keeps a masked value from breaking the
/// syntax tree; `shown` of another length is ignored (a bug upstream), with a problem.
///
/// ```
/// use scry_chunk::{chunk_masked, ChunkOptions};
/// let src = b"def connect():\n    return db(password=\"hunter22\")\n";
/// let masked = b"def connect():\n    return db(password=\"********\")\n";
/// let out = chunk_masked("db.py", src, masked, &ChunkOptions::default());
/// assert_eq!(out.chunks[0].symbol.as_deref(), Some("connect"));
/// assert!(out.chunks[0].text.contains("********") && !out.chunks[0].text.contains("hunter22"));
/// ```
pub fn chunk_masked(path: &str, bytes: &[u8], shown: &[u8], opts: &ChunkOptions) -> Chunked {
    let language = detect_language(path, bytes);
    if shown.len() != bytes.len() {
        // Never show the unmasked text: chunk what may be shown, as text.
        let mut out = chunk_source(None, SourceText::new(shown), opts);
        out.problems.push(Problem::new(
            ProblemKind::Internal,
            "the masked text differs in length from the file; it was indexed as line windows",
        ));
        return out;
    }
    chunk_source(language, SourceText::masked(bytes, shown), opts)
}

/// Chunks bytes as the given language (`None`: unknown text, line windows).
pub fn chunk_with_language(
    language: Option<&'static Language>,
    bytes: &[u8],
    opts: &ChunkOptions,
) -> Chunked {
    chunk_source(language, SourceText::new(bytes), opts)
}

fn chunk_source(
    language: Option<&'static Language>,
    src: SourceText,
    opts: &ChunkOptions,
) -> Chunked {
    let deadline = Instant::now() + opts.time_budget;
    let mut problems = Vec::new();
    if src.lossy {
        problems.push(Problem::new(
            ProblemKind::InvalidUtf8,
            "the file is not valid UTF-8; invalid bytes were replaced for indexing",
        ));
    }
    let name = language.map_or("text", |l| l.name);
    let strategy = language.map_or(Strategy::Lines, |l| l.strategy);

    // A panic in a grammar or in our own code must not take the indexer down:
    // fall back to windows and say so.
    let chunked = catch_unwind(AssertUnwindSafe(|| {
        let (pieces, definitions) = match (strategy, language) {
            (Strategy::TreeSitter, Some(lang)) => {
                syntax::chunk_syntax(lang, &src, opts, deadline, &mut problems)
            }
            (Strategy::Markdown, _) => markdown::chunk_markdown(&src, opts),
            _ => (
                split::windows_piece_list(&src, 0, src.len(), opts, None),
                Vec::new(),
            ),
        };
        split::into_chunks(&src, pieces, definitions)
    }));
    let chunks = match chunked {
        Ok(chunks) => chunks,
        Err(_) => {
            problems.push(Problem::new(
                ProblemKind::Internal,
                "the chunker failed on this file; it was indexed as line windows",
            ));
            let windows = split::windows_piece_list(&src, 0, src.len(), opts, None);
            split::into_chunks(&src, windows, Vec::new())
        }
    };
    Chunked {
        language: name,
        chunks,
        problems,
    }
}
