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
use crate::store::{ChunkId, ChunkStore, LexicalHit, LocalStore};
use crate::tier::{PerTier, Tier};
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
    /// Results by file ("which files…"): `k` files ranked by their evidence, each with
    /// its best ranges, in [`SearchResults::files`].
    pub by_file: bool,
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
            by_file: false,
        }
    }
    pub fn by_file(mut self, yes: bool) -> Self {
        self.by_file = yes;
        self
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
    /// In the full tier's vector list (the embedding model's own vectors).
    pub vector: Option<u32>,
    /// In the fast tier's vector list (the static table's).
    pub fast: Option<u32>,
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
    /// The fused score after the ranking stage: a best hit's base is 1.0, and the
    /// signals add to it (see `rank.rs`); comparable within one result list only.
    pub score: f64,
    pub ranks: Ranks,
    /// The index generation this hit was read from.
    pub generation: u64,
    pub text: String,
}

/// One file of a search by file.
#[derive(Debug, Clone)]
pub struct FileHit {
    /// The file, the content that was indexed, and whether it is still current.
    pub file: FileRef,
    pub language: String,
    /// Its best range's score: the ranking stage has already weighed the whole file's
    /// evidence into it.
    pub score: f64,
    /// The file's best ranges (at most [`RANGES_PER_FILE`]), best first; touching ones
    /// merged.
    pub ranges: Vec<Hit>,
}

/// How many ranges a search by file gives per file.
pub const RANGES_PER_FILE: usize = 3;

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub generation: u64,
    pub requested_mode: SearchMode,
    /// The mode actually used (lexical when there is no embedding model).
    pub mode: SearchMode,
    /// Set when the results are not what was asked for, e.g. BM25-only.
    pub notice: Option<String>,
    /// The best ranges, best first (empty for a search by file).
    pub hits: Vec<Hit>,
    /// For a search by file: the best files, best first, each with its best ranges.
    pub files: Vec<FileHit>,
    /// The files the hits came from, as read to decide their freshness: the texts to
    /// cut merged context from, or to place exact positions in.
    pub sources: Sources,
}

