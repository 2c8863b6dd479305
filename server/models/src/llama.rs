//! llama.cpp in-process: a worker thread owns the model and one embedding context.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Instant, SystemTime};

use crossbeam_channel::{Sender, bounded, unbounded};
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::token::LlamaToken;
use parking_lot::Mutex;

use crate::cpu_share::{ThreadGovernor, online_cpus, runnable_others};
use crate::gguf::{fingerprint, read_gguf_header};
use crate::{Embedder, EmbedderInfo, Embeddings, ModelError};

/// How the embedder runs.
#[derive(Debug, Clone)]
pub struct EmbedderOptions {
    /// CPU threads for llama.cpp: the most it uses.
    pub threads: usize,
    /// Decode with fewer threads while other work keeps cores busy (see `cpu_share`);
    /// off, always `threads`.
    pub adapt_threads: bool,
    /// Tokens per decode; several chunks share one batch.
    pub batch_tokens: usize,
    /// Sequences per decode.
    pub max_sequences: usize,
}

impl Default for EmbedderOptions {
    fn default() -> Self {
        EmbedderOptions {
            threads: thread::available_parallelism()
                .map_or(2, |n| n.get())
                .min(8),
            adapt_threads: true,
            batch_tokens: 512,
            max_sequences: 32,
        }
    }
}

impl EmbedderOptions {
    pub fn with_threads(mut self, n: usize) -> Self {
        self.threads = n.max(1);
        self
    }
    pub fn with_adapt_threads(mut self, on: bool) -> Self {
        self.adapt_threads = on;
        self
    }
    pub fn with_batch_tokens(mut self, n: usize) -> Self {
        self.batch_tokens = n.max(64);
        self
    }
}

enum Job {
    Embed(Vec<String>, Sender<Result<Embeddings, ModelError>>),
    Count(String, Sender<usize>),
    /// Pooled, not normalised: what distillation averages and reduces.
    Raw(Vec<Vec<i32>>, Sender<Result<Vec<Vec<f32>>, ModelError>>),
}

pub struct LlamaEmbedder {
    info: EmbedderInfo,
    jobs: Sender<Job>,
    threads_now: Arc<AtomicUsize>,
}

/// The worker's name; llama.cpp's OpenMP threads inherit it, which is how `cpu_share`
/// tells them from other work.
const WORKER_NAME: &str = "scry-embedder";

pub(crate) fn backend() -> Result<&'static LlamaBackend, ModelError> {
    static BACKEND: OnceLock<Result<LlamaBackend, String>> = OnceLock::new();
    BACKEND
        .get_or_init(|| {
            llama_cpp_2::send_logs_to_tracing(llama_cpp_2::LogOptions::default());
            LlamaBackend::init().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| ModelError::Load {
            path: PathBuf::new(),
            detail: e.clone(),
        })
}

