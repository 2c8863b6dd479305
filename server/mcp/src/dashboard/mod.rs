//! The live view over HTTP, beside `/mcp` on the same address, token and Host rules:
//! `/dashboard` (one self-contained page), `/dashboard/state` (what it shows, as JSON),
//! `/dashboard/events` (server-sent events: every finished call, and the state every
//! two seconds) and `/metrics` (Prometheus). Calls of the other faces on the same index
//! (an editor's `scry lsp`, `scry search` from a shell, other MCP servers) come from
//! the index's activity journal, read every second.
//!
//! A browser cannot send an `Authorization` header when it opens a page or an
//! `EventSource`: with a token configured, `/dashboard?token=…` checks it once and sets
//! an HttpOnly, SameSite=Strict cookie that the page's own requests then carry.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::Stream;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use serde::Serialize;

use crate::observe::metrics::{ModelMemory, Snapshot, resident_bytes};
use crate::observe::{Activity, CacheCounts, Totals};
use crate::state::Shared;
use crate::tools::index_status::{StatusOutput, snapshot};

const PAGE: &str = include_str!("page.html");
/// How often the page hears the index's state.
const STATE_EVERY: Duration = Duration::from_secs(2);
/// How often the activity journal is read for the other faces' calls.
const JOURNAL_EVERY: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub(crate) struct Dashboard {
    pub shared: Arc<Shared>,
    pub sessions: Arc<LocalSessionManager>,
}

pub(crate) fn routes(d: Dashboard) -> Router {
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard/state", get(state))
        .route("/dashboard/events", get(events))
        .route("/metrics", get(metrics))
        .with_state(d)
}

/// Everything the page shows at one moment.
#[derive(Serialize)]
struct DashboardState {
    version: &'static str,
    /// This server's process: calls of others (from the journal) carry their own.
    pid: u32,
    uptime_seconds: u64,
    sessions_open: usize,
    status: StatusOutput,
    /// Live rates and the last full-tier step, from the workspace.
    embedding: Embedding,
    /// The chat models loaded now, by role.
    loaded_models: Vec<LoadedModel>,
    resident_bytes: u64,
    cache: CacheCounts,
    totals: Totals,
    calls_in_flight: i64,
    /// The latest calls, newest last.
    recent: Vec<Activity>,
}

#[derive(Serialize)]
struct LoadedModel {
    role: &'static str,
    name: String,
    backend: String,
    location: String,
    quantization: Option<String>,
    context_length: Option<u64>,
    gpu_layers: u32,
    /// Weights held by this process, and the context's KV cache (estimated).
    weights_bytes: Option<u64>,
    kv_cache_bytes: Option<u64>,
}

#[derive(Serialize, Default)]
struct Embedding {
    /// While the first pass runs: its phase, counts, rate and time left, in words.
    indexing: Option<String>,
    /// Tokens per second in the last pass that embedded anything.
    tokens_per_second: Option<f64>,
    /// Full-tier chunks still to embed, and an estimate of the time it takes.
    full_tier_remaining: Option<usize>,
    full_tier_eta_seconds: Option<f64>,
}

async fn page() -> Response {
    let mut r = PAGE.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Nothing but the page's own inline code and its own origin.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

async fn state(State(d): State<Dashboard>) -> Response {
    match collect(&d).await {
        Some(s) => axum::Json(s).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "the server is stopping\n").into_response(),
    }
}

async fn metrics(State(d): State<Dashboard>) -> Response {
    let sessions = d.sessions.sessions.read().await.len();
    let shared = d.shared.clone();
    let text = tokio::task::spawn_blocking(move || {
        let status = snapshot(&shared);
        let ix = shared.workspace.state();
        let tier = |t: &Option<crate::tools::index_status::VectorTier>| {
            t.as_ref().map(|t| t.chunks_with_vectors)
        };
        shared.observer.metrics.render(&Snapshot {
            sessions,
            generation: status.generation,
            files: status.files,
            chunks: status.chunks,
            fast_vectors: tier(&status.vector_tiers.fast),
            full_vectors: tier(&status.vector_tiers.full),
            problems: status.problems_total,
            indexing: status.freshness.indexing,
            seconds_since_update: status.freshness.seconds_since_last_update.map(|s| s as f64),
            embed_tokens_per_second: embedding(&ix).tokens_per_second,
            cache: shared.observer.cache_counts(),
            model_memory: model_memory(&shared, &status),
        })
    })
    .await;
    match text {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            )],
            text,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response(),
    }
}

