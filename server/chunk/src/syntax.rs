//! Definitions found with tree-sitter queries, nested into scopes and cut into pieces.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::OnceLock;
use std::time::Instant;

use tree_sitter::{
    Node, ParseOptions, Parser, Query, QueryCursor, QueryCursorOptions, StreamingIterator,
};

use crate::registry::{Language, languages};
use crate::segments::part_end;
use crate::split::{Piece, merge_small, split_ranges, window_ranges, windows_piece_list};
use crate::text::SourceText;
use crate::types::{ChunkKind, ChunkOptions, Definition, Problem, ProblemKind};

/// Definitions nested deeper than this stay inside their parent's chunks.
const MAX_DEPTH: usize = 24;

enum Role {
    Definition(ChunkKind),
    Name,
    Scope,
    Other,
}

struct Compiled {
    ts: tree_sitter::Language,
    query: Query,
    roles: Vec<Role>,
}

/// The language's grammar and compiled query, built the first time a file of that
/// language is chunked: compiling every query up front cost a one-shot process ~120 ms
/// and tens of MiB for languages the workspace may not have.
fn compiled(lang: &Language) -> Option<&'static Compiled> {
    type Slots = HashMap<&'static str, OnceLock<Option<Compiled>>>;
    static CACHE: OnceLock<Slots> = OnceLock::new();
    let cache = CACHE.get_or_init(|| {
        languages()
            .iter()
            .map(|l| (l.name, OnceLock::new()))
            .collect()
    });
    cache.get(lang.name)?.get_or_init(|| compile(lang)).as_ref()
}

fn compile(l: &Language) -> Option<Compiled> {
    let ts: tree_sitter::Language = l.grammar?.into();
    let query = Query::new(&ts, l.query_source?).ok()?;
    let roles = query
        .capture_names()
        .iter()
        .map(|n| match *n {
            "name" => Role::Name,
            "scope" => Role::Scope,
            other => other
                .strip_prefix("definition.")
                .and_then(ChunkKind::parse)
                .map_or(Role::Other, Role::Definition),
        })
        .collect();
    Some(Compiled { ts, query, roles })
}

thread_local! {
    static PARSER: RefCell<Parser> = RefCell::new(Parser::new());
}

struct Def<'t> {
    node: Node<'t>,
    start: usize,
    end: usize,
    kind: ChunkKind,
    name: String,
    /// Where the name is, in bytes.
    name_range: (usize, usize),
    /// Other names of the same range (a typedef of a named struct), with their ranges.
    aliases: Vec<(String, (usize, usize))>,
    capture_scope: Option<String>,
    signature: String,
    pattern: usize,
    children: Vec<usize>,
    scope: Option<String>,
}

