//! The plain data `scry-chunk` hands out: chunks, their definitions, spans, kinds,
//! problems and options.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A stretch of a file: bytes (end exclusive) and the 1-based lines they cover
/// (inclusive). Every record that points into a file (a chunk, a definition, a hit, a
/// symbol) carries one of these.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Span {
    pub byte_start: usize,
    pub byte_end: usize,
    pub start_line: u32,
    pub end_line: u32,
}

impl Span {
    pub fn new(byte_start: usize, byte_end: usize, start_line: u32, end_line: u32) -> Span {
        Span {
            byte_start,
            byte_end,
            start_line,
            end_line,
        }
    }

    /// The smallest span that covers both.
    pub fn union(self, other: Span) -> Span {
        Span {
            byte_start: self.byte_start.min(other.byte_start),
            byte_end: self.byte_end.max(other.byte_end),
            start_line: self.start_line.min(other.start_line),
            end_line: self.end_line.max(other.end_line),
        }
    }

    /// Whether the two cover a common line or sit on adjacent lines.
    pub fn touches_lines(self, other: Span) -> bool {
        other.start_line <= self.end_line + 1 && self.start_line <= other.end_line + 1
    }

    pub fn contains_byte(self, byte: usize) -> bool {
        self.byte_start <= byte && byte < self.byte_end
    }
}

/// A named definition found in a file: a function, a type, a Markdown heading…
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Definition {
    pub name: String,
    pub kind: ChunkKind,
    /// The enclosing scope's signature (`impl Server`, `class Session`) or, for a
    /// Markdown section, its parent headings.
    pub scope: Option<String>,
    /// The whole definition, with the doc comments and attributes above it.
    pub span: Span,
    /// The name alone, where the definition says it.
    pub name_span: Span,
}

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChunkKind {
    Function,
    Method,
    Class,
    Struct,
    Enum,
    Trait,
    Impl,
    Interface,
    Module,
    Type,
    Constant,
    Macro,
    /// A name this module makes public from elsewhere (`pub use a::B`,
    /// `export { B } from "./a"`). Recorded as a definition, never cut as a chunk: the
    /// name is found where a reader of this module meets it.
    Reexport,
    /// A Markdown section (a heading and its text).
    Section,
    /// Code between definitions: imports, module-level statements.
    Block,
    /// A fixed window of lines: data files, unknown text, fallbacks.
    Window,
}

impl ChunkKind {
    pub const ALL: [ChunkKind; 16] = [
        ChunkKind::Function,
        ChunkKind::Method,
        ChunkKind::Class,
        ChunkKind::Struct,
        ChunkKind::Enum,
        ChunkKind::Trait,
        ChunkKind::Impl,
        ChunkKind::Interface,
        ChunkKind::Module,
        ChunkKind::Type,
        ChunkKind::Constant,
        ChunkKind::Macro,
        ChunkKind::Reexport,
        ChunkKind::Section,
        ChunkKind::Block,
        ChunkKind::Window,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChunkKind::Function => "function",
            ChunkKind::Method => "method",
            ChunkKind::Class => "class",
            ChunkKind::Struct => "struct",
            ChunkKind::Enum => "enum",
            ChunkKind::Trait => "trait",
            ChunkKind::Impl => "impl",
            ChunkKind::Interface => "interface",
            ChunkKind::Module => "module",
            ChunkKind::Type => "type",
            ChunkKind::Constant => "constant",
            ChunkKind::Macro => "macro",
            ChunkKind::Reexport => "reexport",
            ChunkKind::Section => "section",
            ChunkKind::Block => "block",
            ChunkKind::Window => "window",
        }
    }

    pub fn parse(s: &str) -> Option<ChunkKind> {
        ChunkKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Kinds whose nested functions are methods and whose label is a scope.
    pub(crate) fn is_container(self) -> bool {
        matches!(
            self,
            ChunkKind::Class
                | ChunkKind::Struct
                | ChunkKind::Enum
                | ChunkKind::Trait
                | ChunkKind::Impl
                | ChunkKind::Interface
        )
    }
}

impl fmt::Display for ChunkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// blake3 of what a chunk would be embedded as; the embedding cache key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(pub [u8; 32]);

impl ContentHash {
    pub fn of(parts: &[&[u8]]) -> ContentHash {
        let mut h = blake3::Hasher::new();
        for p in parts {
            h.update(&(p.len() as u64).to_le_bytes());
            h.update(p);
        }
        ContentHash(*h.finalize().as_bytes())
    }

    /// The 64-bit key a vector is stored under.
    pub fn key(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_le_bytes(b)
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({})", &self.to_hex()[..16])
    }
}

