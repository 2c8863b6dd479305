//! Context packing: ranked hits into a prompt that fits an exact token budget.
//!
//! Tier by tier: full bodies of the best hits (hits of one file that overlap or touch are
//! merged into one piece; a merged piece too big for what is left is split back into its
//! hits, and the best of them keep their full bodies), then signatures of what did not
//! fit, best first, then bare paths. Every piece is labelled with the path, lines and
//! symbols of the text it holds. Tokens are counted with the generating
//! model's own tokenizer over the whole rendered prompt (template and question included),
//! and the final prompt is re-counted and trimmed, so the budget is never exceeded.

use std::sync::Arc;

use scry_engine::{FileRef, Hit, Sources};
use scry_models::{ChatMessage, Generator, TokenCount, estimate_prompt_tokens, estimate_tokens};

use crate::{AnswerError, PromptTemplate};

/// How much of a hit made it into the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Full,
    Signature,
    Path,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Full => "full",
            Tier::Signature => "signature",
            Tier::Path => "path",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Piece {
    /// The file, the content that was indexed, and whether it is still current.
    pub file: FileRef,
    /// The lines the piece shows, 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub symbol: Option<String>,
    pub tier: Tier,
    /// Hits merged into this piece.
    pub hits: usize,
    /// The text as it appears in the prompt.
    pub rendered: String,
}

#[derive(Debug, Clone)]
pub struct Packed {
    /// The prompt, ready for the model.
    pub messages: Vec<ChatMessage>,
    /// The context block alone.
    pub context: String,
    pub pieces: Vec<Piece>,
    /// Tokens of the whole prompt.
    pub tokens: usize,
    pub budget: usize,
    /// Whether `tokens` came from the model's tokenizer (else a conservative estimate).
    pub exact: bool,
    /// Hits that did not fit at all.
    pub omitted: usize,
}

/// Counts tokens for packing.
pub trait TokenCounter {
    fn count_text(&self, text: &str) -> TokenCount;
    fn count_messages(&self, messages: &[ChatMessage]) -> TokenCount;
}

/// For when no model is loaded: a conservative over-estimate.
pub struct Estimator;

impl TokenCounter for Estimator {
    fn count_text(&self, text: &str) -> TokenCount {
        TokenCount::Estimated(estimate_tokens(text))
    }
    fn count_messages(&self, messages: &[ChatMessage]) -> TokenCount {
        TokenCount::Estimated(estimate_prompt_tokens(messages))
    }
}

/// The generating model's own tokenizer.
pub struct ModelCounter<'a>(pub &'a dyn Generator);

impl TokenCounter for ModelCounter<'_> {
    fn count_text(&self, text: &str) -> TokenCount {
        self.0
            .count_tokens(text)
            .unwrap_or_else(|_| Estimator.count_text(text))
    }
    fn count_messages(&self, messages: &[ChatMessage]) -> TokenCount {
        self.0
            .count_prompt_tokens(messages)
            .unwrap_or_else(|_| Estimator.count_messages(messages))
    }
}

/// One hit inside a group.
#[derive(Clone)]
struct Part {
    start_line: u32,
    end_line: u32,
    text: String,
    symbol: Option<String>,
    /// The hit's position in the ranking (0 = best).
    rank: usize,
}

impl Part {
    fn of(h: &Hit, rank: usize) -> Part {
        Part {
            start_line: h.span.start_line,
            end_line: h.span.end_line,
            text: h.text.clone(),
            symbol: h.symbol.clone(),
            rank,
        }
    }
}

/// Hits of one file that overlap or touch, merged.
#[derive(Clone)]
struct Group {
    file: FileRef,
    language: String,
    start_line: u32,
    end_line: u32,
    /// Its hits, in line order.
    parts: Vec<Part>,
    /// The whole file, when it is verified to be what was indexed.
    text: Option<Arc<str>>,
}

/// Lines of blank or unindexed text between two hits that still count as touching, when
/// the file is verified (the gap is then filled from it).
const MAX_GAP_LINES: u32 = 3;

impl Group {
    fn of(h: &Hit, rank: usize, text: Option<Arc<str>>) -> Group {
        Group {
            file: h.file.clone(),
            language: h.language.clone(),
            start_line: h.span.start_line,
            end_line: h.span.end_line,
            parts: vec![Part::of(h, rank)],
            text,
        }
    }

    fn touches(&self, h: &Hit) -> bool {
        let gap = if self.text.is_some() {
            MAX_GAP_LINES + 1
        } else {
            1
        };
        self.file.root == h.file.root
            && self.file.path == h.file.path
            && h.span.start_line <= self.end_line + gap
            && h.span.end_line + gap >= self.start_line
    }

