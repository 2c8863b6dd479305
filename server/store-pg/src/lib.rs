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

mod blocking;
mod reader;
mod replica;
mod schema;
mod search;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio_postgres::{Client, NoTls};

pub use blocking::{BlockingPgStore, MAX_SHARDS, StoreSearch};
pub use reader::{PgReader, RepoGeneration};
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
    #[error(
        "the store's vectors come from model {stored:?}; this index's come from {asked:?} \
         (index with the store's model, or use a new store)"
    )]
    Model { stored: String, asked: String },
    #[error(
        "the store's tables are of layout {found}; this scry reads layout {want} (a new \
         store is needed)"
    )]
    Schema { found: String, want: &'static str },
    #[error("a vector has {got} dimensions; the store holds {want}")]
    VectorLength { got: usize, want: usize },
    #[error("the store holds no index yet: publish a repository first (scry index --store)")]
    Empty,
    #[error("chunk {0} is not in the generation being read")]
    Missing(i64),
    #[error("{0} stores given: one, or up to 255 shards")]
    Shards(usize),
    #[error("cannot start the store's client runtime: {0}")]
    Runtime(String),
    #[error("{0} is not a valid name (1-200 characters, no control characters)")]
    Name(String),
}

/// How many searches run at once on one [`PgStore`]: each holds a connection for its
/// read transaction.
const CONNECTIONS: usize = 4;

/// Connections to the store.
pub struct PgStore {
    url: String,
    /// Each search sets a role and an organisation for its own read transaction, on one
    /// of these connections (opened as needed).
    clients: Vec<Arc<tokio::sync::Mutex<Option<Client>>>>,
    next: AtomicUsize,
    dims: usize,
    model: String,
}

impl PgStore {
    /// Connects and makes sure the schema exists for vectors of `dims` dimensions made
    /// by `model` (the embedder's id; a store holds one model's vectors).
    pub async fn open(url: &str, dims: usize, model: &str) -> Result<PgStore, StoreError> {
        let client = connect(url).await?;
        let (dims, model) = schema::migrate(&client, dims, model).await?;
        Ok(PgStore::with(url, client, dims, model))
    }

    /// Connects to a store an indexer created, taking its dimensions and model from it.
    pub async fn open_existing(url: &str) -> Result<PgStore, StoreError> {
        let client = connect(url).await?;
        let (dims, model) = schema::existing(&client).await?.ok_or(StoreError::Empty)?;
        Ok(PgStore::with(url, client, dims, model))
    }

    fn with(url: &str, client: Client, dims: usize, model: String) -> PgStore {
        let mut clients = vec![Arc::new(tokio::sync::Mutex::new(Some(client)))];
        clients.extend((1..CONNECTIONS).map(|_| Arc::new(tokio::sync::Mutex::new(None))));
        PgStore {
            url: url.to_owned(),
            clients,
            next: AtomicUsize::new(0),
            dims,
            model,
        }
    }

    /// The vectors' dimensions.
    pub fn dims(&self) -> usize {
        self.dims
    }

    /// The model the store's vectors come from.
    pub fn model(&self) -> &str {
        &self.model
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
        let client = self.connection().await?;
        let row = client
            .as_ref()
            .expect("connected")
            .query_opt(
                "SELECT active_generation FROM scry_repos WHERE org = $1 AND name = $2",
                &[&org, &repo],
            )
            .await?;
        Ok(row.and_then(|r| r.get(0)))
    }

    /// A connection of the pool for one read: a free one if there is one, else the
    /// next in turn (waiting for it); connected on first use, reconnected when the
    /// server closed it.
    pub(crate) async fn connection(
        &self,
    ) -> Result<tokio::sync::OwnedMutexGuard<Option<Client>>, StoreError> {
        let free = self
            .clients
            .iter()
            .find_map(|c| c.clone().try_lock_owned().ok());
        let mut guard = match free {
            Some(g) => g,
            None => {
                let i = self.next.fetch_add(1, Ordering::Relaxed) % self.clients.len();
                self.clients[i].clone().lock_owned().await
            }
        };
        if guard.as_ref().is_none_or(Client::is_closed) {
            *guard = Some(connect(&self.url).await?);
        }
        Ok(guard)
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
