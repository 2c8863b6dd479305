//! Positions: LSP (line, character) in the negotiated encoding ↔ byte offsets in text.
//!
//! Lines end at `\n`, `\r\n` or a lone `\r`, as LSP 3.17 says. A character past the end
//! of its line means the end of the line. A byte-order mark at the start of a file read
//! from disk is not part of the text an editor shows, so it takes no columns.

use tower_lsp_server::ls_types::{Position, PositionEncodingKind, Range};

/// The unit `Position::character` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PositionEncoding {
    Utf8,
    #[default]
    Utf16,
    Utf32,
}

impl PositionEncoding {
    /// Picks from what the client offers: utf-8 when offered (no conversion), else
    /// utf-16, which every client must support.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> PositionEncoding {
        let offered = offered.unwrap_or_default();
        if offered.contains(&PositionEncodingKind::UTF8) {
            PositionEncoding::Utf8
        } else if offered.is_empty() || offered.contains(&PositionEncodingKind::UTF16) {
            PositionEncoding::Utf16
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            PositionEncoding::Utf32
        } else {
            PositionEncoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            PositionEncoding::Utf8 => PositionEncodingKind::UTF8,
            PositionEncoding::Utf16 => PositionEncodingKind::UTF16,
            PositionEncoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PositionEncoding::Utf8 => "utf-8",
            PositionEncoding::Utf16 => "utf-16",
            PositionEncoding::Utf32 => "utf-32",
        }
    }

    fn width(self, c: char) -> usize {
        match self {
            PositionEncoding::Utf8 => c.len_utf8(),
            PositionEncoding::Utf16 => c.len_utf16(),
            PositionEncoding::Utf32 => 1,
        }
    }

    /// Columns `s` takes in this encoding.
    pub fn len(self, s: &str) -> usize {
        match self {
            PositionEncoding::Utf8 => s.len(),
            PositionEncoding::Utf16 => s.chars().map(char::len_utf16).sum(),
            PositionEncoding::Utf32 => s.chars().count(),
        }
    }
}

const BOM: &str = "\u{feff}";

