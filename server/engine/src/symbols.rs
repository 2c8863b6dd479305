//! Symbol lookup by name: `workspace/symbol` in the editor, `find_symbol` for agents.
//! The definitions come from chunking (names, kinds, scopes and spans as the grammar
//! says them); nothing here guesses from text.
//!
//! Matching is fuzzy the way editors' symbol pickers are: the query's characters must
//! appear in order in the name, case-insensitively; exact names beat prefixes, prefixes
//! beat substrings, and matches at word starts (`hr` in `handle_request`, `HandleRequest`)
//! beat scattered ones.

use scry_chunk::Definition;

use crate::freshness::{FileRef, Sources};
use crate::{EngineError, Snapshot};

/// Most symbols returned by one lookup.
pub const MAX_SYMBOLS: usize = 1000;

#[derive(Debug, Clone)]
pub struct SymbolQuery {
    /// Empty: every symbol (up to `limit`), by name.
    pub name: String,
    /// Only this kind (`function`, `struct`, `class`…).
    pub kind: Option<String>,
    /// `false`: the name must match exactly (case-sensitive).
    pub fuzzy: bool,
    pub limit: usize,
}

impl SymbolQuery {
    pub fn new(name: impl Into<String>) -> SymbolQuery {
        SymbolQuery {
            name: name.into(),
            kind: None,
            fuzzy: true,
            limit: 100,
        }
    }
}

/// A definition that matched, in the file it is in.
#[derive(Debug, Clone)]
pub struct SymbolHit {
    pub file: FileRef,
    pub language: String,
    /// Name, kind, enclosing scope, the whole definition's span and its name's span.
    pub definition: Definition,
    pub generation: u64,
    /// Higher is better.
    pub score: u32,
}

/// The definitions a lookup found, best first, from one generation.
#[derive(Debug, Clone)]
pub struct SymbolResults {
    pub generation: u64,
    pub hits: Vec<SymbolHit>,
    /// The files the hits are in, as read to decide their freshness.
    pub sources: Sources,
}

/// Definitions whose name matches `q`, best first, from one index generation.
pub(crate) fn find(snap: &Snapshot, q: &SymbolQuery) -> Result<SymbolResults, EngineError> {
    let view = &snap.view;
    let limit = q.limit.clamp(1, MAX_SYMBOLS);
    let mut scored: Vec<(u32, scry_index::SymbolEntry)> = Vec::new();
    view.lexical
        .for_each_symbol(&snap.setup.symbol_cache, |e| {
            let d = &e.definition;
            if q.kind.as_deref().is_some_and(|k| d.kind.as_str() != k) {
                return;
            }
            let score = if q.fuzzy {
                fuzzy_score(&q.name, &d.name)
            } else {
                (d.name == q.name).then_some(1)
            };
            if let Some(score) = score {
                scored.push((score, e.clone()));
            }
        })?;
    // Best first; among equals, shorter names (closer to the query) first, except
    // for an empty query, which lists by name.
    let by_length = !q.name.is_empty();
    scored.sort_by(|(sa, a), (sb, b)| {
        let (da, db) = (&a.definition, &b.definition);
        // A re-export points at a definition elsewhere: the definition itself first.
        let reexport = |d: &Definition| d.kind == scry_chunk::ChunkKind::Reexport;
        sb.cmp(sa)
            .then(reexport(da).cmp(&reexport(db)))
            .then(if by_length {
                da.name.len().cmp(&db.name.len())
            } else {
                std::cmp::Ordering::Equal
            })
            .then_with(|| da.name.cmp(&db.name))
            .then_with(|| a.path.cmp(&b.path))
            .then(da.span.start_line.cmp(&db.span.start_line))
    });
    scored.truncate(limit);
    let sources = snap.sources();
    let hits = scored
        .into_iter()
        .map(|(score, e)| SymbolHit {
            file: sources.file_ref(e.root, &e.path, e.file_hash),
            language: e.language,
            definition: e.definition,
            generation: view.generation,
            score,
        })
        .collect();
    Ok(SymbolResults {
        generation: view.generation,
        hits,
        sources,
    })
}

