//! Hybrid search on one snapshot: BM25 top-N and vector top-N fused by Reciprocal Rank
//! Fusion; touching hits of a file merged; each hit named by the definition in it that
//! matched the query, and checked against what the editor or the disk holds now.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use globset::{GlobBuilder, GlobMatcher};
use scry_chunk::{Definition, Span};
use scry_index::{LexicalFilter, StoredChunk, tokenize};

use crate::freshness::{FileRef, Sources};
use crate::{EngineError, Snapshot};

/// Queries longer than this are refused.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;
/// Results per search at most.
pub const MAX_K: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchMode {
    Hybrid,
    Lexical,
    Vector,
}

impl SearchMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Hybrid => "hybrid",
            SearchMode::Lexical => "lexical",
            SearchMode::Vector => "vector",
        }
    }
}

impl fmt::Display for SearchMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hybrid" => Ok(SearchMode::Hybrid),
            "lexical" | "bm25" => Ok(SearchMode::Lexical),
            "vector" | "semantic" => Ok(SearchMode::Vector),
            _ => Err(format!("unknown mode {s:?} (hybrid, lexical or vector)")),
        }
    }
}

/// What to search for and where.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: String,
    pub k: usize,
    pub mode: SearchMode,
    pub language: Option<String>,
    pub kind: Option<String>,
    /// A glob over paths relative to their root (`src/**/*.rs`, `*.py`).
    pub path_glob: Option<String>,
    /// Only results under this directory (a root or a folder inside one).
    pub within: Option<String>,
    /// The query's embedding, if the caller already has it (see [`Engine::embed_query`]).
    pub query_embedding: Option<Vec<f32>>,
}

impl SearchRequest {
    pub fn new(query: impl Into<String>) -> SearchRequest {
        SearchRequest {
            query: query.into(),
            k: 10,
            mode: SearchMode::Hybrid,
            language: None,
            kind: None,
            path_glob: None,
            within: None,
            query_embedding: None,
        }
    }
    pub fn query_embedding(mut self, v: Option<Vec<f32>>) -> Self {
        self.query_embedding = v;
        self
    }
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }
    pub fn mode(mut self, mode: SearchMode) -> Self {
        self.mode = mode;
        self
    }
    pub fn language(mut self, l: Option<String>) -> Self {
        self.language = l;
        self
    }
    pub fn path_glob(mut self, g: Option<String>) -> Self {
        self.path_glob = g;
        self
    }
    pub fn within(mut self, dir: Option<String>) -> Self {
        self.within = dir;
        self
    }
}

/// A hit's rank (1-based) in each retriever that found it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ranks {
    pub lexical: Option<u32>,
    pub vector: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Hit {
    /// The file, the content that was indexed, and whether it is still current.
    pub file: FileRef,
    /// The chunk's place in the file (for merged hits, the union).
    pub span: Span,
    /// The definition that matched the query, else the chunk's label.
    pub symbol: Option<String>,
    /// The enclosing scope of that definition (or of the chunk).
    pub scope: Option<String>,
    /// The kind of that definition (or of the chunk: `block`, `window`…).
    pub kind: String,
    pub language: String,
    /// The definition in this chunk that matched the query (a chunk of several small
    /// definitions names the one asked for), or the chunk's own; with its span.
    pub definition: Option<Definition>,
    /// The fused RRF score.
    pub score: f64,
    pub ranks: Ranks,
    /// The index generation this hit was read from.
    pub generation: u64,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub generation: u64,
    pub requested_mode: SearchMode,
    /// The mode actually used (lexical when there is no embedding model).
    pub mode: SearchMode,
    /// Set when the results are not what was asked for, e.g. BM25-only.
    pub notice: Option<String>,
    pub hits: Vec<Hit>,
    /// The files the hits came from, as read to decide their freshness: the texts to
    /// cut merged context from, or to place exact positions in.
    pub sources: Sources,
}

pub(crate) struct Candidate {
    pub(crate) chunk: StoredChunk,
    pub(crate) ranks: Ranks,
    pub(crate) score: f64,
}

