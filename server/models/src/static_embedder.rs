//! The fast vector tier: a static embedding table distilled from a GGUF embedding model
//! (see [`crate::distill`]), used for documents and queries alike. A text's vector is the
//! normalised mean of its tokens' rows: microseconds per chunk, no model run.
//!
//! The table is built once per model, by running the model on every vocabulary token
//! (as `[SEP] token [CLS]`, which model2vec found to work best), and cached beside the
//! models under the model's fingerprint; later loads read the cache and load only the
//! model's vocabulary (to tokenize), never its weights.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;

use crate::distill::{TokenRows, reduce_and_weight};
use crate::gguf::{fingerprint, read_gguf_header};
use crate::llama::backend;
use crate::static_table::StaticTable;
use crate::{Embedder, EmbedderInfo, EmbedderOptions, Embeddings, LlamaEmbedder, ModelError};

/// Dimensions kept by distillation (model2vec's default); fewer if the model has fewer.
pub const STATIC_DIMS: usize = 256;

/// Sequences per decode while distilling: each is three tokens.
const DISTILL_SEQUENCES: usize = 128;

/// What a load did: read the cached table or distilled it (and how long that took).
#[derive(Debug, Clone, PartialEq)]
pub enum TableSource {
    Cached(PathBuf),
    Distilled {
        seconds: f64,
        /// Where it was saved; `None` when the cache folder is not writable.
        saved: Option<PathBuf>,
    },
}

pub struct StaticEmbedder {
    info: EmbedderInfo,
    /// Loaded with `vocab_only`: the tokenizer without the weights.
    vocab_model: LlamaModel,
    table: Arc<StaticTable>,
    source: TableSource,
}

impl StaticEmbedder {
    /// The table for `model` from `cache_dir`, distilling (and caching) it first when it
    /// is missing or damaged. Errors are the model's: missing, corrupt, not an embedder.
    pub fn load(
        model: &Path,
        options: EmbedderOptions,
        cache_dir: &Path,
    ) -> Result<StaticEmbedder, ModelError> {
        let header = read_gguf_header(model)?;
        let hash = fingerprint(model, header.file_size).map_err(|e| ModelError::BadFile {
            path: model.to_owned(),
            detail: e.to_string(),
        })?;
        let name = model
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let source_id = format!("{name}#{hash}");
        let vocab_model = LlamaModel::load_from_file(
            backend()?,
            model,
            &LlamaModelParams::default().with_vocab_only(true),
        )
        .map_err(|e| ModelError::Load {
            path: model.to_owned(),
            detail: e.to_string(),
        })?;
        let path = cache_dir.join(format!("{name}-{hash}-static{STATIC_DIMS}.m2v"));
        let cached = match StaticTable::read(&path) {
            Ok(t) if t.source == source_id && t.vocab == vocab_size(&vocab_model) => Some(t),
            Ok(_) => None,
            Err(e) => {
                if path.exists() {
                    tracing::warn!(path = %path.display(), "static table unusable, rebuilding: {e}");
                }
                None
            }
        };
        let (table, source) = match cached {
            Some(t) => (t, TableSource::Cached(path)),
            None => {
                let t0 = Instant::now();
                let table = distill(model, options, &vocab_model, &source_id)?;
                let seconds = t0.elapsed().as_secs_f64();
                let saved = match table.write(&path) {
                    Ok(()) => Some(path),
                    Err(e) => {
                        tracing::warn!(path = %path.display(), "static table not cached: {e}");
                        None
                    }
                };
                tracing::info!(model = %name, seconds, "distilled the static embedding table");
                (table, TableSource::Distilled { seconds, saved })
            }
        };
        let info = EmbedderInfo {
            id: format!("static{}:{source_id}", table.dims),
            path: model.to_owned(),
            architecture: "static".into(),
            dims: table.dims,
            // A mean of rows has no length limit; this only bounds what is reported.
            max_tokens: 1 << 20,
        };
        Ok(StaticEmbedder {
            info,
            vocab_model,
            table: Arc::new(table),
            source,
        })
    }

    /// Whether the table came from the cache or was distilled by this load.
    pub fn table_source(&self) -> &TableSource {
        &self.source
    }