#[derive(Clone)]
pub(crate) struct Candidate {
    pub(crate) chunk: StoredChunk,
    pub(crate) ranks: Ranks,
    /// Each retriever's own score, and the file's.
    pub(crate) raw: RawScores,
    /// In a hybrid search, the chunk has no vector of a tier yet (an edit, or a chunk
    /// the full tier has not reached).
    pub(crate) awaiting: PerTier<bool>,
    /// Fused, then re-scored by the ranking stage.
    pub(crate) score: f64,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawScores {
    /// BM25.
    pub(crate) lexical: Option<f32>,
    /// Cosine similarity in the full tier.
    pub(crate) vector: Option<f32>,
    /// Cosine similarity in the fast tier.
    pub(crate) fast: Option<f32>,
    /// The sum of the file's best BM25 scores over the wide lexical retrieval.
    pub(crate) file: Option<f32>,
    /// How widely the rest of the code names the file's module, in [0, 1].
    pub(crate) centrality: f32,
}

/// How many lexical hits are read (scores and file keys only, nothing loaded) to
/// weigh whole files: a file's evidence is more than the few chunks that made the
/// candidates.
const WIDE_LEXICAL: usize = 300;
/// Files that matched strongly as a whole but placed no chunk among the candidates
/// bring their best chunk in, up to this many.
const FILES_FROM_EVIDENCE: usize = 10;

/// Searches one snapshot of the index.
pub(crate) fn search(snap: &Snapshot, req: &SearchRequest) -> Result<SearchResults, EngineError> {
    let query = checked_query(req)?;
    let view = &snap.view;
    let (mode, notice) = match (req.mode, view.has_vectors()) {
        (SearchMode::Lexical, _) => (SearchMode::Lexical, None),
        // Vector-only search sees only chunks that have vectors: say so while some wait.
        (SearchMode::Vector, true) => (SearchMode::Vector, vectors_incomplete(view)),
        (m, true) => (m, None),
        (_, false) => (
            SearchMode::Lexical,
            Some(format!(
                "BM25-only: {}",
                view.models
                    .problem()
                    .unwrap_or("the vectors are still being computed")
            )),
        ),
    };
    let within = match &req.within {
        Some(dir) => Some(snap.setup.roots.resolve(dir)?),
        None => None,
    };
    let filter = Filter::new(within, req)?;
    let mut vectors = Vec::new();
    if mode != SearchMode::Lexical {
        for tier in Tier::ALL {
            let Some((embedder, store)) = view.tier(tier) else {
                continue;
            };
            if tier == Tier::Fast && fast_tier_redundant(view) {
                continue;
            }
            let given = req
                .query_embedding
                .as_ref()
                .filter(|v| v.len() == store.dims() && tier == Tier::Full);
            let qv = match given {
                Some(v) => v.clone(),
                None => embed(embedder.as_ref(), &snap.setup.config.query_prefix, query)?,
            };
            vectors.push((tier, qv));
        }
    }
    let store = LocalStore { view };
    let mut fused = retrieve(&store, query, req.k, &filter, mode, &vectors)?;
    if mode == SearchMode::Hybrid {
        fused.mark_chunks_waiting_for_vectors(snap);
    }
    let config = &snap.setup.config;
    let ranked = rank_stage(&store, fused, query, config.fusion, config.rrf_k)?;
    let sources = snap.sources();
    let (hits, files) = shape(ranked, query, req, &|c: &StoredChunk| {
        (
            sources.file_ref(c.root, &c.path, c.file_hash),
            view.generation,
        )
    });
    Ok(SearchResults {
        generation: view.generation,
        requested_mode: req.mode,
        mode,
        notice,
        hits,
        files,
        sources,
    })
}

/// What a search of a shared store found: [`SearchResults`] without the local
/// workspace's sources (a shared store's files are not on this machine's disk).
#[derive(Debug, Clone)]
pub struct StoreResults {
    pub requested_mode: SearchMode,
    /// The mode actually used (lexical without a query vector).
    pub mode: SearchMode,
    pub notice: Option<String>,
    pub hits: Vec<Hit>,
    pub files: Vec<FileHit>,
}

/// Searches another store (see [`ChunkStore`]) with the same retrieval, fusion, ranking
/// stage and result shape as the local one. `vectors` are the query's embedding in
/// each tier the store has vectors of; `place` names a chunk's file, with its
/// freshness, and the generation it was read from.
pub fn search_store(
    store: &dyn ChunkStore,
    req: &SearchRequest,
    vectors: &[(Tier, Vec<f32>)],
    fusion: crate::Fusion,
    rrf_k: f32,
    place: &dyn Fn(&StoredChunk) -> (FileRef, u64),
) -> Result<StoreResults, EngineError> {
    let query = checked_query(req)?;
    if req.within.is_some() {
        return Err(EngineError::InvalidRequest(
            "a shared store has no workspace folders: filter by repository or path glob".into(),
        ));
    }
    let (mode, notice) = match (req.mode, vectors.is_empty()) {
        (SearchMode::Lexical, _) => (SearchMode::Lexical, None),
        (m, false) => (m, None),
        (_, true) => (
            SearchMode::Lexical,
            Some("BM25-only: no embedding model for the query".to_owned()),
        ),
    };
    let filter = Filter::new(None, req)?;
    let fused = retrieve(store, query, req.k, &filter, mode, vectors)?;
    let ranked = rank_stage(store, fused, query, fusion, rrf_k)?;
    let (hits, files) = shape(ranked, query, req, place);
    Ok(StoreResults {
        requested_mode: req.mode,
        mode,
        notice,
        hits,
        files,
    })
}

/// The query, trimmed, when it is one a search can run.
fn checked_query(req: &SearchRequest) -> Result<&str, EngineError> {
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
    Ok(query)
}

/// BM25's candidates (unless `mode` is vector-only) and each tier's nearest chunks for
/// its query vector, each chunk once with every retriever's rank and score.
fn retrieve(
    store: &dyn ChunkStore,
    query: &str,
    k: usize,
    filter: &Filter<'_>,
    mode: SearchMode,
    vectors: &[(Tier, Vec<f32>)],
) -> Result<Fused, EngineError> {
    let k = k.min(MAX_K);
    // Filters drop candidates after retrieval: retrieve more when they narrow.
    let n = if filter.narrows() {
        (k * 20).max(400)
    } else {
        (k * 4).max(100)
    };
    let retrieval = Retrieval {
        store,
        query,
        n,
        filter,
    };
    let mut fused = Fused::new();
    if mode != SearchMode::Vector {
        retrieval.lexical(&mut fused)?;
    }
    if mode != SearchMode::Lexical {
        for (tier, v) in vectors {
            retrieval.vectors(*tier, v, &mut fused)?;
        }
    }
    Ok(fused)
}

/// Fusion and the ranking stage over the candidates, best first. Its logged time
/// includes reading each file's centrality.
fn rank_stage(
    store: &dyn ChunkStore,
    fused: Fused,
    query: &str,
    fusion: crate::Fusion,
    rrf_k: f32,
) -> Result<Vec<Candidate>, EngineError> {
    let mut candidates = fused.into_candidates();
    let count = candidates.len();
    let started = std::time::Instant::now();
    crate::rank::centrality(&mut candidates, store)?;
    let ranked = crate::rank::rank(candidates, query, fusion, f64::from(rrf_k));
    tracing::debug!(
        candidates = count,
        micros = started.elapsed().as_micros() as u64,
        "ranking stage"
    );
    Ok(ranked)
}

/// The ranked candidates as the request asked for them: the best `k` ranges (touching
/// ones merged), or the best `k` files with their best ranges.
fn shape(
    ranked: Vec<Candidate>,
    query: &str,
    req: &SearchRequest,
    place: &dyn Fn(&StoredChunk) -> (FileRef, u64),
) -> (Vec<Hit>, Vec<FileHit>) {
    let k = req.k.min(MAX_K);
    let terms: HashSet<String> = tokenize(query).into_iter().map(|t| t.text).collect();
    let to_hit = |c: Candidate| {
        let (file, generation) = place(&c.chunk);
        hit(c, &terms, file, generation)
    };
    if req.by_file {
        let files = by_file(ranked, k)
            .into_iter()
            .map(|ranges| {
                let ranges: Vec<Hit> = ranges.into_iter().map(to_hit).collect();
                FileHit {
                    file: ranges[0].file.clone(),
                    language: ranges[0].language.clone(),
                    score: ranges[0].score,
                    ranges,
                }
            })
            .collect();
        (Vec::new(), files)
    } else {
        let hits = merge_overlapping(ranked, k)
            .into_iter()
            .map(to_hit)
            .collect();
        (hits, Vec::new())
    }
}

/// Which chunks a request admits: under a directory, matching a glob, of a language
/// and a kind.
struct Filter<'r> {
    within: Option<scry_paths::Resolved>,
    glob: Option<GlobMatcher>,
    req: &'r SearchRequest,
}

