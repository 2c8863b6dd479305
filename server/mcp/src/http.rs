//! `scry mcp --http`: streamable HTTP on `/mcp`, and beside it the dashboard and
//! `/metrics` (see `dashboard`).
//!
//! Bound to 127.0.0.1 by default. DNS rebinding is stopped twice: the `Host` header must
//! name a loopback host (or one the user allowed), and a browser's `Origin` must be a
//! loopback origin (or one the user allowed); clients that send no `Origin` (agents,
//! CLIs) pass. With a token configured, every request must carry
//! `Authorization: Bearer <token>`, compared in constant time.
//!
//! Sessions are bounded: at most `max_sessions` live at once (a new `initialize` past
//! the cap gets `503` with `Retry-After` and a message that says why), and a session idle
//! for `session_idle` is closed, so clients that never send `DELETE` cannot grow memory
//! without end.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::local::LocalSessionManager,
};
use tokio_util::sync::CancellationToken;

use crate::McpError;
use crate::server::ScryMcp;
use crate::state::Shared;

/// Largest request body accepted: a 64 KiB query plus framing is far below it.
const MAX_BODY_BYTES: usize = 4 << 20;

#[derive(Debug, Clone)]
pub struct HttpOptions {
    pub addr: SocketAddr,
    /// Required bearer token, if any (read by the CLI from an environment variable,
    /// never from the command line, where `ps` would show it).
    pub token: Option<String>,
    /// Extra `Host` values to accept besides loopback (for a non-loopback bind).
    pub allowed_hosts: Vec<String>,
    /// Extra browser origins to accept besides loopback ones.
    pub allowed_origins: Vec<String>,
    /// Most sessions open at once; past it, new sessions are refused with 503.
    pub max_sessions: usize,
    /// A session with no request for this long is closed.
    pub session_idle: std::time::Duration,
    /// Stops the server.
    pub shutdown: CancellationToken,
}

/// Default cap on open sessions: ~50 KB each, so well under 100 MB at the cap.
pub const DEFAULT_MAX_SESSIONS: usize = 512;
/// Default idle time after which a session is closed.
pub const DEFAULT_SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

