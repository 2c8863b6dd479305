//! Fusion: one base score in [0, 1] per candidate from what each retriever said of it,
//! weighted by the query's shape. The ranking stage (`rank.rs`) adds its signals on top.
//!
//! Two ways, chosen by [`Fusion`]:
//! - `Rrf` (the default): Reciprocal Rank Fusion, Σ w / (k + rank), divided by the best
//!   candidate's.
//! - `Scores`: each retriever's own score, relative to its best candidate
//!   (BM25 divided by the top BM25 score; cosine similarity min-max scaled over the
//!   candidates), summed with the shape's weights. Unlike ranks, scores keep how much
//!   better the first hit is than the tenth, which the signals after fusion must not
//!   drown.
//!
//! The query's shape: a lone identifier (`FromRequest`, `parse_config`, `a::b`) leans on
//! exact lexical matches; a sentence leans on meaning as much as on words.

use std::fmt;
use std::str::FromStr;

use crate::search::Candidate;
use crate::tier::PerTier;

/// How retrievers' results are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fusion {
    Scores,
    /// The default: on the quality benchmark (BM25-only, 8 repositories) it scored
    /// NDCG@10 0.831 against 0.827 for `Scores`, and it needs no calibration of scores
    /// across retrievers.
    #[default]
    Rrf,
}

impl Fusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Fusion::Scores => "scores",
            Fusion::Rrf => "rrf",
        }
    }
}

impl fmt::Display for Fusion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Fusion {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "scores" => Ok(Fusion::Scores),
            "rrf" => Ok(Fusion::Rrf),
            _ => Err(format!("unknown fusion {s:?}: use scores or rrf")),
        }
    }
}

/// What a query looks like, which decides how much each retriever counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueryShape {
    /// One identifier, maybe qualified: `FromRequest`, `parse_config`, `Sinatra::Base`.
    Identifier,
    /// Words: `how are cookies persisted`, or a lone lowercase word (`session`), which
    /// is as often a topic as a name.
    Sentence,
}

impl QueryShape {
    pub(crate) fn of(query: &str) -> QueryShape {
        let q = query.trim();
        let parts = split_qualified(q);
        let plain = parts.iter().all(|p| is_identifier(p));
        if q.is_empty() || !plain {
            return QueryShape::Sentence;
        }
        let name = parts.last().copied().unwrap_or(q);
        let first_upper = name.chars().next().is_some_and(char::is_uppercase);
        let inner_marks = name.contains('_') || name.chars().skip(1).any(char::is_uppercase);
        if parts.len() > 1 || first_upper || inner_marks {
            QueryShape::Identifier
        } else {
            QueryShape::Sentence
        }
    }

    /// How much each retriever counts: (lexical, vector).
    pub(crate) fn weights(self) -> (f64, f64) {
        match self {
            QueryShape::Identifier => (0.7, 0.3),
            QueryShape::Sentence => (0.5, 0.5),
        }
    }
}

/// The parts of a qualified name: `a::b.c` → `a`, `b`, `c`.
/// A character that may be part of an identifier.
pub(crate) fn is_identifier_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A non-empty run of identifier characters: one part of a qualified name.
pub(crate) fn is_identifier(part: &str) -> bool {
    !part.is_empty() && part.chars().all(is_identifier_char)
}

pub(crate) fn split_qualified(q: &str) -> Vec<&str> {
    let mut parts = vec![q];
    for sep in ["::", "->", ".", "\\"] {
        parts = parts.into_iter().flat_map(|p| p.split(sep)).collect();
    }
    parts
}

/// Sets every candidate's base score in [0, 1] (the best candidate scores 1 when one
/// retriever found it first). `lexical` and `tiers` say which lists the search has:
/// with one list, its scores are the base unweighted.
///
/// With both vector tiers, the vector share is [`fast_tier_weight`] of the fast tier's
/// and the rest of the full tier's. A chunk waiting for a tier's vector counts in that
/// tier's list as it placed in the others (the fast tier's, else the lexical one), so a
/// fresh edit, or a chunk the full tier has not reached yet, is not outranked for lack
/// of an embedding.
pub(crate) fn fuse(
    candidates: &mut [Candidate],
    fusion: Fusion,
    rrf_k: f64,
    shape: QueryShape,
    lexical: bool,
    tiers: PerTier<bool>,
) {
    let (w_lex, w_vec) = if lexical && (tiers.fast || tiers.full) {
        shape.weights()
    } else {
        (1.0, 1.0)
    };
    let beta = match (tiers.fast, tiers.full) {
        (true, true) => fast_tier_weight(),
        (true, false) => 1.0,
        _ => 0.0,
    };
    // (lexical, fast, full) of one candidate, each in [0, 1] or RRF's scale.
    let vector = |c: &Candidate, l: f64, fast: Option<f64>, full: Option<f64>| {
        let fast = match fast {
            Some(f) => f,
            None if c.awaiting.fast => l,
            None => 0.0,
        };
        let full = match full {
            Some(f) => f,
            None if c.awaiting.full => {
                if tiers.fast {
                    fast
                } else {
                    l
                }
            }
            None => 0.0,
        };
        beta * fast + (1.0 - beta) * full
    };
    match fusion {
        Fusion::Scores => {
            let lex = Scale::of(candidates.iter().filter_map(|c| c.raw.lexical), false);
            let fast = Scale::of(candidates.iter().filter_map(|c| c.raw.fast), true);
            let full = Scale::of(candidates.iter().filter_map(|c| c.raw.vector), true);
            for c in candidates.iter_mut() {
                let l = c.raw.lexical.map_or(0.0, |s| lex.apply(s));
                let v = vector(
                    c,
                    l,
                    c.raw.fast.map(|s| fast.apply(s)),
                    c.raw.vector.map(|s| full.apply(s)),
                );
                c.score = w_lex * l + w_vec * v;
            }
        }
        Fusion::Rrf => {
            let rrf = |rank: u32| 1.0 / (rrf_k + f64::from(rank));
            for c in candidates.iter_mut() {
                let l = c.ranks.lexical.map_or(0.0, rrf);
                let v = vector(c, l, c.ranks.fast.map(rrf), c.ranks.vector.map(rrf));
                c.score = w_lex * l + w_vec * v;
            }
            let best = candidates.iter().map(|c| c.score).fold(0.0, f64::max);
            if best > 0.0 {
                for c in candidates.iter_mut() {
                    c.score /= best;
                }
            }
        }
    }
}

