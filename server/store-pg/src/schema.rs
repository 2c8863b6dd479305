//! The tables, indexes, role and policies, created once and checked at every open.

use tokio_postgres::Client;

use crate::StoreError;

/// Creates what is missing (idempotent; concurrent opens serialize on a lock) and
/// returns the store's vector dimensions.
pub(crate) async fn migrate(client: &Client, dims: usize) -> Result<usize, StoreError> {
    // One migration at a time across every process.
    client
        .batch_execute("SELECT pg_advisory_lock(7367217)")
        .await?;
    let result = migrate_locked(client, dims).await;
    client
        .batch_execute("SELECT pg_advisory_unlock(7367217)")
        .await?;
    result
}

async fn migrate_locked(client: &Client, dims: usize) -> Result<usize, StoreError> {
    client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS vector;
             CREATE EXTENSION IF NOT EXISTS pg_search;
             CREATE TABLE IF NOT EXISTS scry_meta (key text PRIMARY KEY, value text NOT NULL);",
        )
        .await?;
    let stored: Option<String> = client
        .query_opt("SELECT value FROM scry_meta WHERE key = 'dims'", &[])
        .await?
        .map(|r| r.get(0));
    if let Some(stored) = stored {
        let stored: usize = stored.parse().unwrap_or(0);
        if stored != dims {
            return Err(StoreError::Dimensions {
                stored,
                asked: dims,
            });
        }
        return Ok(stored);
    }
    // One transaction: a failed first open leaves nothing half made. `dims` is a number
    // formatted here: nothing a caller says reaches the SQL text.
    client
        .batch_execute(&format!(
            "BEGIN;
             CREATE TABLE scry_repos (
                 id bigserial PRIMARY KEY,
                 org text NOT NULL,
                 name text NOT NULL,
                 active_generation bigint,
                 UNIQUE (org, name)
             );
             CREATE TABLE scry_chunks (
                 id bigserial PRIMARY KEY,
                 org text NOT NULL,
                 repo_id bigint NOT NULL REFERENCES scry_repos (id) ON DELETE CASCADE,
                 generation bigint NOT NULL,
                 path text NOT NULL,
                 start_line integer NOT NULL,
                 end_line integer NOT NULL,
                 language text NOT NULL,
                 symbols text NOT NULL,
                 content text NOT NULL,
                 file_hash text NOT NULL,
                 terms text NOT NULL,
                 symbol_terms text NOT NULL,
                 path_terms text NOT NULL,
                 embedding vector({dims})
             );
             CREATE INDEX scry_chunks_generation ON scry_chunks (repo_id, generation);
             CREATE INDEX scry_chunks_bm25 ON scry_chunks
                 USING bm25 (id, terms, symbol_terms, path_terms) WITH (key_field = 'id');
             CREATE INDEX scry_chunks_hnsw ON scry_chunks
                 USING hnsw (embedding vector_cosine_ops);
             DO $$ BEGIN
                 CREATE ROLE scry_reader NOLOGIN;
             EXCEPTION WHEN duplicate_object THEN NULL;
             END $$;
             GRANT SELECT ON scry_repos, scry_chunks TO scry_reader;
             ALTER TABLE scry_repos ENABLE ROW LEVEL SECURITY;
             ALTER TABLE scry_chunks ENABLE ROW LEVEL SECURITY;
             CREATE POLICY scry_org ON scry_repos TO scry_reader
                 USING (org = current_setting('scry.org', true));
             CREATE POLICY scry_org ON scry_chunks TO scry_reader
                 USING (org = current_setting('scry.org', true));
             INSERT INTO scry_meta (key, value) VALUES ('dims', '{dims}');
             COMMIT;"
        ))
        .await?;
    Ok(dims)
}