/// The file's pieces and every definition found in it.
pub(crate) fn chunk_syntax(
    lang: &Language,
    src: &SourceText,
    opts: &ChunkOptions,
    deadline: Instant,
    problems: &mut Vec<Problem>,
) -> (Vec<Piece>, Vec<Definition>) {
    let fallback = |src: &SourceText| {
        (
            windows_piece_list(src, 0, src.len(), opts, None),
            Vec::new(),
        )
    };
    if src.len() > opts.max_parse_bytes {
        problems.push(Problem::new(
            ProblemKind::TooLarge,
            format!(
                "{} bytes is over the {}-byte parse limit; indexed as line windows",
                src.len(),
                opts.max_parse_bytes
            ),
        ));
        return fallback(src);
    }
    let Some(compiled) = compiled(lang) else {
        return fallback(src);
    };
    let timed_out = |problems: &mut Vec<Problem>| {
        problems.push(Problem::new(
            ProblemKind::Timeout,
            "parsing took longer than the time budget; indexed as line windows",
        ));
        fallback(src)
    };
    let target = opts.parse_segment_bytes;
    let mut pieces = Vec::new();
    let mut all = Vec::new();
    let mut errors = false;
    let mut a = 0;
    while a < src.len() {
        let mut b = part_end(src, a, target);
        let Some(mut tree) = parse(compiled, src, (a, b), deadline) else {
            return timed_out(problems);
        };
        // A cut inside a multi-line string or comment leaves the part's tail in error:
        // end the part where its first top-level item with an error starts (the tree
        // says an item starts there, so it is a sound cut), and parse that much again.
        if b < src.len()
            && let Some(cut) = first_item_with_error(src, tree.root_node()).filter(|&c| c > a)
        {
            // One tree at a time: the point of parts.
            drop(tree);
            b = cut;
            tree = match parse(compiled, src, (a, b), deadline) {
                Some(t) => t,
                None => return timed_out(problems),
            };
        }
        let root = tree.root_node();
        errors |= root.has_error();
        let Some(defs) = collect_defs(lang, compiled, src, root, deadline) else {
            problems.push(Problem::new(
                ProblemKind::Timeout,
                "finding definitions took longer than the time budget; indexed as line windows",
            ));
            return fallback(src);
        };
        // Re-exports name things without being chunks of their own: they stay inside
        // whatever piece holds them.
        let (reexports, mut defs): (Vec<Def>, Vec<Def>) = defs
            .into_iter()
            .partition(|d| d.kind == ChunkKind::Reexport);
        let roots = nest(&mut defs);
        let emitter = Emitter {
            src,
            opts,
            defs: &defs,
        };
        emitter.emit(a, b, &roots, None, &mut pieces);
        all.extend(definitions(src, &defs));
        all.extend(definitions(src, &reexports));
        a = b;
    }
    if errors {
        problems.push(Problem::new(
            ProblemKind::ParseErrors,
            "the file has syntax errors; definitions around them may be chunked coarsely",
        ));
    }
    (pieces, all)
}

/// Where the first top-level node with a syntax error in it starts, at its line start.
fn first_item_with_error(src: &SourceText, root: Node) -> Option<usize> {
    let mut cursor = root.walk();
    root.children(&mut cursor)
        .find(|c| c.has_error())
        .map(|c| src.snap_to_line_start(c.start_byte()))
}

