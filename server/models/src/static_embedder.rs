//! The fast vector tier: a static embedding table distilled from a GGUF embedding model
//! (see [`crate::distill`]), used for documents and queries alike. A text's vector is the
//! normalised mean of its tokens' rows: microseconds per chunk, no model run.
//!
//! The table is built once per model, by running the model on every vocabulary token
//! (as `[SEP] token [CLS]`, which model2vec found to work best), and cached beside the
//! models under the model's fingerprint. Later loads map the cached table and never read
//! the model's weights: a WordPiece vocabulary (BERT-family models) travels in the table
//! and is tokenized by [`crate::wordpiece`]; any other is loaded from the model alone.

use std::path::{Path, PathBuf};
use std::time::Instant;

use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::token::LlamaToken;

use crate::distill::{TokenRows, reduce_and_weight};
use crate::llama::{load_vocab, model_id};
use crate::static_table::{StaticTable, TableTokenizer};
use crate::wordpiece::WordPiece;
use crate::{Embedder, EmbedderInfo, EmbedderOptions, Embeddings, LlamaEmbedder, ModelError};

/// Dimensions kept by distillation; fewer if the model has fewer. Half model2vec's
/// default of 256: the quality benchmark ranks the same from 128 to 256 (chunk NDCG@10
/// 0.897, 0.891, 0.898 at 128, 192, 256; 0.888 at 64), and every chunk's vector, most
/// of the fast tier's memory, is half as big.
pub const STATIC_DIMS: usize = 128;

/// Bumped when distilling would give other rows for the same model: vectors made with
/// another version are never mixed in (it is part of the embedder's id).
const DISTILL_VERSION: u32 = 2;

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
    tokenizer: Tokenizer,
    table: StaticTable,
    source: TableSource,
}

/// How texts become the table's tokens.
enum Tokenizer {
    /// Our own, from the vocabulary stored in the table: no model file is read.
    WordPiece(WordPiece),
    /// The model's vocabulary loaded by llama.cpp (`vocab_only`: no weights).
    Model(LlamaModel),
}

impl StaticEmbedder {
    /// The table for `model` from `cache_dir`, distilling (and caching) it first when it
    /// is missing or damaged. Errors are the model's: missing, corrupt, not an embedder.
    pub fn load(
        model: &Path,
        options: EmbedderOptions,
        cache_dir: &Path,
    ) -> Result<StaticEmbedder, ModelError> {
        let started = Instant::now();
        let source_id = model_id(model)?;
        let name = model
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let fingerprint_ms = started.elapsed().as_secs_f64() * 1e3;
        let path = table_path(cache_dir, &source_id);
        let cached = match StaticTable::read(&path) {
            Ok(t) if t.source == source_id => Some(t),
            Ok(_) => None,
            Err(e) => {
                if path.exists() {
                    tracing::warn!(path = %path.display(), "static table unusable, rebuilding: {e}");
                }
                None
            }
        };
        let (mut table, source, vocab_model) = match cached {
            Some(t) => (t, TableSource::Cached(path), None),
            None => {
                let vocab_model = load_vocab(model)?;
                let t0 = Instant::now();
                let table = distill(model, options, &vocab_model, &source_id)?;
                let seconds = t0.elapsed().as_secs_f64();
                let saved = match table.write(&path) {
                    Ok(()) => {
                        remove_older_tables(cache_dir, &source_id, &path);
                        Some(path)
                    }
                    Err(e) => {
                        tracing::warn!(path = %path.display(), "static table not cached: {e}");
                        None
                    }
                };
                tracing::info!(model = %name, seconds, "distilled the static embedding table");
                (
                    table,
                    TableSource::Distilled { seconds, saved },
                    Some(vocab_model),
                )
            }
        };
        let table_ms = started.elapsed().as_secs_f64() * 1e3;
        let tokenizer = match table.take_tokenizer() {
            TableTokenizer::WordPiece {
                tokens,
                unknown,
                lowercase,
            } => Tokenizer::WordPiece(WordPiece::new(tokens, unknown, lowercase)),
            TableTokenizer::Model => Tokenizer::Model(match vocab_model {
                Some(m) => m,
                None => load_vocab(model)?,
            }),
        };
        tracing::debug!(
            fingerprint_ms,
            table_ms,
            ms = started.elapsed().as_secs_f64() * 1e3,
            "static embedder loaded"
        );
        let info = EmbedderInfo {
            id: static_id(table.dims, &source_id),
            path: model.to_owned(),
            architecture: "static".into(),
            dims: table.dims,
            // A mean of rows has no length limit; this only bounds what is reported.
            max_tokens: 1 << 20,
            weights_bytes: Some(table.row_bytes() as u64),
        };
        Ok(StaticEmbedder {
            info,
            tokenizer,
            table,
            source,
        })
    }

    /// Whether the table came from the cache or was distilled by this load.
    pub fn table_source(&self) -> &TableSource {
        &self.source
    }

    fn tokens(&self, text: &str) -> Vec<usize> {
        match &self.tokenizer {
            Tokenizer::WordPiece(w) => w.tokenize(text).into_iter().map(|t| t as usize).collect(),
            Tokenizer::Model(m) => m
                .vocab()
                .tokenize(text.as_bytes(), false, false)
                .into_iter()
                .filter_map(|t| usize::try_from(t.0).ok())
                .collect(),
        }
    }