    fn absorb(&mut self, parts: Vec<Part>) {
        for p in parts {
            self.start_line = self.start_line.min(p.start_line);
            self.end_line = self.end_line.max(p.end_line);
            self.parts.push(p);
        }
        self.parts.sort_by_key(|p| (p.start_line, p.end_line));
    }

    /// The best rank among its hits: where the group stands in the ranking.
    fn rank(&self) -> usize {
        self.parts
            .iter()
            .map(|p| p.rank)
            .min()
            .unwrap_or(usize::MAX)
    }

    /// The group made of one of its hits alone.
    fn only(&self, part: &Part) -> Group {
        Group {
            start_line: part.start_line,
            end_line: part.end_line,
            parts: vec![part.clone()],
            ..self.clone()
        }
    }

    /// The symbols its text declares, in line order, each once.
    fn symbols(&self) -> Option<String> {
        let names: Vec<&str> = self
            .names()
            .into_iter()
            .filter(|(_, declared)| *declared)
            .map(|(n, _)| n)
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    }

    /// What the label says it holds: the symbols it declares, and `part of X` for a
    /// part of a split definition whose name is not in its text.
    fn label_symbols(&self) -> Option<String> {
        let names: Vec<String> = self
            .names()
            .into_iter()
            .map(|(n, declared)| {
                if declared {
                    n.to_owned()
                } else {
                    format!("part of {n}")
                }
            })
            .collect();
        (!names.is_empty()).then(|| names.join(", "))
    }

    /// Each hit's symbol once, in line order, with whether its text names it.
    fn names(&self) -> Vec<(&str, bool)> {
        let mut out: Vec<(&str, bool)> = Vec::new();
        for p in &self.parts {
            let Some(s) = p.symbol.as_deref() else {
                continue;
            };
            let declared = p.text.contains(s);
            match out.iter_mut().find(|(n, _)| *n == s) {
                Some(seen) => seen.1 |= declared,
                None => out.push((s, declared)),
            }
        }
        out
    }

    /// The merged text: the file's own lines when it is verified, else each member's
    /// lines, skipping lines an earlier member covered.
    fn body(&self) -> String {
        if let Some(file) = &self.text {
            let lines: Vec<&str> = file
                .lines()
                .skip(self.start_line.saturating_sub(1) as usize)
                .take((self.end_line + 1 - self.start_line) as usize)
                .collect();
            if lines.len() == (self.end_line + 1 - self.start_line) as usize {
                return lines.join("\n");
            }
        }
        let mut out: Vec<&str> = Vec::new();
        let mut covered_to = 0u32;
        for p in &self.parts {
            for (i, line) in p.text.lines().enumerate() {
                let n = p.start_line + i as u32;
                if n > covered_to {
                    out.push(line);
                    covered_to = n;
                }
            }
        }
        out.join("\n")
    }
}

fn group_hits(hits: &[Hit], sources: &Sources) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for (rank, h) in hits.iter().enumerate() {
        // Merge into the best-ranked group it touches; a later hit can bridge two groups,
        // which then merge too.
        let touching: Vec<usize> = (0..groups.len())
            .filter(|&i| groups[i].touches(h))
            .collect();
        match touching.first() {
            None => groups.push(Group::of(h, rank, sources.indexed_text(&h.file))),
            Some(&first) => {
                groups[first].absorb(vec![Part::of(h, rank)]);
                for &other in touching[1..].iter().rev() {
                    let g = groups.remove(other);
                    groups[first].absorb(g.parts);
                }
            }
        }
    }
    groups
}

/// A fence longer than any backtick run in `text`, so code cannot close it early.
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    "`".repeat((longest + 1).max(3))
}

fn lines_label(start: u32, end: u32) -> String {
    if start == end {
        format!("{start}")
    } else {
        format!("{start}-{end}")
    }
}

fn label(g: &Group) -> String {
    let lines = lines_label(g.start_line, g.end_line);
    match g.label_symbols() {
        Some(s) => format!("{}:{lines} ({s})", g.file.path),
        None => format!("{}:{lines}", g.file.path),
    }
}

fn render_full(g: &Group) -> String {
    let body = g.body();
    let fence = fence_for(&body);
    format!("### {}\n{fence}{}\n{body}\n{fence}", label(g), g.language)
}

