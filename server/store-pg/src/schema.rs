//! The tables, indexes, role and policies, created once and checked at every open.

use tokio_postgres::Client;

use crate::StoreError;

/// The layout of the tables this code reads and writes; a store made by another is
/// refused, never misread.
const SCHEMA: &str = "2";

/// Creates what is missing (idempotent; concurrent opens serialize on a lock) and
/// returns the store's vector dimensions and the model its vectors come from.
pub(crate) async fn migrate(
    client: &Client,
    dims: usize,
    model: &str,
) -> Result<(usize, String), StoreError> {
    // One migration at a time across every process.
    client
        .batch_execute("SELECT pg_advisory_lock(7367217)")
        .await?;
    let result = migrate_locked(client, dims, model).await;
    if result.is_err() {
        // A failure inside the first migration's transaction: end it, so the unlock
        // runs (and the caller sees the first error, not "transaction aborted").
        let _ = client.batch_execute("ROLLBACK").await;
    }
    client
        .batch_execute("SELECT pg_advisory_unlock(7367217)")
        .await?;
    result
}

/// The dimensions and model of an existing store, its layout checked; `None` when the
/// store was never created.
pub(crate) async fn existing(client: &Client) -> Result<Option<(usize, String)>, StoreError> {
    let exists: bool = client
        .query_one("SELECT to_regclass('scry_meta') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    let rows = client
        .query("SELECT key, value FROM scry_meta", &[])
        .await?;
    let get = |k: &str| {
        rows.iter()
            .find(|r| r.get::<_, &str>(0) == k)
            .map(|r| r.get::<_, String>(1))
    };
    let Some(dims) = get("dims") else {
        return Ok(None);
    };
    let schema = get("schema").unwrap_or_else(|| "1".into());
    if schema != SCHEMA {
        return Err(StoreError::Schema {
            found: schema,
            want: SCHEMA,
        });
    }
    Ok(Some((
        dims.parse().unwrap_or(0),
        get("model").unwrap_or_default(),
    )))
}

async fn migrate_locked(
    client: &Client,
    dims: usize,
    model: &str,
) -> Result<(usize, String), StoreError> {
    client
        .batch_execute(
            "CREATE EXTENSION IF NOT EXISTS vector;
             CREATE EXTENSION IF NOT EXISTS pg_search;
             CREATE TABLE IF NOT EXISTS scry_meta (key text PRIMARY KEY, value text NOT NULL);",
        )
        .await?;
    let meta = |key: &'static str| async move {
        Ok::<_, StoreError>(
            client
                .query_opt("SELECT value FROM scry_meta WHERE key = $1", &[&key])
                .await?
                .map(|r| r.get::<_, String>(0)),
        )
    };
    if let Some(stored) = meta("dims").await? {
        let schema = meta("schema").await?.unwrap_or_else(|| "1".into());
        if schema != SCHEMA {
            return Err(StoreError::Schema {
                found: schema,
                want: SCHEMA,
            });
        }
        let stored: usize = stored.parse().unwrap_or(0);
        if stored != dims {
            return Err(StoreError::Dimensions {
                stored,
                asked: dims,
            });
        }
        let stored_model = meta("model").await?.unwrap_or_default();
        if stored_model != model {
            return Err(StoreError::Model {
                stored: stored_model,
                asked: model.to_owned(),
            });
        }
        return Ok((stored, stored_model));
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
                 -- The active generation's chunks: module centrality's scale.
                 chunks bigint NOT NULL DEFAULT 0,
                 UNIQUE (org, name)
             );
             -- How many chunks of a generation mention each of its files' module
             -- words (module centrality), counted as the generation is written: a
             -- search reads them by key instead of a BM25 count per word.
             CREATE TABLE scry_mentions (
                 org text NOT NULL,
                 repo_id bigint NOT NULL REFERENCES scry_repos (id) ON DELETE CASCADE,
                 generation bigint NOT NULL,
                 word text NOT NULL,
                 chunks bigint NOT NULL,
                 PRIMARY KEY (repo_id, generation, word)
             );
             CREATE TABLE scry_chunks (
                 id bigserial PRIMARY KEY,
                 org text NOT NULL,
                 repo_id bigint NOT NULL REFERENCES scry_repos (id) ON DELETE CASCADE,
                 generation bigint NOT NULL,
                 -- The repository and generation in one number (`writer::slot`), which
                 -- BM25 filters on inside its own index (a join on the active
                 -- generation cost a full scan of every repository's matches).
                 slot bigint NOT NULL,
                 path text NOT NULL,
                 start_line integer NOT NULL,
                 end_line integer NOT NULL,
                 byte_start bigint NOT NULL,
                 byte_end bigint NOT NULL,
                 language text NOT NULL,
                 kind text NOT NULL,
                 symbol text,
                 scope text,
                 context text,
                 definitions text NOT NULL,
                 content text NOT NULL,
                 file_hash text NOT NULL,
                 vec_key bigint NOT NULL,
                 terms text NOT NULL,
                 symbol_terms text NOT NULL,
                 path_terms text NOT NULL,
                 embedding vector({dims})
             );
             CREATE INDEX scry_chunks_generation ON scry_chunks (repo_id, generation);
             CREATE INDEX scry_chunks_slot ON scry_chunks (slot);
             -- The slot and organisation filter inside the index (pushed down, and a
             -- top-N by score). The term columns hold the local index's own tokens,
             -- one space apart:
             -- split on whitespace only, so `parse_config` stays one term as it is
             -- locally (the default tokenizer would split it).
             CREATE INDEX scry_chunks_bm25 ON scry_chunks USING bm25 (
                 id,
                 slot,
                 (org::pdb.literal),
                 (terms::pdb.whitespace),
                 (symbol_terms::pdb.whitespace),
                 (path_terms::pdb.whitespace)
             ) WITH (key_field = 'id');
             CREATE INDEX scry_chunks_hnsw ON scry_chunks
                 USING hnsw (embedding vector_cosine_ops);
             DO $$ BEGIN
                 CREATE ROLE scry_reader NOLOGIN;
             EXCEPTION WHEN duplicate_object THEN NULL;
             END $$;
             GRANT SELECT ON scry_repos, scry_chunks, scry_mentions TO scry_reader;
             ALTER TABLE scry_repos ENABLE ROW LEVEL SECURITY;
             ALTER TABLE scry_chunks ENABLE ROW LEVEL SECURITY;
             ALTER TABLE scry_mentions ENABLE ROW LEVEL SECURITY;
             CREATE POLICY scry_org ON scry_mentions TO scry_reader
                 USING (org = current_setting('scry.org', true));
             CREATE POLICY scry_org ON scry_repos TO scry_reader
                 USING (org = current_setting('scry.org', true));
             CREATE POLICY scry_org ON scry_chunks TO scry_reader
                 USING (org = current_setting('scry.org', true));
             INSERT INTO scry_meta (key, value) VALUES ('dims', '{dims}'), ('schema', '{SCHEMA}');"
        ))
        .await?;
    // The model's name goes in as a parameter, never into the SQL text; in the same
    // transaction.
    client
        .execute(
            "INSERT INTO scry_meta (key, value) VALUES ('model', $1)",
            &[&model],
        )
        .await?;
    client.batch_execute("COMMIT").await?;
    Ok((dims, model.to_owned()))
}
