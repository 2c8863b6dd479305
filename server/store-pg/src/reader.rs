//! One search's read of the store: a read-only, repeatable-read transaction as the
//! reader role of one organisation, so every question it asks (BM25, vectors, loading
//! chunks, counting mentions) sees the same active generation of each repository.

use pgvector::Vector;
use scry_engine::{FileHash, LexicalFilter, Span, StoredChunk};
use tokio::sync::OwnedMutexGuard;
use tokio_postgres::{Client, Row};

use crate::search::{MATCH, match_text};
use crate::{PgStore, RepoFilter, StoreError};

/// A repository a read spans, and the generation it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoGeneration {
    pub id: i64,
    pub name: String,
    pub generation: i64,
}

/// An open read. End it with [`PgReader::finish`]; one dropped unfinished is rolled
/// back when its connection is next used.
pub struct PgReader {
    client: OwnedMutexGuard<Option<Client>>,
    org: String,
    repos: Vec<RepoGeneration>,
    ids: Vec<i64>,
    slots: Vec<i64>,
    dims: usize,
    /// The chunks of the generations read: module centrality's scale.
    chunks: u64,
}

/// The active generations' chunks of the repositories read: `$1` the organisation, `$2`
/// their slots (repository and active generation, as this transaction read them).
const SPANNED: &str = "FROM scry_chunks c WHERE c.org = $1 AND c.slot = ANY($2)";

const CHUNK_COLUMNS: &str = "c.id, c.repo_id, c.path, c.start_line, c.end_line, c.byte_start,
     c.byte_end, c.language, c.kind, c.symbol, c.scope, c.context, c.definitions, c.content,
     c.file_hash, c.vec_key";

impl PgStore {
    /// Starts a read of `org`'s repositories (all, or those named), as the reader role
    /// under row-level security.
    pub async fn reader(&self, org: &str, repos: &RepoFilter) -> Result<PgReader, StoreError> {
        let guard = self.connection().await?;
        let client = guard.as_ref().expect("connected");
        // A read dropped unfinished (a cancelled search) left its transaction open.
        // Each search is a handful of small index scans: starting parallel workers
        // costs more than it saves (a term count took 6-8 ms with them, 1 ms without).
        // pg_search plans `|||` with its text known: never a generic plan.
        client
            .batch_execute(
                "ROLLBACK;
                 BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
                 SET LOCAL ROLE scry_reader;
                 SET LOCAL hnsw.iterative_scan = relaxed_order;
                 SET LOCAL max_parallel_workers_per_gather = 0;
                 SET LOCAL plan_cache_mode = force_custom_plan;",
            )
            .await?;
        client
            .execute("SELECT set_config('scry.org', $1, true)", &[&org])
            .await?;
        let names: Option<Vec<String>> = match repos {
            RepoFilter::All => None,
            RepoFilter::Only(v) => Some(v.clone()),
        };
        let rows = client
            .query(
                "SELECT id, name, active_generation, chunks FROM scry_repos
                 WHERE org = $1 AND active_generation IS NOT NULL
                   AND ($2::text[] IS NULL OR name = ANY($2))
                 ORDER BY name",
                &[&org, &names],
            )
            .await?;
        let repos: Vec<RepoGeneration> = rows
            .iter()
            .map(|r| RepoGeneration {
                id: r.get(0),
                name: r.get(1),
                generation: r.get(2),
            })
            .collect();
        Ok(PgReader {
            ids: repos.iter().map(|r| r.id).collect(),
            slots: repos
                .iter()
                .map(|r| crate::writer::slot(r.id, r.generation))
                .collect(),
            client: guard,
            org: org.to_owned(),
            repos,
            dims: self.dims(),
            chunks: rows.iter().map(|r| r.get::<_, i64>(3).max(0) as u64).sum(),
        })
    }
}

impl PgReader {
    fn client(&self) -> &Client {
        self.client.as_ref().expect("connected")
    }

    /// The repositories this read spans (those with a committed generation), by name.
    pub fn repos(&self) -> &[RepoGeneration] {
        &self.repos
    }

