//! Pieces (chunks before their text is cut), line windows, size-bounded splitting and merging.

use crate::text::SourceText;
use crate::types::{Chunk, ChunkKind, ChunkOptions, ContentHash, Definition};

/// A chunk in the making: a byte range and what it is.
#[derive(Debug, Clone)]
pub(crate) struct Piece {
    pub start: usize,
    pub end: usize,
    pub kind: ChunkKind,
    pub symbol: Option<String>,
    pub scope: Option<String>,
    pub context: Option<String>,
}

impl Piece {
    pub fn new(start: usize, end: usize, kind: ChunkKind) -> Piece {
        Piece {
            start,
            end,
            kind,
            symbol: None,
            scope: None,
            context: None,
        }
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// The finished chunk, holding `definitions` (those whose names are inside it).
    pub fn into_chunk(mut self, src: &SourceText, definitions: Vec<Definition>) -> Chunk {
        (self.start, self.end) = src.trim_blank_lines(self.start, self.end);
        let text = src.text(self.start, self.end);
        let ctx_bytes: &[u8] = self.context.as_deref().map_or(b"", str::as_bytes);
        let scope_bytes: &[u8] = self.scope.as_deref().map_or(b"", str::as_bytes);
        let hash = ContentHash::of(&[scope_bytes, ctx_bytes, text.as_bytes()]);
        Chunk {
            span: src.span(self.start, self.end),
            kind: self.kind,
            symbol: self.symbol,
            scope: self.scope,
            context: self.context,
            definitions,
            text,
            hash,
        }
    }
}

/// Splits `[start, end)` into ranges no larger than `max` bytes, cutting only at
/// `candidates` (sorted offsets inside the range) where possible, and hard-cutting at
/// character boundaries where a single stretch is larger than `max`.
pub(crate) fn split_ranges(
    src: &SourceText,
    start: usize,
    end: usize,
    candidates: &[usize],
    max: usize,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut part_start = start;
    let mut last_cut = start;
    for &c in candidates.iter().filter(|&&c| c > start && c < end) {
        if c - part_start > max && last_cut > part_start {
            out.push((part_start, last_cut));
            part_start = last_cut;
        }
        last_cut = c;
    }
    if end - part_start > max && last_cut > part_start {
        out.push((part_start, last_cut));
        part_start = last_cut;
    }
    out.push((part_start, end));
    // Stretches with no candidate inside (one huge line) are cut by size.
    let mut hard = Vec::with_capacity(out.len());
    for (a, b) in out {
        let mut a = a;
        while b - a > max {
            let mut cut = src.char_boundary_before(a + max);
            if cut <= a {
                cut = a + max;
            }
            hard.push((a, cut));
            a = cut;
        }
        hard.push((a, b));
    }
    hard
}

/// Line windows over `[start, end)`: at most `window_lines` lines and `max_chunk_bytes` each.
pub(crate) fn window_ranges(
    src: &SourceText,
    start: usize,
    end: usize,
    opts: &ChunkOptions,
) -> Vec<(usize, usize)> {
    let lines = src.line_starts_between(start, end);
    let mut out = Vec::new();
    let mut a = start;
    let mut count = 0;
    let mut candidates = Vec::new();
    for &ls in lines {
        count += 1;
        candidates.push(ls);
        if count >= opts.window_lines {
            out.extend(split_ranges(src, a, ls, &candidates, opts.max_chunk_bytes));
            a = ls;
            count = 0;
            candidates.clear();
        }
    }
    if a < end {
        out.extend(split_ranges(src, a, end, &candidates, opts.max_chunk_bytes));
    }
    out.retain(|(a, b)| !src.is_blank(*a, *b));
    out
}

/// Window pieces over a range, each labelled with `context` if given.
pub(crate) fn windows_piece_list(
    src: &SourceText,
    start: usize,
    end: usize,
    opts: &ChunkOptions,
    context: Option<&str>,
) -> Vec<Piece> {
    window_ranges(src, start, end, opts)
        .into_iter()
        .map(|(a, b)| {
            let mut p = Piece::new(a, b, ChunkKind::Window);
            p.context = context.map(str::to_owned);
            p
        })
        .collect()
}

/// Merges neighbours: trivial blocks (a closing brace) join the piece before them, and
/// adjacent pieces that are both smaller than `min_chunk_bytes` join while they fit.
pub(crate) fn merge_small(src: &SourceText, pieces: Vec<Piece>, opts: &ChunkOptions) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    let trivial = |p: &Piece| p.kind == ChunkKind::Block && src.is_punctuation(p.start, p.end, 16);
    for p in pieces {
        let trivial = trivial(&p);
        if let Some(prev) = out.last_mut() {
            let fits = prev.len() + p.len() <= opts.max_chunk_bytes;
            let both_small = prev.len() < opts.min_chunk_bytes && p.len() < opts.min_chunk_bytes;
            let same_scope = prev.scope == p.scope;
            if trivial || (both_small && fits && same_scope) {
                absorb(prev, p);
                continue;
            }
        }
        out.push(p);
    }
    // A trivial first piece (a lone `use` line before a big function) joins the next one.
    if out.len() >= 2 && trivial(&out[0]) && out[1].len() + out[0].len() <= opts.max_chunk_bytes {
        let first = out.remove(0);
        let next = &mut out[0];
        let mut merged = first;
        absorb(&mut merged, next.clone());
        *next = merged;
    }
    out
}

