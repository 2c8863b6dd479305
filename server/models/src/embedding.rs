//! Which embedding model makes the index's vectors, and loading it: a GGUF file through
//! llama.cpp in this process, the static table distilled from one, or any
//! OpenAI-compatible `/v1/embeddings` server. The
//! embedding counterpart of [`crate::BackendSpec`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::http::{HttpConfig, HttpEmbedder};
use crate::{Embedder, EmbedderOptions, LlamaEmbedder, ModelError, StaticEmbedder};

/// Longest input of a remote embedding model, when the configuration does not say:
/// what BERT-sized embedders (MiniLM, bge-small) take.
pub const DEFAULT_REMOTE_MAX_TOKENS: usize = 512;

/// How to get the embedder.
#[derive(Debug, Clone)]
pub enum EmbedderSpec {
    /// A GGUF embedding model run by llama.cpp in this process.
    Llama {
        model: PathBuf,
        options: EmbedderOptions,
    },
    /// The fast tier: a static table distilled from a GGUF embedding model, cached in
    /// `cache_dir` under the model's fingerprint (distilled on first use).
    Static {
        model: PathBuf,
        /// Threads and batching for the one-time distillation.
        options: EmbedderOptions,
        cache_dir: PathBuf,
    },
    /// An OpenAI-compatible server (llama-server `--embedding`, vLLM, Ollama, TEI…).
    OpenAi {
        http: HttpConfig,
        /// Inputs are cut to about this many tokens before they are sent.
        max_tokens: usize,
    },
}

impl EmbedderSpec {
    /// A local GGUF model with default options.
    pub fn llama(model: impl Into<PathBuf>) -> EmbedderSpec {
        EmbedderSpec::Llama {
            model: model.into(),
            options: EmbedderOptions::default(),
        }
    }

    /// Loads the model (or, for a server, connects and learns its dimensions). Fails
    /// with a typed error for a missing, corrupt or non-embedding model, or a server
    /// that is down or answers nonsense; never panics.
    pub fn load(&self) -> Result<Arc<dyn Embedder>, ModelError> {
        match self {
            EmbedderSpec::Llama { model, options } => {
                Ok(Arc::new(LlamaEmbedder::load(model, options.clone())?))
            }
            EmbedderSpec::Static {
                model,
                options,
                cache_dir,
            } => Ok(Arc::new(StaticEmbedder::load(
                model,
                options.clone(),
                cache_dir,
            )?)),
            EmbedderSpec::OpenAi { http, max_tokens } => {
                Ok(Arc::new(HttpEmbedder::connect(http.clone(), *max_tokens)?))
            }
        }
    }
}