    fn vector(&self, tokens: &[usize]) -> Vec<f32> {
        let mut sum = vec![0f32; self.table.dims];
        for &t in tokens {
            self.table.add_row(t, &mut sum);
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

/// The static tables cached in `cache_dir` (file name, size), by name: what
/// `scry models list` shows beside the models.
pub fn cached_static_tables(cache_dir: &Path) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = std::fs::read_dir(cache_dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "m2v"))
        .filter_map(|e| {
            let size = e.metadata().ok().filter(|m| m.is_file())?.len();
            Some((e.file_name().to_string_lossy().into_owned(), size))
        })
        .collect();
    out.sort();
    out
}

/// Tables of the same model from earlier distillation versions: never read again.
fn remove_older_tables(cache_dir: &Path, source_id: &str, current: &Path) {
    let prefix = format!("{}-static", source_id.replace('#', "-"));
    for (name, _) in cached_static_tables(cache_dir) {
        let path = cache_dir.join(&name);
        if name.starts_with(&prefix) && path != current {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Where the table of the model `source_id` is cached.
fn table_path(cache_dir: &Path, source_id: &str) -> PathBuf {
    let file_key = source_id.replace('#', "-");
    cache_dir.join(format!(
        "{file_key}-static{STATIC_DIMS}v{DISTILL_VERSION}.m2v"
    ))
}

/// Whether loading the static tier for `model` will distill its table first (nothing
/// usable is cached): worth telling a person, who would otherwise wait in silence.
pub(crate) fn needs_distilling(model: &Path, cache_dir: &Path) -> bool {
    match model_id(model) {
        Ok(id) => !table_path(cache_dir, &id).is_file(),
        // An unreadable model fails to load; there is nothing to distill.
        Err(_) => false,
    }
}

/// The static tier's embedder id for a table of `dims` from the model `source_id`.
pub(crate) fn static_id(dims: usize, source_id: &str) -> String {
    format!("static{dims}v{DISTILL_VERSION}:{source_id}")
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
    let texts = token_texts(vocab_model);
    // Control and unused tokens never come out of tokenizing text: their rows stay zero
    // and they take no Zipf rank.
    let kept: Vec<usize> = (0..n)
        .filter(|&i| {
            let text = texts[i].trim_start_matches('\u{2581}');
            let never_from_text = vocab.is_control(LlamaToken::new(i as i32))
                || text.is_empty()
                || text.starts_with("[unused")
                || text.starts_with("[UNK]");
            !never_from_text
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
    let tokenizer = table_tokenizer(vocab_model, texts);
    Ok(StaticTable::new(
        source_id.to_owned(),
        out_dims,
        tokenizer,
        &rows,
    ))
}

/// The model's token texts.
fn token_texts(vocab_model: &LlamaModel) -> Vec<String> {
    let vocab = vocab_model.vocab();
    (0..vocab_size(vocab_model))
        .map(|i| {
            vocab
                .text(LlamaToken::new(i as i32))
                .map(|c| String::from_utf8_lossy(c.to_bytes()).into_owned())
                .unwrap_or_default()
        })
        .collect()
}

/// Our own WordPiece when the model's tokenizer is one, else the model's.
fn table_tokenizer(vocab_model: &LlamaModel, texts: Vec<String>) -> TableTokenizer {
    let vocab = vocab_model.vocab();
    // From the GGUF metadata: llama-cpp-2's `vocab_type()` panics on WordPiece.
    if vocab_model.meta_val_str("tokenizer.ggml.model").as_deref() != Ok("bert") {
        return TableTokenizer::Model;
    }
    let lowercase = vocab_model
        .meta_val_str("tokenizer.ggml.normalizer.lowercase")
        .map_or(true, |v| v != "false");
    // The unknown token: named so, else what a word of no known piece becomes.
    let unknown = texts
        .iter()
        .position(|t| t.trim_start_matches('\u{2581}') == "[UNK]")
        .map(|i| i as u32)
        .or_else(|| {
            let t = vocab.tokenize("\u{2603}\u{2603}".as_bytes(), false, false);
            t.first().and_then(|t| u32::try_from(t.0).ok())
        })
        .unwrap_or(0);
    TableTokenizer::WordPiece {
        tokens: texts,
        unknown,
        lowercase,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_wordpiece_cuts_code_and_prose_as_llama_cpp_does() {
        let model = load_vocab(&scry_test_support::embed_model()).unwrap();
        let TableTokenizer::WordPiece {
            tokens,
            unknown,
            lowercase,
        } = table_tokenizer(&model, token_texts(&model))
        else {
            panic!("MiniLM's tokenizer is WordPiece");
        };
        assert!(lowercase);
        let ours = WordPiece::new(tokens, unknown, lowercase);
        for text in [
            "pub fn parse_config(path: &str) -> Result<Settings, Error> {",
            "def merge_environment_settings(self, url, proxies, stream, verify, cert):",
            "// Throttle is a middleware that limits number of currently processed requests",
            "export const $ZodType = core.$constructor(\"$ZodType\", (inst, def) => {});",
            "HTTPAdapter.send() retries 3x on ConnectionError; see RFC-7230 §3.2",
            "xyzzyqqq unknownishword 12345678901234567890",
        ] {
            let theirs: Vec<u32> = model
                .vocab()
                .tokenize(text.as_bytes(), false, false)
                .into_iter()
                .map(|t| t.0 as u32)
                .collect();
            assert_eq!(ours.tokenize(text), theirs, "{text}");
        }
    }
}
