//! Chat completions from an OpenAI-compatible server, streamed over SSE.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;

use crossbeam_channel::{Sender, unbounded};
use serde_json::{Value, json};

use super::sse::{SseEvent, SseReader};
use super::{BreakerState, HttpClient, HttpConfig};
use crate::generate::{
    ChatMessage, FinishReason, GenerateRequest, Generator, Health, StreamEvent, TokenCount,
    TokenStream, Usage, estimate_prompt_tokens, estimate_tokens,
};
use crate::manager::BackendKind;
use crate::{ModelError, ModelInfo};

/// A model behind `/v1/chat/completions`.
pub struct HttpGenerator {
    client: Arc<HttpClient>,
    info: ModelInfo,
    max_in_flight: usize,
    in_flight: Arc<AtomicUsize>,
    /// Whether the server has llama-server's `/apply-template` and `/tokenize`.
    exact_tokens: OnceLock<bool>,
    /// The server root (without `/v1`), where llama-server keeps its non-OpenAI
    /// endpoints; no retries, since a missing endpoint just means "estimate".
    root: Option<HttpClient>,
    context: OnceLock<usize>,
    default_context: usize,
}

impl HttpGenerator {
    /// Makes the client; no request is sent until [`HttpGenerator::probe`] or a call.
    pub fn new(config: HttpConfig) -> Self {
        let info = ModelInfo {
            name: config.model.clone(),
            backend: BackendKind::OpenAi,
            location: super::redact_url(&config.base_url),
            architecture: "remote".into(),
            parameters: None,
            quantization: None,
            context_length: None,
            gpu_layers: 0,
            weights_bytes: None,
            kv_cache_bytes: None,
        };
        let client = HttpClient::new(config);
        // llama-server's own routes (tokenize, apply-template) beside `/v1`, on the
        // same servers, breakers and health checks.
        let root = client
            .config()
            .base_url
            .ends_with("/v1")
            .then(|| client.root());
        HttpGenerator {
            client: Arc::new(client),
            info,
            max_in_flight: 16,
            in_flight: Arc::new(AtomicUsize::new(0)),
            exact_tokens: OnceLock::new(),
            root,
            context: OnceLock::new(),
            default_context: 8192,
        }
    }

    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    pub fn with_default_context(mut self, n: usize) -> Self {
        self.default_context = n.max(256);
        self
    }

    pub fn client(&self) -> &HttpClient {
        &self.client
    }

    /// Asks the server for its model list; an error means it cannot serve now.
    pub fn probe(&self) -> Result<(), ModelError> {
        let ok = self.client.get("models")?;
        let models = self.client.read_json(ok)?;
        let listed = models
            .get("data")
            .and_then(Value::as_array)
            .ok_or_else(|| self.client.bad("the model list has no `data` array"))?;
        // llama-server reports the trained context in `meta`.
        if let Some(n) = listed
            .iter()
            .find_map(|m| m.pointer("/meta/n_ctx_train").and_then(Value::as_u64))
        {
            let _ = self.context.set(n as usize);
        }
        Ok(())
    }

    /// Exact counts through llama-server's `/tokenize` (and `/apply-template`).
    fn exact_count(&self, messages: Option<&[ChatMessage]>, text: &str) -> Option<usize> {
        if self.exact_tokens.get() == Some(&false) {
            return None;
        }
        let result = (|| {
            let root = self.root.as_ref()?;
            let content = match messages {
                Some(m) => {
                    let ok = root
                        .post("apply-template", &json!({ "messages": messages_json(m) }))
                        .ok()?;
                    root.read_json(ok).ok()?.get("prompt")?.as_str()?.to_owned()
                }
                None => text.to_owned(),
            };
            let special = messages.is_some();
            let ok = root
                .post(
                    "tokenize",
                    &json!({ "content": content, "add_special": special, "parse_special": special }),
                )
                .ok()?;
            Some(root.read_json(ok).ok()?.get("tokens")?.as_array()?.len())
        })();
        let _ = self.exact_tokens.set(result.is_some());
        result
    }
}

fn messages_json(messages: &[ChatMessage]) -> Vec<Value> {
    messages
        .iter()
        .map(|m| json!({ "role": m.role.as_str(), "content": m.content }))
        .collect()
}

impl Generator for HttpGenerator {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn health(&self) -> Health {
        match self.client.breaker_state() {
            BreakerState::Closed => Health::Ready,
            BreakerState::HalfOpen => Health::Degraded(format!(
                "{} failed recently; the next request probes it",
                self.client.server()
            )),
            BreakerState::Open => Health::Down(format!(
                "{} is failing (circuit breaker open)",
                self.client.server()
            )),
        }
    }

    fn count_tokens(&self, text: &str) -> Result<TokenCount, ModelError> {
        Ok(match self.exact_count(None, text) {
            Some(n) => TokenCount::Exact(n),
            None => TokenCount::Estimated(estimate_tokens(text)),
        })
    }