impl<'r> Filter<'r> {
    fn new(
        within: Option<scry_paths::Resolved>,
        req: &'r SearchRequest,
    ) -> Result<Filter<'r>, EngineError> {
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
    store: &'a dyn ChunkStore,
    query: &'a str,
    n: usize,
    filter: &'a Filter<'a>,
}

impl Retrieval<'_> {
    /// BM25's top `n`, ranked into `fused`.
    fn lexical(&self, fused: &mut Fused) -> Result<(), EngineError> {
        let req = self.filter.req;
        let lexical_filter = LexicalFilter {
            language: req.language.clone(),
            kind: req.kind.clone(),
        };
        let hits = self
            .store
            .lexical(self.query, self.n.max(WIDE_LEXICAL), &lexical_filter)?;
        // Each file's evidence: the sum of its best few scores over all the hits.
        let mut per_file: HashMap<u64, (f32, usize)> = HashMap::new();
        for h in &hits {
            let e = per_file.entry(h.file).or_default();
            if e.1 < crate::rank::EVIDENCE_CHUNKS {
                e.0 += h.score;
                e.1 += 1;
            }
        }
        let top = &hits[..hits.len().min(self.n)];
        let mut rank = 0u32;
        let mut placed: HashSet<u64> = HashSet::new();
        let ids: Vec<ChunkId> = top.iter().map(|h| h.id).collect();
        for (h, chunk) in top.iter().zip(self.store.load(&ids)?) {
            if self.filter.keeps(&chunk) {
                rank += 1;
                placed.insert(h.file);
                fused.add(
                    chunk,
                    Retriever::Lexical,
                    rank,
                    h.score,
                    per_file[&h.file].0,
                );
            }
        }
        // The strongest files with no chunk among the candidates: their best chunk.
        let mut strong: Vec<(u64, f32)> = per_file
            .iter()
            .filter(|(k, _)| !placed.contains(k))
            .map(|(k, (sum, _))| (*k, *sum))
            .collect();
        strong.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        strong.truncate(FILES_FROM_EVIDENCE);
        let extra: Vec<(&LexicalHit, f32)> = strong
            .iter()
            .filter_map(|(file, sum)| {
                let best = hits[top.len()..].iter().find(|h| h.file == *file)?;
                Some((best, *sum))
            })
            .collect();
        let ids: Vec<ChunkId> = extra.iter().map(|(h, _)| h.id).collect();
        for ((h, sum), chunk) in extra.into_iter().zip(self.store.load(&ids)?) {
            if self.filter.keeps(&chunk) {
                rank += 1;
                fused.add(chunk, Retriever::Lexical, rank, h.score, sum);
            }
        }
        Ok(())
    }

    /// A tier's top `n` for the query's vector in it, ranked into `fused`.
    fn vectors(&self, tier: Tier, vector: &[f32], fused: &mut Fused) -> Result<(), EngineError> {
        let found = self.store.nearest(tier, vector, self.n)?;
        let ids: Vec<ChunkId> = found.iter().map(|(_, id)| *id).collect();
        let chunks = self.store.load(&ids)?;
        let mut rank = 0u32;
        for ((similarity, _), chunk) in found.into_iter().zip(chunks) {
            if self.filter.keeps(&chunk) {
                rank += 1;
                fused.add(chunk, Retriever::Vector(tier), rank, similarity, 0.0);
            }
        }
        Ok(())
    }
}

