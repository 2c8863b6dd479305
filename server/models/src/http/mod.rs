//! OpenAI-compatible servers (vLLM, Ollama, llama-server, LM Studio, …) over HTTP:
//! `/v1/chat/completions` with SSE streaming and `/v1/embeddings`.
//!
//! Every request goes through [`HttpClient`]: timeouts, retries with exponential backoff
//! and full jitter on 429, 5xx and connection errors, and a [`CircuitBreaker`]. A role
//! may name several servers of one model (`urls`): each has its own breaker, the least
//! loaded healthy one takes the next request, a failed attempt moves to another at once
//! (each move logged and counted), and a background check reads each one's `/health`.
//! API keys come only from an environment variable named in the configuration; they are
//! never logged, echoed in errors or shown by `Debug`.

mod breaker;
mod embedder;
mod generator;
mod pool;
mod sse;

pub use breaker::{BreakerState, CircuitBreaker};
pub use embedder::HttpEmbedder;
pub use generator::HttpGenerator;
pub use pool::EndpointStatus;

use std::fmt;
use std::io::Read;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use rand::Rng;

use crate::ModelError;
use pool::{Endpoint, Load, Pool};

/// Where and how to reach a server.
#[derive(Clone)]
pub struct HttpConfig {
    /// Base URL including `/v1`, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Further servers of the same model (a fleet), each a base URL like `base_url`.
    pub replicas: Vec<String>,
    /// The `model` field sent with each request.
    pub model: String,
    /// Name of the environment variable holding the API key, if the server needs one.
    pub api_key_env: Option<String>,
    pub connect_timeout: Duration,
    /// Until the response headers arrive (a hung server).
    pub response_timeout: Duration,
    /// Longest silence between two reads of a streaming body (a stalled stream).
    pub read_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Consecutive failed attempts that open the circuit breaker.
    pub breaker_threshold: u32,
    pub breaker_cool_down: Duration,
}

impl fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key's value never appears here; only the variable's name does.
        f.debug_struct("HttpConfig")
            .field("base_url", &redact_url(&self.base_url))
            .field(
                "replicas",
                &self
                    .replicas
                    .iter()
                    .map(|u| redact_url(u))
                    .collect::<Vec<_>>(),
            )
            .field("model", &self.model)
            .field("api_key_env", &self.api_key_env)
            .finish_non_exhaustive()
    }
}

impl HttpConfig {
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        HttpConfig {
            base_url: base_url.into().trim_end_matches('/').to_owned(),
            replicas: Vec::new(),
            model: model.into(),
            api_key_env: None,
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(120),
            read_timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(8),
            breaker_threshold: 5,
            breaker_cool_down: Duration::from_secs(30),
        }
    }
    /// Adds servers of the same model; requests are spread over all of them.
    pub fn with_replicas(mut self, urls: impl IntoIterator<Item = String>) -> Self {
        self.replicas
            .extend(urls.into_iter().map(|u| u.trim_end_matches('/').to_owned()));
        self
    }
    pub fn with_api_key_env(mut self, var: impl Into<String>) -> Self {
        self.api_key_env = Some(var.into());
        self
    }
    pub fn with_timeouts(mut self, connect: Duration, response: Duration, read: Duration) -> Self {
        self.connect_timeout = connect;
        self.response_timeout = response;
        self.read_timeout = read;
        self
    }
    pub fn with_retries(mut self, max_retries: u32, base: Duration, cap: Duration) -> Self {
        self.max_retries = max_retries;
        self.backoff_base = base;
        self.backoff_cap = cap;
        self
    }
    pub fn with_breaker(mut self, threshold: u32, cool_down: Duration) -> Self {
        self.breaker_threshold = threshold;
        self.breaker_cool_down = cool_down;
        self
    }
}

