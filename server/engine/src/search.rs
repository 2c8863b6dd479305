//! Hybrid search: BM25 top-N and vector top-N fused by Reciprocal Rank Fusion, on one
//! snapshot (one generation) of the index.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

use globset::{GlobBuilder, GlobMatcher};
use scry_index::{LexicalFilter, StoredChunk};

use crate::{Engine, EngineError, Snapshot};

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
    pub root: PathBuf,
    /// Relative to `root`, `/`-separated.
    pub path: String,
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    pub byte_start: usize,
    pub byte_end: usize,
    pub symbol: Option<String>,
    pub scope: Option<String>,
    pub kind: String,
    pub language: String,
    /// The fused RRF score.
    pub score: f64,
    pub ranks: Ranks,
    /// The index generation this hit was read from.
    pub generation: u64,
    pub text: String,
    /// blake3 (first 128 bits, hex) of the file content that was indexed.
    pub file_hash: String,
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
}

struct Candidate {
    chunk: StoredChunk,
    ranks: Ranks,
    score: f64,
}

impl Engine {
    /// Searches one snapshot of the index.
    pub fn search(&self, req: &SearchRequest) -> Result<SearchResults, EngineError> {
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
        let k = req.k.min(MAX_K);
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
            Some(dir) => Some(self.inner.roots.resolve(dir)?),
            None => None,
        };
        let snap: Arc<Snapshot> = self.snapshot();
        let model = self
            .inner
            .embedder
            .as_ref()
            .filter(|_| snap.vectors.is_some());
        let (mode, notice) = match (req.mode, model) {
            (SearchMode::Lexical, _) => (SearchMode::Lexical, None),
            (m, Some(_)) => (m, None),
            (_, None) => (
                SearchMode::Lexical,
                Some(format!(
                    "BM25-only: {}",
                    self.inner
                        .model_problem
                        .as_deref()
                        .unwrap_or("no embedding model")
                )),
            ),
        };
        let filtered = glob.is_some() || within.is_some();
        let n = if filtered {
            (k * 20).max(400)
        } else {
            (k * 4).max(40)
        };
        let keep = |c: &StoredChunk| -> bool {
            if let Some(w) = &within
                && (c.root != w.root
                    || !(w.rel.is_empty()
                        || c.path == w.rel
                        || c.path.starts_with(&format!("{}/", w.rel))))
            {
                return false;
            }
            if let Some(g) = &glob
                && !matches_glob(g, &c.path)
            {
                return false;
            }
            req.language.as_ref().is_none_or(|l| *l == c.language)
                && req.kind.as_ref().is_none_or(|kd| *kd == c.kind)
        };

        let mut fused: HashMap<(u32, String, usize), Candidate> = HashMap::new();
        let rrf_k = f64::from(self.inner.config.rrf_k);
        if mode != SearchMode::Vector {
            let filter = LexicalFilter {
                language: req.language.clone(),
                kind: req.kind.clone(),
            };
            let mut rank = 0u32;
            for (_, addr) in snap.lexical.search(query, n, &filter)? {
                let chunk = snap.lexical.load(addr)?;
                if !keep(&chunk) {
                    continue;
                }
                rank += 1;
                fuse(&mut fused, chunk, Retriever::Lexical, rank, rrf_k);
            }
        }
        if mode != SearchMode::Lexical
            && let (Some(embedder), Some(store)) = (model, &snap.vectors)
        {
            let qv = match &req.query_embedding {
                Some(v) => v.clone(),
                None => embed_query(embedder.as_ref(), &self.inner.config.query_prefix, query)?,
            };
            let live = &snap.live_keys;
            let mut rank = 0u32;
            for (key, _distance) in store.search(&qv, n, |key| live.contains(&key))? {
                for addr in snap.lexical.docs_with_key(key)? {
                    let chunk = snap.lexical.load(addr)?;
                    if !keep(&chunk) {
                        continue;
                    }
                    rank += 1;
                    fuse(&mut fused, chunk, Retriever::Vector, rank, rrf_k);
                }
            }
        }

