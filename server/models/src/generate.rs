//! The generation side of the model layer: chat messages in, a cancellable token stream out.
//!
//! Every backend (llama.cpp in-process, OpenAI-compatible HTTP, MLX) implements
//! [`Generator`]. Nothing above this trait knows which one it talks to.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::{ModelError, ModelInfo};

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn system(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// Sampling settings. `temperature <= 0` means greedy.
#[derive(Debug, Clone, PartialEq)]
pub struct Sampling {
    pub temperature: f32,
    pub top_p: f32,
    pub max_tokens: usize,
    pub seed: u32,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            temperature: 0.2,
            top_p: 0.95,
            max_tokens: 512,
            seed: 42,
        }
    }
}

/// Output constrained to a format. Backends use whichever form they support: llama.cpp
/// samples through the GBNF grammar, OpenAI-compatible servers get the JSON schema.
#[derive(Debug, Clone)]
pub struct Constraint {
    pub gbnf: String,
    pub json_schema: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub messages: Vec<ChatMessage>,
    pub sampling: Sampling,
    pub constraint: Option<Constraint>,
}

impl GenerateRequest {
    pub fn new(messages: Vec<ChatMessage>) -> Self {
        GenerateRequest {
            messages,
            sampling: Sampling::default(),
            constraint: None,
        }
    }
    pub fn with_sampling(mut self, sampling: Sampling) -> Self {
        self.sampling = sampling;
        self
    }
    pub fn with_constraint(mut self, constraint: Constraint) -> Self {
        self.constraint = Some(constraint);
        self
    }
}

/// Why a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model emitted its end-of-generation token.
    Stop,
    /// `max_tokens` was reached.
    Length,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    pub prompt_tokens: usize,
    pub completion_tokens: usize,
}

/// What a stream yields.
#[derive(Debug)]
pub enum StreamEvent {
    /// The prompt is being read: `read` of its `total` tokens so far (sent by backends
    /// that read it here, so a person sees more than a pause before the first token).
    Reading {
        read: usize,
        total: usize,
    },
    /// A piece of text (whole UTF-8 characters).
    Text(String),
    Done {
        finish: FinishReason,
        usage: Usage,
    },
    Error(ModelError),
}

/// A running generation. Dropping it cancels the generation: the backend notices before
/// its next decode step.
pub struct TokenStream {
    events: Receiver<StreamEvent>,
    cancel: Arc<AtomicBool>,
    finished: bool,
}

impl TokenStream {
    pub fn new(events: Receiver<StreamEvent>, cancel: Arc<AtomicBool>) -> Self {
        TokenStream {
            events,
            cancel,
            finished: false,
        }
    }

    /// A flag to cancel from another thread (the same as dropping the stream).
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }

    /// The next event, waiting at most `timeout`; `Ok(None)` at the end of the stream.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<StreamEvent>, ModelError> {
        if self.finished {
            return Ok(None);
        }
        match self.events.recv_timeout(timeout) {
            Ok(ev) => {
                if matches!(ev, StreamEvent::Done { .. } | StreamEvent::Error(_)) {
                    self.finished = true;
                }
                Ok(Some(ev))
            }
            Err(RecvTimeoutError::Timeout) => Err(ModelError::Timeout(timeout)),
            Err(RecvTimeoutError::Disconnected) => {
                self.finished = true;
                Ok(None)
            }
        }
    }

    /// Reads the whole stream, calling `on_text` for each piece.
    pub fn collect_with(mut self, mut on_text: impl FnMut(&str)) -> Result<Completion, ModelError> {
        let started = Instant::now();
        let mut text = String::new();
        let mut first_token = None;
        for ev in self.by_ref() {
            match ev {
                StreamEvent::Text(t) => {
                    first_token.get_or_insert_with(|| started.elapsed());
                    on_text(&t);
                    text.push_str(&t);
                }
                StreamEvent::Done { finish, usage } => {
                    return Ok(Completion {
                        text,
                        finish,
                        usage,
                        first_token,
                    });
                }
                StreamEvent::Error(e) => return Err(e),
                StreamEvent::Reading { .. } => {}
            }
        }
        Err(ModelError::WorkerGone)
    }

    pub fn collect(self) -> Result<Completion, ModelError> {
        self.collect_with(|_| {})
    }
}

impl Iterator for TokenStream {
    type Item = StreamEvent;
    fn next(&mut self) -> Option<StreamEvent> {
        if self.finished {
            return None;
        }
        let ev = self.events.recv().ok();
        if matches!(
            ev,
            None | Some(StreamEvent::Done { .. } | StreamEvent::Error(_))
        ) {
            self.finished = true;
        }
        ev
    }
}

impl Drop for TokenStream {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::SeqCst);
    }
}

/// A whole answer.
#[derive(Debug, Clone)]
pub struct Completion {
    pub text: String,
    pub finish: FinishReason,
    pub usage: Usage,
    /// Time from the start of reading to the first piece of text.
    pub first_token: Option<Duration>,
}

/// Whether a backend can serve now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ready,
    /// Serving, but something is off (for example a circuit breaker half-open).
    Degraded(String),
    Down(String),
}

impl Health {
    pub fn is_usable(&self) -> bool {
        !matches!(self, Health::Down(_))
    }
}

/// How exactly a backend counted tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenCount {
    /// With the model's own tokenizer.
    Exact(usize),
    /// The backend has no tokenizer to ask; a conservative over-estimate.
    Estimated(usize),
}

impl TokenCount {
    pub fn get(self) -> usize {
        match self {
            TokenCount::Exact(n) | TokenCount::Estimated(n) => n,
        }
    }
    pub fn is_exact(self) -> bool {
        matches!(self, TokenCount::Exact(_))
    }
}

/// A conservative estimate for backends without a tokenizer: about 3 bytes per token for
/// code, rounded up, never below the number of whitespace-separated words.
pub fn estimate_tokens(text: &str) -> usize {
    let by_bytes = text.len().div_ceil(3);
    let by_words = text.split_whitespace().count();
    by_bytes.max(by_words)
}

/// [`estimate_tokens`] for a whole chat: chat templates add a few tokens per message.
pub fn estimate_prompt_tokens(messages: &[ChatMessage]) -> usize {
    messages
        .iter()
        .map(|m| estimate_tokens(&m.content) + 8)
        .sum::<usize>()
        + 8
}

/// A loaded text-generation model.
pub trait Generator: Send + Sync {
    fn info(&self) -> &ModelInfo;
    fn health(&self) -> Health;
    /// Tokens of `text` under the model's tokenizer, without special tokens.
    fn count_tokens(&self, text: &str) -> Result<TokenCount, ModelError>;
    /// Tokens of the whole prompt the model would see for `messages`, chat template
    /// included.
    fn count_prompt_tokens(&self, messages: &[ChatMessage]) -> Result<TokenCount, ModelError>;
    /// The model's context window in tokens.
    fn context_length(&self) -> usize;
    /// How many prompt tokens this model reads within `within` here, as measured (at
    /// load, then on every prompt); `None` when unknown (a remote server). Sizes the
    /// default context so that an answer starts in reasonable time.
    fn prompt_tokens_within(&self, within: Duration) -> Option<usize> {
        let _ = within;
        None
    }
    /// Starts generating. Fails fast with [`ModelError::Busy`] when the queue is full.
    fn generate(&self, request: GenerateRequest) -> Result<TokenStream, ModelError>;
}
