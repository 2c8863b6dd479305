//! Read scaling by logical replicas: the primary publishes the repositories, their
//! chunks and their module-word counts; a replica (a Postgres with the same extensions and Scry's schema) subscribes
//! and builds its own BM25 and vector indexes over what arrives. A physical standby
//! would serve vectors but not pg_search's BM25 (a commercial feature), hence logical.
//!
//! `scry_meta` is not replicated: each store made its own on open, and they must agree
//! (the same model and dimensions) or the replica's open refuses.

use crate::{PgStore, StoreError};

/// The publication's name on the primary.
const PUBLICATION: &str = "scry_replicas";

impl PgStore {
    /// Publishes this (primary) store's repositories and chunks for logical replicas;
    /// idempotent.
    pub async fn publish_for_replicas(&self) -> Result<(), StoreError> {
        let client = self.connection().await?;
        client
            .as_ref()
            .expect("connected")
            .batch_execute(&format!(
                "DO $$ BEGIN
                     IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = '{PUBLICATION}')
                     THEN CREATE PUBLICATION {PUBLICATION} FOR TABLE scry_repos, scry_chunks, scry_mentions;
                     END IF;
                 END $$;"
            ))
            .await?;
        Ok(())
    }

    /// Makes this store a logical replica of the primary at `primary` (a libpq
    /// connection string the replica's server can use): it copies what the primary
    /// holds, then follows each commit. Idempotent: an existing subscription is kept.
    pub async fn replicate_from(&self, primary: &str) -> Result<(), StoreError> {
        // CREATE SUBSCRIPTION takes no parameters: the connection string is quoted
        // here, and anything that could leave the literal is refused.
        if primary.chars().any(|c| c.is_control() || c == '\\') {
            return Err(StoreError::Name(primary.escape_debug().to_string()));
        }
        let quoted = primary.replace('\'', "''");
        let client = self.connection().await?;
        let client = client.as_ref().expect("connected");
        let exists: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_subscription WHERE subname = 'scry_replica')",
                &[],
            )
            .await?
            .get(0);
        if !exists {
            client
                .batch_execute(&format!(
                    "CREATE SUBSCRIPTION scry_replica CONNECTION '{quoted}' \
                     PUBLICATION {PUBLICATION}"
                ))
                .await?;
        }
        Ok(())
    }

    /// Each repository's active generation in `org` as this store has it (on a
    /// replica: as far as it has caught up), by name.
    pub async fn active_generations(&self, org: &str) -> Result<Vec<(String, i64)>, StoreError> {
        let client = self.connection().await?;
        let rows = client
            .as_ref()
            .expect("connected")
            .query(
                "SELECT name, active_generation FROM scry_repos
                 WHERE org = $1 AND active_generation IS NOT NULL ORDER BY name",
                &[&org],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}