/// Searches one snapshot of the index.
pub(crate) fn search(snap: &Snapshot, req: &SearchRequest) -> Result<SearchResults, EngineError> {
    let query = req.query.trim();
    if query.is_empty() {
        return Err(EngineError::InvalidRequest("the query is empty".into()));
    }
    if query.len() > MAX_QUERY_BYTES {
        return Err(EngineError::InvalidRequest(format!(
            "the query is {} bytes; the limit is {MAX_QUERY_BYTES}",
            query.len()
        )));
    }
    let view = &snap.view;
    let k = req.k.min(MAX_K);
    let filter = Filter::new(snap, req)?;
    let model = view.embedder();
    let (mode, notice) = match (req.mode, model) {
        (SearchMode::Lexical, _) => (SearchMode::Lexical, None),
        // Vector-only search sees only chunks that have vectors: say so while some wait.
        (SearchMode::Vector, Some(_)) => (SearchMode::Vector, vectors_incomplete(view)),
        (m, Some(_)) => (m, None),
        (_, None) => (
            SearchMode::Lexical,
            Some(format!(
                "BM25-only: {}",
                view.model.problem().unwrap_or("no embedding model")
            )),
        ),
    };
    // Filters drop candidates after retrieval: retrieve more when they narrow.
    let n = if filter.narrows() {
        (k * 20).max(400)
    } else {
        (k * 4).max(40)
    };
    let retrieval = Retrieval {
        snap,
        req,
        query,
        n,
        filter,
    };
    let mut fused = Fused::new(f64::from(snap.setup.config.rrf_k));
    if mode != SearchMode::Vector {
        retrieval.lexical(&mut fused)?;
    }
    if mode != SearchMode::Lexical {
        retrieval.vectors(&mut fused)?;
    }
    if mode == SearchMode::Hybrid {
        fused.credit_chunks_waiting_for_vectors(snap);
    }
    let merged = merge_overlapping(crate::rank::rank(fused.ranked(), query), k);
    let terms: HashSet<String> = tokenize(query).into_iter().map(|t| t.text).collect();
    let sources = snap.sources();
    let hits = merged
        .into_iter()
        .map(|c| hit(c, &terms, &sources, view.generation))
        .collect();
    Ok(SearchResults {
        generation: view.generation,
        requested_mode: req.mode,
        mode,
        notice,
        hits,
        sources,
    })
}

/// Which chunks a request admits: under a directory, matching a glob, of a language
/// and a kind.
struct Filter<'r> {
    within: Option<scry_paths::Resolved>,
    glob: Option<GlobMatcher>,
    req: &'r SearchRequest,
}

impl<'r> Filter<'r> {
    fn new(snap: &Snapshot, req: &'r SearchRequest) -> Result<Filter<'r>, EngineError> {
        let glob = match &req.path_glob {
            Some(g) => Some(
                GlobBuilder::new(g)
                    .literal_separator(false)
                    .build()
                    .map_err(|e| EngineError::InvalidRequest(format!("bad path glob {g:?}: {e}")))?
                    .compile_matcher(),
            ),
            None => None,
        };
        let within = match &req.within {
            Some(dir) => Some(snap.setup.roots.resolve(dir)?),
            None => None,
        };
        Ok(Filter { within, glob, req })
    }

    /// Whether the filter drops chunks retrieval cannot drop itself.
    fn narrows(&self) -> bool {
        self.glob.is_some() || self.within.is_some()
    }

    fn keeps(&self, c: &StoredChunk) -> bool {
        if let Some(w) = &self.within
            && (c.root != w.root
                || !(w.rel.is_empty()
                    || c.path == w.rel
                    || c.path.starts_with(&format!("{}/", w.rel))))
        {
            return false;
        }
        if let Some(g) = &self.glob
            && !matches_glob(g, &c.path)
        {
            return false;
        }
        self.req.language.as_ref().is_none_or(|l| *l == c.language)
            && self.req.kind.as_ref().is_none_or(|kd| *kd == c.kind)
    }
}

/// One request's retrieval: what to look for, how many candidates, which chunks count.
struct Retrieval<'a> {
    snap: &'a Snapshot,
    req: &'a SearchRequest,
    query: &'a str,
    n: usize,
    filter: Filter<'a>,
}

