//! llama.cpp in-process generation: a worker thread owns the context and serves requests
//! one at a time from a bounded queue, streaming each token as it is sampled.

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, TrySendError, bounded, unbounded};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatMessage, LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

use crate::generate::{
    ChatMessage, FinishReason, GenerateRequest, Generator, Health, StreamEvent, TokenCount,
    TokenStream, Usage,
};
use crate::gguf::read_gguf_metadata;
use crate::llama::backend;
use crate::manager::BackendKind;
use crate::{ModelError, ModelInfo, PromptTimings};
use std::time::Duration;

/// How a llama.cpp generator runs.
#[derive(Debug, Clone)]
pub struct GeneratorOptions {
    pub threads: usize,
    /// Context window; `None` uses the model's trained length, capped at 32,768.
    pub context_tokens: Option<usize>,
    /// Prompt tokens per decode call.
    pub batch_tokens: usize,
    /// Requests that may wait behind the running one before callers get `Busy`.
    pub queue: usize,
    /// Layers to offload; `None` offloads everything when a GPU backend is compiled in
    /// and a device is present, and nothing otherwise.
    pub gpu_layers: Option<u32>,
}

impl Default for GeneratorOptions {
    fn default() -> Self {
        GeneratorOptions {
            threads: thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(8),
            context_tokens: None,
            batch_tokens: 512,
            queue: 8,
            gpu_layers: None,
        }
    }
}

impl GeneratorOptions {
    pub fn with_threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }
    pub fn with_context_tokens(mut self, n: usize) -> Self {
        self.context_tokens = Some(n.max(256));
        self
    }
    pub fn with_queue(mut self, n: usize) -> Self {
        self.queue = n;
        self
    }
    pub fn with_gpu_layers(mut self, n: u32) -> Self {
        self.gpu_layers = Some(n);
        self
    }
}

/// Whether this build can offload to a GPU and one is present.
pub fn gpu_offload_available() -> bool {
    backend().is_ok_and(LlamaBackend::supports_gpu_offload)
}

struct Job {
    request: GenerateRequest,
    events: Sender<StreamEvent>,
    cancel: Arc<AtomicBool>,
}

/// A GGUF chat model served by llama.cpp in this process.
pub struct LlamaGenerator {
    info: ModelInfo,
    model: Arc<LlamaModel>,
    template: LlamaChatTemplate,
    n_ctx: usize,
    jobs: Option<Sender<Job>>,
    queue: usize,
    shutdown: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
    /// How long prompts took to read, here.
    timings: Arc<PromptTimings>,
}

