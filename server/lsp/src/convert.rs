//! Engine values → LSP values: URIs for paths and exact ranges for byte spans.
//!
//! A URI from the client becomes a path *string* here and nothing more; the engine's
//! `Roots::resolve` is what turns it into a filesystem path, confined to the roots.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use scry_engine::{FileRef, Sources, Span};
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

pub fn file_uri(file: &FileRef) -> Uri {
    path_to_uri(&file.root, &file.path)
}

/// A file's indexed text with its line index, or `None` when the file is stale.
type Indexed = Option<(Arc<str>, LineIndex)>;

/// Ranges for spans of indexed files, in the negotiated encoding, from the texts the
/// engine read for the request (each file's line index built once).
pub struct RangeMaker<'a> {
    sources: &'a Sources,
    enc: PositionEncoding,
    lines: HashMap<(std::path::PathBuf, String), Indexed>,
}

impl<'a> RangeMaker<'a> {
    pub fn new(sources: &'a Sources, enc: PositionEncoding) -> RangeMaker<'a> {
        RangeMaker {
            sources,
            enc,
            lines: HashMap::new(),
        }
    }

    /// `span`'s exact range in the text `file` was indexed from; when that text is gone
    /// (the file is stale), the span's whole lines, `text` giving the last line's length
    /// when known.
    pub fn range(&mut self, file: &FileRef, span: Span, text: &str) -> Range {
        let sources = self.sources;
        let key = (file.root.clone(), file.path.clone());
        let indexed = self.lines.entry(key).or_insert_with(|| {
            sources.indexed_text(file).map(|t| {
                let lines = LineIndex::new(&t);
                (t, lines)
            })
        });
        match indexed {
            Some((t, lines)) => lines.range(t, span.byte_start, span.byte_end, self.enc),
            None => line_range(span.start_line, span.end_line, text, self.enc),
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
