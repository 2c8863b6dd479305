//! Writing one generation of a repository: lock, write, make active in one transaction.

use pgvector::Vector;
use tokio_postgres::Client;

use crate::StoreError;

/// One chunk as the store keeps it.
#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub path: String,
    pub start_line: i32,
    pub end_line: i32,
    pub language: String,
    /// The names the chunk defines, space-separated.
    pub symbols: String,
    pub content: String,
    /// The hash of the file content the chunk was cut from.
    pub file_hash: String,
    pub embedding: Option<Vec<f32>>,
}

/// What pg_search indexes of a text: the local index's own code-aware tokens
/// (identifiers whole and in parts, lowercased, with their English stems), one space
/// apart, so its plain tokenizer meets them as they are and both stores match alike.
fn terms(text: &str) -> String {
    let tokens = scry_index::index_tokens(text);
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    for t in tokens {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&t.text);
    }
    out
}

/// A generation being written. Nothing of it is visible until [`GenerationWriter::commit`];
/// dropping the writer (or losing its process) releases the lock and leaves the active
/// generation as it was.
pub struct GenerationWriter {
    client: Client,
    repo_id: i64,
    generation: i64,
    dims: usize,
    key: i64,
}

/// The lock's key: the repository's name hashed by Postgres itself.
const LOCK_KEY: &str = "SELECT hashtextextended($1 || '/' || $2, 7367217)";

impl GenerationWriter {
    pub(crate) async fn begin(
        client: Client,
        org: &str,
        repo: &str,
        dims: usize,
    ) -> Result<GenerationWriter, StoreError> {
        let key: i64 = client.query_one(LOCK_KEY, &[&org, &repo]).await?.get(0);
        let locked: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&key])
            .await?
            .get(0);
        if !locked {
            return Err(StoreError::Locked {
                org: org.to_owned(),
                repo: repo.to_owned(),
            });
        }
        let row = client
            .query_one(
                "INSERT INTO scry_repos (org, name) VALUES ($1, $2)
                 ON CONFLICT (org, name) DO UPDATE SET name = EXCLUDED.name
                 RETURNING id, active_generation",
                &[&org, &repo],
            )
            .await?;
        let (repo_id, active): (i64, Option<i64>) = (row.get(0), row.get(1));
        // What a killed writer left: rows of a generation that never became active.
        let removed = client
            .execute(
                "DELETE FROM scry_chunks WHERE repo_id = $1 AND generation IS DISTINCT FROM $2",
                &[&repo_id, &active],
            )
            .await?;
        if removed > 0 {
            tracing::info!(
                org,
                repo,
                removed,
                "removed the rows of an unfinished generation"
            );
        }
        Ok(GenerationWriter {
            client,
            repo_id,
            generation: active.unwrap_or(0) + 1,
            dims,
            key,
        })
    }

    /// The generation this writer makes.
    pub fn generation(&self) -> i64 {
        self.generation
    }

    /// The backend process holding the lock (for operators, and tests that kill it).
    pub async fn backend_pid(&self) -> Result<i32, StoreError> {
        Ok(self
            .client
            .query_one("SELECT pg_backend_pid()", &[])
            .await?
            .get(0))
    }

    /// Writes chunks of the new generation (invisible to searches until the commit).
    pub async fn add(&self, org: &str, chunks: &[ChunkRow]) -> Result<(), StoreError> {
        for c in chunks {
            if let Some(v) = &c.embedding
                && v.len() != self.dims
            {
                return Err(StoreError::VectorLength {
                    got: v.len(),
                    want: self.dims,
                });
            }
        }
        let insert = self
            .client
            .prepare(
                "INSERT INTO scry_chunks (org, repo_id, generation, path, start_line, end_line,
                     language, symbols, content, file_hash, embedding, terms, symbol_terms,
                     path_terms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .await?;
        for c in chunks {
            let embedding = c.embedding.clone().map(Vector::from);
            let (terms, symbol_terms, path_terms) =
                (terms(&c.content), terms(&c.symbols), terms(&c.path));
            self.client
                .execute(
                    &insert,
                    &[
                        &org,
                        &self.repo_id,
                        &self.generation,
                        &c.path,
                        &c.start_line,
                        &c.end_line,
                        &c.language,
                        &c.symbols,
                        &c.content,
                        &c.file_hash,
                        &embedding,
                        &terms,
                        &symbol_terms,
                        &path_terms,
                    ],
                )
                .await?;
        }
        Ok(())
    }

    /// Makes the generation active and removes the previous one, in one transaction:
    /// a search sees the old generation or the new, never both or neither.
    pub async fn commit(mut self) -> Result<i64, StoreError> {
        let tx = self.client.transaction().await?;
        tx.execute(
            "UPDATE scry_repos SET active_generation = $2 WHERE id = $1",
            &[&self.repo_id, &self.generation],
        )
        .await?;
        tx.execute(
            "DELETE FROM scry_chunks WHERE repo_id = $1 AND generation <> $2",
            &[&self.repo_id, &self.generation],
        )
        .await?;
        tx.commit().await?;
        self.client
            .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
            .await?;
        Ok(self.generation)
    }
}