/// How well `query` matches `name`; `None` when it does not. Empty matches everything.
pub fn fuzzy_score(query: &str, name: &str) -> Option<u32> {
    if query.is_empty() {
        return Some(1);
    }
    if name == query {
        return Some(10_000);
    }
    if !is_subsequence(query, name) {
        return None;
    }
    // Case folded one character to one character, so indices line up with `name`.
    let fold = |c: char| c.to_lowercase().next().unwrap_or(c);
    let orig: Vec<char> = name.chars().collect();
    let lname: Vec<char> = orig.iter().map(|&c| fold(c)).collect();
    let lquery: Vec<char> = query.chars().map(fold).collect();
    if lname == lquery {
        return Some(9_000);
    }
    if lname.starts_with(&lquery) {
        return Some(8_000 - (lname.len() - lquery.len()).min(999) as u32);
    }
    let subsequence = subsequence_score(&orig, &lname, &lquery);
    if let Some(at) = lname
        .windows(lquery.len())
        .position(|w| w == lquery.as_slice())
    {
        if is_word_start(&orig, at) {
            return Some(7_000 - at.min(999) as u32);
        }
        // Inside a word (`hr` in `thrower`) ranks below an acronym (`handle_request`).
        return Some(subsequence.unwrap_or(0).max(4_000 - at.min(999) as u32));
    }
    subsequence
}

/// Whether `query`'s characters appear in `name` in order, ignoring case; no allocation,
/// so most names are rejected cheaply.
fn is_subsequence(query: &str, name: &str) -> bool {
    let fold = |c: char| c.to_lowercase().next().unwrap_or(c);
    let mut name = name.chars().map(fold);
    query.chars().map(fold).all(|q| name.any(|n| n == q))
}

/// In-order subsequence, greedy. Every character at a word start (an acronym: `hr` →
/// `handle_request`) scores 5,000 and up; otherwise 1,000 and up, more for word starts
/// and fewer gaps.
fn subsequence_score(orig: &[char], lname: &[char], lquery: &[char]) -> Option<u32> {
    let mut qi = 0;
    let mut boundaries = 0u32;
    let mut gaps = 0u32;
    let mut last: Option<usize> = None;
    for (i, c) in lname.iter().enumerate() {
        if qi == lquery.len() {
            break;
        }
        if *c == lquery[qi] {
            if is_word_start(orig, i) {
                boundaries += 1;
            }
            if let Some(l) = last {
                gaps += (i - l - 1) as u32;
            }
            last = Some(i);
            qi += 1;
        }
    }
    if qi < lquery.len() {
        return None;
    }
    if boundaries as usize == lquery.len() {
        return Some(5_000 - gaps.min(999));
    }
    Some((1_000 + boundaries * 100).saturating_sub(gaps.min(900)))
}

/// Whether character `at` of `name` starts a word: the first character, one after
/// `_`, `-`, `.`, `:` or a space, or an uppercase letter after a lowercase one.
fn is_word_start(name: &[char], at: usize) -> bool {
    if at == 0 {
        return true;
    }
    let (p, c) = (name[at - 1], name[at]);
    matches!(p, '_' | '-' | '.' | ':' | ' ') || (p.is_lowercase() && c.is_uppercase())
}

#[cfg(test)]
mod tests {
    use super::fuzzy_score;

    #[test]
    fn exact_beats_prefix_beats_substring_beats_subsequence() {
        let exact = fuzzy_score("parse", "parse").unwrap();
        let prefix = fuzzy_score("parse", "parse_args").unwrap();
        let sub = fuzzy_score("parse", "do_parse").unwrap();
        let subseq = fuzzy_score("pse", "parse").unwrap();
        assert!(exact > prefix && prefix > sub && sub > subseq);
    }

    #[test]
    fn word_starts_beat_scattered_letters() {
        let words = fuzzy_score("hr", "handle_request").unwrap();
        let camel = fuzzy_score("hr", "HandleRequest").unwrap();
        let scattered = fuzzy_score("hr", "thrower").unwrap();
        assert!(words > scattered, "{words} vs {scattered}");
        assert!(camel > scattered, "{camel} vs {scattered}");
    }

    #[test]
    fn letters_out_of_order_do_not_match() {
        assert_eq!(fuzzy_score("rh", "handle"), None);
        assert_eq!(fuzzy_score("xyz", "parse"), None);
    }

    #[test]
    fn non_ascii_names_do_not_panic() {
        assert!(fuzzy_score("ü", "grüße").is_some());
        assert!(fuzzy_score("ß", "Straße_ẞ").is_some());
        assert_eq!(fuzzy_score("é", "e"), None);
    }
}