/// Parses `[a, b)` of `src` (the whole file, or one part of a large one: nodes keep their
/// offsets in the file). `None` when the deadline passed first.
fn parse(
    compiled: &Compiled,
    src: &SourceText,
    (a, b): (usize, usize),
    deadline: Instant,
) -> Option<tree_sitter::Tree> {
    PARSER.with(|p| {
        let mut parser = p.borrow_mut();
        parser.set_language(&compiled.ts).ok()?;
        let whole = (a, b) == (0, src.len());
        if !whole {
            let point = |byte: usize| {
                let line = src.line_of(byte);
                tree_sitter::Point::new(line, byte - src.line_start(line))
            };
            let range = tree_sitter::Range {
                start_byte: a,
                end_byte: b,
                start_point: point(a),
                end_point: point(b),
            };
            parser.set_included_ranges(&[range]).ok()?;
        }
        let bytes = src.bytes;
        let mut progress = |_: &tree_sitter::ParseState| {
            if Instant::now() > deadline {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        let mut read = |i: usize, _| {
            if i < bytes.len() {
                &bytes[i..]
            } else {
                &[][..]
            }
        };
        let tree = parser.parse_with_options(
            &mut read,
            None,
            Some(ParseOptions::new().progress_callback(&mut progress)),
        );
        parser.reset();
        if !whole {
            // The parser is this thread's for every file: back to whole documents.
            let _ = parser.set_included_ranges(&[]);
        }
        tree
    })
}

/// Every definition with its kind, scope, span and name span. Kinds and scopes are the
/// ones nesting settled (a function inside a class is a method).
fn definitions(src: &SourceText, defs: &[Def]) -> Vec<Definition> {
    let mut out = Vec::with_capacity(defs.len());
    for d in defs {
        let names =
            std::iter::once((&d.name, d.name_range)).chain(d.aliases.iter().map(|(n, r)| (n, *r)));
        for (name, (a, b)) in names {
            out.push(Definition {
                name: name.clone(),
                kind: d.kind,
                scope: d.scope.clone().or_else(|| d.capture_scope.clone()),
                span: src.span(d.start, d.end),
                name_span: src.span(a, b),
            });
        }
    }
    out
}

fn collect_defs<'t>(
    lang: &Language,
    compiled: &Compiled,
    src: &SourceText,
    root: Node<'t>,
    deadline: Instant,
) -> Option<Vec<Def<'t>>> {
    let timed_out = Cell::new(false);
    let mut progress = |_: &tree_sitter::QueryCursorState| {
        if Instant::now() > deadline {
            timed_out.set(true);
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    };
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches_with_options(
        &compiled.query,
        root,
        src.bytes,
        QueryCursorOptions::new().progress_callback(&mut progress),
    );
    let mut by_node: HashMap<usize, Def<'t>> = HashMap::new();
    while let Some(m) = matches.next() {
        let mut def = None;
        let mut name = None;
        let mut scope = None;
        for cap in m.captures() {
            match compiled.roles.get(cap.index as usize) {
                Some(Role::Definition(kind)) => def = Some((cap.node, *kind)),
                Some(Role::Name) => {
                    name = Some((
                        node_label(src, cap.node, 120),
                        (cap.node.start_byte(), cap.node.end_byte()),
                    ))
                }
                Some(Role::Scope) => scope = Some(node_label(src, cap.node, 120)),
                _ => {}
            }
        }
        let (Some((node, kind)), Some((name, name_range))) = (def, name) else {
            continue;
        };
        // One declaration may match several patterns (the most specific, listed first,
        // gives the kind) and say several names (`pub use a::{B, C}`, `const a = 1, b = 2`).
        if let Some(old) = by_node.get_mut(&node.id()) {
            if old.name == name {
                if m.pattern_index < old.pattern {
                    old.kind = kind;
                    old.pattern = m.pattern_index;
                    old.capture_scope = scope.or(old.capture_scope.take());
                }
            } else if !old.aliases.iter().any(|(n, _)| *n == name) {
                old.aliases.push((name, name_range));
            }
            continue;
        }
        let (start, end) = anchor_range(lang, src, node);
        by_node.insert(
            node.id(),
            Def {
                node,
                start,
                end,
                kind,
                name,
                name_range,
                aliases: Vec::new(),
                capture_scope: scope,
                signature: signature(src, node),
                pattern: m.pattern_index,
                children: Vec::new(),
                scope: None,
            },
        );
    }
    drop(matches);
    if timed_out.get() {
        return None;
    }
    let mut defs: Vec<Def<'t>> = by_node.into_values().collect();
    defs.sort_by_key(|d| (d.start, std::cmp::Reverse(d.end), d.pattern));
    // Two definitions of one range (a typedef of a named struct): one chunk, both names.
    let mut deduped: Vec<Def<'t>> = Vec::with_capacity(defs.len());
    for d in defs {
        if let Some(prev) = deduped.last_mut()
            && prev.start == d.start
            && prev.end == d.end
        {
            if prev.name != d.name && !prev.aliases.iter().any(|(n, _)| *n == d.name) {
                prev.aliases.push((d.name, d.name_range));
            }
            continue;
        }
        deduped.push(d);
    }
    Some(deduped)
}

/// The definition's range: climbed to wrappers (`export`, decorators, templates) and
/// extended back over the doc comments and attributes directly above it.
fn anchor_range(lang: &Language, src: &SourceText, node: Node) -> (usize, usize) {
    let mut anchor = node;
    while let Some(parent) = anchor.parent() {
        if parent.parent().is_none() {
            break;
        }
        let wraps = lang.wrappers.iter().any(|w| w == parent.kind());
        let same_span = parent.start_byte() == anchor.start_byte()
            && parent.end_byte() <= anchor.end_byte() + 2;
        if wraps || same_span {
            anchor = parent;
        } else {
            break;
        }
    }
    let mut first = anchor;
    while let Some(prev) = first.prev_sibling() {
        let leading =
            prev.kind().contains("comment") || lang.leading.iter().any(|k| k == prev.kind());
        let shebang = prev.start_byte() == 0 && src.bytes.starts_with(b"#!");
        if !leading || shebang {
            break;
        }
        let prev_last_line = src.line_of(prev.end_byte().saturating_sub(1).max(prev.start_byte()));
        let adjacent = prev_last_line + 1 >= src.line_of(first.start_byte());
        let owns_its_line = src.snap_to_line_start(prev.start_byte()) != prev.start_byte()
            || src.line_start(src.line_of(prev.start_byte())) == prev.start_byte();
        if !adjacent || !owns_its_line {
            break;
        }
        first = prev;
    }
    (
        src.snap_to_line_start(first.start_byte()),
        anchor.end_byte(),
    )
}

/// Nests definitions by containment; returns the top-level ones.
fn nest(defs: &mut [Def]) -> Vec<usize> {
    let mut roots = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    for i in 0..defs.len() {
        while let Some(&top) = stack.last() {
            if defs[top].end <= defs[i].start {
                stack.pop();
            } else {
                break;
            }
        }
        match stack.last() {
            Some(&top) if defs[i].end > defs[top].end => continue, // partial overlap: stays content
            Some(_) if stack.len() >= MAX_DEPTH => continue,
            Some(&top) => {
                defs[top].children.push(i);
                if defs[i].kind == ChunkKind::Function && defs[top].kind.is_container() {
                    defs[i].kind = ChunkKind::Method;
                }
                defs[i].scope = Some(defs[top].signature.clone());
            }
            None => {
                roots.push(i);
                defs[i].scope = defs[i].capture_scope.clone();
            }
        }
        stack.push(i);
    }
    roots
}

struct Emitter<'a, 't> {
    src: &'a SourceText<'a>,
    opts: &'a ChunkOptions,
    defs: &'a [Def<'t>],
}