impl Retrieval<'_> {
    /// BM25's top `n`, ranked into `fused`.
    fn lexical(&self, fused: &mut Fused) -> Result<(), EngineError> {
        let view = &self.snap.view;
        let lexical_filter = LexicalFilter {
            language: self.req.language.clone(),
            kind: self.req.kind.clone(),
        };
        let mut rank = 0u32;
        for (_, addr) in view.lexical.search(self.query, self.n, &lexical_filter)? {
            let chunk = view.lexical.load(addr)?;
            if self.filter.keeps(&chunk) {
                rank += 1;
                fused.add(chunk, Retriever::Lexical, rank);
            }
        }
        Ok(())
    }

    /// The vector index's top `n` (live keys of this generation only), ranked into
    /// `fused`.
    fn vectors(&self, fused: &mut Fused) -> Result<(), EngineError> {
        let view = &self.snap.view;
        let (Some(embedder), Some(store)) = (view.embedder(), &view.vectors) else {
            return Ok(());
        };
        let qv = match &self.req.query_embedding {
            Some(v) => v.clone(),
            None => embed(
                embedder.as_ref(),
                &self.snap.setup.config.query_prefix,
                self.query,
            )?,
        };
        let live = &view.live_keys;
        let mut rank = 0u32;
        for (key, _distance) in store.search(&qv, self.n, |key| live.contains(&key))? {
            for addr in view.lexical.docs_with_key(key)? {
                let chunk = view.lexical.load(addr)?;
                if self.filter.keeps(&chunk) {
                    rank += 1;
                    fused.add(chunk, Retriever::Vector, rank);
                }
            }
        }
        Ok(())
    }
}

fn hit(c: Candidate, terms: &HashSet<String>, sources: &Sources, generation: u64) -> Hit {
    let chunk = c.chunk;
    let definition =
        matched_definition(terms, &chunk.definitions, chunk.symbol.as_deref()).cloned();
    let (symbol, scope, kind) = match &definition {
        Some(d) => (
            Some(d.name.clone()),
            d.scope.clone(),
            d.kind.as_str().to_owned(),
        ),
        None => (chunk.symbol, chunk.scope, chunk.kind),
    };
    Hit {
        file: sources.file_ref(chunk.root, &chunk.path, chunk.file_hash),
        span: chunk.span,
        symbol,
        scope,
        kind,
        language: chunk.language,
        definition,
        score: c.score,
        ranks: c.ranks,
        generation,
        text: chunk.text,
    }
}

/// The definition a hit is about: the one whose name shares the most words with the
/// query (the whole name first), else the one the chunk is labelled with, else its
/// first.
fn matched_definition<'a>(
    terms: &HashSet<String>,
    defs: &'a [Definition],
    label: Option<&str>,
) -> Option<&'a Definition> {
    let mut best: Option<(i64, &Definition)> = None;
    for d in defs {
        let name_terms: Vec<String> = tokenize(&d.name).into_iter().map(|t| t.text).collect();
        let shared = name_terms.iter().filter(|t| terms.contains(*t)).count() as i64;
        if shared == 0 {
            continue;
        }
        let whole = terms.contains(&d.name.to_lowercase()) as i64;
        let missing = name_terms.len() as i64 - shared;
        let score = whole * 1_000 + shared * 10 - missing;
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, d));
        }
    }
    best.map(|(_, d)| d)
        .or_else(|| defs.iter().find(|d| Some(d.name.as_str()) == label))
        .or_else(|| defs.first())
}

#[derive(Clone, Copy)]
enum Retriever {
    Lexical,
    Vector,
}

/// Reciprocal Rank Fusion: each chunk scores Σ 1/(k + rank) over the retrievers that
/// found it.
struct Fused {
    rrf_k: f64,
    by_chunk: HashMap<(u32, String, usize), Candidate>,
}

impl Fused {
    fn new(rrf_k: f64) -> Fused {
        Fused {
            rrf_k,
            by_chunk: HashMap::new(),
        }
    }

    /// Adds one retriever's rank for a chunk (its first rank wins).
    fn add(&mut self, chunk: StoredChunk, retriever: Retriever, rank: u32) {
        let e = self
            .by_chunk
            .entry((chunk.root, chunk.path.clone(), chunk.span.byte_start))
            .or_insert_with(|| Candidate {
                chunk,
                ranks: Ranks::default(),
                score: 0.0,
            });
        let slot = match retriever {
            Retriever::Lexical => &mut e.ranks.lexical,
            Retriever::Vector => &mut e.ranks.vector,
        };
        if slot.is_none() {
            *slot = Some(rank);
            e.score += 1.0 / (self.rrf_k + f64::from(rank));
        }
    }

    /// A chunk waiting for its vector (an edit not yet embedded) cannot place in the
    /// vector list; in a hybrid search it counts as placing there where it placed
    /// lexically, so a fresh edit is not outranked for lack of an embedding.
    fn credit_chunks_waiting_for_vectors(&mut self, snap: &Snapshot) {
        let view = &snap.view;
        let (Some(_), Some(store)) = (view.embedder(), &view.vectors) else {
            return;
        };
        for c in self.by_chunk.values_mut() {
            if let (Some(rank), None) = (c.ranks.lexical, c.ranks.vector)
                && !store.contains(c.chunk.vec_key)
            {
                c.score += 1.0 / (self.rrf_k + f64::from(rank));
            }
        }
    }

