//! Which embedding model makes the index's vectors, and loading it: a GGUF file through
//! llama.cpp in this process, the static table distilled from one, or any
//! OpenAI-compatible `/v1/embeddings` server. The
//! embedding counterpart of [`crate::BackendSpec`].

use std::path::PathBuf;
use std::sync::Arc;

use crate::http::{HttpConfig, HttpEmbedder};
use crate::{Embedder, EmbedderOptions, LlamaEmbedder, ModelError, STATIC_DIMS, StaticEmbedder};

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

    /// The id the loaded embedder will have ([`crate::EmbedderInfo::id`]), read from the
    /// model file without loading it; `None` for a server (its id comes from its answers)
    /// or an unreadable file.
    pub fn expected_id(&self) -> Option<String> {
        match self {
            EmbedderSpec::Llama { model, .. } => crate::llama::model_id(model).ok(),
            // Models narrower than the table's dimensions keep their own: their id then
            // differs, and a dry run counts their chunks as not embedded yet.
            EmbedderSpec::Static { model, .. } => crate::llama::model_id(model)
                .ok()
                .map(|id| crate::static_embedder::static_id(STATIC_DIMS, &id)),
            EmbedderSpec::OpenAi { .. } => None,
        }
    }

    /// What it names: the model file's name, or the server's model id.
    pub fn model_name(&self) -> String {
        match self {
            EmbedderSpec::Llama { model, .. } | EmbedderSpec::Static { model, .. } => {
                model.file_name().map_or_else(
                    || model.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            }
            EmbedderSpec::OpenAi { http, .. } => http.model.clone(),
        }
    }

    /// Whether loading will first distill a static table (a one-time wait of about a
    /// minute on a laptop CPU), so a caller can say so before it starts.
    pub fn needs_distilling(&self) -> bool {
        match self {
            EmbedderSpec::Static {
                model, cache_dir, ..
            } => crate::static_embedder::needs_distilling(model, cache_dir),
            _ => false,
        }
    }

    /// Counts tokens as the model would see them, loading only its vocabulary (a GGUF's
    /// is read in milliseconds), or estimating for a server: for a dry run.
    pub fn token_counter(&self) -> Result<TokenCounter, ModelError> {
        match self {
            EmbedderSpec::Llama { model, options }
            | EmbedderSpec::Static { model, options, .. } => {
                let vocab = crate::llama::load_vocab(model)?;
                // As `LlamaEmbedder` cuts inputs.
                let max_tokens = match self {
                    EmbedderSpec::Static { .. } => usize::MAX,
                    _ => crate::llama::input_limit(
                        crate::read_gguf_metadata(model)?
                            .context_length
                            .map_or(options.batch_tokens, |n| n as usize),
                        options.batch_tokens,
                    ),
                };
                Ok(TokenCounter {
                    vocab: Some(vocab),
                    max_tokens,
                })
            }
            EmbedderSpec::OpenAi { max_tokens, .. } => Ok(TokenCounter {
                vocab: None,
                max_tokens: *max_tokens,
            }),
        }
    }
}

/// Tokens a text costs the embedder, without running it.
pub struct TokenCounter {
    vocab: Option<llama_cpp_2::model::LlamaModel>,
    max_tokens: usize,
}

impl TokenCounter {
    /// Exact for a GGUF model (special tokens included, cut at its input length); about
    /// four bytes a token for a server.
    pub fn count(&self, text: &str) -> usize {
        let n = match &self.vocab {
            Some(v) => v.vocab().tokenize(text.as_bytes(), true, false).len(),
            None => text.len().div_ceil(4),
        };
        n.min(self.max_tokens)
    }
}
