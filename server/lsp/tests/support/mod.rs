//! An in-memory LSP client for tests: frames over a duplex pipe to `scry_lsp::serve`,
//! requests by id, server-to-client requests answered, notifications kept.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use scry_engine::EngineConfig;
use scry_lsp::{ExitStatus, LspOptions};
use scry_models::ModelManager;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub const TIMEOUT: Duration = Duration::from_secs(60);

pub struct TestClient {
    pub to_server: DuplexStream,
    incoming: mpsc::UnboundedReceiver<Value>,
    next_id: i64,
    /// Messages read but not yet asked for.
    backlog: VecDeque<Value>,
    pub notifications: Vec<Value>,
    /// Answer the server's requests (e.g. `window/workDoneProgress/create`) at once.
    pub auto_reply: bool,
    pub server_requests: Vec<Value>,
    pub server: Option<JoinHandle<ExitStatus>>,
}

/// Options for a test server: an index under `index_dir`, no models unless given.
pub fn options(index_dir: &Path, models: ModelManager) -> LspOptions {
    let engine = EngineConfig::builder(Vec::<PathBuf>::new())
        .index_dir(index_dir)
        .build();
    let mut o = LspOptions::new(engine, Arc::new(models));
    o.test_hooks = true;
    o.watch = false;
    o
}

fn parse_frames(buf: &mut Vec<u8>) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            return out;
        };
        let header = String::from_utf8_lossy(&buf[..end]).to_string();
        let len: usize = header
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .expect("Content-Length")
            .trim()
            .parse()
            .expect("a number");
        if buf.len() < end + 4 + len {
            return out;
        }
        let body: Vec<u8> = buf[end + 4..end + 4 + len].to_vec();
        buf.drain(..end + 4 + len);
        out.push(serde_json::from_slice(&body).expect("the server sent valid JSON"));
    }
}

pub fn frame(v: &Value) -> Vec<u8> {
    let body = v.to_string();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

impl TestClient {
    pub fn start(opts: LspOptions) -> TestClient {
        let (client_side, server_in) = tokio::io::duplex(1 << 20);
        let (server_out, mut from_server) = tokio::io::duplex(1 << 20);
        let server = tokio::spawn(scry_lsp::serve(server_in, server_out, opts));
        let (tx, incoming) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = vec![0u8; 65536];
            loop {
                match from_server.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        for v in parse_frames(&mut buf) {
                            if tx.send(v).is_err() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        TestClient {
            to_server: client_side,
            incoming,
            next_id: 0,
            backlog: VecDeque::new(),
            notifications: Vec::new(),
            auto_reply: true,
            server_requests: Vec::new(),
            server: Some(server),
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.to_server.write_all(bytes).await.expect("server reads");
    }

    pub async fn send(&mut self, v: Value) {
        let f = frame(&v);
        self.send_raw(&f).await;
    }

    pub async fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}))
            .await;
    }

    /// Sends a request without waiting; returns its id.
    pub async fn send_request(&mut self, method: &str, params: Value) -> i64 {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        id
    }

    /// The next message from the server, answering its requests when `auto_reply`.
    pub async fn next_message(&mut self) -> Option<Value> {
        if let Some(v) = self.backlog.pop_front() {
            return Some(v);
        }
        let v = tokio::time::timeout(TIMEOUT, self.incoming.recv())
            .await
            .expect("the server answers within the timeout")?;
        if v.get("method").is_some() && v.get("id").is_some() {
            self.server_requests.push(v.clone());
            if self.auto_reply {
                let id = v["id"].clone();
                self.send(json!({"jsonrpc": "2.0", "id": id, "result": null}))
                    .await;
            }
        } else if v.get("method").is_some() {
            self.notifications.push(v.clone());
        }
        Some(v)
    }

    /// Waits for the response with `id` (a number or null).
    pub async fn response(&mut self, id: Value) -> Value {
        let mut skipped = Vec::new();
        let found = loop {
            let v = self.next_message().await.expect("server still running");
            if v.get("method").is_none() && v.get("id") == Some(&id) {
                break v;
            }
            if v.get("method").is_none() {
                skipped.push(v);
            }
        };
        self.backlog.extend(skipped);
        found
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.send_request(method, params).await;
        self.response(json!(id)).await
    }

    /// The `result` of a request, panicking on an error.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let r = self.request(method, params).await;
        assert!(r.get("error").is_none(), "{method} failed: {r}");
        r["result"].clone()
    }

    pub async fn initialize(&mut self, root: &Path, capabilities: Value) -> Value {
        let uri = file_uri(root);
        let r = self
            .call(
                "initialize",
                json!({
                    "processId": null,
                    "rootUri": uri,
                    "workspaceFolders": [{"uri": uri, "name": "ws"}],
                    "capabilities": capabilities,
                }),
            )
            .await;
        self.notify("initialized", json!({})).await;
        r
    }

    /// Polls `scry/status` until the first indexing is done.
    pub async fn wait_ready(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        loop {
            let s = self.call("scry/status", json!({})).await;
            if s["state"] == "ready" {
                return s;
            }
            assert!(s["state"] != "error", "workspace failed: {s}");
            assert!(tokio::time::Instant::now() < deadline, "never ready: {s}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn open(&mut self, path: &Path, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": file_uri(path), "languageId": "rust", "version": 1, "text": text}}),
        )
        .await;
    }

    pub async fn shutdown_and_exit(mut self) -> ExitStatus {
        self.call("shutdown", Value::Null).await;
        self.notify("exit", Value::Null).await;
        let server = self.server.take().expect("server");
        tokio::time::timeout(TIMEOUT, server)
            .await
            .expect("server exits")
            .expect("server task")
    }
}

pub fn file_uri(p: &Path) -> String {
    format!("file://{}", p.display())
}

/// A workspace in a temp dir with an index dir beside it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    pub fn new(files: &[(&str, &str)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let p = dir.path().join("ws").join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        Fixture { dir }
    }
    /// Canonical, so URIs the server returns compare equal.
    pub fn ws(&self) -> PathBuf {
        self.dir.path().join("ws").canonicalize().unwrap()
    }
    pub fn index(&self) -> PathBuf {
        self.dir.path().join("index")
    }
    pub fn client(&self) -> TestClient {
        TestClient::start(options(&self.index(), ModelManager::new()))
    }
}

#[allow(unused_imports)]
pub use scry_test_support::{
    chat_model as chat_model_path, cpu_seconds, embed_model as embed_model_path,
};
