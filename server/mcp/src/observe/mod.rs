//! What the server knows about its own work, for people and for monitoring: every tool
//! call recorded (recent calls for the dashboard, counters and latencies for
//! `/metrics`), the response cache, and each client's rate limit. The faces' edges
//! (tool dispatch, HTTP routes) feed it; it never sees the engine's internals.

pub mod cache;
pub mod limit;
pub(crate) mod metrics;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rmcp::model::CallToolResult;
use serde::Serialize;
use tokio::sync::broadcast;

pub use cache::CacheCounts;
use cache::ResponseCache;
pub use limit::RateLimit;
use limit::RateLimiter;
use metrics::Metrics;

/// Calls the dashboard lists.
const RECENT: usize = 200;

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Invalid,
    Failed,
    Cancelled,
    RateLimited,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::RateLimited => "rate_limited",
        }
    }
}

/// Whether the cache answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheUse {
    Hit,
    Miss,
    /// Not a cacheable call.
    None,
}

/// One finished call, as the dashboard shows it.
#[derive(Debug, Clone, Serialize)]
pub struct CallRecord {
    /// The request id (also in the logs).
    pub id: u64,
    /// Milliseconds since the Unix epoch, when it finished.
    pub at_ms: u64,
    /// `mcp` (this server's tools).
    pub face: &'static str,
    /// The client: its MCP session over HTTP, `stdio` otherwise.
    pub client: String,
    pub tool: String,
    pub ms: f64,
    pub outcome: Outcome,
    /// The search mode the results came from (hybrid, lexical, vector), when it says.
    pub mode: Option<String>,
    /// Hits, files or sources returned.
    pub results: Option<usize>,
    pub cache: CacheUse,
    /// The error's message, for calls that did not succeed.
    pub error: Option<String>,
    /// What the answer said the caller should know (BM25-only, a model that fell back
    /// to another, a partial result…), at most 3.
    pub notices: Vec<String>,
    /// Answers (`ask`): the tokens the model wrote, and at what rate over the call.
    pub answer_tokens: Option<usize>,
    pub answer_tokens_per_second: Option<f64>,
}

impl CallRecord {
    /// What a call's structured answer reports: its mode, result count, notices and,
    /// for an answer, its tokens and their rate.
    pub(crate) fn describe(&mut self, result: &CallToolResult) {
        let Some(v) = &result.structured_content else {
            return;
        };
        self.mode = v.get("mode").and_then(|m| m.as_str()).map(str::to_owned);
        self.results = ["files", "hits", "sources", "symbols"]
            .iter()
            .filter_map(|k| v.get(*k).and_then(|x| x.as_array()))
            .map(Vec::len)
            .find(|n| *n > 0)
            .or(Some(0));
        self.notices = v
            .get("notices")
            .and_then(|n| n.as_array())
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str())
            .take(3)
            .map(str::to_owned)
            .collect();
        if v.get("answered").and_then(|a| a.as_bool()) == Some(true)
            && let Some(n) = v.get("tokens_out").and_then(|t| t.as_u64())
        {
            self.answer_tokens = Some(n as usize);
            self.answer_tokens_per_second = Some(n as f64 / (self.ms / 1000.0).max(1e-3));
        }
    }
}

/// How the server limits and remembers.
#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// Per-client rate; `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Memory for cached responses; 0 turns the cache off.
    pub cache_bytes: usize,
}

impl Default for ObserveOptions {
    fn default() -> ObserveOptions {
        ObserveOptions {
            rate_limit: Some(RateLimit::default()),
            cache_bytes: 32 << 20,
        }
    }
}

pub struct Observer {
    pub(crate) metrics: Metrics,
    pub(crate) cache: Option<ResponseCache<CallToolResult>>,
    limiter: RateLimiter,
    recent: Mutex<VecDeque<CallRecord>>,
    events: broadcast::Sender<CallRecord>,
    next_id: AtomicU64,
    totals: [AtomicU64; 3],
}

/// Calls since the start.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Totals {
    pub calls: u64,
    pub errors: u64,
    pub rate_limited: u64,
}

impl Observer {
    pub fn new(opts: &ObserveOptions) -> Observer {
        Observer {
            metrics: Metrics::new(),
            cache: (opts.cache_bytes > 0).then(|| ResponseCache::new(opts.cache_bytes)),
            limiter: RateLimiter::new(opts.rate_limit),
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
            events: broadcast::channel(256).0,
            next_id: AtomicU64::new(1),
            totals: Default::default(),
        }
    }

    /// A new request id.
    pub(crate) fn request_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// One call from `client`, or how long it must wait.
    pub(crate) fn admit(&self, client: &str) -> Result<(), Duration> {
        self.limiter.check(client, std::time::Instant::now())
    }

    /// Records a finished call: counters, latency, the recent list, live listeners.
    pub(crate) fn record(&self, mut call: CallRecord) {
        call.at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let m = &self.metrics;
        self.totals[0].fetch_add(1, Ordering::Relaxed);
        match call.outcome {
            Outcome::Invalid | Outcome::Failed => self.totals[1].fetch_add(1, Ordering::Relaxed),
            Outcome::RateLimited => self.totals[2].fetch_add(1, Ordering::Relaxed),
            Outcome::Ok | Outcome::Cancelled => 0,
        };
        m.calls
            .with_label_values(&[call.tool.as_str(), call.outcome.as_str()])
            .inc();
        m.latency
            .with_label_values(&[call.tool.as_str()])
            .observe(call.ms / 1000.0);
        match call.outcome {
            Outcome::Invalid | Outcome::Failed => {
                m.errors.with_label_values(&[call.outcome.as_str()]).inc()
            }
            Outcome::RateLimited => m.rate_limited.inc(),
            Outcome::Ok | Outcome::Cancelled => {}
        }
        if let (Some(n), Some(rate)) = (call.answer_tokens, call.answer_tokens_per_second) {
            m.answer_tokens.inc_by(n as u64);
            m.answer_rate.set(rate);
        }
        match call.cache {
            CacheUse::Hit => m.cache_hits.inc(),
            CacheUse::Miss => m.cache_misses.inc(),
            CacheUse::None => {}
        }
        {
            let mut recent = self.recent.lock();
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(call.clone());
        }
        // Nobody listening is fine.
        let _ = self.events.send(call);
    }

    /// The latest calls, newest last.
    pub fn recent(&self) -> Vec<CallRecord> {
        self.recent.lock().iter().cloned().collect()
    }

    /// Finished calls from now on (a slow listener skips what it missed).
    pub fn subscribe(&self) -> broadcast::Receiver<CallRecord> {
        self.events.subscribe()
    }

    pub fn totals(&self) -> Totals {
        let [calls, errors, rate_limited] =
            self.totals.each_ref().map(|a| a.load(Ordering::Relaxed));
        Totals {
            calls,
            errors,
            rate_limited,
        }
    }

    pub fn cache_counts(&self) -> CacheCounts {
        self.cache
            .as_ref()
            .map(ResponseCache::counts)
            .unwrap_or_default()
    }
}