/// The declaration line(s) of a chunk: from the line naming the symbol (or the first
/// line that is not a comment) to where the body opens, at most three lines.
pub fn signature_of(text: &str, symbol: Option<&str>) -> String {
    signature_lines(text, symbol).1
}

/// [`signature_of`], with the 0-based line of the chunk where it starts.
fn signature_lines(text: &str, symbol: Option<&str>) -> (u32, String) {
    let lines: Vec<&str> = text.lines().collect();
    let is_comment = |l: &str| {
        let t = l.trim_start();
        t.is_empty()
            || t.starts_with("//")
            || t.starts_with('#') && !t.starts_with("#[")
            || t.starts_with("/*")
            || t.starts_with('*')
            || t.starts_with("--")
            || t.starts_with("\"\"\"")
    };
    let start = symbol
        .and_then(|s| lines.iter().position(|l| l.contains(s) && !is_comment(l)))
        .or_else(|| lines.iter().position(|l| !is_comment(l)))
        .unwrap_or(0);
    let mut sig = Vec::new();
    for l in lines.iter().skip(start).take(3) {
        let t = l.trim_end();
        if let Some(open) = t.find('{') {
            sig.push(t[..open].trim_end());
            break;
        }
        sig.push(t);
        if t.ends_with(':') || t.ends_with(';') || t.ends_with("=>") {
            break;
        }
    }
    (start as u32, sig.join("\n").trim().to_owned())
}

/// A one-hit group's signature, labelled with that hit's own symbol and the lines the
/// signature is on.
fn render_signature(g: &Group) -> (String, u32, u32) {
    let part = &g.parts[0];
    let (offset, sig) = signature_lines(&part.text, part.symbol.as_deref());
    let start = part.start_line + offset;
    let end = (start + sig.lines().count().max(1) as u32 - 1).min(part.end_line.max(start));
    let fence = fence_for(&sig);
    let lines = lines_label(start, end);
    let label = match (&part.symbol, g.symbols()) {
        (Some(s), Some(_)) => format!("{}:{lines} ({s}, signature only)", g.file.path),
        // A part of a split definition: its first lines, not a signature.
        (Some(s), None) => format!("{}:{lines} (part of {s}, first lines only)", g.file.path),
        (None, _) => format!("{}:{lines} (signature only)", g.file.path),
    };
    (
        format!("### {label}\n{fence}{}\n{sig}\n{fence}", g.language),
        start,
        end,
    )
}

fn render_path(g: &Group) -> String {
    format!("- {}", label(g))
}

/// Assembles the context block from chosen pieces.
fn assemble(pieces: &[Piece]) -> String {
    let mut out = String::new();
    let mut listed_header = false;
    for p in pieces {
        if p.tier == Tier::Path {
            if !listed_header {
                if !out.is_empty() {
                    out.push_str("\n\n");
                }
                out.push_str("Also relevant (not shown):");
                listed_header = true;
            }
            out.push('\n');
            out.push_str(&p.rendered);
        } else {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&p.rendered);
        }
    }
    out
}

/// The notice every face gives when packed sources changed since they were indexed.
pub fn stale_notice(pieces: &[Piece]) -> Option<String> {
    let mut files: Vec<&str> = Vec::new();
    for p in pieces.iter().filter(|p| p.file.stale) {
        if !files.contains(&p.file.path.as_str()) {
            files.push(&p.file.path);
        }
    }
    (!files.is_empty()).then(|| {
        format!(
            "stale: {} changed since indexing; the context shows the indexed text (read the \
             file again for what it holds now)",
            files.join(", ")
        )
    })
}

/// Share of the budget the full-body tier may use before signatures take over, and
/// where signatures give way to bare paths.
const FULL_SHARE: f64 = 0.85;
const SIGNATURE_SHARE: f64 = 0.97;

/// Pieces chosen so far and the tokens they cost.
struct Packer<'a> {
    counter: &'a dyn TokenCounter,
    budget: usize,
    used: usize,
    base: usize,
    pieces: Vec<Piece>,
}