impl Emitter<'_, '_> {
    /// Pieces for `[a, b)` holding the definitions `children`, inside `parent` if any.
    fn emit(
        &self,
        a: usize,
        b: usize,
        children: &[usize],
        parent: Option<usize>,
        out: &mut Vec<Piece>,
    ) {
        let mut pieces = Vec::new();
        let mut pos = a;
        let mut first_gap = true;
        for &c in children {
            let d = &self.defs[c];
            let start = d.start.max(pos);
            if start > pos {
                self.gap(pos, start, parent, first_gap, &mut pieces);
            }
            first_gap = false;
            if d.end > start {
                self.definition(c, start, &mut pieces);
            }
            pos = pos.max(d.end);
        }
        if b > pos {
            self.gap(pos, b, parent, first_gap, &mut pieces);
        }
        out.extend(merge_small(self.src, pieces, self.opts));
    }

    /// Code between definitions. Inside a split parent it carries the parent's identity;
    /// the header before the first child is the parent itself.
    fn gap(&self, a: usize, b: usize, parent: Option<usize>, header: bool, out: &mut Vec<Piece>) {
        if self.src.is_blank(a, b) {
            return;
        }
        for (x, y) in window_ranges(self.src, a, b, self.opts) {
            let mut p = Piece::new(x, y, ChunkKind::Block);
            if let Some(pi) = parent {
                let pd = &self.defs[pi];
                if header && self.src.substance(x, y, 16) > 16 {
                    p.kind = pd.kind;
                }
                p.symbol = Some(pd.name.clone());
                p.scope = pd.scope.clone();
                if !header || x > a {
                    p.context = Some(pd.signature.clone());
                }
            }
            out.push(p);
        }
    }