/// A GGUF model's identity: its file name and a fingerprint of its bytes. Remembered
/// for the process while the file's size and modification time stay the same: a command
/// asks for it more than once (whether a static table must be distilled, then loading).
pub(crate) fn model_id(path: &Path) -> Result<String, ModelError> {
    type Seen = HashMap<PathBuf, (u64, Option<SystemTime>, String)>;
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    let stamp = std::fs::metadata(path)
        .ok()
        .map(|m| (m.len(), m.modified().ok()));
    let seen = SEEN.get_or_init(Mutex::default);
    if let Some((len, mtime)) = stamp
        && let Some((l, m, id)) = seen.lock().get(path)
        && (*l, *m) == (len, mtime)
    {
        return Ok(id.clone());
    }
    let header = read_gguf_header(path)?;
    let hash = fingerprint(path, header.file_size).map_err(|e| ModelError::BadFile {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let id = format!("{name}#{hash}");
    if let Some((len, mtime)) = stamp {
        seen.lock()
            .insert(path.to_owned(), (len, mtime, id.clone()));
    }
    Ok(id)
}

/// The model's vocabulary alone (`vocab_only`): no weights are read.
pub(crate) fn load_vocab(model: &Path) -> Result<LlamaModel, ModelError> {
    LlamaModel::load_from_file(
        backend()?,
        model,
        &LlamaModelParams::default().with_vocab_only(true),
    )
    .map_err(|e| ModelError::Load {
        path: model.to_owned(),
        detail: e.to_string(),
    })
}

/// The longest input an embedder takes: the trained context, at most one batch (an
/// encoder reads each sequence in one batch).
pub(crate) fn input_limit(trained: usize, batch_tokens: usize) -> usize {
    trained.min(batch_tokens).max(8)
}

impl LlamaEmbedder {
    /// Loads a GGUF embedding model. Fails with a clear error for a missing, truncated
    /// or non-embedding file; never panics.
    pub fn load(path: &Path, opts: EmbedderOptions) -> Result<LlamaEmbedder, ModelError> {
        crate::memory::tune_allocator();
        let id = model_id(path)?;
        let backend = backend()?;
        let (ready_tx, ready_rx) = bounded(1);
        let (jobs_tx, jobs_rx) = unbounded::<Job>();
        let path_buf = path.to_owned();
        let threads_now = Arc::new(AtomicUsize::new(opts.threads));
        let shared = threads_now.clone();
        thread::Builder::new()
            .name(WORKER_NAME.into())
            .spawn(move || worker(backend, path_buf, opts, ready_tx, jobs_rx, shared))
            .map_err(|e| ModelError::Load {
                path: path.to_owned(),
                detail: e.to_string(),
            })?;
        let (architecture, dims, max_tokens, weights_bytes) =
            ready_rx.recv().map_err(|_| ModelError::WorkerGone)??;
        Ok(LlamaEmbedder {
            info: EmbedderInfo {
                id,
                path: path.to_owned(),
                architecture,
                dims,
                max_tokens,
                weights_bytes: Some(weights_bytes),
            },
            jobs: jobs_tx,
            threads_now,
        })
    }

    /// The threads decodes use now: the configured count, or fewer while other work
    /// keeps cores busy.
    pub fn threads_now(&self) -> usize {
        self.threads_now.load(Ordering::Relaxed)
    }

    /// The model's pooled output for each sequence of token ids, as llama.cpp gives it
    /// (mean-pooled, not normalised). Each sequence must fit in one batch.
    pub(crate) fn pooled_token_sequences(
        &self,
        seqs: Vec<Vec<i32>>,
    ) -> Result<Vec<Vec<f32>>, ModelError> {
        let (tx, rx) = bounded(1);
        self.jobs
            .send(Job::Raw(seqs, tx))
            .map_err(|_| ModelError::WorkerGone)?;
        rx.recv().map_err(|_| ModelError::WorkerGone)?
    }
}

impl Embedder for LlamaEmbedder {
    fn info(&self) -> &EmbedderInfo {
        &self.info
    }

    fn embed(&self, texts: &[String]) -> Result<Embeddings, ModelError> {
        if texts.is_empty() {
            return Ok(Embeddings::default());
        }
        let (tx, rx) = bounded(1);
        self.jobs
            .send(Job::Embed(texts.to_vec(), tx))
            .map_err(|_| ModelError::WorkerGone)?;
        rx.recv().map_err(|_| ModelError::WorkerGone)?
    }

    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        let (tx, rx) = bounded(1);
        self.jobs
            .send(Job::Count(text.to_owned(), tx))
            .map_err(|_| ModelError::WorkerGone)?;
        rx.recv().map_err(|_| ModelError::WorkerGone)
    }
}

/// What the worker tells the loader: architecture, dimensions, input limit, weight bytes.
type Ready = Result<(String, usize, usize, u64), ModelError>;

fn worker(
    backend: &'static LlamaBackend,
    path: PathBuf,
    opts: EmbedderOptions,
    ready: Sender<Ready>,
    jobs: crossbeam_channel::Receiver<Job>,
    threads_now: Arc<AtomicUsize>,
) {
    let load_err = |detail: String| ModelError::Load {
        path: path.clone(),
        detail,
    };
    let model = match LlamaModel::load_from_file(backend, &path, &LlamaModelParams::default()) {
        Ok(m) => m,
        Err(e) => {
            let _ = ready.send(Err(load_err(e.to_string())));
            return;
        }
    };
    let dims = usize::try_from(model.n_embd_out()).unwrap_or(0);
    let architecture = model
        .meta_val_str("general.architecture")
        .unwrap_or_else(|_| "unknown".into());
    // Encoders (BERT) need each sequence in one ubatch; so the batch is also the ubatch.
    let max_tokens = input_limit(model.n_ctx_train() as usize, opts.batch_tokens);
    let batch_tokens = opts.batch_tokens.max(max_tokens);
    let new_context = |threads: usize| {
        let params = LlamaContextParams::default()
            .with_embeddings(true)
            .with_n_ctx(NonZeroU32::new(batch_tokens as u32))
            .with_n_batch(batch_tokens as u32)
            .with_n_ubatch(batch_tokens as u32)
            .with_n_seq_max(opts.max_sequences as u32)
            .with_n_threads(threads as i32)
            .with_n_threads_batch(threads as i32);
        model.new_context(backend, params)
    };
    let mut ctx = match new_context(opts.threads) {
        Ok(c) => Some(c),
        Err(e) => {
            let _ = ready.send(Err(load_err(format!(
                "cannot create an embedding context: {e}"
            ))));
            return;
        }
    };
    if dims == 0 {
        let _ = ready.send(Err(ModelError::NotEmbedding {
            path: path.clone(),
            detail: "it reports no embedding dimensions".into(),
        }));
        return;
    }
    // A model that cannot produce a pooled vector (a chat model) is refused up front.
    let vocab = model.vocab();
    let probe = vocab.tokenize(b"probe", true, false);
    let mut batch = LlamaBatch::new(batch_tokens, opts.max_sequences as i32);
    let probe_ok = ctx.as_mut().is_some_and(|ctx| {
        batch.add_sequence(&probe, 0, false).is_ok()
            && decode(ctx, &mut batch).is_ok()
            && ctx.embeddings_seq_ith(0).is_ok()
    });
    if !probe_ok {
        let _ = ready.send(Err(ModelError::NotEmbedding {
            path: path.clone(),
            detail: "llama.cpp gives no pooled embedding for it".into(),
        }));
        return;
    }
    if ready
        .send(Ok((architecture, dims, max_tokens, model.size())))
        .is_err()
    {
        return;
    }

    // One thread has nothing to give up: no readings of the load at all.
    let mut governor = (opts.adapt_threads && opts.threads > 1)
        .then(|| ThreadGovernor::new(opts.threads, online_cpus(), Instant::now()));
    for job in jobs {
        if let Some(g) = governor.as_mut()
            && let Some(threads) = g.decide(Instant::now())
        {
            let now = switch_threads(&mut ctx, &new_context, g.current(), threads, g.others());
            g.switched(now, Instant::now());
            threads_now.store(now, Ordering::Relaxed);
        }
        let Some(ctx) = ctx.as_mut() else {
            reply_gone(job);
            continue;
        };
        match job {
            Job::Count(text, reply) => {
                let _ = reply.send(vocab.tokenize(text.as_bytes(), true, false).len());
            }
            Job::Embed(texts, reply) => {
                let seqs: Vec<Vec<LlamaToken>> = texts
                    .iter()
                    .map(|t| truncate(vocab.tokenize(t.as_bytes(), true, false), max_tokens))
                    .collect();
                let tokens = seqs.iter().map(Vec::len).sum();
                let run = pooled(
                    ctx,
                    &mut batch,
                    &seqs,
                    opts.max_sequences,
                    batch_tokens,
                    governor.as_mut(),
                )
                .and_then(|raw| raw.iter().map(|v| normalize(v)).collect())
                .map(|vectors| Embeddings { vectors, tokens });
                let _ = reply.send(run);
            }
            Job::Raw(ids, reply) => {
                let seqs: Vec<Vec<LlamaToken>> = ids
                    .into_iter()
                    .map(|s| s.into_iter().map(LlamaToken::new).collect())
                    .collect();
                let run = if seqs.iter().any(|s| s.is_empty() || s.len() > batch_tokens) {
                    Err(ModelError::Embed(format!(
                        "each sequence needs 1 to {batch_tokens} tokens"
                    )))
                } else {
                    pooled(
                        ctx,
                        &mut batch,
                        &seqs,
                        opts.max_sequences,
                        batch_tokens,
                        governor.as_mut(),
                    )
                };
                let _ = reply.send(run);
            }
        }
    }
}

/// Rebuilds the context with `threads` threads (llama.cpp fixes the count when a context
/// is made). The old one goes first, so its buffers are never held twice; if the new one
/// cannot be made, the old count is tried again, and failing that the worker answers
/// every job with an error.
fn switch_threads<'m>(
    ctx: &mut Option<LlamaContext<'m>>,
    new_context: &dyn Fn(usize) -> Result<LlamaContext<'m>, llama_cpp_2::LlamaContextLoadError>,
    before: usize,
    threads: usize,
    others: Option<f64>,
) -> usize {
    *ctx = None;
    let started = Instant::now();
    match new_context(threads) {
        Ok(c) => *ctx = Some(c),
        Err(e) => {
            tracing::warn!("cannot rebuild the embedding context with {threads} threads: {e}");
            *ctx = new_context(before).ok();
            return before;
        }
    }
    tracing::info!(
        "embedding threads {before} -> {threads}: other work keeps {:.1} CPUs busy (rebuilt in {} ms)",
        others.unwrap_or(0.0),
        started.elapsed().as_millis()
    );
    threads
}

