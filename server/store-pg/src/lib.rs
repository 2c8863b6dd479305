//! The Postgres store: many organisations' repositories in one PostgreSQL database,
//! for a team's shared index (the local tantivy + usearch store stays the default for
//! one person).
//!
//! - BM25 over chunk text, symbol names and paths by ParadeDB's `pg_search` (Tantivy
//!   inside Postgres, AGPL-3.0: a separate server Scry talks to, never linked), vectors
//!   by `pgvector` (HNSW, cosine).
//! - Generations keep their meaning: an indexer writes a new generation's rows, then
//!   makes it active in one transaction; a search is one statement joined on each
//!   repository's active generation, so it never mixes two.
//! - At most one indexer writes a repository at a time: a session advisory lock, held
//!   by the writer's own connection, that dies with it. Rows a killed writer left are
//!   never visible (not the active generation) and the next writer removes them.
//! - Access is enforced in the database: searches run as the `scry_reader` role under
//!   row-level security, seeing only the rows of the organisation the session is set
//!   to.

mod schema;
mod search;
mod writer;

use tokio_postgres::{Client, NoTls};

pub use search::{Hit, RepoFilter};
pub use writer::{ChunkRow, GenerationWriter};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot connect to the Postgres store: {0}")]
    Connect(#[source] tokio_postgres::Error),
    #[error("the Postgres store failed: {0}")]
    Query(#[from] tokio_postgres::Error),
    #[error("repository {org}/{repo} is being indexed by another writer")]
    Locked { org: String, repo: String },
    #[error(
        "the store holds {stored}-dimension vectors; this model makes {asked} (a new store, \
         or the same embedding model, is needed)"
    )]
    Dimensions { stored: usize, asked: usize },
    #[error("a vector has {got} dimensions; the store holds {want}")]
    VectorLength { got: usize, want: usize },
    #[error("{0} is not a valid name (1-200 characters, no control characters)")]
    Name(String),
}

/// A connection to the store.
pub struct PgStore {
    url: String,
    /// Searches set a role and an organisation for their transaction: one at a time on
    /// this connection (a pool would run several).
    client: tokio::sync::Mutex<Client>,
    dims: usize,
}

impl PgStore {
    /// Connects and makes sure the schema exists for vectors of `dims` dimensions.
    pub async fn open(url: &str, dims: usize) -> Result<PgStore, StoreError> {
        let client = connect(url).await?;
        let dims = schema::migrate(&client, dims).await?;
        Ok(PgStore {
            url: url.to_owned(),
            client: tokio::sync::Mutex::new(client),
            dims,
        })
    }

    /// The vectors' dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// Starts a new generation of `org`/`repo`, on a connection of its own that holds
    /// the repository's lock until the writer commits or is dropped (or its process
    /// dies). Another writer of the same repository gets [`StoreError::Locked`].
    pub async fn writer(&self, org: &str, repo: &str) -> Result<GenerationWriter, StoreError> {
        check_name(org)?;
        check_name(repo)?;
        let client = connect(&self.url).await?;
        GenerationWriter::begin(client, org, repo, self.dims).await
    }

    /// The active generation of `org`/`repo`, if it was ever committed.
    pub async fn active_generation(
        &self,
        org: &str,
        repo: &str,
    ) -> Result<Option<i64>, StoreError> {
        let row = self
            .client
            .lock()
            .await
            .query_opt(
                "SELECT active_generation FROM scry_repos WHERE org = $1 AND name = $2",
                &[&org, &repo],
            )
            .await?;
        Ok(row.and_then(|r| r.get(0)))
    }

    pub(crate) fn client(&self) -> &tokio::sync::Mutex<Client> {
        &self.client
    }
}

async fn connect(url: &str) -> Result<Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(StoreError::Connect)?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("Postgres connection closed: {e}");
        }
    });
    Ok(client)
}

fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(StoreError::Name(name.escape_debug().to_string()));
    }
    Ok(())
}
