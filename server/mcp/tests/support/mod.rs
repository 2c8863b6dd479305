//! Test support: fixture workspaces, a started server, and rmcp clients connected to it
//! over an in-memory pipe (the stdio transport) or real HTTP on a loopback port.

#![allow(dead_code, deprecated)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, Implementation,
    LoggingMessageNotificationParam, ProgressNotificationParam,
};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use scry_engine::EngineConfig;
use scry_mcp::{HttpOptions, McpOptions, Shared};
use scry_models::{BackendSpec, GeneratorOptions, ModelManager, ModelRole};
use serde_json::{Value, json};

pub const TIMEOUT: Duration = Duration::from_secs(60);

pub use scry_test_support::{
    chat_model as chat_model_path, embed_model as embed_model_path, write,
};

/// A small workspace (with things that must never be served) and an index dir.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("repo");
        write(
            &ws,
            "src/config.rs",
            "//! Configuration.\n\n/// Reads the settings file and parses `key = value` lines into a Config.\n\
             pub fn parse_config(text: &str) -> Config {\n    let mut c = Config::default();\n    \
             for line in text.lines() {\n        c.apply(line);\n    }\n    c\n}\n\n\
             /// The parsed settings.\n#[derive(Default)]\npub struct Config {\n    pub retries: u32,\n}\n",
        );
        write(
            &ws,
            "src/server.rs",
            "//! The request router.\n\n/// Routes a request path to its handler name.\n\
             pub fn route_request(path: &str) -> &'static str {\n    match path {\n        \
             \"/\" => \"index\",\n        \"/health\" => \"health_check\",\n        \
             \"/metrics\" => \"metrics_endpoint\",\n        \"/login\" => \"login_form\",\n        \
             _ => \"not_found\",\n    }\n}\n\n\
             /// Retries a failing call with exponential backoff.\npub fn retry_with_backoff(attempts: u32) -> u32 {\n    \
             attempts * 2\n}\n",
        );
        // Many small functions, for pagination.
        let mut many = String::from("//! Handlers.\n\n");
        for i in 0..30 {
            many.push_str(&format!(
                "/// Handles widget event number {i}: validates it, records it, and answers.\n\
                 pub fn handle_widget_event_{i}(payload: &str) -> u32 {{\n    \
                 let trimmed = payload.trim();\n    \
                 if trimmed.is_empty() {{\n        return 0;\n    }}\n    \
                 let weight = trimmed.len() as u32 * {i};\n    \
                 weight.saturating_add({i})\n}}\n\n"
            ));
        }
        write(&ws, "src/handlers.rs", &many);
        write(
            &ws,
            "src/keys.rs",
            "/// Talks to the billing API.\npub fn billing_client() -> &'static str {\n    \
             \"sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c\"\n}\n",
        );
        write(
            &ws,
            ".env",
            "OPENAI_API_KEY=sk-dotenv-secret-value-123456789\n",
        );
        write(
            &ws,
            "id_rsa",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
        );
        write(
            &ws,
            "certs/server.pem",
            "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n",
        );
        write(
            &ws,
            "README.md",
            "# Demo\n\n## Configuration\n\nSettings are parsed by `parse_config`.\n",
        );
        // A sibling whose name starts with the root's, and a plain outside file.
        write(dir.path(), "repo_evil/secret.txt", "EVIL SIBLING CONTENT\n");
        write(dir.path(), "outside/secret.txt", "OUTSIDE CONTENT\n");
        Fixture { dir }
    }
    pub fn ws(&self) -> PathBuf {
        self.dir.path().join("repo").canonicalize().unwrap()
    }
    pub fn index(&self) -> PathBuf {
        self.dir.path().join("index")
    }
    pub fn options(&self, models: ModelManager, embed: bool) -> McpOptions {
        let cfg = EngineConfig::builder([self.ws()])
            .index_dir(self.index())
            .embedding_model(embed.then(embed_model_path))
            .embed_threads(2)
            .build();
        let mut o = McpOptions::new(cfg, Arc::new(models));
        o.watch = false;
        o
    }
    /// Starts the server state and waits until the first indexing pass is done.
    pub async fn start(&self, models: ModelManager, embed: bool) -> Arc<Shared> {
        let shared = scry_mcp::start(self.options(models, embed)).unwrap();
        wait_indexed(&shared).await;
        shared
    }
}