impl LlamaGenerator {
    /// Loads a GGUF chat model. A missing, truncated or non-GGUF file, or a model that
    /// cannot generate, is a clear error; nothing panics.
    pub fn load(path: &Path, opts: GeneratorOptions) -> Result<LlamaGenerator, ModelError> {
        crate::memory::tune_allocator();
        let meta = read_gguf_metadata(path)?;
        if meta.pooling.is_some_and(|p| p != 0) {
            return Err(ModelError::NotChat {
                path: path.to_owned(),
                detail: format!(
                    "it is an embedding model ({}, pooled output)",
                    meta.architecture
                ),
            });
        }
        let backend = backend()?;
        let gpu_layers = opts
            .gpu_layers
            .unwrap_or(if backend.supports_gpu_offload() {
                999
            } else {
                0
            });
        let params = LlamaModelParams::default().with_n_gpu_layers(gpu_layers);
        let model =
            LlamaModel::load_from_file(backend, path, &params).map_err(|e| ModelError::Load {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        if model.chat_template(None).is_err() {
            tracing::warn!(
                model = %path.display(),
                "the model has no chat template in its metadata; using ChatML"
            );
        }
        let template = chat_template(&model)?;
        let trained = model.n_ctx_train() as usize;
        let n_ctx = opts
            .context_tokens
            .unwrap_or(trained.min(32_768))
            .min(trained.max(256));
        let model = Arc::new(model);
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let info = ModelInfo {
            name,
            backend: BackendKind::Llama,
            location: path.display().to_string(),
            architecture: meta.architecture.clone(),
            parameters: Some(model.n_params()),
            quantization: meta.quantization.clone(),
            context_length: Some(trained as u64),
            gpu_layers: gpu_layers.min(model.n_layer()),
            weights_bytes: Some(model.size()),
            kv_cache_bytes: Some(kv_cache_bytes(&model, n_ctx)),
        };

        let (jobs_tx, jobs_rx) = bounded::<Job>(opts.queue);
        let (ready_tx, ready_rx) = bounded::<Result<(), ModelError>>(1);
        let shutdown = Arc::new(AtomicBool::new(false));
        let timings = Arc::new(PromptTimings::load(path, opts.threads));
        let worker = {
            let model = model.clone();
            let shutdown = shutdown.clone();
            let timings = timings.clone();
            let worker_path = path.to_owned();
            let opts = opts.clone();
            let template = template.clone();
            thread::Builder::new()
                .name("scry-generator".into())
                .spawn(move || {
                    worker(
                        backend,
                        &model,
                        &worker_path,
                        n_ctx,
                        &template,
                        &opts,
                        &shutdown,
                        &timings,
                        ready_tx,
                        jobs_rx,
                    )
                })
                .map_err(|e| ModelError::Load {
                    path: path.to_owned(),
                    detail: e.to_string(),
                })?
        };
        ready_rx.recv().map_err(|_| ModelError::WorkerGone)??;
        Ok(LlamaGenerator {
            info,
            model,
            template,
            n_ctx,
            jobs: Some(jobs_tx),
            queue: opts.queue,
            shutdown,
            worker: Some(worker),
            timings,
        })
    }

    fn render(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
        render_prompt(&self.model, &self.template, messages)
    }
}

/// The model's own chat template, or ChatML when its metadata has none.
fn chat_template(model: &LlamaModel) -> Result<LlamaChatTemplate, ModelError> {
    model
        .chat_template(None)
        .or_else(|_| LlamaChatTemplate::new("chatml"))
        .map_err(|e| ModelError::Generate(format!("no usable chat template: {e}")))
}

fn render_prompt(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    messages: &[ChatMessage],
) -> Result<String, ModelError> {
    let chat = messages
        .iter()
        .map(|m| {
            // NUL bytes cannot cross into C; they carry no meaning in a prompt.
            LlamaChatMessage::new(m.role.as_str().to_owned(), m.content.replace('\0', ""))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ModelError::Generate(e.to_string()))?;
    model
        .apply_chat_template(template, &chat, true)
        .map_err(|e| ModelError::Generate(format!("the chat template failed: {e}")))
}

fn tokenize_prompt(model: &LlamaModel, prompt: &str) -> Vec<LlamaToken> {
    model.vocab().tokenize(prompt.as_bytes(), true, true)
}

/// The KV cache a context of `n_ctx` positions holds: f16 keys and values of every
/// layer, narrowed by grouped-query attention (fewer key/value heads than heads).
fn kv_cache_bytes(model: &LlamaModel, n_ctx: usize) -> u64 {
    let (layers, embd) = (u64::from(model.n_layer()), model.n_embd().max(0) as u64);
    let (heads, kv_heads) = (
        u64::from(model.n_head().max(1)),
        u64::from(model.n_head_kv()),
    );
    2 * layers * n_ctx as u64 * (embd * kv_heads / heads) * 2
}

impl Generator for LlamaGenerator {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn health(&self) -> Health {
        match &self.worker {
            Some(w) if !w.is_finished() => Health::Ready,
            _ => Health::Down("the generation worker stopped".into()),
        }
    }

    fn count_tokens(&self, text: &str) -> Result<TokenCount, ModelError> {
        Ok(TokenCount::Exact(
            self.model
                .vocab()
                .tokenize(text.as_bytes(), false, false)
                .len(),
        ))
    }

    fn count_prompt_tokens(&self, messages: &[ChatMessage]) -> Result<TokenCount, ModelError> {
        let prompt = self.render(messages)?;
        Ok(TokenCount::Exact(
            tokenize_prompt(&self.model, &prompt).len(),
        ))
    }

    fn context_length(&self) -> usize {
        self.n_ctx
    }

    fn prompt_tokens_within(&self, within: Duration) -> Option<usize> {
        self.timings.tokens_within(within.as_secs_f64())
    }

    fn generate(&self, request: GenerateRequest) -> Result<TokenStream, ModelError> {
        let jobs = self.jobs.as_ref().ok_or(ModelError::Unloaded)?;
        let (tx, rx) = unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        let job = Job {
            request,
            events: tx,
            cancel: cancel.clone(),
        };
        match jobs.try_send(job) {
            Ok(()) => Ok(TokenStream::new(rx, cancel)),
            Err(TrySendError::Full(_)) => Err(ModelError::Busy { queued: self.queue }),
            Err(TrySendError::Disconnected(_)) => Err(ModelError::WorkerGone),
        }
    }
}

impl Drop for LlamaGenerator {
    /// Unloading: the running request ends with [`ModelError::Unloaded`], queued ones are
    /// dropped (their streams end), and the context and weights are freed before `drop`
    /// returns, so memory is back when the caller goes on.
    fn drop(&mut self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.jobs.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn worker(
    backend: &'static LlamaBackend,
    model: &LlamaModel,
    path: &Path,
    n_ctx: usize,
    template: &LlamaChatTemplate,
    opts: &GeneratorOptions,
    shutdown: &AtomicBool,
    timings: &PromptTimings,
    ready: Sender<Result<(), ModelError>>,
    jobs: Receiver<Job>,
) {
    let batch_tokens = opts.batch_tokens.clamp(32, n_ctx);
    let params = LlamaContextParams::default()
        .with_n_ctx(NonZeroU32::new(n_ctx as u32))
        .with_n_batch(batch_tokens as u32)
        .with_n_ubatch(batch_tokens as u32)
        .with_n_seq_max(1)
        .with_n_threads(opts.threads as i32)
        .with_n_threads_batch(opts.threads as i32);
    let mut ctx = match model.new_context(backend, params) {
        Ok(c) => c,
        Err(e) => {
            let _ = ready.send(Err(ModelError::Load {
                path: PathBuf::from(path),
                detail: format!("cannot create a context of {n_ctx} tokens: {e}"),
            }));
            return;
        }
    };
    let mut batch = LlamaBatch::new(batch_tokens, 1);
    if timings.tokens_within(1.0).is_none()
        && let Some((tokens, secs)) = calibrate(model, &mut ctx, &mut batch, batch_tokens)
    {
        timings.record(tokens, secs);
    }
    if ready.send(Ok(())).is_err() {
        return;
    }
    for job in jobs {
        if shutdown.load(Ordering::SeqCst) {
            let _ = job.events.send(StreamEvent::Error(ModelError::Unloaded));
            continue;
        }
        if job.cancel.load(Ordering::SeqCst) {
            continue;
        }
        let outcome = run_job(
            model,
            template,
            &mut ctx,
            &mut batch,
            batch_tokens,
            n_ctx,
            shutdown,
            timings,
            &job,
        );
        let ev = match outcome {
            Ok(Some((finish, usage))) => StreamEvent::Done { finish, usage },
            Ok(None) => continue, // cancelled: nobody is listening
            Err(e) => StreamEvent::Error(e),
        };
        let _ = job.events.send(ev);
    }
}

/// How long reading one piece of a prompt may take before a cancel is looked at.
const STOP_CHECK: std::time::Duration = std::time::Duration::from_millis(250);

/// Prompts shorter than this say little about prompt speed (fixed costs dominate).
const SPEED_SAMPLE_TOKENS: usize = 64;

/// Reads a short text once to measure prompt speed before any request comes (a few
/// hundred milliseconds on a laptop CPU), so the first answer's context can be sized:
/// (tokens, seconds). Only for a model never measured here before.
fn calibrate(
    model: &LlamaModel,
    ctx: &mut LlamaContext,
    batch: &mut LlamaBatch,
    chunk: usize,
) -> Option<(usize, f64)> {
    let text =
        "fn main() { let answer = search(\"where is the config read\"); println!(\"{answer}\"); } "
            .repeat(8);
    let tokens = tokenize_prompt(model, &text);
    let n = tokens.len().min(SPEED_SAMPLE_TOKENS).min(chunk);
    batch.clear();
    for (pos, &t) in tokens.iter().take(n).enumerate() {
        batch.add(t, pos as i32, &[0], pos + 1 == n).ok()?;
    }
    let t0 = std::time::Instant::now();
    let read = ctx.decode(batch);
    let secs = t0.elapsed().as_secs_f64();
    ctx.clear_kv_cache();
    read.ok()?;
    tracing::debug!("prompt speed: {n} tokens in {:.0} ms", secs * 1000.0);
    Some((n, secs))
}

/// Runs one request. `Ok(None)` when it was cancelled.
#[allow(clippy::too_many_arguments)]
fn run_job(
    model: &LlamaModel,
    template: &LlamaChatTemplate,
    ctx: &mut LlamaContext,
    batch: &mut LlamaBatch,
    chunk: usize,
    n_ctx: usize,
    shutdown: &AtomicBool,
    timings: &PromptTimings,
    job: &Job,
) -> Result<Option<(FinishReason, Usage)>, ModelError> {
    let stop = || job.cancel.load(Ordering::SeqCst) || shutdown.load(Ordering::SeqCst);
    let unloaded = || shutdown.load(Ordering::SeqCst);
    let prompt = render_prompt(model, template, &job.request.messages)?;
    let tokens = tokenize_prompt(model, &prompt);
    if tokens.is_empty() {
        return Err(ModelError::Generate("the prompt is empty".into()));
    }
    if tokens.len() >= n_ctx {
        return Err(ModelError::ContextOverflow {
            needed: tokens.len() + 1,
            available: n_ctx,
        });
    }
    let sampling = &job.request.sampling;
    let max_new = sampling.max_tokens.min(n_ctx - tokens.len());
    let mut sampler = build_sampler(model, &job.request)?;

    ctx.clear_kv_cache();
    let last = tokens.len() - 1;
    // The prompt is read in pieces sized to take about STOP_CHECK each, measured as it
    // goes, so a cancel or a SIGTERM is honoured within that (a whole 512-token batch
    // takes seconds on a laptop CPU) while batches stay large on fast machines.
    let mut piece_len = chunk.min(32);
    let mut start = 0;
    let reading = std::time::Instant::now();
    while start < tokens.len() {
        if stop() {
            return if unloaded() {
                Err(ModelError::Unloaded)
            } else {
                Ok(None)
            };
        }
        let end = (start + piece_len).min(tokens.len());
        batch.clear();
        for (pos, &t) in tokens.iter().enumerate().take(end).skip(start) {
            batch
                .add(t, pos as i32, &[0], pos == last)
                .map_err(|e| ModelError::Generate(e.to_string()))?;
        }
        let t0 = std::time::Instant::now();
        ctx.decode(batch)
            .map_err(|e| ModelError::Generate(format!("prompt decode failed: {e}")))?;
        let per_token = t0.elapsed().as_secs_f64() / (end - start) as f64;
        tracing::debug!(
            "prompt tokens {start}..{end} of {} read in {:.0} ms",
            tokens.len(),
            t0.elapsed().as_secs_f64() * 1000.0
        );
        piece_len = ((STOP_CHECK.as_secs_f64() / per_token.max(1e-6)) as usize).clamp(8, chunk);
        start = end;
        let _ = job.events.send(StreamEvent::Reading {
            read: end,
            total: tokens.len(),
        });
    }
    if tokens.len() >= SPEED_SAMPLE_TOKENS {
        timings.record(tokens.len(), reading.elapsed().as_secs_f64());
    }

    let vocab = model.vocab();
    let mut pending: Vec<u8> = Vec::new();
    let mut produced = 0;
    let mut pos = tokens.len();
    let mut finish = FinishReason::Length;
    while produced < max_new {
        if stop() {
            return if unloaded() {
                Err(ModelError::Unloaded)
            } else {
                Ok(None)
            };
        }
        let token = sampler.sample(ctx, batch.n_tokens() - 1);
        if vocab.is_eog(token) {
            finish = FinishReason::Stop;
            break;
        }
        produced += 1;
        vocab.token_to_piece_into(token, &mut pending, false, None);
        let text = drain_utf8(&mut pending);
        if !text.is_empty() && job.events.send(StreamEvent::Text(text)).is_err() {
            return Ok(None);
        }
        if produced == max_new {
            break;
        }
        batch.clear();
        batch
            .add(token, pos as i32, &[0], true)
            .map_err(|e| ModelError::Generate(e.to_string()))?;
        pos += 1;
        ctx.decode(batch)
            .map_err(|e| ModelError::Generate(format!("decode failed: {e}")))?;
    }
    if !pending.is_empty() {
        let _ = job.events.send(StreamEvent::Text(
            String::from_utf8_lossy(&pending).into_owned(),
        ));
    }
    Ok(Some((
        finish,
        Usage {
            prompt_tokens: tokens.len(),
            completion_tokens: produced,
        },
    )))
}

fn build_sampler(
    model: &LlamaModel,
    request: &GenerateRequest,
) -> Result<LlamaSampler, ModelError> {
    let s = &request.sampling;
    let mut chain = Vec::new();
    if let Some(c) = &request.constraint {
        chain.push(LlamaSampler::grammar(model, &c.gbnf, "root").map_err(|e| {
            ModelError::Generate(format!("the {} grammar is invalid: {e}", c.name))
        })?);
    }
    // Small models on CPU fall into loops (one sentence nine times, a path repeated to
    // the token limit). DRY penalizes a token that would extend a sequence already seen
    // (four tokens are free, so identifiers and paths may recur), and a mild penalty
    // covers recent tokens. Not under a grammar, whose output repeats keys by design.
    if request.constraint.is_none() {
        chain.push(LlamaSampler::penalties(model.n_vocab(), 256, 1.1, 0.0, 0.0));
        chain.push(LlamaSampler::dry(
            model,
            0.8,
            1.75,
            4,
            1024,
            ["\n", ":", "\"", "*"],
        ));
    }
    if s.temperature <= 0.0 {
        chain.push(LlamaSampler::greedy());
    } else {
        chain.push(LlamaSampler::top_p(s.top_p.clamp(0.01, 1.0), 1));
        chain.push(LlamaSampler::temp(s.temperature));
        chain.push(LlamaSampler::dist(s.seed));
    }
    Ok(LlamaSampler::chain_simple(chain))
}

/// Takes the longest prefix of `pending` that is whole UTF-8 and leaves a partial
/// character for the next token. Invalid bytes become U+FFFD.
fn drain_utf8(pending: &mut Vec<u8>) -> String {
    let mut out = String::new();
    loop {
        match std::str::from_utf8(pending) {
            Ok(s) => {
                out.push_str(s);
                pending.clear();
                return out;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(std::str::from_utf8(&pending[..valid]).unwrap_or_default());
                match e.error_len() {
                    None => {
                        pending.drain(..valid);
                        return out;
                    }
                    Some(bad) => {
                        out.push('\u{FFFD}');
                        pending.drain(..valid + bad);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::drain_utf8;

    #[test]
    fn partial_characters_wait_for_the_next_token() {
        let snowman = "☃".as_bytes();
        let mut p = vec![b'a', snowman[0], snowman[1]];
        assert_eq!(drain_utf8(&mut p), "a");
        p.push(snowman[2]);
        assert_eq!(drain_utf8(&mut p), "☃");
        assert!(p.is_empty());
    }

    #[test]
    fn invalid_bytes_become_replacement_characters() {
        let mut p = vec![b'x', 0xff, b'y'];
        assert_eq!(drain_utf8(&mut p), "x\u{FFFD}y");
    }
}
