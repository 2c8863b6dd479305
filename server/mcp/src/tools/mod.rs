//! The tools: their definitions for `tools/list`, and `tools/call` dispatch.
//!
//! Each tool lives in its own file with its input type (which is its input schema),
//! its output type (its output schema and structured content), a text rendering for
//! clients that read only `content`, and its body. Here: argument parsing, the shared
//! error rules, blocking work under a permit, deadlines and cancellation.
//!
//! Error rules (MCP): an unknown tool or arguments that are not an object is a
//! protocol error (-32602); anything wrong *in* the arguments, or a failure while
//! serving them, is a tool result with `isError: true` and a message an agent can act
//! on. A cancelled call sends nothing at all.

mod ask;
pub mod cursor;
mod find_symbol;
mod get_context;
pub(crate) mod index_status;
mod read_range;
pub(crate) mod search_code;

use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResult, ContentBlock, JsonObject, LoggingLevel,
    ProgressNotificationParam, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use schemars::JsonSchema;
use scry_engine::{SearchMode, SearchRequest, SearchResults};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::observe::cache::{CacheKey, canonical};
use crate::observe::{Activity, CacheUse, Face, Observer, Outcome, describe};
use crate::server::ScryMcp;
use crate::state::Shared;

pub const TOOL_NAMES: [&str; 6] = [
    "get_context",
    "search_code",
    "find_symbol",
    "read_range",
    "ask",
    "index_status",
];

/// Longest a call waits for the first indexing pass of a never-indexed workspace.
pub(crate) const FIRST_INDEX_WAIT: Duration = Duration::from_secs(60);

/// Longest deadline accepted; a call with none runs to completion.
pub(crate) const MAX_DEADLINE_MS: u64 = 120_000;

/// Every tool, in the order an agent should consider them.
pub(crate) fn list(shared: &Shared) -> Vec<Tool> {
    shared.tools.get_or_init(|| define_all(shared)).clone()
}

fn define_all(shared: &Shared) -> Vec<Tool> {
    vec![
        get_context::tool(),
        search_code::tool(),
        find_symbol::tool(),
        read_range::tool(),
        ask::tool(shared),
        index_status::tool(),
    ]
}

/// A tool definition from its types and what it truthfully does.
pub(crate) fn define<I: JsonSchema + 'static, O: JsonSchema + 'static>(
    name: &'static str,
    title: &str,
    description: &'static str,
    annotations: ToolAnnotations,
) -> Tool {
    Tool::new(
        name,
        description,
        rmcp::handler::server::common::schema_for_type::<I>(),
    )
    .with_title(title)
    .with_raw_output_schema(rmcp::handler::server::common::schema_for_output::<O>())
    .with_annotations({
        let mut a = annotations;
        a.title = Some(title.to_owned());
        a
    })
}

/// Read-only, local, repeatable: what every tool but `ask` is.
pub(crate) fn read_only_annotations() -> ToolAnnotations {
    ToolAnnotations::new()
        .read_only(true)
        .destructive(false)
        .idempotent(true)
        .open_world(false)
}

/// What went wrong serving a call, as the agent will read it.
#[derive(Debug)]
pub(crate) enum ToolError {
    /// The arguments are wrong: the message says how to fix them.
    Invalid(String),
    /// Serving failed (an index or model error).
    Failed(String),
    /// The client cancelled: send nothing.
    Cancelled,
}

impl From<scry_engine::EngineError> for ToolError {
    fn from(e: scry_engine::EngineError) -> ToolError {
        use scry_engine::EngineError as E;
        match e {
            E::InvalidRequest(m) => ToolError::Invalid(m),
            E::Path(_) => ToolError::Invalid(e.to_string()),
            other => ToolError::Failed(other.to_string()),
        }
    }
}

impl From<scry_answer::AnswerError> for ToolError {
    fn from(e: scry_answer::AnswerError) -> ToolError {
        use scry_answer::AnswerError as E;
        match e {
            E::InvalidRequest(m) => ToolError::Invalid(m),
            E::Cancelled => ToolError::Cancelled,
            E::Engine(e) => e.into(),
            other => ToolError::Failed(other.to_string()),
        }
    }
}

