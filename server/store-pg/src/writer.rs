//! Writing one generation of a repository: lock, write, make active in one transaction.

use std::collections::{HashMap, HashSet};

use pgvector::Vector;
use scry_index::StoredChunk;
use tokio_postgres::Client;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use crate::StoreError;

/// One chunk as the store keeps it: everything the local index stores of it (the
/// ranking stage reads its definitions, kind and span alike on either store), and its
/// vector. Its `root` is not kept: a repository is one root.
#[derive(Debug, Clone)]
pub struct ChunkRow {
    pub chunk: StoredChunk,
    pub embedding: Option<Vec<f32>>,
}

/// What pg_search indexes of a text: the local index's own code-aware tokens
/// (identifiers whole and in parts, lowercased, with their English stems), one space
/// apart, so its whitespace tokenizer meets them as they are and both stores match
/// alike.
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

/// A repository's generation as one number: the repository's id above 31 bits of
/// generation (two billion generations a repository; ids below 2^32).
pub(crate) fn slot(repo_id: i64, generation: i64) -> i64 {
    (repo_id << 31) | (generation & 0x7fff_ffff)
}

/// Postgres text cannot hold NUL (a text file rarely has one; binary files are never
/// indexed): each becomes U+FFFD.
fn pg_text(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains('\0') {
        s.replace('\0', "\u{fffd}").into()
    } else {
        s.into()
    }
}

/// A generation being written. Nothing of it is visible until [`GenerationWriter::commit`];
/// dropping the writer (or losing its process) releases the lock and leaves the active
/// generation as it was.
pub struct GenerationWriter {
    client: Client,
    org: String,
    repo_id: i64,
    generation: i64,
    dims: usize,
    key: i64,
    /// Chunks written, and how many mention each word (each chunk once per word).
    chunks: i64,
    mentions: HashMap<String, i64>,
    /// The module words of the files written (see `scry_engine::module_word`).
    modules: HashSet<String>,
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
        client
            .execute(
                "DELETE FROM scry_mentions WHERE repo_id = $1 AND generation IS DISTINCT FROM $2",
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
            org: org.to_owned(),
            repo_id,
            generation: active.unwrap_or(0) + 1,
            dims,
            key,
            chunks: 0,
            mentions: HashMap::new(),
            modules: HashSet::new(),
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

    /// Writes chunks of the new generation (invisible to searches until the commit), in
    /// one binary COPY.
    pub async fn add(&mut self, chunks: &[ChunkRow]) -> Result<(), StoreError> {
        let org = self.org.clone();
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
        // The vector type's id is the extension's own: ask the server.
        let vector_type = self.client.prepare("SELECT $1::vector").await?.params()[0].clone();
        let columns = [
            ("org", Type::TEXT),
            ("repo_id", Type::INT8),
            ("generation", Type::INT8),
            ("slot", Type::INT8),
            ("path", Type::TEXT),
            ("start_line", Type::INT4),
            ("end_line", Type::INT4),
            ("byte_start", Type::INT8),
            ("byte_end", Type::INT8),
            ("language", Type::TEXT),
            ("kind", Type::TEXT),
            ("symbol", Type::TEXT),
            ("scope", Type::TEXT),
            ("context", Type::TEXT),
            ("definitions", Type::TEXT),
            ("content", Type::TEXT),
            ("file_hash", Type::TEXT),
            ("vec_key", Type::INT8),
            ("terms", Type::TEXT),
            ("symbol_terms", Type::TEXT),
            ("path_terms", Type::TEXT),
            ("embedding", vector_type),
        ];
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let types: Vec<Type> = columns.into_iter().map(|(_, t)| t).collect();
        let sink = self
            .client
            .copy_in(&format!(
                "COPY scry_chunks ({}) FROM STDIN (FORMAT binary)",
                names.join(", ")
            ))
            .await?;
        let writer = BinaryCopyInWriter::new(sink, &types);
        tokio::pin!(writer);
        for row in chunks {
            let c = &row.chunk;
            let names =
                scry_index::boosted_names(c.symbol.as_deref(), &c.definitions, c.scope.as_deref());
            let embedding = row.embedding.clone().map(Vector::from);
            let text = pg_text(&c.text);
            let text: &str = &text;
            let content_terms = terms(text);
            let mut seen: HashSet<&str> = HashSet::new();
            for t in content_terms.split(' ').filter(|t| !t.is_empty()) {
                if seen.insert(t) {
                    *self.mentions.entry(t.to_owned()).or_default() += 1;
                }
            }
            self.modules.extend(scry_engine::module_word(&c.path));
            self.chunks += 1;
            let values: [&(dyn ToSql + Sync); 22] = [
                &org,
                &self.repo_id,
                &self.generation,
                &slot(self.repo_id, self.generation),
                &c.path,
                &(c.span.start_line as i32),
                &(c.span.end_line as i32),
                &(c.span.byte_start as i64),
                &(c.span.byte_end as i64),
                &c.language,
                &c.kind,
                &c.symbol,
                &c.scope,
                &c.context.as_deref().map(pg_text),
                &scry_index::encode_definitions(&c.definitions),
                &text,
                &c.file_hash.to_string(),
                // The key's bits, as Postgres has no unsigned integers.
                &(c.vec_key as i64),
                &content_terms,
                &terms(&names),
                &terms(&c.path),
                &embedding,
            ];
            writer.as_mut().write(&values).await?;
        }
        writer.finish().await?;
        Ok(())
    }

    /// Makes the generation active and removes the previous one, in one transaction:
    /// a search sees the old generation or the new, never both or neither.
    pub async fn commit(mut self) -> Result<i64, StoreError> {
        // Only the words a search can ask about: the files' module words.
        let (words, counts): (Vec<String>, Vec<i64>) = self
            .modules
            .iter()
            .map(|w| (w.clone(), self.mentions.get(w).copied().unwrap_or(0)))
            .unzip();
        let tx = self.client.transaction().await?;
        tx.execute(
            "INSERT INTO scry_mentions (org, repo_id, generation, word, chunks)
             SELECT $1, $2, $3, w, n FROM unnest($4::text[], $5::bigint[]) AS m(w, n)",
            &[&self.org, &self.repo_id, &self.generation, &words, &counts],
        )
        .await?;
        tx.execute(
            "UPDATE scry_repos SET active_generation = $2, chunks = $3 WHERE id = $1",
            &[&self.repo_id, &self.generation, &self.chunks],
        )
        .await?;
        tx.execute(
            "DELETE FROM scry_chunks WHERE repo_id = $1 AND generation <> $2",
            &[&self.repo_id, &self.generation],
        )
        .await?;
        tx.execute(
            "DELETE FROM scry_mentions WHERE repo_id = $1 AND generation <> $2",
            &[&self.repo_id, &self.generation],
        )
        .await?;
        tx.commit().await?;
        self.client
            .execute("SELECT pg_advisory_unlock($1)", &[&self.key])
            .await?;
        // BM25 checks each match's visibility; after a vacuum the visibility map
        // answers without reading the heap (a search of a freshly written table was 3x
        // slower). The generation is committed already: a failure is only logged.
        if let Err(e) = self
            .client
            .batch_execute("VACUUM (ANALYZE) scry_chunks")
            .await
        {
            tracing::warn!("vacuuming the chunks after a commit: {e}");
        }
        Ok(self.generation)
    }
}
