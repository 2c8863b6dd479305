//! `/metrics`: the Prometheus text format, through the `prometheus` crate.
//!
//! Call counters and latencies are recorded as calls finish; the index's sizes, its
//! freshness, the models' rates and the process's memory are read from the engine when
//! the page is scraped, so they are never older than the scrape.

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec,
    Opts, Registry, TextEncoder,
};

use super::CacheCounts;

/// Latency buckets, in seconds: a BM25 search is ~1 ms, a hybrid one ~10, an answer
/// from a local model many seconds.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

pub(crate) struct Metrics {
    registry: Registry,
    pub calls: IntCounterVec,
    pub latency: HistogramVec,
    pub errors: IntCounterVec,
    pub rate_limited: IntCounter,
    pub in_flight: IntGauge,
    pub answer_tokens: IntCounter,
    pub answer_rate: Gauge,
    pub cache_hits: IntCounter,
    pub cache_misses: IntCounter,
    cache_entries: IntGauge,
    cache_bytes: IntGauge,
    sessions: IntGauge,
    generation: IntGauge,
    files: IntGauge,
    chunks: IntGauge,
    vectors: IntGaugeVec,
    problems: IntGauge,
    indexing: IntGauge,
    since_update: Gauge,
    embed_rate: Gauge,
    resident: IntGauge,
    model_memory: IntGaugeVec,
}

/// What the engine says at scrape time.
pub(crate) struct Snapshot {
    pub sessions: usize,
    pub generation: u64,
    pub files: usize,
    pub chunks: u64,
    pub fast_vectors: Option<usize>,
    pub full_vectors: Option<usize>,
    pub problems: usize,
    pub indexing: bool,
    pub seconds_since_update: Option<f64>,
    pub embed_tokens_per_second: Option<f64>,
    pub cache: CacheCounts,
    /// Memory of each loaded model: role, model, part (weights or kv_cache), bytes.
    pub model_memory: Vec<ModelMemory>,
}

pub(crate) struct ModelMemory {
    pub role: String,
    pub model: String,
    pub part: &'static str,
    pub bytes: u64,
}

fn register<M: prometheus::core::Collector + Clone + 'static>(r: &Registry, m: M) -> M {
    r.register(Box::new(m.clone()))
        .expect("metric names are distinct and valid");
    m
}

impl Metrics {
    pub(crate) fn new() -> Metrics {
        let r = Registry::new_custom(Some("scry".into()), None)
            .expect("the prefix is a valid metric name");
        let counter_vec = |name: &str, help: &str, labels: &[&str]| {
            register(
                &r,
                IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric"),
            )
        };
        let gauge =
            |name: &str, help: &str| register(&r, IntGauge::new(name, help).expect("valid metric"));
        let float_gauge =
            |name: &str, help: &str| register(&r, Gauge::new(name, help).expect("valid metric"));
        Metrics {
            calls: counter_vec(
                "calls_total",
                "Calls, by face (mcp: this server; cli, lsp and other mcp servers: from the \
                 index's activity journal), tool or method, and outcome (ok, invalid, failed, \
                 cancelled, rate_limited).",
                &["face", "tool", "outcome"],
            ),
            latency: register(
                &r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "call_duration_seconds",
                        "Call latency, by face and tool or method.",
                    )
                    .buckets(BUCKETS.to_vec()),
                    &["face", "tool"],
                )
                .expect("valid metric"),
            ),
            errors: counter_vec(
                "errors_total",
                "Calls that failed, by kind (invalid arguments, failed serving).",
                &["kind"],
            ),
            rate_limited: register(
                &r,
                IntCounter::new(
                    "rate_limited_total",
                    "Calls refused because their client exceeded its rate.",
                )
                .expect("valid metric"),
            ),
            in_flight: gauge(
                "calls_in_flight",
                "Tool calls being served or waiting for a permit (the queue).",
            ),
            cache_hits: register(
                &r,
                IntCounter::new("cache_hits_total", "Responses served from the cache.")
                    .expect("valid metric"),
            ),
            cache_misses: register(
                &r,
                IntCounter::new(
                    "cache_misses_total",
                    "Cacheable calls the cache could not answer.",
                )
                .expect("valid metric"),
            ),
            answer_tokens: register(
                &r,
                IntCounter::new("answer_tokens_total", "Tokens chat models wrote for ask.")
                    .expect("valid metric"),
            ),
            answer_rate: float_gauge(
                "answer_tokens_per_second",
                "The last answer's written tokens over its whole call (prompt reading included).",
            ),
            cache_entries: gauge("cache_entries", "Responses held in the cache."),
            cache_bytes: gauge("cache_bytes", "Memory the cached responses take, roughly."),
            sessions: gauge("sessions_open", "MCP sessions open (HTTP)."),
            generation: gauge("index_generation", "The index generation searches read."),
            files: gauge("index_files", "Files in the index."),
            chunks: gauge("index_chunks", "Chunks in the index."),
            vectors: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "index_vectors",
                        "Chunks with a vector, by tier (fast, full).",
                    ),
                    &["tier"],
                )
                .expect("valid metric"),
            ),
            problems: gauge("index_problems", "Files with a recorded indexing problem."),
            indexing: gauge("index_indexing", "1 while the first indexing pass runs."),
            since_update: float_gauge(
                "index_seconds_since_update",
                "Seconds since an indexing pass last finished.",
            ),
            embed_rate: float_gauge(
                "embed_tokens_per_second",
                "The embedding model's rate in its last batch of work.",
            ),
            resident: gauge("process_resident_bytes", "This process's resident memory."),
            model_memory: register(
                &r,
                IntGaugeVec::new(
                    Opts::new(
                        "model_memory_bytes",
                        "Memory of each loaded model, by role (embedding_fast, embedding_full, \
                         or a chat role), model and part (weights; kv_cache, estimated from \
                         the model's shape).",
                    ),
                    &["role", "model", "part"],
                )
                .expect("valid metric"),
            ),
            registry: r,
        }
    }

    /// The page, with the engine's figures of this moment.
    pub(crate) fn render(&self, s: &Snapshot) -> String {
        self.sessions.set(s.sessions as i64);
        self.generation.set(s.generation as i64);
        self.files.set(s.files as i64);
        self.chunks.set(s.chunks as i64);
        for (tier, n) in [("fast", s.fast_vectors), ("full", s.full_vectors)] {
            match n {
                Some(n) => self.vectors.with_label_values(&[tier]).set(n as i64),
                None => {
                    let _ = self.vectors.remove_label_values(&[tier]);
                }
            }
        }
        self.problems.set(s.problems as i64);
        self.indexing.set(i64::from(s.indexing));
        self.since_update
            .set(s.seconds_since_update.unwrap_or(f64::NAN));
        self.embed_rate
            .set(s.embed_tokens_per_second.unwrap_or(0.0));
        self.cache_entries.set(s.cache.entries as i64);
        self.cache_bytes.set(s.cache.bytes as i64);
        self.resident.set(resident_bytes() as i64);
        // Models come and go: only those loaded now are listed.
        self.model_memory.reset();
        for m in &s.model_memory {
            self.model_memory
                .with_label_values(&[m.role.as_str(), m.model.as_str(), m.part])
                .set(m.bytes as i64);
        }
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding into memory does not fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// Resident memory from `/proc/self/statm` (0 where there is none).
pub(crate) fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}