/// The URL without any `user:password@` part, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme && !url[scheme + 3..at].contains('/') => {
            format!("{}://{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

/// A response whose status was 2xx. Until it is dropped it counts as load on the
/// server that sent it (a stream is read long after its headers came).
pub struct Ok2xx {
    pub body: ureq::Body,
    _load: Option<Load>,
}

/// Requests with retries, backoff, a circuit breaker per server, and failover between
/// the servers of a pool.
pub struct HttpClient {
    config: HttpConfig,
    agent: ureq::Agent,
    pool: Arc<Pool>,
    server: String,
    /// Requests go to each server's root instead of its base URL (see [`HttpClient::root`]).
    at_root: bool,
}

/// How often each server of a pool is asked for `/health`.
const HEALTH_EVERY: Duration = Duration::from_secs(5);

/// Largest non-streaming response body read.
const MAX_BODY: u64 = 64 << 20;

impl HttpClient {
    pub fn new(config: HttpConfig) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(config.connect_timeout))
            .timeout_recv_response(Some(config.response_timeout))
            .timeout_per_read(Some(config.read_timeout))
            .build()
            .into();
        let endpoints: Vec<Endpoint> = std::iter::once(&config.base_url)
            .chain(&config.replicas)
            .map(|u| Endpoint::new(u, config.breaker_threshold, config.breaker_cool_down))
            .collect();
        let pool = Arc::new(Pool::new(endpoints));
        if pool.endpoints.len() > 1 {
            spawn_health_checks(Arc::downgrade(&pool), config.connect_timeout);
        }
        // The pool is named by its first server (ids of remote embedders use it).
        let server = redact_url(&config.base_url);
        HttpClient {
            config,
            agent,
            pool,
            server,
            at_root: false,
        }
    }

    /// A client for the servers' roots (beside `/v1`: llama-server's own routes) on the
    /// same pool: the same breakers, load and health checks, and no retries (those
    /// routes are extras a caller can do without).
    pub fn root(&self) -> HttpClient {
        let mut config = self.config.clone();
        config.max_retries = 0;
        HttpClient {
            config,
            agent: self.agent.clone(),
            pool: self.pool.clone(),
            server: self.server.clone(),
            at_root: true,
        }
    }

    /// Each server of the pool: breaker, health, requests in flight.
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        self.pool.status()
    }

    /// Requests that moved from a failing server to another since the start.
    pub fn failovers(&self) -> u64 {
        self.pool.failovers.load(Ordering::Relaxed)
    }

    pub fn config(&self) -> &HttpConfig {
        &self.config
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    /// The best breaker state of any server: the pool serves while one can.
    pub fn breaker_state(&self) -> BreakerState {
        self.pool.state()
    }

    fn api_key(&self) -> Result<Option<String>, ModelError> {
        let Some(var) = &self.config.api_key_env else {
            return Ok(None);
        };
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Some(v)),
            _ => Err(ModelError::Config(format!(
                "the API key variable {var} is not set"
            ))),
        }
    }

    /// POSTs JSON to `path` (relative to the base URL), retrying what is worth retrying.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> Result<Ok2xx, ModelError> {
        self.send(path, Some(body))
    }

    pub fn get(&self, path: &str) -> Result<Ok2xx, ModelError> {
        self.send(path, None)
    }

    fn send(&self, path: &str, body: Option<&serde_json::Value>) -> Result<Ok2xx, ModelError> {
        let key = self.api_key()?;
        let payload = body.map(|b| b.to_string());
        let mut attempt = 0;
        let mut avoid = None;
        loop {
            let i = self
                .pool
                .pick(avoid)
                .map_err(|retry_in| ModelError::CircuitOpen {
                    server: self.server.clone(),
                    retry_in,
                })?;
            let e = &self.pool.endpoints[i];
            let base = if self.at_root {
                e.root_url()
            } else {
                &e.base_url
            };
            let url = format!("{base}/{}", path.trim_start_matches('/'));
            let load = e.load();
            let (err, retry_after) = match self.attempt(e, &url, key.as_deref(), payload.as_deref())
            {
                Ok(mut ok) => {
                    e.breaker.record_success();
                    ok._load = Some(load);
                    return Ok(ok);
                }
                Err(Failure::Final(err)) => {
                    // The server answered; it is up. The request itself was wrong.
                    e.breaker.record_success();
                    return Err(err);
                }
                Err(Failure::Retryable(err, after)) => (err, after),
            };
            drop(load);
            e.breaker.record_failure();
            if attempt >= self.config.max_retries {
                return Err(err);
            }
            attempt += 1;
            // Another server can take it: at once, no backoff.
            let elsewhere = self
                .pool
                .endpoints
                .iter()
                .enumerate()
                .any(|(j, o)| j != i && o.breaker.state() != BreakerState::Open);
            if elsewhere {
                self.pool.failovers.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(from = %e.server, error = %err, "failing over to another server");
                avoid = Some(i);
                continue;
            }
            avoid = None;
            let delay = retry_after.unwrap_or_else(|| self.backoff(attempt - 1));
            tracing::warn!(
                server = %e.server,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "retrying"
            );
            std::thread::sleep(delay);
        }
    }

    /// Full jitter: a uniform delay in `[0, min(cap, base * 2^attempt)]`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .config
            .backoff_base
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.config.backoff_cap);
        let ms = ceiling.as_millis() as u64;
        Duration::from_millis(rand::rng().random_range(0..=ms))
    }

    fn attempt(
        &self,
        e: &Endpoint,
        url: &str,
        key: Option<&str>,
        payload: Option<&str>,
    ) -> Result<Ok2xx, Failure> {
        let response = match payload {
            Some(p) => {
                let mut req = self
                    .agent
                    .post(url)
                    .header("Content-Type", "application/json");
                if let Some(k) = key {
                    req = req.header("Authorization", format!("Bearer {k}"));
                }
                req.send(p.as_bytes())
            }
            None => {
                let mut req = self.agent.get(url);
                if let Some(k) = key {
                    req = req.header("Authorization", format!("Bearer {k}"));
                }
                req.call()
            }
        };
        let response = response.map_err(|err| self.transport_failure(e, err))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(Ok2xx {
                body: response.into_body(),
                _load: None,
            });
        }
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(60)));
        let mut detail = String::new();
        let _ = response
            .into_body()
            .into_reader()
            .take(2048)
            .read_to_string(&mut detail);
        let err = ModelError::Http {
            server: e.server.clone(),
            status,
            detail: summarize_error_body(&detail, key),
        };
        if status == 429 || status >= 500 {
            Err(Failure::Retryable(err, retry_after))
        } else {
            Err(Failure::Final(err))
        }
    }

    fn transport_failure(&self, endpoint: &Endpoint, e: ureq::Error) -> Failure {
        let detail = match &e {
            ureq::Error::Timeout(t) => format!("timed out ({t:?})"),
            other => other.to_string(),
        };
        let err = match e {
            ureq::Error::Timeout(_) => ModelError::Timeout(self.config.response_timeout),
            _ => ModelError::Unreachable {
                server: endpoint.server.clone(),
                detail,
            },
        };
        match err {
            ModelError::Unreachable { .. } | ModelError::Timeout(_) => {
                Failure::Retryable(err, None)
            }
            other => Failure::Final(other),
        }
    }

    /// Reads a whole (non-streaming) JSON body.
    pub fn read_json(&self, ok: Ok2xx) -> Result<serde_json::Value, ModelError> {
        let mut text = String::new();
        ok.body
            .into_reader()
            .take(MAX_BODY)
            .read_to_string(&mut text)
            .map_err(|e| self.bad(format!("reading the body failed: {e}")))?;
        serde_json::from_str(&text).map_err(|e| self.bad(format!("not JSON ({e})")))
    }

    pub fn bad(&self, detail: impl Into<String>) -> ModelError {
        ModelError::BadResponse {
            server: self.server.clone(),
            detail: detail.into(),
        }
    }
}