    /// BM25's best `limit` chunks: score, repository id, path and chunk id.
    pub async fn lexical(
        &self,
        query: &str,
        limit: usize,
        filter: &LexicalFilter,
    ) -> Result<Vec<(f32, i64, String, i64)>, StoreError> {
        let Some(terms) = match_text(query) else {
            return Ok(Vec::new());
        };
        if self.ids.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT c.id, c.repo_id, c.path, paradedb.score(c.id)::float4 {SPANNED}
               AND ({match_sql})
               AND ($5::text IS NULL OR c.language = $5)
               AND ($6::text IS NULL OR c.kind = $6)
             ORDER BY 4 DESC, c.id LIMIT $4",
            match_sql = &*MATCH
        );
        let rows = self
            .client()
            .query(
                &sql,
                &[
                    &self.org,
                    &self.slots,
                    &terms,
                    &(limit.min(10_000) as i64),
                    &filter.language,
                    &filter.kind,
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get(3), r.get(1), r.get(2), r.get(0)))
            .collect())
    }

    /// The `limit` chunks nearest to `vector` by cosine similarity, best first.
    pub async fn nearest(
        &self,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<(f32, i64)>, StoreError> {
        if vector.len() != self.dims {
            return Err(StoreError::VectorLength {
                got: vector.len(),
                want: self.dims,
            });
        }
        if self.ids.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT c.id, (1 - (c.embedding <=> $3))::float4 {SPANNED}
               AND c.embedding IS NOT NULL
             ORDER BY c.embedding <=> $3 LIMIT $4"
        );
        let v = Vector::from(vector.to_vec());
        let rows = self
            .client()
            .query(
                &sql,
                &[&self.org, &self.slots, &v, &(limit.min(10_000) as i64)],
            )
            .await?;
        let mut out: Vec<(f32, i64)> = rows.iter().map(|r| (r.get(1), r.get(0))).collect();
        // An iterative index scan may return neighbours slightly out of order.
        out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(out)
    }

    /// The chunks of `ids`, in that order. The ids come from this read, so each is
    /// there (inside one repeatable-read transaction); one that is not is an error,
    /// never a silently shorter list. A chunk's `root` is its repository's id.
    pub async fn load(&self, ids: &[i64]) -> Result<Vec<StoredChunk>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {CHUNK_COLUMNS} {SPANNED} AND c.id = ANY($3)");
        let rows = self
            .client()
            .query(&sql, &[&self.org, &self.slots, &ids])
            .await?;
        let by_id: std::collections::HashMap<i64, StoredChunk> =
            rows.iter().map(|r| (r.get(0), chunk(r))).collect();
        ids.iter()
            .map(|id| by_id.get(id).cloned().ok_or(StoreError::Missing(*id)))
            .collect()
    }

    /// How many chunks' content mentions each of `words` (counted as each generation
    /// was written, for its files' module words; 0 for any other word), and how many
    /// chunks the read spans.
    pub async fn mentions(&self, words: &[String]) -> Result<(Vec<u64>, u64), StoreError> {
        if self.ids.is_empty() {
            return Ok((vec![0; words.len()], 0));
        }
        let rows = self
            .client()
            .query(
                "SELECT m.word, sum(m.chunks)::bigint FROM scry_mentions m
                 JOIN scry_repos r ON r.id = m.repo_id AND m.generation = r.active_generation
                 WHERE m.org = $1 AND r.id = ANY($2) AND m.word = ANY($3)
                 GROUP BY m.word",
                &[&self.org, &self.ids, &words],
            )
            .await?;
        let counts: std::collections::HashMap<String, i64> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        Ok((
            words
                .iter()
                .map(|w| counts.get(w).copied().unwrap_or(0).max(0) as u64)
                .collect(),
            self.chunks,
        ))
    }

    /// Ends the read.
    pub async fn finish(self) -> Result<(), StoreError> {
        self.client().batch_execute("ROLLBACK").await?;
        Ok(())
    }
}

fn chunk(r: &Row) -> StoredChunk {
    let line = |i: usize| r.get::<_, i32>(i).max(0) as u32;
    let byte = |i: usize| r.get::<_, i64>(i).max(0) as usize;
    StoredChunk {
        root: r.get::<_, i64>(1) as u32,
        path: r.get(2),
        span: Span::new(byte(5), byte(6), line(3), line(4)),
        language: r.get(7),
        kind: r.get(8),
        symbol: r.get(9),
        scope: r.get(10),
        context: r.get(11),
        definitions: scry_index::decode_definitions(Some(r.get(12))),
        text: r.get(13),
        file_hash: r
            .get::<_, &str>(14)
            .parse()
            .unwrap_or_else(|_| FileHash::of(b"")),
        vec_key: r.get::<_, i64>(15) as u64,
    }
}