pub async fn wait_indexed(shared: &Shared) {
    let t0 = std::time::Instant::now();
    while shared.workspace.state().indexing {
        assert!(t0.elapsed() < TIMEOUT, "indexing did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A model manager with the setup script's small chat model as the fast role.
pub fn chat_models() -> ModelManager {
    let m = ModelManager::new();
    m.configure(
        ModelRole::Fast,
        vec![BackendSpec::auto(
            &chat_model_path(),
            GeneratorOptions::default(),
        )],
    );
    m.configure(ModelRole::Strong, Vec::new());
    m
}

/// No chat model at all.
pub fn no_models() -> ModelManager {
    let m = ModelManager::new();
    m.configure(ModelRole::Fast, Vec::new());
    m.configure(ModelRole::Strong, Vec::new());
    m
}

/// A client that records the server's progress and log notifications.
#[derive(Clone, Default)]
pub struct Recorder {
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
    pub logs: Arc<Mutex<Vec<LoggingMessageNotificationParam>>>,
    /// Roots this client claims (never consulted by the server).
    pub claims_roots: bool,
}

impl ClientHandler for Recorder {
    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        if self.claims_roots {
            caps.roots = Some(Default::default());
        }
        ClientConfig::new(caps, Implementation::new("scry-tests", "1"))
    }
    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.progress.lock().push(params);
    }
    async fn on_logging_message(
        &self,
        params: LoggingMessageNotificationParam,
        _ctx: NotificationContext<RoleClient>,
    ) {
        self.logs.lock().push(params);
    }
    async fn list_roots(
        &self,
        _ctx: rmcp::service::RequestContext<RoleClient>,
    ) -> Result<rmcp::model::ListRootsResult, rmcp::ErrorData> {
        // A hostile client: the whole filesystem, and home.
        let roots = vec![
            rmcp::model::Root::new("file:///"),
            rmcp::model::Root::new(format!(
                "file://{}",
                std::env::var("HOME").unwrap_or_else(|_| "/root".into())
            )),
        ];
        Ok(rmcp::model::ListRootsResult::new(roots))
    }
}

pub type Client = RunningService<RoleClient, Recorder>;

/// Which transport a test runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Stdio,
    Http,
}

pub const BOTH: [Transport; 2] = [Transport::Stdio, Transport::Http];

/// A client connected to `shared` over `transport`; the server lives as long as the
/// returned guard.
pub async fn connect(shared: Arc<Shared>, transport: Transport, rec: Recorder) -> (Client, Guard) {
    match transport {
        Transport::Stdio => {
            let (client_io, server_io) = tokio::io::duplex(1 << 20);
            let (sr, sw) = tokio::io::split(server_io);
            let server = tokio::spawn(async move {
                let _ = scry_mcp::serve_io(shared, sr, sw).await;
            });
            let client = rec.serve(client_io).await.expect("client initializes");
            (client, Guard::Task(server))
        }
        Transport::Http => {
            let (addr, guard) =
                http_server(shared, HttpOptions::new("127.0.0.1:0".parse().unwrap())).await;
            let transport = rmcp::transport::StreamableHttpClientTransport::from_uri(format!(
                "http://{addr}/mcp"
            ));
            let client = rec
                .serve(transport)
                .await
                .expect("client initializes over HTTP");
            (client, guard)
        }
    }
}

/// Starts the HTTP server on a free port.
pub async fn http_server(shared: Arc<Shared>, opts: HttpOptions) -> (std::net::SocketAddr, Guard) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let shutdown = opts.shutdown.clone();
    let task = tokio::spawn(async move {
        scry_mcp::serve_http(shared, opts, move |a| {
            let _ = tx.send(a);
        })
        .await
        .unwrap();
    });
    let addr = rx.await.expect("the server binds");
    (addr, Guard::Http(shutdown, task))
}

pub enum Guard {
    Task(tokio::task::JoinHandle<()>),
    Http(
        tokio_util::sync::CancellationToken,
        tokio::task::JoinHandle<()>,
    ),
}

impl Drop for Guard {
    fn drop(&mut self) {
        match self {
            Guard::Task(t) => t.abort(),
            Guard::Http(ct, t) => {
                ct.cancel();
                t.abort();
            }
        }
    }
}

/// Calls a tool; panics on a protocol error.
pub async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    tokio::time::timeout(
        TIMEOUT,
        client.call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args)),
    )
    .await
    .expect("the call answers in time")
    .unwrap_or_else(|e| panic!("{tool}: protocol error {e}"))
}

/// The structured content of a successful call.
pub async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let r = call(client, tool, args.clone()).await;
    assert_ne!(r.is_error, Some(true), "{tool} {args}: {:?}", r.content);
    r.structured_content
        .unwrap_or_else(|| panic!("{tool}: no structured content"))
}

/// The message of a call that must fail with `isError: true`.
pub async fn tool_error(client: &Client, tool: &str, args: Value) -> String {
    let r = call(client, tool, args.clone()).await;
    assert_eq!(r.is_error, Some(true), "{tool} {args} should fail: {r:?}");
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn text_of(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn paths(v: &Value, list: &str) -> Vec<String> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["path"].as_str().unwrap().to_owned())
        .collect()
}

pub fn j(v: Value) -> Value {
    json!(v)
}