/// Byte offset where line `line` starts, or `None` past the last line.
fn line_start(text: &str, line: u32) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let mut current = 0;
    let mut i = start;
    while current < line {
        if i >= bytes.len() {
            return None;
        }
        match bytes[i] {
            b'\n' => {
                current += 1;
                start = i + 1;
            }
            b'\r' => {
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                current += 1;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    Some(start)
}

/// Byte offset where the line that starts at `start` ends (before its line break).
fn line_end(text: &str, start: usize) -> usize {
    text[start..]
        .find(['\n', '\r'])
        .map_or(text.len(), |i| start + i)
}

/// The byte offset of `pos`. A line past the end gives the end of the text; a character
/// past the end of its line (or inside a character) gives the nearest boundary before.
pub fn offset_of(text: &str, pos: Position, enc: PositionEncoding) -> usize {
    let Some(start) = line_start(text, pos.line) else {
        return text.len();
    };
    let end = line_end(text, start);
    let mut col = 0usize;
    let want = pos.character as usize;
    for (i, c) in text[start..end].char_indices() {
        if col >= want {
            return start + i;
        }
        col += enc.width(c);
        if col > want {
            // Inside a character (half of a surrogate pair): stay before it.
            return start + i;
        }
    }
    end
}

/// The position of byte `offset` (clamped to the text and to a character boundary).
pub fn position_of(text: &str, offset: usize, enc: PositionEncoding) -> Position {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let bytes = text.as_bytes();
    let mut line = 0u32;
    let mut start = if text.starts_with(BOM) { BOM.len() } else { 0 };
    let mut i = start;
    while i < offset {
        match bytes[i] {
            b'\n' => {
                line += 1;
                start = i + 1;
            }
            b'\r' => {
                if bytes.get(i + 1) == Some(&b'\n') {
                    if i + 1 >= offset {
                        // Between `\r` and `\n`: the end of this line.
                        break;
                    }
                    i += 1;
                }
                line += 1;
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    let upto = offset.max(start).min(line_end(text, start));
    Position::new(line, enc.len(&text[start..upto]) as u32)
}

/// Line starts of one text, for converting many offsets without rescanning it.
pub struct LineIndex {
    /// Byte offset where each line starts (the first after a BOM).
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = vec![if text.starts_with(BOM) { BOM.len() } else { 0 }];
        let mut i = starts[0];
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i + 1),
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    starts.push(i + 2);
                    i += 1;
                }
                b'\r' => starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        LineIndex { starts }
    }

    /// The same as [`position_of`], in O(log lines + line length).
    pub fn position(&self, text: &str, offset: usize, enc: PositionEncoding) -> Position {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts[line];
        let upto = offset.max(start).min(line_end(text, start));
        Position::new(line as u32, enc.len(&text[start..upto]) as u32)
    }

    pub fn range(&self, text: &str, start: usize, end: usize, enc: PositionEncoding) -> Range {
        Range::new(
            self.position(text, start, enc),
            self.position(text, end, enc),
        )
    }
}

pub fn range_of(text: &str, start: usize, end: usize, enc: PositionEncoding) -> Range {
    Range::new(position_of(text, start, enc), position_of(text, end, enc))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [PositionEncoding; 3] = [
        PositionEncoding::Utf8,
        PositionEncoding::Utf16,
        PositionEncoding::Utf32,
    ];

    #[test]
    fn utf8_preferred_when_offered_else_utf16() {
        use PositionEncodingKind as K;
        assert_eq!(
            PositionEncoding::negotiate(Some(&[K::UTF16, K::UTF8])),
            PositionEncoding::Utf8
        );
        assert_eq!(
            PositionEncoding::negotiate(Some(&[K::UTF16])),
            PositionEncoding::Utf16
        );
        assert_eq!(PositionEncoding::negotiate(None), PositionEncoding::Utf16);
        assert_eq!(
            PositionEncoding::negotiate(Some(&[K::UTF32])),
            PositionEncoding::Utf32
        );
    }

    #[test]
    fn non_bmp_characters_count_per_encoding() {
        let text = "a😀b\n";
        let b = text.find('b').unwrap();
        assert_eq!(position_of(text, b, PositionEncoding::Utf8).character, 5);
        assert_eq!(position_of(text, b, PositionEncoding::Utf16).character, 3);
        assert_eq!(position_of(text, b, PositionEncoding::Utf32).character, 2);
        for enc in ALL {
            assert_eq!(offset_of(text, position_of(text, b, enc), enc), b);
        }
        // The middle of the surrogate pair rounds down to the emoji's start.
        assert_eq!(
            offset_of(text, Position::new(0, 2), PositionEncoding::Utf16),
            1
        );
    }

    #[test]
    fn crlf_and_lone_cr_end_lines() {
        let text = "one\r\ntwo\rthree\nfour";
        let four = text.find("four").unwrap();
        let three = text.find("three").unwrap();
        for enc in ALL {
            assert_eq!(position_of(text, four, enc), Position::new(3, 0));
            assert_eq!(position_of(text, three, enc), Position::new(2, 0));
            assert_eq!(offset_of(text, Position::new(3, 2), enc), four + 2);
            // Past the end of `one` is the end of `one`, not into `\r\n`.
            assert_eq!(offset_of(text, Position::new(0, 99), enc), 3);
            // Between \r and \n is still the end of line 0.
            assert_eq!(position_of(text, 4, enc), Position::new(0, 3));
        }
    }

    #[test]
    fn a_bom_takes_no_columns() {
        let text = "\u{feff}fn main() {}\n";
        let main = text.find("main").unwrap();
        for enc in ALL {
            assert_eq!(position_of(text, main, enc), Position::new(0, 3));
            assert_eq!(offset_of(text, Position::new(0, 3), enc), main);
            assert_eq!(offset_of(text, Position::new(0, 0), enc), 3);
        }
    }

    #[test]
    fn every_offset_round_trips() {
        let text = "\u{feff}héllo 𝄞 wörld\r\n\tΩ≈ç√ 😀😀\rend\n";
        for enc in ALL {
            for (i, _) in text.char_indices().skip(1) {
                let at_break =
                    matches!(text.as_bytes()[i], b'\n') && text.as_bytes()[i - 1] == b'\r';
                if at_break {
                    continue;
                }
                let p = position_of(text, i, enc);
                assert_eq!(offset_of(text, p, enc), i, "{enc:?} offset {i} → {p:?}");
                assert_eq!(
                    LineIndex::new(text).position(text, i, enc),
                    p,
                    "{enc:?} {i}"
                );
            }
        }
    }
}
