//! Model backends: GGUF embedders through llama.cpp, behind a trait the engine depends on.
//!
//! The engine sees only [`Embedder`]: texts in, unit vectors out. [`LlamaEmbedder`] runs
//! llama.cpp in-process on a worker thread that owns the model and its context.

mod gguf;
mod llama;

pub use gguf::{GgufHeader, read_gguf_header};
pub use llama::{EmbedderOptions, LlamaEmbedder};

use std::path::PathBuf;

/// What an embedding model is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedderInfo {
    /// Stable identity of the weights (file name and a fingerprint of its bytes):
    /// vectors from a different id are never mixed in.
    pub id: String,
    pub path: PathBuf,
    pub architecture: String,
    pub dims: usize,
    /// Longer inputs are truncated to this many tokens.
    pub max_tokens: usize,
}

/// Turns texts into L2-normalised vectors.
pub trait Embedder: Send + Sync {
    fn info(&self) -> &EmbedderInfo;
    /// One vector per text, in order. Either all succeed or the call fails.
    fn embed(&self, texts: &[String]) -> Result<Embeddings, ModelError>;
    /// Tokens the model would see for `text` (before truncation).
    fn count_tokens(&self, text: &str) -> Result<usize, ModelError>;
}

/// Vectors for a batch of texts, and how many tokens the model processed for them.
#[derive(Debug, Clone, Default)]
pub struct Embeddings {
    pub vectors: Vec<Vec<f32>>,
    pub tokens: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {0} does not exist")]
    NotFound(PathBuf),
    #[error("{path} is not a usable GGUF model: {detail}")]
    BadFile { path: PathBuf, detail: String },
    #[error("llama.cpp could not load {path}: {detail}")]
    Load { path: PathBuf, detail: String },
    #[error("{path} is not an embedding model: {detail}")]
    NotEmbedding { path: PathBuf, detail: String },
    #[error("embedding failed: {0}")]
    Embed(String),
    #[error("the model worker stopped")]
    WorkerGone,
}