/// One call in progress: the server, the request's context, when it started.
pub(crate) struct Call<'a> {
    pub server: &'a ScryMcp,
    pub ctx: &'a RequestContext<RoleServer>,
    pub started: Instant,
}

impl Call<'_> {
    pub fn shared(&self) -> &Arc<Shared> {
        &self.server.shared
    }

    /// Runs engine work on a blocking thread, at most `concurrency` at once; returns
    /// `Cancelled` as soon as the client cancels (the work then finishes unobserved:
    /// everything it does is bounded and read-only).
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Shared) -> Result<T, ToolError> + Send + 'static,
    ) -> Result<T, ToolError> {
        let shared = self.shared().clone();
        let ct = self.ctx.ct.clone();
        let run = async move {
            let permits = shared.clone();
            let _permit = permits
                .permits
                .acquire()
                .await
                .map_err(|_| ToolError::Failed("the server is shutting down".into()))?;
            // The engine's log lines on the blocking thread belong to the call too.
            let span = tracing::Span::current();
            tokio::task::spawn_blocking(move || span.in_scope(|| work(&shared)))
                .await
                .map_err(|e| ToolError::Failed(format!("the tool failed: {e}")))?
        };
        tokio::select! {
            r = run => r,
            () = ct.cancelled() => Err(ToolError::Cancelled),
        }
    }

    /// Like [`Call::blocking`], giving up at `deadline` with `Ok(None)`.
    pub async fn blocking_until<T: Send + 'static>(
        &self,
        deadline: Option<Instant>,
        work: impl FnOnce(&Shared) -> Result<T, ToolError> + Send + 'static,
    ) -> Result<Option<T>, ToolError> {
        let fut = self.blocking(work);
        match deadline {
            None => fut.await.map(Some),
            Some(d) => match tokio::time::timeout_at(d.into(), fut).await {
                Ok(r) => r.map(Some),
                Err(_) => Ok(None),
            },
        }
    }

    /// A server that just started on a never-indexed workspace would answer "no hits":
    /// wait for the first indexing pass instead (until `deadline`, at most
    /// [`FIRST_INDEX_WAIT`]). Later passes do not block: the last generation serves.
    pub async fn first_index(&self, deadline: Option<Instant>) -> Option<String> {
        let shared = self.shared();
        let limit = Instant::now() + FIRST_INDEX_WAIT;
        let until = deadline.map_or(limit, |d| d.min(limit));
        while shared.engine().generation() == 0 && shared.workspace.state().indexing {
            if Instant::now() >= until || self.ctx.ct.is_cancelled() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let st = shared.workspace.state();
        st.indexing.then(|| {
            let (done, total) = st
                .progress
                .map_or((0, 0), |p| (p.files_done, p.files_total));
            format!(
                "indexing is in progress ({done} of {total} files): results may miss files \
                 not reached yet"
            )
        })
    }

    /// Searches within `deadline`: the full `request` if it finishes in time, else BM25
    /// alone (milliseconds), marked partial (`true`) for the caller's resuming cursor.
    pub async fn search_within(
        &self,
        deadline: Option<Instant>,
        request: SearchRequest,
    ) -> Result<(SearchResults, bool), ToolError> {
        let full = {
            let request = request.clone();
            self.blocking_until(deadline, move |s| Ok(s.engine().search(&request)?))
                .await?
        };
        match full {
            Some(r) => Ok((r, false)),
            None => {
                let lexical = request.mode(SearchMode::Lexical);
                let r = self
                    .blocking(move |s| Ok(s.engine().search(&lexical)?))
                    .await?;
                Ok((r, true))
            }
        }
    }

    /// Reports progress when the client asked for it (a `progressToken`).
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(token) = self.ctx.meta.get_progress_token() else {
            return;
        };
        let mut p = ProgressNotificationParam::new(token, progress);
        p.total = total;
        p.message = message;
        if let Err(e) = self.ctx.peer.notify_progress(p).await {
            tracing::debug!("progress notification not sent: {e}");
        }
    }

    pub async fn log(&self, level: LoggingLevel, text: impl Into<String>) {
        self.server.log(self.ctx, level, text).await;
    }

    /// The instant a `deadline_ms` argument ends at.
    pub fn deadline(&self, deadline_ms: Option<u64>) -> Result<Option<Instant>, ToolError> {
        match deadline_ms {
            None => Ok(None),
            Some(ms) if ms == 0 || ms > MAX_DEADLINE_MS => Err(ToolError::Invalid(format!(
                "deadline_ms must be within 1..={MAX_DEADLINE_MS}, not {ms}"
            ))),
            Some(ms) => Ok(Some(self.started + Duration::from_millis(ms))),
        }
    }
}