fn reply_gone(job: Job) {
    match job {
        Job::Embed(_, reply) => drop(reply.send(Err(ModelError::WorkerGone))),
        Job::Raw(_, reply) => drop(reply.send(Err(ModelError::WorkerGone))),
        Job::Count(_, reply) => drop(reply),
    }
}

/// The pooled output of each sequence, as many sequences per decode as fit. After each
/// decode the governor, if any, reads how busy the machine is.
fn pooled(
    ctx: &mut LlamaContext,
    batch: &mut LlamaBatch,
    seqs: &[Vec<LlamaToken>],
    max_sequences: usize,
    batch_tokens: usize,
    mut governor: Option<&mut ThreadGovernor>,
) -> Result<Vec<Vec<f32>>, ModelError> {
    let mut out = Vec::with_capacity(seqs.len());
    let mut i = 0;
    while i < seqs.len() {
        batch.clear();
        let mut used = 0;
        let mut n = 0;
        while i + n < seqs.len() && n < max_sequences && used + seqs[i + n].len() <= batch_tokens {
            batch
                .add_sequence(&seqs[i + n], n as i32, false)
                .map_err(|e| ModelError::Embed(e.to_string()))?;
            used += seqs[i + n].len();
            n += 1;
        }
        decode(ctx, batch)?;
        if let Some(g) = governor.as_deref_mut()
            && let Some(others) = runnable_others(WORKER_NAME)
        {
            g.observe(others, Instant::now());
        }
        for s in 0..n {
            let v = ctx
                .embeddings_seq_ith(s as i32)
                .map_err(|e| ModelError::Embed(e.to_string()))?;
            out.push(v.to_vec());
        }
        i += n;
    }
    Ok(out)
}

fn decode(ctx: &mut LlamaContext, batch: &mut LlamaBatch) -> Result<(), ModelError> {
    ctx.clear_kv_cache();
    ctx.decode(batch)
        .map_err(|e| ModelError::Embed(e.to_string()))
}

/// Keeps the first `max - 1` tokens and the final one (BERT's [SEP]).
fn truncate(mut tokens: Vec<LlamaToken>, max: usize) -> Vec<LlamaToken> {
    if tokens.len() > max {
        let last = tokens[tokens.len() - 1];
        tokens.truncate(max - 1);
        tokens.push(last);
    }
    if tokens.is_empty() {
        tokens.push(LlamaToken::new(0));
    }
    tokens
}

fn normalize(v: &[f32]) -> Result<Vec<f32>, ModelError> {
    if !v.iter().all(|x| x.is_finite()) {
        return Err(ModelError::Embed(
            "the model produced a non-finite value".into(),
        ));
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        return Err(ModelError::Embed("the model produced a zero vector".into()));
    }
    Ok(v.iter().map(|x| x / norm).collect())
}