impl HttpOptions {
    pub fn new(addr: SocketAddr) -> HttpOptions {
        HttpOptions {
            addr,
            token: None,
            allowed_hosts: Vec::new(),
            allowed_origins: Vec::new(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            session_idle: DEFAULT_SESSION_IDLE,
            shutdown: CancellationToken::new(),
        }
    }
}

/// Serves until `opts.shutdown` is cancelled. `on_bound` hears the actual address (port
/// 0 picks a free one) once the socket listens.
pub async fn serve_http(
    shared: Arc<Shared>,
    opts: HttpOptions,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), McpError> {
    let (listener, bound, allowed_hosts) = bind(&opts).await?;
    let factory_shared = shared.clone();
    let (mcp, sessions) = mcp_routes(
        move || ScryMcp::new(factory_shared.clone()),
        &opts,
        &allowed_hosts,
    );
    let dashboard = crate::dashboard::routes(crate::dashboard::Dashboard {
        shared: shared.clone(),
        sessions,
    })
    .layer(middleware::from_fn_with_state(allowed_hosts, require_host));
    tokio::spawn(crate::dashboard::follow_journal(
        shared.clone(),
        opts.shutdown.child_token(),
    ));
    run(listener, bound, mcp.merge(dashboard), &opts, on_bound).await
}

/// `scry serve --store`: MCP over a shared store, with the same checks (host, origin,
/// token, session cap); no dashboard (it shows one workspace's engine).
pub async fn serve_store_http(
    store: Arc<crate::shared_store::StoreState>,
    opts: HttpOptions,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), McpError> {
    let (listener, bound, allowed_hosts) = bind(&opts).await?;
    let orgs = store.orgs.clone();
    let (mut mcp, _) = mcp_routes(
        move || crate::shared_store::StoreMcp::new(store.clone()),
        &opts,
        &allowed_hosts,
    );
    if let crate::shared_store::Orgs::ByToken(_) = orgs {
        // Each caller's token names its organisation: only listed tokens get in.
        mcp = mcp.layer(middleware::from_fn_with_state(
            Arc::new(orgs),
            require_org_token,
        ));
    }
    run(listener, bound, mcp, &opts, on_bound).await
}

/// Listens, and names the hosts a request may address: loopback, the bound address,
/// and those the user allowed.
async fn bind(
    opts: &HttpOptions,
) -> Result<(tokio::net::TcpListener, SocketAddr, Arc<Vec<String>>), McpError> {
    let listener = tokio::net::TcpListener::bind(opts.addr)
        .await
        .map_err(|e| McpError::io(format!("cannot listen on {}", opts.addr), e))?;
    let bound = listener
        .local_addr()
        .map_err(|e| McpError::io("cannot read the bound address", e))?;
    let mut hosts: Vec<String> = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    hosts.extend(opts.allowed_hosts.iter().cloned());
    if !bound.ip().is_loopback() && !bound.ip().is_unspecified() {
        hosts.push(bound.ip().to_string());
    }
    Ok((listener, bound, Arc::new(hosts)))
}

/// `/mcp` for sessions of the handlers `factory` makes, their number capped.
fn mcp_routes<S: rmcp::ServerHandler>(
    factory: impl Fn() -> S + Send + Sync + 'static,
    opts: &HttpOptions,
    hosts: &[String],
) -> (axum::Router, Arc<LocalSessionManager>) {
    let mut origins: Vec<String> = [
        "http://localhost:*",
        "http://127.0.0.1:*",
        "http://[::1]:*",
        "https://localhost:*",
        "https://127.0.0.1:*",
    ]
    .map(String::from)
    .to_vec();
    origins.extend(opts.allowed_origins.iter().cloned());
    let config = StreamableHttpServerConfig::default()
        .with_allowed_hosts(hosts.to_vec())
        .with_allowed_origins(origins)
        .enforce_origin_validation()
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(opts.shutdown.child_token());
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(opts.session_idle);
    let sessions = Arc::new(sessions);
    let service = StreamableHttpService::new(move || Ok(factory()), sessions.clone(), config);
    let cap = SessionCap {
        sessions: sessions.clone(),
        max: opts.max_sessions.max(1),
    };
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(middleware::from_fn_with_state(cap, cap_sessions));
    (router, sessions)
}

/// Serves `app` behind the token check until shutdown.
async fn run(
    listener: tokio::net::TcpListener,
    bound: SocketAddr,
    app: axum::Router,
    opts: &HttpOptions,
    on_bound: impl FnOnce(SocketAddr),
) -> Result<(), McpError> {
    let token: Option<Arc<str>> = opts.token.as_deref().map(Arc::from);
    let app = app.layer(middleware::from_fn_with_state(token, require_token));
    tracing::info!("serving MCP at http://{bound}/mcp");
    on_bound(bound);
    let shutdown = opts.shutdown.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .map_err(|e| McpError::io("the HTTP server failed", e))
}

#[derive(Clone)]
struct SessionCap {
    sessions: Arc<LocalSessionManager>,
    max: usize,
}

/// Refuses a request that would open a session (a POST without `Mcp-Session-Id`) while
/// `max` sessions are open.
async fn cap_sessions(State(cap): State<SessionCap>, req: Request, next: Next) -> Response {
    let opens_session =
        req.method() == axum::http::Method::POST && !req.headers().contains_key("mcp-session-id");
    if opens_session {
        let open = cap.sessions.sessions.read().await.len();
        if open >= cap.max {
            tracing::warn!(
                "refused a new MCP session: {open} are open, the cap is {}",
                cap.max
            );
            let body = format!(
                "too many open MCP sessions ({open}, the cap is {}): close sessions you no longer \
                 use (HTTP DELETE with their Mcp-Session-Id) or retry later; idle sessions close \
                 by themselves\n",
                cap.max
            );
            let mut r = (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return r;
        }
    }
    next.run(req).await
}

/// The dashboard's routes answer only under a loopback (or allowed) `Host`, like `/mcp`
/// (rmcp checks it there): a page on another site cannot reach them by DNS rebinding.
async fn require_host(State(hosts): State<Arc<Vec<String>>>, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let name = host_name(host);
    if !hosts.iter().any(|h| h.eq_ignore_ascii_case(name)) {
        return (StatusCode::FORBIDDEN, "this Host is not allowed\n").into_response();
    }
    next.run(req).await
}

/// `localhost` of `localhost:8080`, `::1` of `[::1]:8080`.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or("");
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// The cookie the dashboard's page carries once `?token=` was checked.
const TOKEN_COOKIE: &str = "scry_token";

/// The token a request carries: `Authorization: Bearer`, else (for a browser) the
/// dashboard's cookie, else `?token=` on a `GET /dashboard`.
fn given_token(req: &Request) -> (Option<&str>, bool) {
    let headers = req.headers();
    if let Some(t) = bearer(headers) {
        return (Some(t), false);
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == TOKEN_COOKIE)
        .map(|(_, v)| v);
    if cookie.is_some() {
        return (cookie, false);
    }
    if req.method() == axum::http::Method::GET && req.uri().path() == "/dashboard" {
        let query = req
            .uri()
            .query()
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "token")
            .map(|(_, v)| v);
        return (query, query.is_some());
    }
    (None, false)
}

async fn require_token(
    State(token): State<Option<Arc<str>>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(expected) = token {
        let (given, from_query) = given_token(&req);
        let given = given.unwrap_or("");
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return unauthorized();
        }
        if from_query {
            // Remember it for the page's own requests (EventSource sends no headers).
            let mut r = next.run(req).await;
            if let Ok(v) = HeaderValue::from_str(&format!(
                "{TOKEN_COOKIE}={expected}; HttpOnly; SameSite=Strict; Path=/"
            )) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            return r;
        }
    }
    next.run(req).await
}

/// For a store server with a token per organisation: a request must carry one of them.
async fn require_org_token(
    State(orgs): State<Arc<crate::shared_store::Orgs>>,
    req: Request,
    next: Next,
) -> Response {
    // The bearer header alone: it is what the handler reads the organisation from.
    if orgs.of(bearer(req.headers())).is_none() {
        return unauthorized();
    }
    next.run(req).await
}

/// 401, asking for a bearer token.
fn unauthorized() -> Response {
    let mut r = (StatusCode::UNAUTHORIZED, "a bearer token is required\n").into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"scry\""),
    );
    r
}

/// The token of an `Authorization: Bearer` header.
pub(crate) fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
}

/// Equal-length comparison whose time does not depend on where the bytes differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for (i, x) in b.iter().enumerate() {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ x);
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::{constant_time_eq, host_name};

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name("localhost:8080"), "localhost");
        assert_eq!(host_name("127.0.0.1"), "127.0.0.1");
        assert_eq!(host_name("[::1]:9"), "::1");
        assert_eq!(host_name("evil.example:80"), "evil.example");
    }

    #[test]
    fn token_comparison_needs_every_byte_and_the_length() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cres", b"s3cret"));
        assert!(!constant_time_eq(b"s3cre", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret!", b"s3cret"));
        assert!(!constant_time_eq(b"", b"s3cret"));
    }
}