/// A tool's output: structured content, plus text for clients that read only that.
pub(crate) trait Output: Serialize {
    fn text(&self) -> String;
}

/// `tools/call`: parse, run, convert. `Err` only for protocol errors; `Cancelled`
/// becomes an error the service never sends (the request is gone from its table).
pub(crate) async fn call(
    server: &ScryMcp,
    request: CallToolRequestParams,
    ctx: RequestContext<RoleServer>,
) -> Result<CallToolResult, ErrorData> {
    let name = request.name.to_string();
    if !TOOL_NAMES.contains(&name.as_str()) {
        return Err(ErrorData::invalid_params(
            format!(
                "unknown tool {name:?}; the tools are {}",
                TOOL_NAMES.join(", ")
            ),
            None,
        ));
    }
    let id = server.shared.observer.request_id();
    let client = client_of(&ctx);
    // Every log line of the call, the engine's included, carries these.
    let span = tracing::info_span!("call", id, tool = %name, client = %client);
    observed(server, request, ctx, name, id, client)
        .instrument(span)
        .await
}

/// A known tool's call, recorded, rate limited and cached.
async fn observed(
    server: &ScryMcp,
    request: CallToolRequestParams,
    ctx: RequestContext<RoleServer>,
    name: String,
    id: u64,
    client: String,
) -> Result<CallToolResult, ErrorData> {
    let args = request.arguments.unwrap_or_default();
    let call = Call {
        server,
        ctx: &ctx,
        started: Instant::now(),
    };
    let observer = &server.shared.observer;
    let _in_flight = InFlight::enter(observer);
    let mut record = Activity::new(Face::Mcp, client, name.clone(), 0.0);
    record.id = id;
    // Over stdio the one client is the host itself: nobody to be fair to.
    if let Some(Err(wait)) = (record.client != STDIO).then(|| observer.admit(&record.client)) {
        let ms = wait.as_millis().max(1) as u64;
        let message = format!(
            "this client is over its rate limit; retry after {ms} ms (other clients are \
             served meanwhile)"
        );
        tracing::warn!("rate limited: retry after {ms} ms");
        record.failed(Outcome::RateLimited, &message);
        record.ms = call.started.elapsed().as_secs_f64() * 1000.0;
        observer.record(record);
        let mut r = error_result(&name, "rate limited", &message);
        r.structured_content = Some(serde_json::json!({
            "error": "rate_limited",
            "retry_after_ms": ms,
        }));
        return Ok(r);
    }
    let cache_key = cacheable(&name, &server.shared).map(|tool| CacheKey {
        generation: server.shared.engine().generation(),
        tool,
        args: canonical(&serde_json::Value::Object(args.clone())),
    });
    if let (Some(cache), Some(key)) = (&observer.cache, &cache_key) {
        if let Some(hit) = cache.get(key) {
            let result = (*hit).clone();
            record.cache = CacheUse::Hit;
            // The client hears what a computed answer would have told it, progress in
            // one step (two notifications sent back to back may arrive swapped).
            let notices = result
                .structured_content
                .as_ref()
                .and_then(|v| v.get("notices"));
            for n in notices.and_then(|n| n.as_array()).into_iter().flatten() {
                if let Some(n) = n.as_str() {
                    call.log(LoggingLevel::Warning, n.to_owned()).await;
                }
            }
            call.progress(1.0, Some(1.0), Some("from the cache".into()))
                .await;
            record.ms = call.started.elapsed().as_secs_f64() * 1000.0;
            describe(&mut record, &result);
            tracing::info!(ms = record.ms, cache = "hit", "tool call");
            observer.record(record);
            return Ok(result);
        }
        record.cache = CacheUse::Miss;
    }
    // Parse the arguments into the tool's input type, run it, encode its output.
    macro_rules! dispatch {
        ($tool:ident) => {
            match parse(args) {
                Ok(input) => $tool::run(&call, input).await.and_then(|o| finish(&o)),
                Err(e) => Err(e),
            }
        };
    }
    let result = match name.as_str() {
        "search_code" => dispatch!(search_code),
        "get_context" => dispatch!(get_context),
        "ask" => dispatch!(ask),
        "find_symbol" => dispatch!(find_symbol),
        "read_range" => dispatch!(read_range),
        _ => dispatch!(index_status),
    };
    record.ms = call.started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(ms = record.ms, ok = result.is_ok(), "tool call");
    let answer = match result {
        Ok(r) => {
            describe(&mut record, &r);
            if let (Some(cache), Some(key)) = (&observer.cache, cache_key) {
                cache.keep(key, &r);
            }
            Ok(r)
        }
        Err(ToolError::Cancelled) => {
            record.outcome = Outcome::Cancelled;
            Err(ErrorData::internal_error("cancelled", None))
        }
        Err(ToolError::Invalid(m)) => {
            record.failed(Outcome::Invalid, &m);
            Ok(error_result(&name, "invalid arguments", &m))
        }
        Err(ToolError::Failed(m)) => {
            call.log(LoggingLevel::Error, format!("{name}: {m}")).await;
            tracing::warn!("failed: {m}");
            record.failed(Outcome::Failed, &m);
            Ok(error_result(&name, "failed", &m))
        }
    };
    observer.record(record);
    answer
}