/// Asks each server of the pool for `/health` every [`HEALTH_EVERY`] until the pool is
/// dropped. A 2xx is healthy, and so is an answer saying there is no such route or no
/// access (the server is up); 5xx (llama-server says 503 while it loads) and no answer
/// are not.
fn spawn_health_checks(pool: Weak<Pool>, timeout: Duration) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(timeout.min(Duration::from_secs(2))))
        .build()
        .into();
    let spawned = std::thread::Builder::new()
        .name("scry-health".into())
        .spawn(move || {
            loop {
                let Some(pool) = pool.upgrade() else { return };
                for e in &pool.endpoints {
                    let healthy = match agent.get(&e.health_url()).call() {
                        Ok(r) => r.status().as_u16() < 500,
                        Err(_) => false,
                    };
                    e.set_healthy(healthy);
                }
                drop(pool);
                std::thread::sleep(HEALTH_EVERY);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no health checks for the server pool: {e}");
    }
}

enum Failure {
    Retryable(ModelError, Option<Duration>),
    Final(ModelError),
}

/// The server's error message, short, without anything that looks like our key.
fn summarize_error_body(body: &str, key: Option<&str>) -> String {
    let message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("error"))
                .or_else(|| v.get("message"))
                .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_owned))
        })
        .unwrap_or_else(|| body.trim().to_owned());
    let mut message: String = message.chars().take(300).collect();
    if let Some(k) = key
        && !k.is_empty()
    {
        message = message.replace(k, "[redacted]");
    }
    if message.is_empty() {
        "(no body)".into()
    } else {
        message
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(
            redact_url("https://user:secret@example.com/v1"),
            "https://example.com/v1"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080/v1"
        );
    }

    #[test]
    fn error_bodies_never_echo_the_key() {
        let body = r#"{"error":{"message":"invalid key sk-live-123"}}"#;
        assert_eq!(
            summarize_error_body(body, Some("sk-live-123")),
            "invalid key [redacted]"
        );
    }

    #[test]
    fn debug_shows_the_variable_not_the_key() {
        let c = HttpConfig::new("http://h/v1", "m").with_api_key_env("MY_KEY");
        let shown = format!("{c:?}");
        assert!(shown.contains("MY_KEY"));
    }
}