impl Packer<'_> {
    /// Adds a piece if it fits under `limit`.
    fn push(
        &mut self,
        g: &Group,
        tier: Tier,
        rendered: String,
        lines: (u32, u32),
        limit: usize,
    ) -> bool {
        // Separators between pieces ("\n\n") cost about a token each.
        let cost = self.counter.count_text(&rendered).get() + 2;
        if self.used + cost > limit.max(self.base) {
            return false;
        }
        self.used += cost;
        let symbol = g.symbols();
        self.pieces.push(Piece {
            file: g.file.clone(),
            start_line: lines.0,
            end_line: lines.1,
            symbol,
            tier,
            hits: g.parts.len(),
            rendered,
        });
        true
    }

    fn try_full(&mut self, g: &Group, limit: usize) -> bool {
        self.push(
            g,
            Tier::Full,
            render_full(g),
            (g.start_line, g.end_line),
            limit,
        )
    }

    fn try_signature(&mut self, g: &Group, limit: usize) -> bool {
        let (rendered, start, end) = render_signature(g);
        self.push(g, Tier::Signature, rendered, (start, end), limit)
    }

    fn try_path(&mut self, g: &Group) -> bool {
        let budget = self.budget;
        self.push(
            g,
            Tier::Path,
            render_path(g),
            (g.start_line, g.end_line),
            budget,
        )
    }
}

/// Packs `hits` (best first) for `question` under `template` into `budget` tokens.
/// `sources` gives a hit's whole file when it is still what was indexed (the search's
/// [`scry_engine::SearchResults::sources`]); merged pieces are then cut from it.
#[allow(clippy::too_many_arguments)]
pub fn pack(
    hits: &[Hit],
    sources: &Sources,
    question: &str,
    template: &PromptTemplate,
    extra: &[(&str, &str)],
    budget: usize,
    counter: &dyn TokenCounter,
) -> Result<Packed, AnswerError> {
    let probe = "x";
    let base_messages = template.render(probe, question, extra);
    let base = counter.count_messages(&base_messages);
    let exact_base = base.is_exact();
    let base = base.get().saturating_sub(counter.count_text(probe).get());
    if base > budget {
        return Err(AnswerError::InvalidRequest(format!(
            "the question alone needs {base} tokens, over the budget of {budget}"
        )));
    }
    let groups = group_hits(hits, sources);
    let mut packer = Packer {
        counter,
        budget,
        used: base,
        base,
        pieces: Vec::new(),
    };
    // Tier by tier. Full bodies first, best group first; a group too big for what is
    // left is split into its hits, and the best of them keep their full bodies.
    let mut leftovers: Vec<Group> = Vec::new();
    let full_limit = (budget as f64 * FULL_SHARE) as usize;
    for g in &groups {
        if packer.try_full(g, full_limit) {
            continue;
        }
        if g.parts.len() == 1 {
            leftovers.push(g.clone());
            continue;
        }
        let mut by_rank: Vec<&Part> = g.parts.iter().collect();
        by_rank.sort_by_key(|p| p.rank);
        for part in by_rank {
            let one = g.only(part);
            if !packer.try_full(&one, full_limit) {
                leftovers.push(one);
            }
        }
    }
    // Then signatures of what did not fit, best first, then bare paths.
    leftovers.sort_by_key(Group::rank);
    let signature_limit = (budget as f64 * SIGNATURE_SHARE) as usize;
    let mut paths: Vec<Group> = Vec::new();
    for g in leftovers {
        if !packer.try_signature(&g, signature_limit) {
            paths.push(g);
        }
    }
    let mut omitted = 0;
    for g in paths {
        if !packer.try_path(&g) {
            omitted += g.parts.len();
        }
    }
    let mut pieces = packer.pieces;
    // The exact check over the whole rendered prompt: drop pieces from the end until it
    // fits (boundary effects of tokenizers make sums of parts approximate).
    loop {
        let context = assemble(&pieces);
        let messages = template.render(&context, question, extra);
        let total = counter.count_messages(&messages);
        if total.get() <= budget || pieces.is_empty() {
            if total.get() > budget {
                return Err(AnswerError::InvalidRequest(format!(
                    "the question alone needs {} tokens, over the budget of {budget}",
                    total.get()
                )));
            }
            return Ok(Packed {
                messages,
                context,
                tokens: total.get(),
                budget,
                exact: total.is_exact() && exact_base,
                omitted,
                pieces,
            });
        }
        let dropped = pieces.pop().map_or(0, |p| p.hits);
        omitted += dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_stop_where_the_body_opens() {
        let rust =
            "/// Docs.\npub fn parse(input: &str)\n    -> Result<Ast, Error> {\n    body()\n}";
        assert_eq!(
            signature_of(rust, Some("parse")),
            "pub fn parse(input: &str)\n    -> Result<Ast, Error>"
        );
        let py = "def load(path):\n    return open(path)";
        assert_eq!(signature_of(py, Some("load")), "def load(path):");
    }

    #[test]
    fn fences_outgrow_backticks_in_the_code() {
        assert_eq!(fence_for("no ticks"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
    }
}
