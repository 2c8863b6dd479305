//! What the server knows about its own work and its neighbours', for people and for
//! monitoring: every tool call recorded (recent calls for the dashboard, counters and
//! latencies for `/metrics`, a line in the index's activity journal), the calls other
//! faces on the same index wrote to that journal, the response cache, and each
//! client's rate limit. The faces' edges (tool dispatch, HTTP routes) feed it; it never
//! sees the engine's internals.

pub mod cache;
pub mod limit;
pub(crate) mod metrics;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use rmcp::model::CallToolResult;
use scry_journal::{Journal, Tail};
use serde::Serialize;
use tokio::sync::broadcast;

pub use scry_journal::{Activity, CacheUse, Face, Outcome};

pub use cache::CacheCounts;
use cache::ResponseCache;
pub use limit::RateLimit;
use limit::RateLimiter;
use metrics::Metrics;

/// Calls the dashboard lists.
const RECENT: usize = 200;

/// What a call's structured answer reports: its mode, result count, notices and, for
/// an answer, its tokens and their rate.
pub(crate) fn describe(record: &mut Activity, result: &CallToolResult) {
    let Some(v) = &result.structured_content else {
        return;
    };
    record.mode = v.get("mode").and_then(|m| m.as_str()).map(str::to_owned);
    record.results = ["files", "hits", "sources", "symbols"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(|x| x.as_array()))
        .map(Vec::len)
        .find(|n| *n > 0)
        .or(Some(0));
    let notices = v.get("notices").and_then(|n| n.as_array());
    for n in notices.into_iter().flatten().filter_map(|n| n.as_str()) {
        record.notice(n);
    }
    if v.get("answered").and_then(|a| a.as_bool()) == Some(true)
        && let Some(n) = v.get("tokens_out").and_then(|t| t.as_u64())
    {
        record.answered(n as usize);
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
    recent: Mutex<VecDeque<Activity>>,
    events: broadcast::Sender<Activity>,
    /// Where this server's calls are written for the other faces' dashboards.
    journal: Journal,
    /// Where the other faces' calls are read from, once a dashboard asks.
    tail: Mutex<Option<Tail>>,
    /// When this server started (ms since the epoch): earlier journal entries are
    /// history, later ones are counted.
    started_ms: u64,
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
    /// Observes the calls of a server whose index lives in `index_dir`.
    pub fn new(opts: &ObserveOptions, index_dir: &Path) -> Observer {
        Observer {
            metrics: Metrics::new(),
            cache: (opts.cache_bytes > 0).then(|| ResponseCache::new(opts.cache_bytes)),
            limiter: RateLimiter::new(opts.rate_limit),
            recent: Mutex::new(VecDeque::with_capacity(RECENT)),
            events: broadcast::channel(256).0,
            next_id: AtomicU64::new(1),
            totals: Default::default(),
            journal: Journal::new(index_dir),
            tail: Mutex::new(None),
            started_ms: scry_journal::now_ms(),
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

    /// Records a call this server finished: counters, latency, the recent list, live
    /// listeners, and the journal the other faces' dashboards read.
    pub(crate) fn record(&self, mut call: Activity) {
        call.at_ms = scry_journal::now_ms();
        self.journal.append(&call);
        self.count(call);
    }

    /// Reads what the other faces on this index (an editor's `scry lsp`, a person's
    /// `scry search`, another `scry mcp`) finished since the last look, and records it
    /// beside this server's own calls. The first look lists the latest ones already
    /// written.
    pub fn follow_journal(&self) {
        let mut tail = self.tail.lock();
        let fresh = match &mut *tail {
            Some(t) => t.poll(),
            None => {
                let (t, backlog) = self.journal.tail(RECENT);
                *tail = Some(t);
                // Calls from before this server started are listed, not counted.
                let (before, since): (Vec<_>, Vec<_>) = backlog
                    .into_iter()
                    .filter(|a| !a.is_own())
                    .partition(|a| a.at_ms < self.started_ms);
                let mut recent = self.recent.lock();
                for a in before {
                    push_bounded(&mut recent, a);
                }
                recent.make_contiguous().sort_by_key(|a| a.at_ms);
                since
            }
        };
        drop(tail);
        for a in fresh.into_iter().filter(|a| !a.is_own()) {
            self.count(a);
        }
    }

    fn count(&self, call: Activity) {
        let m = &self.metrics;
        self.totals[0].fetch_add(1, Ordering::Relaxed);
        match call.outcome {
            Outcome::Invalid | Outcome::Failed => self.totals[1].fetch_add(1, Ordering::Relaxed),
            Outcome::RateLimited => self.totals[2].fetch_add(1, Ordering::Relaxed),
            Outcome::Ok | Outcome::Cancelled => 0,
        };
        let face = call.face.as_str();
        m.calls
            .with_label_values(&[face, call.tool.as_str(), call.outcome.as_str()])
            .inc();
        m.latency
            .with_label_values(&[face, call.tool.as_str()])
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
        push_bounded(&mut self.recent.lock(), call.clone());
        // Nobody listening is fine.
        let _ = self.events.send(call);
    }

    /// The latest calls, newest last.
    pub fn recent(&self) -> Vec<Activity> {
        self.recent.lock().iter().cloned().collect()
    }

    /// Finished calls from now on (a slow listener skips what it missed).
    pub fn subscribe(&self) -> broadcast::Receiver<Activity> {
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

fn push_bounded(recent: &mut VecDeque<Activity>, a: Activity) {
    if recent.len() == RECENT {
        recent.pop_front();
    }
    recent.push_back(a);
}
