//! The plain data `scry-chunk` hands out: chunks, kinds, problems and options.

use std::fmt;
use std::time::Duration;

/// What a chunk holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    /// A Markdown section (a heading and its text).
    Section,
    /// Code between definitions: imports, module-level statements.
    Block,
    /// A fixed window of lines: data files, unknown text, fallbacks.
    Window,
}

impl ChunkKind {
    pub const ALL: [ChunkKind; 15] = [
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
    /// Byte range in the file, end exclusive.
    pub byte_start: usize,
    pub byte_end: usize,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub kind: ChunkKind,
    /// The definition's name (`run`, `Server`, a heading), if any.
    pub symbol: Option<String>,
    /// The enclosing scope, e.g. `impl Server` or `class Session`.
    pub scope: Option<String>,
    /// For a part of a split definition: the parent's signature.
    pub context: Option<String>,
    /// Every name defined inside the chunk, `symbol` first.
    pub symbols: Vec<String>,
    /// The chunk's text (invalid UTF-8 replaced).
    pub text: String,
    pub hash: ContentHash,
}

impl Chunk {
    /// What the embedding model sees: the context that makes a part understandable,
    /// then the text. It excludes the path, so a renamed file embeds nothing new.
    pub fn embedding_text(&self) -> String {
        embedding_text(self.scope.as_deref(), self.context.as_deref(), &self.text)
    }
}

/// What the embedding model sees for a chunk with this scope, context and text.
pub fn embedding_text(scope: Option<&str>, context: Option<&str>, text: &str) -> String {
    let mut s = String::with_capacity(text.len() + 64);
    for line in [scope, context].into_iter().flatten() {
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
    pub fn with_time_budget(mut self, d: Duration) -> Self {
        self.time_budget = d;
        self
    }
}