/// One searchable unit of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub span: Span,
    pub kind: ChunkKind,
    /// The chunk's label: the definition it is (`run`, `Server`, a heading) or, for a
    /// part of a split definition, the one it belongs to.
    pub symbol: Option<String>,
    /// The enclosing scope, e.g. `impl Server` or `class Session`.
    pub scope: Option<String>,
    /// For a part of a split definition: the parent's signature.
    pub context: Option<String>,
    /// Every definition whose name is inside this chunk, in file order. A definition
    /// larger than its chunk (split into parts) is listed by the part holding its name.
    pub definitions: Vec<Definition>,
    /// The chunk's text (invalid UTF-8 replaced).
    pub text: String,
    pub hash: ContentHash,
}

impl Chunk {
    /// What the embedding model sees for this chunk of the file at `path`: a short
    /// header (the path, the enclosing scope, a split part's parent signature), then
    /// the text. The path says what a chunk is about as much as its words: on the
    /// quality benchmark it raised hybrid NDCG@10 from 0.902 to 0.926 (chunk protocol,
    /// 4 repositories). A renamed file is therefore embedded again.
    pub fn embedding_text(&self, path: &str) -> String {
        embedding_text(
            path,
            self.scope.as_deref(),
            self.context.as_deref(),
            &self.text,
        )
    }

    /// The key of this chunk's vector: its [`ContentHash`] and the path of its file,
    /// all that [`Chunk::embedding_text`] embeds.
    pub fn vector_hash(&self, path: &str) -> ContentHash {
        ContentHash::of(&[path.as_bytes(), &self.hash.0])
    }
}

/// What the embedding model sees for a chunk of the file at `path` with this scope,
/// context and text.
pub fn embedding_text(
    path: &str,
    scope: Option<&str>,
    context: Option<&str>,
    text: &str,
) -> String {
    let mut s = String::with_capacity(text.len() + path.len() + 64);
    for line in [Some(path), scope, context].into_iter().flatten() {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(text);
    s
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    InvalidUtf8,
    ParseErrors,
    Timeout,
    TooLarge,
    Internal,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::InvalidUtf8 => "invalid-utf8",
            ProblemKind::ParseErrors => "parse-errors",
            ProblemKind::Timeout => "timeout",
            ProblemKind::TooLarge => "too-large",
            ProblemKind::Internal => "internal",
        }
    }
}

/// Something about a file a user may want to know; never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub message: String,
}

impl Problem {
    pub fn new(kind: ProblemKind, message: impl Into<String>) -> Problem {
        Problem {
            kind,
            message: message.into(),
        }
    }
}

/// The result of chunking one file.
#[derive(Debug, Clone)]
pub struct Chunked {
    /// The language's registry name, or `text`.
    pub language: &'static str,
    pub chunks: Vec<Chunk>,
    pub problems: Vec<Problem>,
}

/// How big chunks are and how long chunking may take.
#[derive(Debug, Clone)]
pub struct ChunkOptions {
    /// Definitions larger than this are split at child boundaries.
    pub max_chunk_bytes: usize,
    /// Adjacent siblings both smaller than this are merged.
    pub min_chunk_bytes: usize,
    /// Lines per window for data files and fallbacks.
    pub window_lines: usize,
    /// Files larger than this are not parsed, only windowed.
    pub max_parse_bytes: usize,
    /// Files larger than this are parsed in parts of about this size, cut at top-level
    /// lines, so that one syntax tree (50-75 bytes a byte of source) is held at a time.
    pub parse_segment_bytes: usize,
    /// Parsing and querying stop after this long and fall back to windows.
    pub time_budget: Duration,
}

impl Default for ChunkOptions {
    fn default() -> Self {
        ChunkOptions {
            max_chunk_bytes: 1800,
            min_chunk_bytes: 240,
            window_lines: 60,
            max_parse_bytes: 4 << 20,
            parse_segment_bytes: 64 << 10,
            time_budget: Duration::from_secs(2),
        }
    }
}

impl ChunkOptions {
    pub fn with_max_chunk_bytes(mut self, n: usize) -> Self {
        self.max_chunk_bytes = n.max(64);
        self
    }
    pub fn with_min_chunk_bytes(mut self, n: usize) -> Self {
        self.min_chunk_bytes = n;
        self
    }
    pub fn with_window_lines(mut self, n: usize) -> Self {
        self.window_lines = n.max(1);
        self
    }
    pub fn with_max_parse_bytes(mut self, n: usize) -> Self {
        self.max_parse_bytes = n;
        self
    }
    pub fn with_parse_segment_bytes(mut self, n: usize) -> Self {
        self.parse_segment_bytes = n.max(1);
        self
    }
    pub fn with_time_budget(mut self, d: Duration) -> Self {
        self.time_budget = d;
        self
    }
}
