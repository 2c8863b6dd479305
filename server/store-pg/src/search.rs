//! Searching the active generations an organisation may see: BM25 and vectors, each
//! hit saying which repository and generation it came from.

use pgvector::Vector;
use tokio_postgres::Row;

use crate::{PgStore, StoreError};

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

const SELECT: &str = "SELECT r.name, c.generation, c.path, c.start_line, c.end_line, c.language,
        c.file_hash";
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
pub(crate) const FROM: &str = "FROM scry_chunks c
     JOIN scry_repos r ON r.id = c.repo_id AND c.generation = r.active_generation
     WHERE c.org = $1 AND ($2::text[] IS NULL OR r.name = ANY($2))";

impl PgStore {
    /// BM25 over content, symbol names and paths, as `org` sees the store.
    pub async fn search_lexical(
        &self,
        org: &str,
        repos: &RepoFilter,
        query: &str,
        k: usize,
    ) -> Result<Vec<Hit>, StoreError> {
        let Some(query) = match_text(query) else {
            return Ok(Vec::new());
        };
        let match_sql = &*MATCH;
        let sql = format!(
            "{SELECT}, paradedb.score(c.id)::float8 {FROM}
               AND ({match_sql})
             ORDER BY 8 DESC, c.path LIMIT $4"
        );
        self.as_org(org, &sql, repos, &query, k).await
    }

    /// Nearest chunks by cosine similarity, as `org` sees the store.
    pub async fn search_vector(
        &self,
        org: &str,
        repos: &RepoFilter,
        vector: &[f32],
        k: usize,
    ) -> Result<Vec<Hit>, StoreError> {
        if vector.len() != self.dims() {
            return Err(StoreError::VectorLength {
                got: vector.len(),
                want: self.dims(),
            });
        }
        let sql = format!(
            "{SELECT}, (1 - (c.embedding <=> $3))::float8 {FROM}
               AND c.embedding IS NOT NULL
             ORDER BY c.embedding <=> $3, c.path LIMIT $4"
        );
        let v = Vector::from(vector.to_vec());
        self.as_org(org, &sql, repos, &v, k).await
    }

    /// Runs a search as the reader role with the organisation set for row-level
    /// security, in a transaction of its own (the settings end with it).
    async fn as_org(
        &self,
        org: &str,
        sql: &str,
        repos: &RepoFilter,
        third: &(dyn tokio_postgres::types::ToSql + Sync),
        k: usize,
    ) -> Result<Vec<Hit>, StoreError> {
        let names: Option<Vec<String>> = match repos {
            RepoFilter::All => None,
            RepoFilter::Only(v) => Some(v.clone()),
        };
        let k = k.clamp(1, 1000) as i64;
        let mut client = self.connection().await?;
        let client = client.as_mut().expect("connected");
        let tx = client.build_transaction().read_only(true).start().await?;
        tx.batch_execute("SET LOCAL ROLE scry_reader").await?;
        tx.execute("SELECT set_config('scry.org', $1, true)", &[&org])
            .await?;
        let rows = tx.query(sql, &[&org, &names, third, &k]).await?;
        // Read-only: nothing to keep; the role and organisation end with it.
        tx.rollback().await?;
        Ok(rows.iter().map(hit).collect())
    }
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

fn hit(r: &Row) -> Hit {
    Hit {
        repo: r.get(0),
        generation: r.get(1),
        path: r.get(2),
        start_line: r.get(3),
        end_line: r.get(4),
        language: r.get(5),
        file_hash: r.get(6),
        score: r.get(7),
    }
}
