//! Markdown split by ATX headings (outside code fences), each section labelled with its
//! path; every heading is a definition of kind `section`.

use crate::split::{Piece, merge_small, window_ranges};
use crate::text::SourceText;
use crate::types::{ChunkKind, ChunkOptions, Definition};

pub(crate) fn chunk_markdown(
    src: &SourceText,
    opts: &ChunkOptions,
) -> (Vec<Piece>, Vec<Definition>) {
    // (byte offset, level, title, title's byte range) of every heading.
    let mut headings = Vec::new();
    let mut fence: Option<(u8, usize)> = None;
    let mut offset = 0;
    for line in src.shown.split_inclusive(|b| *b == b'\n') {
        let trimmed = trim_indent(line);
        if let Some((ch, n)) = fence_marker(trimmed) {
            match fence {
                None => fence = Some((ch, n)),
                Some((fc, fnum)) if fc == ch && n >= fnum => fence = None,
                _ => {}
            }
        } else if fence.is_none()
            && let Some((level, title)) = atx_heading(trimmed)
        {
            // The title's bytes in the line (a title with invalid UTF-8 is not found
            // verbatim: then the whole line is the name).
            let at = (!title.is_empty())
                .then(|| {
                    line.windows(title.len())
                        .position(|w| w == title.as_bytes())
                })
                .flatten();
            let name = match at {
                Some(i) => (offset + i, offset + i + title.len()),
                None => (offset, offset + line.len()),
            };
            headings.push((offset, level, title, name));
        }
        offset += line.len();
    }

    let mut pieces = Vec::new();
    let first = headings.first().map_or(src.len(), |h| h.0);
    if first > 0 && !src.is_blank(0, first) {
        for (a, b) in window_ranges(src, 0, first, opts) {
            pieces.push(Piece::new(a, b, ChunkKind::Block));
        }
    }
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut definitions = Vec::with_capacity(headings.len());
    for (i, (start, level, title, (name_start, name_end))) in headings.iter().enumerate() {
        let end = headings.get(i + 1).map_or(src.len(), |h| h.0);
        while path.last().is_some_and(|(l, _)| *l >= *level) {
            path.pop();
        }
        let scope = (!path.is_empty()).then(|| {
            path.iter()
                .map(|(_, t)| t.as_str())
                .collect::<Vec<_>>()
                .join(" > ")
        });
        path.push((*level, title.clone()));
        definitions.push(Definition {
            name: title.clone(),
            kind: ChunkKind::Section,
            scope: scope.clone(),
            span: src.span(*start, end),
            name_span: src.span(*name_start, *name_end),
        });
        let heading_path = path
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" > ");
        for (n, (a, b)) in window_ranges(src, *start, end, opts)
            .into_iter()
            .enumerate()
        {
            let mut p = Piece::new(a, b, ChunkKind::Section);
            p.symbol = Some(title.clone());
            p.scope = scope.clone();
            if n > 0 {
                p.context = Some(heading_path.clone());
            }
            pieces.push(p);
        }
    }
    (merge_small(src, pieces, opts), definitions)
}

fn trim_indent(line: &[u8]) -> &[u8] {
    let n = line.iter().take(3).take_while(|b| **b == b' ').count();
    &line[n..]
}

fn fence_marker(line: &[u8]) -> Option<(u8, usize)> {
    let ch = *line.first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let n = line.iter().take_while(|b| **b == ch).count();
    (n >= 3).then_some((ch, n))
}

fn atx_heading(line: &[u8]) -> Option<(usize, String)> {
    let level = line.iter().take_while(|b| **b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = &line[level..];
    if !rest.is_empty() && !rest[0].is_ascii_whitespace() {
        return None;
    }
    let title = String::from_utf8_lossy(rest);
    let title = title.trim().trim_end_matches('#').trim().to_owned();
    Some((level, title))
}