/// Reads the other faces' calls from the index's activity journal every second, until
/// `stop`: they join the recent list, the live events and the metrics.
pub(crate) async fn follow_journal(shared: Arc<Shared>, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(JOURNAL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let shared = shared.clone();
        if tokio::task::spawn_blocking(move || shared.observer.follow_journal())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Every loaded model's memory: the embedders of both tiers and the chat models.
fn model_memory(shared: &Shared, status: &StatusOutput) -> Vec<ModelMemory> {
    let mut out = Vec::new();
    let tiers = [
        ("embedding_fast", &status.vector_tiers.fast),
        ("embedding_full", &status.vector_tiers.full),
    ];
    for (role, tier) in tiers {
        if let Some(t) = tier
            && let (true, Some(bytes)) = (t.loaded, t.weights_bytes)
        {
            out.push(ModelMemory {
                role: role.into(),
                model: t.model.clone().unwrap_or_default(),
                part: "weights",
                bytes,
            });
        }
    }
    for (role, m) in shared.models.loaded() {
        for (part, bytes) in [("weights", m.weights_bytes), ("kv_cache", m.kv_cache_bytes)] {
            if let Some(bytes) = bytes {
                out.push(ModelMemory {
                    role: role.as_str().into(),
                    model: m.name.clone(),
                    part,
                    bytes,
                });
            }
        }
    }
    out
}

fn embedding(ix: &scry_engine::WorkspaceState) -> Embedding {
    let upgrade = ix.upgrade.as_ref();
    let rate = upgrade
        .filter(|u| u.seconds > 0.0 && u.tokens > 0)
        .map(|u| u.tokens as f64 / u.seconds)
        .or_else(|| {
            ix.last_report
                .as_ref()
                .filter(|r| r.embed_seconds > 0.0)
                .map(|r| r.embed_tokens as f64 / r.embed_seconds)
        });
    let per_chunk = upgrade
        .filter(|u| u.embedded > 0 && u.seconds > 0.0)
        .map(|u| u.seconds / u.embedded as f64);
    Embedding {
        indexing: ix
            .indexing
            .then(|| ix.progress.as_ref().map(|p| p.summary()))
            .flatten(),
        tokens_per_second: rate,
        full_tier_remaining: upgrade.map(|u| u.remaining),
        full_tier_eta_seconds: upgrade.zip(per_chunk).map(|(u, s)| u.remaining as f64 * s),
    }
}

async fn collect(d: &Dashboard) -> Option<DashboardState> {
    let sessions_open = d.sessions.sessions.read().await.len();
    let shared = d.shared.clone();
    tokio::task::spawn_blocking(move || {
        let o = &shared.observer;
        DashboardState {
            version: env!("CARGO_PKG_VERSION"),
            pid: std::process::id(),
            uptime_seconds: shared.started.elapsed().as_secs(),
            sessions_open,
            status: snapshot(&shared),
            embedding: embedding(&shared.workspace.state()),
            loaded_models: shared
                .models
                .loaded()
                .into_iter()
                .map(|(role, m)| LoadedModel {
                    role: role.as_str(),
                    name: m.name,
                    backend: m.backend.to_string(),
                    location: m.location,
                    quantization: m.quantization,
                    context_length: m.context_length,
                    gpu_layers: m.gpu_layers,
                    weights_bytes: m.weights_bytes,
                    kv_cache_bytes: m.kv_cache_bytes,
                })
                .collect(),
            resident_bytes: resident_bytes(),
            cache: o.cache_counts(),
            totals: o.totals(),
            calls_in_flight: o.metrics.in_flight.get(),
            recent: o.recent(),
        }
    })
    .await
    .ok()
}

async fn events(State(d): State<Dashboard>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let calls = d.shared.observer.subscribe();
    let mut tick = tokio::time::interval(STATE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let stream = futures::stream::unfold((d, calls, tick), |(d, mut calls, mut tick)| async move {
        let event = tokio::select! {
            call = calls.recv() => match call {
                Ok(call) => Event::default().event("call").json_data(&call).ok()?,
                // Missed some calls: the next state carries the recent list.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    Event::default().event("lagged").data("")
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            },
            _ = tick.tick() => {
                let s = collect(&d).await?;
                Event::default().event("state").json_data(&s).ok()?
            }
        };
        Some((Ok(event), (d, calls, tick)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