/// `prev` takes in `next`, which follows it. A definition's identity wins over a block's;
/// the definitions inside both are found by position later, so none is lost.
fn absorb(prev: &mut Piece, next: Piece) {
    prev.end = next.end;
    let prev_is_block = matches!(prev.kind, ChunkKind::Block | ChunkKind::Window);
    let next_is_block = matches!(next.kind, ChunkKind::Block | ChunkKind::Window);
    if prev_is_block && !next_is_block {
        prev.kind = next.kind;
        prev.symbol = next.symbol;
        prev.context = next.context;
        if prev.scope.is_none() {
            prev.scope = next.scope;
        }
    }
}

/// The chunks for `pieces` (disjoint, in file order), each holding the definitions whose
/// names start inside it.
pub(crate) fn into_chunks(
    src: &SourceText,
    pieces: Vec<Piece>,
    mut definitions: Vec<Definition>,
) -> Vec<Chunk> {
    definitions.sort_by_key(|d| (d.name_span.byte_start, d.span.byte_start));
    let mut defs = definitions.into_iter().peekable();
    pieces
        .into_iter()
        .map(|p| {
            let mut inside = Vec::new();
            // Names before this piece (in a skipped blank gap: impossible for real
            // names, but never worth a panic) are dropped.
            while defs
                .peek()
                .is_some_and(|d| d.name_span.byte_start < p.start)
            {
                defs.next();
            }
            while let Some(d) = defs.next_if(|d| d.name_span.byte_start < p.end) {
                inside.push(d);
            }
            p.into_chunk(src, inside)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_ranges_respects_max_and_covers_everything() {
        let text = "a\n".repeat(1000);
        let src = SourceText::new(text.as_bytes());
        let cands: Vec<usize> = src.line_starts_between(0, src.len()).to_vec();
        let parts = split_ranges(&src, 0, src.len(), &cands, 100);
        assert!(parts.iter().all(|(a, b)| b - a <= 100));
        assert_eq!(parts.first().unwrap().0, 0);
        assert_eq!(parts.last().unwrap().1, src.len());
        assert!(parts.windows(2).all(|w| w[0].1 == w[1].0));
    }

    #[test]
    fn one_huge_line_is_cut_at_char_boundaries() {
        let text = "é".repeat(10_000);
        let src = SourceText::new(text.as_bytes());
        let parts = split_ranges(&src, 0, src.len(), &[], 101);
        for (a, b) in &parts {
            assert!(text.is_char_boundary(*a) && text.is_char_boundary(*b));
        }
    }
}
