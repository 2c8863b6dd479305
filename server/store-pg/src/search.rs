//! Searching the active generations an organisation may see: BM25 and vectors, each
//! hit saying which repository and generation it came from.

use scry_engine::LexicalFilter;

use crate::{PgReader, PgStore, StoreError};

/// Which repositories a search spans.
#[derive(Debug, Clone, Default)]
pub enum RepoFilter {
    /// Every repository of the organisation.
    #[default]
    All,
    Only(Vec<String>),
}

/// One chunk found.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub repo: String,
    pub generation: i64,
    pub path: String,
    pub start_line: i32,
    pub end_line: i32,
    pub language: String,
    pub file_hash: String,
    /// BM25, or cosine similarity.
    pub score: f64,
}

/// BM25 over the three term columns, names and paths boosted as the local index
/// boosts them, the query terms in `$3`.
pub(crate) static MATCH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "c.terms ||| $3 OR c.symbol_terms ||| $3::pdb.boost({}) \
         OR c.path_terms ||| $3::pdb.boost({})",
        scry_index::SYMBOL_BOOST,
        scry_index::PATH_BOOST
    )
});

/// Most hits a direct search returns.
const MAX_HITS: usize = 1000;

impl PgStore {
    /// BM25 over content, symbol names and paths, as `org` sees the store: the same
    /// read as an engine search's ([`PgStore::reader`]), without the ranking stage.
    pub async fn search_lexical(
        &self,
        org: &str,
        repos: &RepoFilter,
        query: &str,
        k: usize,
    ) -> Result<Vec<Hit>, StoreError> {
        let reader = self.reader(org, repos).await?;
        let found = reader
            .lexical(query, k.clamp(1, MAX_HITS), &LexicalFilter::default())
            .await?;
        let scored = found
            .into_iter()
            .map(|(score, _, _, id)| (f64::from(score), id))
            .collect();
        finish(reader, scored).await
    }

    /// Nearest chunks by cosine similarity, as `org` sees the store.
    pub async fn search_vector(
        &self,
        org: &str,
        repos: &RepoFilter,
        vector: &[f32],
        k: usize,
    ) -> Result<Vec<Hit>, StoreError> {
        let reader = self.reader(org, repos).await?;
        let found = reader.nearest(vector, k.clamp(1, MAX_HITS)).await?;
        let scored = found
            .into_iter()
            .map(|(similarity, id)| (f64::from(similarity), id))
            .collect();
        finish(reader, scored).await
    }
}

/// Loads the chunks found, names each one's repository and generation, and ends the
/// read.
async fn finish(reader: PgReader, scored: Vec<(f64, i64)>) -> Result<Vec<Hit>, StoreError> {
    let ids: Vec<i64> = scored.iter().map(|(_, id)| *id).collect();
    let chunks = reader.load(&ids).await?;
    let hits = scored
        .into_iter()
        .zip(chunks)
        .map(|((score, _), c)| {
            let repo = reader.repos().iter().find(|r| r.id as u32 == c.root);
            Hit {
                repo: repo.map(|r| r.name.clone()).unwrap_or_default(),
                generation: repo.map_or(0, |r| r.generation),
                path: c.path,
                start_line: c.span.start_line as i32,
                end_line: c.span.end_line as i32,
                language: c.language,
                file_hash: c.file_hash.to_string(),
                score,
            }
        })
        .collect();
    reader.finish().await?;
    Ok(hits)
}

/// The query's terms as the local index makes them (no stop words, stems beside words,
/// each once), one space apart, for `|||` (any of them). Only terms are sent, never
/// pg_search's query syntax, and as a parameter. `None`: nothing to match.
pub(crate) fn match_text(query: &str) -> Option<String> {
    let mut words = scry_index::query_terms(query);
    words.sort();
    words.dedup();
    (!words.is_empty()).then(|| words.join(" "))
}
