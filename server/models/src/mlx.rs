//! MLX on Apple Silicon (feature `mlx`, macOS arm64 only; see README for building).
//!
//! It serves Qwen3-architecture models in MLX's safetensors layout through `mlx-lm`,
//! behind the same [`Generator`] trait as every other backend. Nothing outside this file
//! knows it exists. It cannot be compiled or tested on Linux.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use crossbeam_channel::{Sender, bounded, unbounded};
use mlx_lm::cache::ConcatKeyValueCache;
use mlx_lm::models::qwen3::{Generate, load_qwen3_model, load_qwen3_tokenizer};
use mlx_rs::Array;
use mlx_rs::ops::indexing::{IndexOp, NewAxis};
use mlx_rs::transforms::eval;
use tokenizers::Tokenizer;

use crate::generate::{
    ChatMessage, FinishReason, GenerateRequest, Generator, Health, StreamEvent, TokenCount,
    TokenStream, Usage,
};
use crate::manager::BackendKind;
use crate::{ModelError, ModelInfo};

struct Job {
    prompt: Vec<u32>,
    request: GenerateRequest,
    events: Sender<StreamEvent>,
    cancel: Arc<AtomicBool>,
}

pub struct MlxGenerator {
    info: ModelInfo,
    tokenizer: Tokenizer,
    jobs: Option<Sender<Job>>,
    worker: Option<thread::JoinHandle<()>>,
    context: usize,
}

fn load_error(dir: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Load {
        path: dir.to_owned(),
        detail: e.to_string(),
    }
}

impl MlxGenerator {
    pub fn load(dir: &Path) -> Result<MlxGenerator, ModelError> {
        let tokenizer = load_qwen3_tokenizer(dir).map_err(|e| load_error(dir, e))?;
        let config: serde_json::Value = std::fs::read_to_string(dir.join("config.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or_default();
        let context = config
            .get("max_position_embeddings")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(8192) as usize;
        let (jobs_tx, jobs_rx) = bounded::<Job>(8);
        let (ready_tx, ready_rx) = bounded(1);
        let path: PathBuf = dir.to_owned();
        let eos = tokenizer.token_to_id("<|im_end|>");
        let worker_tokenizer = tokenizer.clone();
        let worker = thread::spawn(move || {
            let mut model = match load_qwen3_model(&path) {
                Ok(m) => m,
                Err(e) => {
                    let _ = ready_tx.send(Err(load_error(&path, e)));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            for job in jobs_rx {
                let prompt = Array::from(&job.prompt[..]).index(NewAxis);
                let mut cache: Vec<Option<ConcatKeyValueCache>> = Vec::new();
                let generate = Generate::<ConcatKeyValueCache>::new(
                    &mut model,
                    &mut cache,
                    job.request.sampling.temperature.max(0.0),
                    &prompt,
                );
                let mut produced = 0;
                let mut finish = FinishReason::Length;
                for token in generate.take(job.request.sampling.max_tokens) {
                    if job.cancel.load(Ordering::SeqCst) {
                        break;
                    }
                    let token = match token.and_then(|t| eval([&t]).map(|_| t)) {
                        Ok(t) => t.item::<u32>(),
                        Err(e) => {
                            let _ = job
                                .events
                                .send(StreamEvent::Error(ModelError::Generate(e.to_string())));
                            break;
                        }
                    };
                    if Some(token) == eos {
                        finish = FinishReason::Stop;
                        break;
                    }
                    produced += 1;
                    let piece = worker_tokenizer.decode(&[token], true).unwrap_or_default();
                    if job.events.send(StreamEvent::Text(piece)).is_err() {
                        break;
                    }
                }
                let _ = job.events.send(StreamEvent::Done {
                    finish,
                    usage: Usage {
                        prompt_tokens: job.prompt.len(),
                        completion_tokens: produced,
                    },
                });
            }
        });
        ready_rx.recv().map_err(|_| ModelError::WorkerGone)??;
        let info = ModelInfo {
            name: dir
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            backend: BackendKind::Mlx,
            location: dir.display().to_string(),
            architecture: "qwen3".into(),
            parameters: None,
            quantization: None,
            context_length: Some(context as u64),
            gpu_layers: 0,
            weights_bytes: Some(safetensors_bytes(dir)),
            kv_cache_bytes: None,
        };
        Ok(MlxGenerator {
            info,
            tokenizer,
            jobs: Some(jobs_tx),
            worker: Some(worker),
            context,
        })
    }

    /// Qwen3's ChatML prompt.
    fn render(messages: &[ChatMessage]) -> String {
        let mut p = String::new();
        for m in messages {
            p.push_str(&format!(
                "<|im_start|>{}\n{}<|im_end|>\n",
                m.role.as_str(),
                m.content
            ));
        }
        p.push_str("<|im_start|>assistant\n");
        p
    }

    fn encode(&self, text: &str) -> Result<Vec<u32>, ModelError> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| ModelError::Generate(e.to_string()))
    }
}

impl Generator for MlxGenerator {
    fn info(&self) -> &ModelInfo {
        &self.info
    }
    fn health(&self) -> Health {
        match &self.worker {
            Some(w) if !w.is_finished() => Health::Ready,
            _ => Health::Down("the MLX worker stopped".into()),
        }
    }
    fn count_tokens(&self, text: &str) -> Result<TokenCount, ModelError> {
        Ok(TokenCount::Exact(self.encode(text)?.len()))
    }
    fn count_prompt_tokens(&self, messages: &[ChatMessage]) -> Result<TokenCount, ModelError> {
        Ok(TokenCount::Exact(
            self.encode(&Self::render(messages))?.len(),
        ))
    }
    fn context_length(&self) -> usize {
        self.context
    }
    fn generate(&self, request: GenerateRequest) -> Result<TokenStream, ModelError> {
        if request.constraint.is_some() {
            return Err(ModelError::Generate(
                "the MLX backend has no grammar sampling; use llama.cpp for `plan`".into(),
            ));
        }
        let prompt = self.encode(&Self::render(&request.messages))?;
        if prompt.len() >= self.context {
            return Err(ModelError::ContextOverflow {
                needed: prompt.len() + 1,
                available: self.context,
            });
        }
        let (tx, rx) = unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Job {
            prompt,
            request,
            events: tx,
            cancel: cancel.clone(),
        };
        let jobs = self.jobs.as_ref().ok_or(ModelError::Unloaded)?;
        jobs.try_send(job)
            .map_err(|_| ModelError::Busy { queued: 8 })?;
        Ok(TokenStream::new(rx, cancel))
    }
}

impl Drop for MlxGenerator {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// The bytes of a model directory's weight files.
fn safetensors_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "safetensors"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}