    fn tokens(&self, text: &str) -> Vec<LlamaToken> {
        self.vocab_model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
    }

    fn vector(&self, tokens: &[LlamaToken]) -> Vec<f32> {
        let dims = self.table.dims;
        let mut sum = vec![0f32; dims];
        for t in tokens {
            if let Some(row) = usize::try_from(t.0).ok().and_then(|i| self.table.row(i)) {
                sum.iter_mut().zip(row).for_each(|(s, r)| *s += r);
            }
        }
        let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 && norm.is_finite() {
            sum.iter_mut().for_each(|x| *x /= norm);
        } else {
            // Nothing the table knows (empty text, only unknown tokens): a fixed unit
            // vector, so the store stays well-formed and it matches nothing in particular.
            sum.iter_mut().for_each(|x| *x = 0.0);
            sum[0] = 1.0;
        }
        sum
    }
}

impl Embedder for StaticEmbedder {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed(&self, texts: &[String]) -> Result<Embeddings, ModelError> {
        let mut tokens = 0;
        let vectors = texts
            .iter()
            .map(|t| {
                let ids = self.tokens(t);
                tokens += ids.len();
                self.vector(&ids)
            })
            .collect();
        Ok(Embeddings { vectors, tokens })
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        Ok(self.tokens(text).len())
    }
}

fn vocab_size(model: &LlamaModel) -> usize {
    usize::try_from(model.n_vocab()).unwrap_or(0)
}

/// Runs the model on every token a text can yield and reduces the outputs to the table.
fn distill(
    model: &Path,
    options: EmbedderOptions,
    vocab_model: &LlamaModel,
    source_id: &str,
) -> Result<StaticTable, ModelError> {
    let vocab = vocab_model.vocab();
    let n = vocab_size(vocab_model);
    // The model's own begin and end markers, as tokenizing with specials shows them.
    let probe = vocab.tokenize(b"a", true, false);
    let (Some(first), Some(last)) = (probe.first(), probe.last()) else {
        return Err(ModelError::NotEmbedding {
            path: model.to_owned(),
            detail: "its tokenizer yields nothing".into(),
        });
    };
    let (begin, end) = (first.0, last.0);
    // Control and unused tokens never come out of tokenizing text: their rows stay zero
    // and they take no Zipf rank.
    let kept: Vec<usize> = (0..n)
        .filter(|&i| {
            let t = LlamaToken::new(i as i32);
            let text = vocab.text(t).map(|c| c.to_bytes()).unwrap_or_default();
            !vocab.is_control(t) && !text.starts_with(b"[unused") && !text.is_empty()
        })
        .collect();
    if kept.is_empty() {
        return Err(ModelError::NotEmbedding {
            path: model.to_owned(),
            detail: "its vocabulary has no ordinary tokens".into(),
        });
    }
    let embedder = LlamaEmbedder::load(
        model,
        EmbedderOptions {
            max_sequences: DISTILL_SEQUENCES,
            ..options
        },
    )?;
    let dims = embedder.info().dims;
    let mut data = Vec::with_capacity(kept.len() * dims);
    for part in kept.chunks(DISTILL_SEQUENCES * 8) {
        // Reversed markers, as model2vec does: they embed tokens better.
        let seqs = part.iter().map(|&i| vec![end, i as i32, begin]).collect();
        for v in embedder.pooled_token_sequences(seqs)? {
            if v.len() != dims || !v.iter().all(|x| x.is_finite()) {
                return Err(ModelError::Embed(
                    "the model gave a malformed token vector".into(),
                ));
            }
            data.extend(v);
        }
    }
    let reduced = reduce_and_weight(&TokenRows { dims, data }, STATIC_DIMS);
    let out_dims = reduced.dims;
    let mut rows = vec![0f32; n * out_dims];
    for (k, &i) in kept.iter().enumerate() {
        rows[i * out_dims..(i + 1) * out_dims].copy_from_slice(reduced.row(k));
    }
    Ok(StaticTable {
        source: source_id.to_owned(),
        vocab: n,
        dims: out_dims,
        rows,
    })
}
