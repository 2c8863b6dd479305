//! Model backends behind two traits the rest of Scry depends on.
//!
//! [`Embedder`] turns texts into unit vectors for the index; [`Generator`] streams chat
//! completions for answers. Implementations: llama.cpp in-process ([`LlamaEmbedder`],
//! [`LlamaGenerator`]), a static table distilled from a GGUF embedder ([`StaticEmbedder`],
//! the fast tier), any OpenAI-compatible server ([`http`]), and MLX on Apple Silicon
//! (feature `mlx`, macOS arm64 only). [`ModelManager`] owns their lifecycle: selection by
//! role, lazy loading, unloading, hot-swapping and the fallback chain.

pub mod config;
mod cpu_share;
mod discover;
pub mod distill;
mod embed_speed;
mod embedding;
mod generate;
mod gguf;
pub mod http;
mod llama;
mod llama_gen;
mod manager;
pub mod memory;
#[cfg(all(feature = "mlx", target_os = "macos", target_arch = "aarch64"))]
mod mlx;
mod prompt_speed;
mod pull;
mod static_embedder;
pub mod static_table;
mod wordpiece;

pub use discover::{DiscoveredModel, ModelSource, discover_models, models_dir};
pub use embed_speed::EmbedSpeed;
pub use embedding::{DEFAULT_REMOTE_MAX_TOKENS, EmbedderSpec, TokenCounter};
pub use generate::{
    ChatMessage, Completion, Constraint, FinishReason, GenerateRequest, Generator, Health, Role,
    Sampling, StreamEvent, TokenCount, TokenStream, Usage, estimate_prompt_tokens, estimate_tokens,
};
pub use gguf::{GgufHeader, GgufMetadata, file_type_name, read_gguf_header, read_gguf_metadata};
pub use llama::{EmbedderOptions, LlamaEmbedder};
pub use llama_gen::{GeneratorOptions, LlamaGenerator, gpu_offload_available};
pub use manager::{
    BackendKind, BackendSpec, Fallback, ModelManager, ModelRole, Picked, describe_fallbacks,
    resolve_model_path,
};
pub use prompt_speed::PromptTimings;
pub use pull::{PullOptions, PullProgress, pull_model};
pub use static_embedder::{STATIC_DIMS, StaticEmbedder, TableSource, cached_static_tables};

use std::time::Duration;

/// What a loaded generation model is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// A short name: the file name for GGUF files, the server's model id for HTTP.
    pub name: String,
    pub backend: BackendKind,
    /// A file path or a base URL (never with credentials).
    pub location: String,
    pub architecture: String,
    pub parameters: Option<u64>,
    pub quantization: Option<String>,
    pub context_length: Option<u64>,
    /// Layers offloaded to a GPU (0 on CPU).
    pub gpu_layers: u32,
    /// Bytes of weights held by this process (`None`: the model runs elsewhere).
    pub weights_bytes: Option<u64>,
    /// Bytes of the context's KV cache, estimated from the model's shape (f16 keys and
    /// values for every layer and position); `None` when unknown.
    pub kv_cache_bytes: Option<u64>,
}

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
    /// Bytes of weights (or of a static table) held by this process; `None` for a model
    /// served elsewhere.
    pub weights_bytes: Option<u64>,
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
    #[error("{path} cannot generate chat answers: {detail}")]
    NotChat { path: PathBuf, detail: String },
    #[error("the model is busy: {queued} requests are already waiting; try again shortly")]
    Busy { queued: usize },
    #[error("the prompt needs {needed} tokens but the model's context holds {available}")]
    ContextOverflow { needed: usize, available: usize },
    #[error("generation failed: {0}")]
    Generate(String),
    #[error("the model was unloaded while the request ran")]
    Unloaded,
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("{server} answered HTTP {status}: {detail}")]
    Http {
        server: String,
        status: u16,
        detail: String,
    },
    #[error("{server} is unreachable: {detail}")]
    Unreachable { server: String, detail: String },
    #[error("{server} is failing; not retrying for {retry_in:?} (circuit breaker open)")]
    CircuitOpen { server: String, retry_in: Duration },
    #[error("{server} sent a response Scry cannot use: {detail}")]
    BadResponse { server: String, detail: String },
    #[error("configuration: {0}")]
    Config(String),
    #[error("no model named {name:?}; looked in {looked_in}")]
    UnknownModel { name: String, looked_in: String },
    #[error("download failed: {0}")]
    Download(String),
    #[error(
        "the MLX backend is only available on macOS on Apple Silicon, built with `--features mlx`"
    )]
    MlxUnavailable,
}