fn hit(c: Candidate, terms: &HashSet<String>, file: FileRef, generation: u64) -> Hit {
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
        file,
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Retriever {
    Lexical,
    Vector(Tier),
}

/// The candidates of one search: each chunk once, with every retriever's rank and
/// score for it (fusion itself is `fusion.rs`).
struct Fused {
    by_chunk: HashMap<(u32, String, usize), Candidate>,
}

impl Fused {
    fn new() -> Fused {
        Fused {
            by_chunk: HashMap::new(),
        }
    }

    /// Adds one retriever's rank and score for a chunk (its first wins), and for a
    /// lexical hit the file's evidence.
    fn add(&mut self, chunk: StoredChunk, retriever: Retriever, rank: u32, raw: f32, file: f32) {
        let e = self
            .by_chunk
            .entry((chunk.root, chunk.path.clone(), chunk.span.byte_start))
            .or_insert_with(|| Candidate {
                chunk,
                ranks: Ranks::default(),
                raw: RawScores::default(),
                awaiting: PerTier::default(),
                score: 0.0,
            });
        let (slot, raw_slot) = match retriever {
            Retriever::Lexical => (&mut e.ranks.lexical, &mut e.raw.lexical),
            Retriever::Vector(Tier::Full) => (&mut e.ranks.vector, &mut e.raw.vector),
            Retriever::Vector(Tier::Fast) => (&mut e.ranks.fast, &mut e.raw.fast),
        };
        if slot.is_none() {
            *slot = Some(rank);
            *raw_slot = Some(raw);
            if retriever == Retriever::Lexical {
                e.raw.file = Some(file);
            }
        }
    }

    /// A chunk waiting for its vector of a tier (an edit not yet embedded, a chunk the
    /// full tier has not reached) cannot place in that tier's list; fusion counts it
    /// there as it placed in the others.
    fn mark_chunks_waiting_for_vectors(&mut self, snap: &Snapshot) {
        let view = &snap.view;
        for tier in Tier::ALL {
            let Some((_, store)) = view.tier(tier) else {
                continue;
            };
            for c in self.by_chunk.values_mut() {
                let rank = match tier {
                    Tier::Fast => c.ranks.fast,
                    Tier::Full => c.ranks.vector,
                };
                *c.awaiting.get_mut(tier) = rank.is_none() && !store.contains(c.chunk.vec_key);
            }
        }
    }

    fn into_candidates(self) -> Vec<Candidate> {
        self.by_chunk.into_values().collect()
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

/// The query's embedding by the full tier's model as a search on `snap` would compute
/// it; `None` without that model. (The fast tier's takes microseconds: never passed.)
pub(crate) fn embed_query(snap: &Snapshot, query: &str) -> Option<Result<Vec<f32>, EngineError>> {
    let e = snap.view.models.full.embedder()?;
    Some(embed(e.as_ref(), &snap.setup.config.query_prefix, query))
}

fn matches_glob(g: &GlobMatcher, path: &str) -> bool {
    g.is_match(path) || path.rsplit('/').next().is_some_and(|name| g.is_match(name))
}

/// A merged hit grows to at most this much text: past it, touching chunks stay
/// separate hits, so a result stays a precise range and a packer can keep the best
/// part of a long definition whole.
const MAX_MERGED_BYTES: usize = 4 << 10;

/// Hits of one file whose lines overlap or touch become one hit (the better one's
/// identity, the union of ranges and of definitions, the best rank of each retriever),
/// up to [`MAX_MERGED_BYTES`].
fn merge_overlapping(ranked: Vec<Candidate>, k: usize) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for c in ranked {
        let same = out.iter_mut().find(|o| {
            o.chunk.root == c.chunk.root
                && o.chunk.path == c.chunk.path
                && o.chunk.span.touches_lines(c.chunk.span)
                && o.chunk.text.len() + c.chunk.text.len() <= MAX_MERGED_BYTES
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
                o.ranks.fast = min_opt(o.ranks.fast, c.ranks.fast);
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

/// The first `k` files in rank order (a file places where its best chunk does), each
/// with its best [`RANGES_PER_FILE`] ranges, touching ones merged.
fn by_file(ranked: Vec<Candidate>, k: usize) -> Vec<Vec<Candidate>> {
    let mut order: Vec<(u32, String)> = Vec::new();
    let mut groups: HashMap<(u32, String), Vec<Candidate>> = HashMap::new();
    for c in ranked {
        let key = (c.chunk.root, c.chunk.path.clone());
        if !groups.contains_key(&key) {
            if order.len() == k {
                continue;
            }
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(c);
    }
    order
        .into_iter()
        .filter_map(|key| groups.remove(&key))
        .map(|chunks| merge_overlapping(chunks, RANGES_PER_FILE))
        .collect()
}

fn min_opt(a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Whether the fast tier would add nothing: the full tier has every chunk's vector and
/// the fast tier's ranks carry no weight beside it (`fusion::fast_tier_weight`).
fn fast_tier_redundant(view: &crate::snapshot::View) -> bool {
    view.tier(Tier::Full).is_some()
        && view.missing_vectors_of(Tier::Full) == 0
        && crate::fusion::fast_tier_weight() == 0.0
}

/// The notice a vector-only search gives while chunks still wait for their vectors.
fn vectors_incomplete(view: &crate::snapshot::View) -> Option<String> {
    // A chunk one tier lacks may be found through the other.
    let missing = Tier::ALL
        .iter()
        .filter(|t| view.tier(**t).is_some())
        .map(|t| view.missing_vectors_of(*t))
        .min()
        .unwrap_or(0);
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

    fn candidate(path: &str, line: u32) -> Candidate {
        Candidate {
            chunk: StoredChunk {
                root: 0,
                path: path.into(),
                span: Span::new(
                    line as usize * 100,
                    line as usize * 100 + 50,
                    line,
                    line + 3,
                ),
                symbol: None,
                scope: None,
                context: None,
                text: format!("chunk at {line}\n"),
                kind: "function".into(),
                language: "rust".into(),
                definitions: Vec::new(),
                vec_key: u64::from(line),
                file_hash: scry_index::FileHash::of(b""),
            },
            ranks: Ranks::default(),
            raw: RawScores::default(),
            awaiting: PerTier::default(),
            score: 0.0,
        }
    }

    #[test]
    fn a_search_by_file_places_each_file_once_where_its_best_chunk_ranks() {
        let ranked = vec![
            candidate("a.rs", 10),
            candidate("b.rs", 10),
            candidate("a.rs", 20),
            candidate("a.rs", 30),
            candidate("c.rs", 10),
            candidate("a.rs", 40),
            candidate("b.rs", 20),
        ];
        let files = by_file(ranked, 2);
        let paths: Vec<Vec<(&str, u32)>> = files
            .iter()
            .map(|f| {
                f.iter()
                    .map(|c| (c.chunk.path.as_str(), c.chunk.span.start_line))
                    .collect()
            })
            .collect();
        assert_eq!(
            paths,
            [
                vec![("a.rs", 10), ("a.rs", 20), ("a.rs", 30)],
                vec![("b.rs", 10), ("b.rs", 20)],
            ]
        );
    }

    #[test]
    fn touching_hits_merge_until_the_merged_text_would_be_too_long() {
        let sized = |line: u32, bytes: usize| {
            let mut c = candidate("a.rs", line);
            c.chunk.text = "x".repeat(bytes);
            c
        };
        // Lines 10-13 and 14-17 touch: small ones merge into one hit.
        let merged = merge_overlapping(vec![sized(10, 100), sized(14, 100)], 10);
        assert_eq!(merged.len(), 1);
        assert_eq!(
            (
                merged[0].chunk.span.start_line,
                merged[0].chunk.span.end_line
            ),
            (10, 17)
        );
        // Long ones stay apart, so the best part keeps its own precise range.
        let apart = merge_overlapping(
            vec![
                sized(10, MAX_MERGED_BYTES / 2 + 1),
                sized(14, MAX_MERGED_BYTES / 2),
            ],
            10,
        );
        assert_eq!(apart.len(), 2);
    }
}