        // A chunk waiting for its vector (an edit not yet embedded) cannot place in the
        // vector list; in a hybrid search it counts as placing there where it placed
        // lexically, so a fresh edit is not outranked for lack of an embedding.
        if mode == SearchMode::Hybrid
            && let (Some(_), Some(store)) = (model, &snap.vectors)
        {
            for c in fused.values_mut() {
                if let (Some(rank), None) = (c.ranks.lexical, c.ranks.vector)
                    && !store.contains(c.chunk.vec_key)
                {
                    c.score += 1.0 / (rrf_k + f64::from(rank));
                }
            }
        }
        let mut ranked: Vec<Candidate> = fused.into_values().collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.chunk.path.cmp(&b.chunk.path))
                .then_with(|| a.chunk.byte_start.cmp(&b.chunk.byte_start))
        });
        let merged = merge_overlapping(ranked, k);
        let hits = merged
            .into_iter()
            .map(|c| self.hit(c, snap.generation))
            .collect();
        Ok(SearchResults {
            generation: snap.generation,
            requested_mode: req.mode,
            mode,
            notice,
            hits,
        })
    }

    fn hit(&self, c: Candidate, generation: u64) -> Hit {
        let root = self
            .inner
            .roots
            .root(c.chunk.root)
            .map(PathBuf::from)
            .unwrap_or_default();
        Hit {
            root,
            path: c.chunk.path,
            start_line: c.chunk.start_line,
            end_line: c.chunk.end_line,
            byte_start: c.chunk.byte_start,
            byte_end: c.chunk.byte_end,
            symbol: c.chunk.symbol,
            scope: c.chunk.scope,
            kind: c.chunk.kind,
            language: c.chunk.language,
            score: c.score,
            ranks: c.ranks,
            generation,
            text: c.chunk.text,
            file_hash: c.chunk.file_hash,
        }
    }
}

#[derive(Clone, Copy)]
enum Retriever {
    Lexical,
    Vector,
}

/// Adds one retriever's rank for a chunk to the fused results (its first rank wins).
fn fuse(
    fused: &mut HashMap<(u32, String, usize), Candidate>,
    chunk: StoredChunk,
    retriever: Retriever,
    rank: u32,
    rrf_k: f64,
) {
    let e = fused
        .entry((chunk.root, chunk.path.clone(), chunk.byte_start))
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
        e.score += 1.0 / (rrf_k + f64::from(rank));
    }
}

fn embed_query(
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

impl Engine {
    /// The query's embedding as a search would compute it; `None` without a model.
    pub fn embed_query(&self, query: &str) -> Option<Result<Vec<f32>, EngineError>> {
        let e = self.inner.embedder.as_ref()?;
        Some(embed_query(
            e.as_ref(),
            &self.inner.config.query_prefix,
            query,
        ))
    }
}

fn matches_glob(g: &GlobMatcher, path: &str) -> bool {
    g.is_match(path) || path.rsplit('/').next().is_some_and(|name| g.is_match(name))
}

/// Hits of one file whose lines overlap or touch become one hit (the better one's
/// identity, the union of ranges, the best rank of each retriever).
fn merge_overlapping(ranked: Vec<Candidate>, k: usize) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for c in ranked {
        let same = out.iter_mut().find(|o| {
            o.chunk.root == c.chunk.root
                && o.chunk.path == c.chunk.path
                && c.chunk.start_line <= o.chunk.end_line + 1
                && o.chunk.start_line <= c.chunk.end_line + 1
        });
        match same {
            Some(o) => {
                let (first, second) = if c.chunk.byte_start < o.chunk.byte_start {
                    (c.chunk.text.as_str(), o.chunk.text.as_str())
                } else {
                    (o.chunk.text.as_str(), c.chunk.text.as_str())
                };
                let text = if c.chunk.byte_start < o.chunk.byte_end
                    && o.chunk.byte_start < c.chunk.byte_end
                {
                    o.chunk.text.clone()
                } else {
                    format!("{first}{second}")
                };
                o.chunk.text = text;
                o.chunk.start_line = o.chunk.start_line.min(c.chunk.start_line);
                o.chunk.end_line = o.chunk.end_line.max(c.chunk.end_line);
                o.chunk.byte_start = o.chunk.byte_start.min(c.chunk.byte_start);
                o.chunk.byte_end = o.chunk.byte_end.max(c.chunk.byte_end);
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
