//! The engine's error type: what failed, where, and whether a retry or rebuild helps.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Path(#[from] scry_paths::PathError),
    #[error(transparent)]
    Index(#[from] scry_index::IndexError),
    /// The embedding model could not be loaded or reached, or failed a query.
    #[error(transparent)]
    Model(#[from] scry_models::ModelError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the index at {0} is being written by another scry process")]
    Locked(PathBuf),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("no workspace root was given")]
    NoRoots,
    #[error("cannot choose an index directory: {0}")]
    NoIndexDir(String),
    #[error("file watching failed: {0}")]
    Watch(String),
    /// A store behind the storage seam (`ChunkStore`) failed to answer.
    #[error("the index store failed: {0}")]
    Store(String),
    #[error("cannot start a background thread: {0}")]
    Spawn(std::io::Error),
}

impl EngineError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.into(),
            source,
        }
    }
}