/// The client of calls that come over stdio.
const STDIO: &str = "stdio";

/// The client a call comes from: its MCP session over HTTP; over stdio, the one peer.
fn client_of(ctx: &RequestContext<RoleServer>) -> String {
    ctx.extensions
        .get::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get("mcp-session-id"))
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| STDIO.to_owned(), str::to_owned)
}

/// Counts a call in `calls_in_flight` while it lives.
struct InFlight<'a>(&'a Observer);

impl<'a> InFlight<'a> {
    fn enter(o: &'a Observer) -> InFlight<'a> {
        o.metrics.in_flight.inc();
        InFlight(o)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.metrics.in_flight.dec();
    }
}

/// Searches and context are answered from the cache, except during the first indexing
/// pass (their answers then carry progress that changes without a new generation): the
/// tool's name, when its call is cacheable.
fn cacheable(tool: &str, shared: &Shared) -> Option<&'static str> {
    [search_code::NAME, get_context::NAME]
        .into_iter()
        .find(|t| *t == tool)
        .filter(|_| !shared.workspace.state().indexing)
}

fn error_result(tool: &str, what: &str, message: &str) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(format!(
        "{tool}: {what}: {message}"
    ))])
}

fn parse<I: DeserializeOwned>(args: JsonObject) -> Result<I, ToolError> {
    serde_json::from_value(serde_json::Value::Object(args))
        .map_err(|e| ToolError::Invalid(e.to_string()))
}

fn finish<O: Output>(out: &O) -> Result<CallToolResult, ToolError> {
    let value = serde_json::to_value(out)
        .map_err(|e| ToolError::Failed(format!("cannot encode the result: {e}")))?;
    let mut result = CallToolResult::structured(value);
    result.content = vec![ContentBlock::text(out.text())];
    Ok(result)
}

/// At most `max_lines` lines of `text`, and a note of what was cut.
pub(crate) fn clip_lines(text: &str, max_lines: usize) -> (String, bool) {
    let mut lines = text.split_inclusive('\n');
    let kept: String = lines.by_ref().take(max_lines).collect();
    let cut = lines.next().is_some();
    (kept, cut)
}
