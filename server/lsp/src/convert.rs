//! Engine values → LSP values: URIs for paths and exact ranges for byte spans.
//!
//! A URI from the client becomes a path *string* here and nothing more; the engine's
//! `Roots::resolve` is what turns it into a filesystem path, confined to the roots.

use std::collections::HashMap;
use std::path::Path;

use scry_engine::{Engine, Hit};
use tower_lsp_server::ls_types::{Position, Range, SymbolKind, Uri};

use crate::encoding::{LineIndex, PositionEncoding};

/// The path a `file:` URI names, as a string for the engine to resolve.
pub fn uri_to_path(uri: &Uri) -> Option<String> {
    if uri.scheme().as_str() != "file" {
        return None;
    }
    let path = uri.to_file_path()?;
    path.to_str().map(str::to_owned)
}

pub fn path_to_uri(root: &Path, rel: &str) -> Uri {
    let abs = if rel.is_empty() {
        root.to_owned()
    } else {
        root.join(rel)
    };
    // Only a relative path fails, and roots are canonical absolute paths.
    Uri::from_file_path(&abs).expect("roots are absolute")
}

/// Ranges for hits, reading each file at most once per request.
pub struct RangeMaker<'a> {
    engine: &'a Engine,
    enc: PositionEncoding,
    texts: HashMap<(std::path::PathBuf, String, String), Option<(String, LineIndex)>>,
}

impl<'a> RangeMaker<'a> {
    pub fn new(engine: &'a Engine, enc: PositionEncoding) -> RangeMaker<'a> {
        RangeMaker {
            engine,
            enc,
            texts: HashMap::new(),
        }
    }

    /// The hit's exact range in the text it was indexed from, and whether that text is
    /// gone (the file changed since): then the range is the hit's lines.
    pub fn range(&mut self, hit: &Hit) -> (Range, bool) {
        self.span(
            &hit.root,
            &hit.path,
            &hit.file_hash,
            (hit.byte_start, hit.byte_end),
            (hit.start_line, hit.end_line),
            &hit.text,
        )
    }

    /// A span given by bytes and (1-based) lines, checked against the file's hash;
    /// `text` is what the span covers, for its last line when only lines are known.
    pub fn span(
        &mut self,
        root: &Path,
        path: &str,
        file_hash: &str,
        (byte_start, byte_end): (usize, usize),
        (start_line, end_line): (u32, u32),
        text: &str,
    ) -> (Range, bool) {
        let key = (root.to_owned(), path.to_owned(), file_hash.to_owned());
        let engine = self.engine;
        let file = self.texts.entry(key).or_insert_with(|| {
            engine.indexed_file_text(root, path, file_hash).map(|t| {
                let lines = LineIndex::new(&t);
                (t, lines)
            })
        });
        match file {
            Some((t, lines)) => (lines.range(t, byte_start, byte_end, self.enc), false),
            None => (line_range(start_line, end_line, text, self.enc), true),
        }
    }
}

/// Whole lines `start..=end` (1-based), for when the exact text is not available.
pub fn line_range(start: u32, end: u32, text: &str, enc: PositionEncoding) -> Range {
    let last = text.lines().last().unwrap_or("");
    Range::new(
        Position::new(start.saturating_sub(1), 0),
        Position::new(end.saturating_sub(1), enc.len(last) as u32),
    )
}

pub fn symbol_kind(kind: &str) -> SymbolKind {
    match kind {
        "function" => SymbolKind::FUNCTION,
        "method" => SymbolKind::METHOD,
        "class" => SymbolKind::CLASS,
        "struct" => SymbolKind::STRUCT,
        "enum" => SymbolKind::ENUM,
        "trait" | "interface" => SymbolKind::INTERFACE,
        "impl" => SymbolKind::CLASS,
        "module" => SymbolKind::MODULE,
        "type" => SymbolKind::TYPE_PARAMETER,
        "constant" => SymbolKind::CONSTANT,
        "macro" => SymbolKind::FUNCTION,
        "section" => SymbolKind::STRING,
        _ => SymbolKind::VARIABLE,
    }
}
