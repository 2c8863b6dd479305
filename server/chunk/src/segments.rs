//! Where a large file is cut so that each part is parsed on its own: tree-sitter's tree
//! takes 50-75 bytes of memory per byte of source, so a 700 KB file held a 38 MB tree.

use crate::text::SourceText;

/// The end of the part that starts at `start`: the first top-level line at least
/// `target` bytes on, one that starts in column 0 after a blank line (`fn`, `class`,
/// `#define`, a doc comment above one), or the end of the file. Cut there, each part is
/// usually a whole sequence of top-level items; when a cut falls inside a multi-line
/// string or comment instead, the part before it parses with errors and its caller cuts
/// where its tree says the item in error starts.
pub(crate) fn part_end(src: &SourceText, start: usize, target: usize) -> usize {
    if src.len() - start <= target {
        return src.len();
    }
    next_top_level_line(src, start + target).unwrap_or(src.len())
}

/// The first top-level line starting at or after `from`.
fn next_top_level_line(src: &SourceText, from: usize) -> Option<usize> {
    let bytes = src.bytes;
    let mut line = src.line_of(from);
    if src.line_start(line) < from {
        line += 1;
    }
    loop {
        let start = src.line_start(line);
        if start >= bytes.len() {
            return None;
        }
        let first = bytes[start];
        let opens_item = !first.is_ascii_whitespace() && !b"})]".contains(&first);
        if opens_item && line > 0 && is_blank(line_bytes(src, line - 1)) {
            return Some(start);
        }
        line += 1;
    }
}

fn line_bytes<'a>(src: &SourceText<'a>, line: usize) -> &'a [u8] {
    &src.bytes[src.line_start(line)..src.line_start(line + 1)]
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(src: &SourceText, target: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut a = 0;
        while a < src.len() {
            let b = part_end(src, a, target);
            out.push((a, b));
            a = b;
        }
        out
    }

    #[test]
    fn parts_start_at_top_level_lines_after_a_blank_line() {
        let text = "fn a() {\n    1\n}\n\nfn b() {\n\n    2\n}\n\n/// C.\nfn c() {}\n";
        let src = SourceText::new(text.as_bytes());
        let parts = parts(&src, 10);
        let starts: Vec<&str> = parts.iter().map(|(a, _)| &text[*a..]).collect();
        // The blank line inside `b` is followed by an indented line: not a cut.
        assert_eq!(parts.len(), 3, "{starts:?}");
        assert!(starts[1].starts_with("fn b()"));
        assert!(starts[2].starts_with("/// C."));
        assert_eq!(parts.last().unwrap().1, text.len());
    }

    #[test]
    fn a_small_file_or_one_without_top_level_lines_is_one_part() {
        let small = SourceText::new(b"fn a() {}\n\nfn b() {}\n");
        assert_eq!(parts(&small, 1 << 10), vec![(0, small.len())]);
        let nested = "class A {\n\n    void a() {}\n\n    void b() {}\n}\n";
        let src = SourceText::new(nested.as_bytes());
        assert_eq!(parts(&src, 8), vec![(0, nested.len())]);
    }
}