    fn definition(&self, i: usize, start: usize, out: &mut Vec<Piece>) {
        let d = &self.defs[i];
        if d.end - start <= self.opts.max_chunk_bytes {
            out.push(self.piece_of(i, start, d.end));
        } else if !d.children.is_empty() {
            self.emit(start, d.end, &d.children, Some(i), out);
        } else {
            self.split_body(i, start, out);
        }
    }

    fn piece_of(&self, i: usize, a: usize, b: usize) -> Piece {
        let d = &self.defs[i];
        let mut p = Piece::new(a, b, d.kind);
        p.symbol = Some(d.name.clone());
        p.scope = d.scope.clone();
        p
    }

    /// An oversized definition with no nested definitions: cut between its statements,
    /// every part after the first carrying the signature as context.
    fn split_body(&self, i: usize, start: usize, out: &mut Vec<Piece>) {
        let d = &self.defs[i];
        let mut n = d.node;
        loop {
            let span = n.end_byte() - n.start_byte();
            let mut cursor = n.walk();
            let largest = n
                .children(&mut cursor)
                .max_by_key(|c| c.end_byte() - c.start_byte());
            match largest {
                Some(c)
                    if (c.end_byte() - c.start_byte()) * 10 >= span * 6 && c.child_count() > 1 =>
                {
                    n = c
                }
                _ => break,
            }
        }
        let mut cursor = n.walk();
        let units: Vec<usize> = n
            .children(&mut cursor)
            .map(|c| self.src.snap_to_line_start(c.start_byte()))
            .collect();
        let max = self.opts.max_chunk_bytes;
        let mut first = true;
        for (a, b) in split_ranges(self.src, start, d.end, &units, usize::MAX / 2)
            .into_iter()
            .flat_map(|(a, b)| {
                if b - a <= max {
                    vec![(a, b)]
                } else {
                    // Greedy by statements, then by lines for a statement that is too long.
                    split_ranges(self.src, a, b, &units, max)
                        .into_iter()
                        .flat_map(|(x, y)| {
                            if y - x <= max {
                                vec![(x, y)]
                            } else {
                                window_ranges(self.src, x, y, self.opts)
                            }
                        })
                        .collect()
                }
            })
        {
            if self.src.is_blank(a, b) {
                continue;
            }
            let mut p = self.piece_of(i, a, b);
            if !first {
                p.context = Some(d.signature.clone());
            }
            first = false;
            out.push(p);
        }
    }
}

/// A node's text on one line, whitespace collapsed, at most `max` bytes.
fn node_label(src: &SourceText, node: Node, max: usize) -> String {
    let end = node.end_byte().min(node.start_byte() + max * 4);
    collapse(&src.text(node.start_byte(), end), max)
}

/// What a definition looks like from outside: its text up to the body.
fn signature(src: &SourceText, node: Node) -> String {
    let a = node.start_byte();
    let b = node.end_byte().min(a + 300);
    let bytes = &src.shown[a..b];
    let brace = bytes.iter().position(|c| *c == b'{');
    let colon_eol = bytes.windows(2).position(|w| w == b":\n" || w == b":\r");
    let newline = bytes.iter().position(|c| *c == b'\n');
    let cut = match (brace, colon_eol) {
        (Some(x), Some(y)) => x.min(y),
        (Some(x), None) => x,
        (None, Some(y)) => y,
        (None, None) => newline.unwrap_or(bytes.len()),
    };
    collapse(&String::from_utf8_lossy(&bytes[..cut]), 200)
}

fn collapse(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max));
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        if out.len() >= max {
            let mut cut = max;
            while !out.is_char_boundary(cut) {
                cut -= 1;
            }
            out.truncate(cut);
            break;
        }
    }
    out.trim_end_matches([':', ' ']).to_owned()
}