    /// Best first; ties by path and position, so results are stable.
    fn ranked(self) -> Vec<Candidate> {
        let mut ranked: Vec<Candidate> = self.by_chunk.into_values().collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.chunk.path.cmp(&b.chunk.path))
                .then_with(|| a.chunk.span.byte_start.cmp(&b.chunk.span.byte_start))
        });
        ranked
    }
}

fn embed(
    embedder: &dyn scry_models::Embedder,
    prefix: &str,
    query: &str,
) -> Result<Vec<f32>, EngineError> {
    let out = embedder
        .embed(&[format!("{prefix}{query}")])
        .map_err(|e| EngineError::InvalidRequest(format!("cannot embed the query: {e}")))?;
    out.vectors.into_iter().next().ok_or_else(|| {
        EngineError::InvalidRequest("the model returned no vector for the query".into())
    })
}

/// The query's embedding as a search on `snap` would compute it; `None` without a model.
pub(crate) fn embed_query(snap: &Snapshot, query: &str) -> Option<Result<Vec<f32>, EngineError>> {
    let e = snap.view.model.embedder()?;
    Some(embed(e.as_ref(), &snap.setup.config.query_prefix, query))
}

fn matches_glob(g: &GlobMatcher, path: &str) -> bool {
    g.is_match(path) || path.rsplit('/').next().is_some_and(|name| g.is_match(name))
}

/// Hits of one file whose lines overlap or touch become one hit (the better one's
/// identity, the union of ranges and of definitions, the best rank of each retriever).
fn merge_overlapping(ranked: Vec<Candidate>, k: usize) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for c in ranked {
        let same = out.iter_mut().find(|o| {
            o.chunk.root == c.chunk.root
                && o.chunk.path == c.chunk.path
                && o.chunk.span.touches_lines(c.chunk.span)
        });
        match same {
            Some(o) => {
                let (a, b) = (o.chunk.span, c.chunk.span);
                let text = if a.byte_start < b.byte_end && b.byte_start < a.byte_end {
                    o.chunk.text.clone()
                } else if b.byte_start < a.byte_start {
                    format!("{}{}", c.chunk.text, o.chunk.text)
                } else {
                    format!("{}{}", o.chunk.text, c.chunk.text)
                };
                o.chunk.text = text;
                o.chunk.span = a.union(b);
                for d in c.chunk.definitions {
                    if !o.chunk.definitions.contains(&d) {
                        o.chunk.definitions.push(d);
                    }
                }
                o.chunk
                    .definitions
                    .sort_by_key(|d| (d.name_span.byte_start, d.span.byte_start));
                o.ranks.lexical = min_opt(o.ranks.lexical, c.ranks.lexical);
                o.ranks.vector = min_opt(o.ranks.vector, c.ranks.vector);
            }
            None => {
                if out.len() == k {
                    break;
                }
                out.push(c);
            }
        }
    }
    out
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The notice a vector-only search gives while chunks still wait for their vectors.
fn vectors_incomplete(view: &crate::snapshot::View) -> Option<String> {
    let missing = view.missing_vectors();
    (missing > 0).then(|| {
        format!(
            "vectors are incomplete: {missing} of {} chunks have none yet (being embedded), \
             and vector search cannot find them; hybrid or lexical search covers every chunk",
            view.lexical.num_chunks()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use scry_chunk::ChunkKind;

    fn def(name: &str, line: u32) -> Definition {
        let span = Span::new(line as usize * 10, line as usize * 10 + 9, line, line);
        Definition {
            name: name.into(),
            kind: ChunkKind::Class,
            scope: None,
            span,
            name_span: span,
        }
    }

    fn terms(q: &str) -> HashSet<String> {
        tokenize(q).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn the_definition_named_in_the_query_is_the_one_a_merged_hit_is_about() {
        let defs = [
            def("ContentDecodingError", 1),
            def("StreamConsumedError", 5),
            def("RetryError", 9),
        ];
        let label = Some("ContentDecodingError");
        let m = |q: &str| matched_definition(&terms(q), &defs, label).map(|d| d.name.as_str());
        assert_eq!(m("StreamConsumedError"), Some("StreamConsumedError"));
        assert_eq!(m("stream consumed"), Some("StreamConsumedError"));
        assert_eq!(m("retry error"), Some("RetryError"));
        // Nothing in common: the chunk's own label.
        assert_eq!(m("unrelated words"), Some("ContentDecodingError"));
        assert_eq!(matched_definition(&terms("x"), &[], label), None);
    }
}