    fn count_prompt_tokens(&self, messages: &[ChatMessage]) -> Result<TokenCount, ModelError> {
        Ok(match self.exact_count(Some(messages), "") {
            Some(n) => TokenCount::Exact(n),
            None => TokenCount::Estimated(estimate_prompt_tokens(messages)),
        })
    }

    fn context_length(&self) -> usize {
        *self.context.get().unwrap_or(&self.default_context)
    }

    fn generate(&self, request: GenerateRequest) -> Result<TokenStream, ModelError> {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= self.max_in_flight {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            return Err(ModelError::Busy {
                queued: self.max_in_flight,
            });
        }
        let (tx, rx) = unbounded();
        let cancel = Arc::new(AtomicBool::new(false));
        let client = self.client.clone();
        let in_flight = self.in_flight.clone();
        let flag = cancel.clone();
        let model = self.info.name.clone();
        thread::Builder::new()
            .name("scry-http-generate".into())
            .spawn(move || {
                if let Err(e) = stream_completion(&client, &model, &request, &tx, &flag)
                    && !flag.load(Ordering::SeqCst)
                {
                    let _ = tx.send(StreamEvent::Error(e));
                }
                in_flight.fetch_sub(1, Ordering::SeqCst);
            })
            .map_err(|e| ModelError::Generate(e.to_string()))?;
        Ok(TokenStream::new(rx, cancel))
    }
}

fn stream_completion(
    client: &HttpClient,
    model: &str,
    request: &GenerateRequest,
    tx: &Sender<StreamEvent>,
    cancel: &AtomicBool,
) -> Result<(), ModelError> {
    let s = &request.sampling;
    let mut body = json!({
        "model": model,
        "messages": messages_json(&request.messages),
        "stream": true,
        "stream_options": { "include_usage": true },
        "temperature": s.temperature.max(0.0),
        "top_p": s.top_p,
        "max_tokens": s.max_tokens,
        "seed": s.seed,
    });
    if let Some(c) = &request.constraint {
        let schema: Value = serde_json::from_str(&c.json_schema)
            .map_err(|e| ModelError::Config(format!("the {} schema is not JSON: {e}", c.name)))?;
        body["response_format"] = json!({
            "type": "json_schema",
            "json_schema": { "name": c.name, "schema": schema, "strict": true }
        });
    }
    let ok = client.post("chat/completions", &body)?;
    let mut events = SseReader::new(ok.body.into_reader());
    let mut usage = Usage::default();
    let mut finish = None;
    loop {
        if cancel.load(Ordering::SeqCst) {
            // Dropping the body closes the connection; the server stops generating.
            return Ok(());
        }
        let event = events.next_event().map_err(|e| {
            let text = e.to_string();
            if e.kind() == std::io::ErrorKind::TimedOut
                || text.contains("timed out")
                || text.contains("timeout")
            {
                ModelError::Timeout(client.config().read_timeout)
            } else {
                client.bad(format!("the stream broke: {e}"))
            }
        })?;
        let data = match event {
            Some(SseEvent::Data(d)) => d,
            Some(SseEvent::Done) => break,
            None if finish.is_some() => break,
            None => return Err(client.bad("the stream ended before the answer finished")),
        };
        let v: Value = serde_json::from_str(&data)
            .map_err(|_| client.bad(format!("a stream event is not JSON: {}", preview(&data))))?;
        if let Some(err) = v.get("error") {
            return Err(client.bad(format!(
                "error in the stream: {}",
                preview(&err.to_string())
            )));
        }
        if let Some(u) = v.get("usage").filter(|u| !u.is_null()) {
            usage.prompt_tokens =
                u.get("prompt_tokens").and_then(Value::as_u64).unwrap_or(0) as usize;
            usage.completion_tokens = u
                .get("completion_tokens")
                .and_then(Value::as_u64)
                .unwrap_or(0) as usize;
        }
        let Some(choice) = v.pointer("/choices/0") else {
            if v.get("usage").is_some() {
                continue;
            }
            return Err(client.bad(format!("an event without choices: {}", preview(&data))));
        };
        if let Some(text) = choice.pointer("/delta/content").and_then(Value::as_str)
            && !text.is_empty()
            && tx.send(StreamEvent::Text(text.to_owned())).is_err()
        {
            return Ok(());
        }
        if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
            finish = Some(if reason == "length" {
                FinishReason::Length
            } else {
                FinishReason::Stop
            });
        }
    }
    let _ = tx.send(StreamEvent::Done {
        finish: finish.unwrap_or(FinishReason::Stop),
        usage,
    });
    Ok(())
}

fn preview(s: &str) -> String {
    let mut p: String = s.chars().take(120).collect();
    if p.len() < s.len() {
        p.push('…');
    }
    p
}
