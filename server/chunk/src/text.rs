//! The source bytes with a line index: byte offsets to 1-based lines, and lossy text.

pub(crate) struct SourceText<'a> {
    /// What is parsed: the file's real bytes.
    pub bytes: &'a [u8],
    /// What chunks carry: `bytes` with secrets masked, same length (or `bytes` itself).
    pub shown: &'a [u8],
    /// Byte offset of the start of each line.
    line_starts: Vec<usize>,
    pub lossy: bool,
}

impl<'a> SourceText<'a> {
    pub fn new(bytes: &'a [u8]) -> SourceText<'a> {
        SourceText::masked(bytes, bytes)
    }

    /// `shown` must have the length of `bytes`.
    pub fn masked(bytes: &'a [u8], shown: &'a [u8]) -> SourceText<'a> {
        debug_assert_eq!(bytes.len(), shown.len());
        let mut line_starts = vec![0];
        line_starts.extend(memchr_iter(b'\n', bytes).map(|i| i + 1));
        let lossy = std::str::from_utf8(bytes).is_err();
        SourceText {
            bytes,
            shown,
            line_starts,
            lossy,
        }
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// 0-based line of a byte offset.
    pub fn line_of(&self, byte: usize) -> usize {
        match self.line_starts.binary_search(&byte) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts
            .get(line)
            .copied()
            .unwrap_or(self.bytes.len())
    }

    /// Line starts strictly inside `(a, b)`.
    pub fn line_starts_between(&self, a: usize, b: usize) -> &[usize] {
        let lo = self.line_starts.partition_point(|&s| s <= a);
        let hi = self.line_starts.partition_point(|&s| s < b);
        &self.line_starts[lo..hi.max(lo)]
    }

    /// `byte`, moved back to its line start if only spaces and tabs precede it there.
    pub fn snap_to_line_start(&self, byte: usize) -> usize {
        let ls = self.line_start(self.line_of(byte));
        if self.bytes[ls..byte]
            .iter()
            .all(|b| *b == b' ' || *b == b'\t')
        {
            ls
        } else {
            byte
        }
    }

    pub fn is_blank(&self, a: usize, b: usize) -> bool {
        self.bytes[a..b].iter().all(|b| b.is_ascii_whitespace())
    }

    /// Non-whitespace bytes in a range, stopping early past `limit`.
    pub fn substance(&self, a: usize, b: usize, limit: usize) -> usize {
        let mut n = 0;
        for byte in &self.bytes[a..b] {
            if !byte.is_ascii_whitespace() {
                n += 1;
                if n > limit {
                    break;
                }
            }
        }
        n
    }

    /// Whether `[a, b)` holds only whitespace and at most `limit` punctuation bytes
    /// (a closing brace, `});`): nothing worth a chunk of its own.
    pub fn is_punctuation(&self, a: usize, b: usize, limit: usize) -> bool {
        let mut n = 0;
        for c in &self.bytes[a..b] {
            if c.is_ascii_whitespace() {
                continue;
            }
            if c.is_ascii_alphanumeric() || *c >= 0x80 {
                return false;
            }
            n += 1;
            if n > limit {
                return false;
            }
        }
        true
    }

    /// `[a, b)` without blank lines at either edge: it starts at the first line with
    /// substance (indentation kept) and ends with the line of its last substantial byte.
    pub fn trim_blank_lines(&self, a: usize, b: usize) -> (usize, usize) {
        let Some(first) = self.bytes[a..b]
            .iter()
            .position(|c| !c.is_ascii_whitespace())
        else {
            return (a, b);
        };
        let last = b
            - 1
            - self.bytes[a..b]
                .iter()
                .rev()
                .position(|c| !c.is_ascii_whitespace())
                .unwrap_or(0);
        let start = self.line_start(self.line_of(a + first)).max(a);
        let end = match self.bytes[last..b].iter().position(|c| *c == b'\n') {
            Some(nl) => last + nl + 1,
            None => b,
        };
        (start, end)
    }

    /// `[a, b)` with its 1-based first and last lines.
    pub fn span(&self, a: usize, b: usize) -> crate::types::Span {
        let start_line = self.line_of(a) as u32 + 1;
        let end_line = self.line_of(b.saturating_sub(1).max(a)) as u32 + 1;
        crate::types::Span::new(a, b, start_line, end_line)
    }

    pub fn text(&self, a: usize, b: usize) -> String {
        String::from_utf8_lossy(&self.shown[a..b]).into_owned()
    }

    /// The nearest byte offset at or before `i` that does not split a UTF-8 sequence.
    pub fn char_boundary_before(&self, mut i: usize) -> usize {
        while i > 0 && i < self.bytes.len() && (self.bytes[i] & 0xC0) == 0x80 {
            i -= 1;
        }
        i
    }
}

fn memchr_iter(needle: u8, hay: &[u8]) -> impl Iterator<Item = usize> + '_ {
    hay.iter()
        .enumerate()
        .filter(move |(_, b)| **b == needle)
        .map(|(i, _)| i)
}