/// The fast tier's share of the vector weight when both tiers are searched.
/// `SCRY_FAST_TIER_WEIGHT` (0 to 1) overrides it, for the quality benchmark.
pub(crate) fn fast_tier_weight() -> f64 {
    static WEIGHT: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *WEIGHT.get_or_init(|| {
        std::env::var("SCRY_FAST_TIER_WEIGHT")
            .ok()
            .and_then(|w| w.parse::<f64>().ok())
            .filter(|w| (0.0..=1.0).contains(w))
            .unwrap_or(FAST_TIER_WEIGHT)
    })
}

/// Half: both tiers' ranks count equally once the full tier has a chunk's vector (until
/// then the fast tier stands in for it). On the quality benchmark (8 repositories,
/// NDCG@10 file / chunk, `scripts/bench-quality.py --mode tiers --fast-weights`) both
/// tiers complete scored 0.894 / 0.885 at 0 (the transformer alone), 0.893 / 0.892 at
/// 0.3 and 0.897 / 0.895 at 0.5; six repositories gained at 0.5 against 0, flask lost
/// (0.947 to 0.929). The fast tier alone scores 0.900 / 0.898, but a blend keeps what the
/// model knows for the queries and code the benchmark does not hold. Before the ranking
/// stage's definition and centrality signals the order was the other way (0.867 at 0,
/// 0.869 at 0.5, symbol queries 0.901 against 0.916), and 0 was the default.
const FAST_TIER_WEIGHT: f64 = 0.5;

/// Maps one retriever's scores into [0, 1].
struct Scale {
    min: f64,
    max: f64,
    min_max: bool,
}

impl Scale {
    /// BM25 scores are divided by the best (a hit half as good scores 0.5); cosine
    /// similarities, which crowd into a narrow band, are min-max scaled.
    fn of(scores: impl Iterator<Item = f32>, min_max: bool) -> Scale {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for s in scores {
            min = min.min(f64::from(s));
            max = max.max(f64::from(s));
        }
        Scale { min, max, min_max }
    }

    fn apply(&self, s: f32) -> f64 {
        let s = f64::from(s);
        if self.min_max {
            let span = self.max - self.min;
            if span > 1e-9 {
                (s - self.min) / span
            } else {
                1.0
            }
        } else if self.max > 0.0 {
            s / self.max
        } else {
            0.0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_identifier_is_told_from_a_sentence() {
        for q in [
            "FromRequest",
            "parse_config",
            "Sinatra::Base",
            "app.handle",
            "URL",
            "Router",
        ] {
            assert_eq!(QueryShape::of(q), QueryShape::Identifier, "{q}");
        }
        for q in [
            "how are cookies persisted",
            "session",
            "request throttling",
            "z.transform and z.pipe",
            "what?",
        ] {
            assert_eq!(QueryShape::of(q), QueryShape::Sentence, "{q}");
        }
    }

    #[test]
    fn an_identifier_leans_on_words_and_a_sentence_on_meaning_as_much() {
        let (l, v) = QueryShape::Identifier.weights();
        assert!(l > v);
        let (l, v) = QueryShape::Sentence.weights();
        assert_eq!(l, v);
    }

    #[test]
    fn bm25_scales_by_the_best_and_similarities_by_their_band() {
        let bm25 = Scale::of([10.0f32, 5.0, 2.5].into_iter(), false);
        assert_eq!(bm25.apply(5.0), 0.5);
        let cos = Scale::of([0.62f32, 0.52, 0.42].into_iter(), true);
        assert!((cos.apply(0.52) - 0.5).abs() < 1e-6);
        assert_eq!(cos.apply(0.62), 1.0);
    }
}
