//! The protocol at the wire: raw JSON-RPC lines over the stdio transport, and raw HTTP
//! requests, for what a well-behaved client library never sends or cannot observe.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A raw line-oriented session with the server over an in-memory pipe.
struct Raw {
    write: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    lines: tokio::io::Lines<BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Raw {
    async fn start(shared: std::sync::Arc<scry_mcp::Shared>) -> Raw {
        let (client_io, server_io) = tokio::io::duplex(1 << 20);
        let (sr, sw) = tokio::io::split(server_io);
        let server = tokio::spawn(async move {
            let _ = scry_mcp::serve_io(shared, sr, sw).await;
        });
        let (cr, cw) = tokio::io::split(client_io);
        let mut raw = Raw {
            write: cw,
            lines: BufReader::new(cr).lines(),
            _server: server,
        };
        raw.send(json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}}))
            .await;
        let init = raw
            .until_id(0, Duration::from_secs(30))
            .await
            .expect("initialized");
        assert!(init["result"]["serverInfo"]["name"] == "scry", "{init}");
        raw.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        raw
    }
    async fn send(&mut self, v: Value) {
        self.send_line(&v.to_string()).await;
    }
    async fn send_line(&mut self, s: &str) {
        self.write.write_all(s.as_bytes()).await.unwrap();
        self.write.write_all(b"\n").await.unwrap();
        self.write.flush().await.unwrap();
    }
    /// The next message, if one comes within `wait`.
    async fn next(&mut self, wait: Duration) -> Option<Value> {
        match tokio::time::timeout(wait, self.lines.next_line()).await {
            Ok(Ok(Some(line))) => Some(serde_json::from_str(&line).expect("every line is JSON")),
            _ => None,
        }
    }
    /// Reads until the response with `id`, keeping nothing else.
    async fn until_id(&mut self, id: i64, wait: Duration) -> Option<Value> {
        let end = Instant::now() + wait;
        while let Some(m) = self
            .next(end.saturating_duration_since(Instant::now()))
            .await
        {
            if m["id"] == id {
                return Some(m);
            }
        }
        None
    }
}

fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancelled_answer_stops_the_model_and_gets_no_response() {
    let fx = Fixture::new();
    let shared = fx.start(chat_models(), false).await;
    let mut raw = Raw::start(shared).await;
    raw.send(json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "ask", "_meta": {"progressToken": "p7"},
        "arguments": {"question": "Explain every function in this workspace in great detail, line by line.", "budget": 4096}}}))
        .await;
    // Wait for the answer to stream.
    let t0 = Instant::now();
    loop {
        let m = raw
            .next(Duration::from_secs(60))
            .await
            .expect("progress arrives");
        assert_ne!(m["id"], 7, "answered before it could be cancelled: {m}");
        if m["method"] == "notifications/progress" && m["params"]["progressToken"] == "p7" {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60));
    }
    raw.send(
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "the user moved on"}}),
    )
    .await;
    raw.send(json!({"jsonrpc": "2.0", "id": 8, "method": "ping"}))
        .await;
    // Nothing for id 7, ever; the ping is answered.
    let mut pong = false;
    let end = Instant::now() + Duration::from_secs(3);
    while let Some(m) = raw
        .next(end.saturating_duration_since(Instant::now()))
        .await
    {
        assert_ne!(m["id"], 7, "a cancelled request got a response: {m}");
        pong |= m["id"] == 8;
    }
    assert!(pong, "the server stopped serving");
    // And the model stopped: this process is idle.
    let c0 = cpu_seconds();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let busy = cpu_seconds() - c0;
    assert!(
        busy < 0.5,
        "still generating after the cancel: {busy:.2} CPU-s in 1 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn garbage_lines_do_not_stop_the_server() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let mut raw = Raw::start(shared).await;
    for junk in [
        "not json at all",
        "{\"jsonrpc\": \"2.0\", \"id\": 3, \"method\":",
        "[1,2,3]",
        "\u{0}\u{1}binary",
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":\"not an object\"}",
    ] {
        raw.send_line(junk).await;
    }
    raw.send(json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "find_symbol", "arguments": {"name": "rtreq"}}})).await;
    let r = raw
        .until_id(5, Duration::from_secs(10))
        .await
        .expect("served after garbage");
    assert_eq!(
        r["result"]["structuredContent"]["symbols"][0]["name"], "route_request",
        "{r}"
    );
    // Arguments that are not an object: a protocol error, not a crash.
    raw.send(json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "find_symbol", "arguments": [1]}})).await;
    let r = raw
        .until_id(6, Duration::from_secs(10))
        .await
        .expect("an answer");
    assert!(r["error"]["code"].as_i64().is_some(), "{r}");
}

async fn post(addr: std::net::SocketAddr, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.body(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}})
        .to_string(),
    )
    .send()
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_rejects_foreign_origins_and_hosts_and_requires_the_token_when_set() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let (addr, _g) = http_server(
        shared.clone(),
        scry_mcp::HttpOptions::new("127.0.0.1:0".parse().unwrap()),
    )
    .await;
    assert!(addr.ip().is_loopback());
    assert!(
        post(addr, &[]).await.status().is_success(),
        "a client without Origin"
    );
    let local = format!("http://localhost:{}", addr.port());
    assert!(
        post(addr, &[("origin", &local)])
            .await
            .status()
            .is_success()
    );
    // A web page elsewhere (DNS rebinding or a drive-by request): refused.
    for origin in [
        "http://evil.example",
        "https://localhost.evil.example",
        "null",
    ] {
        let r = post(addr, &[("origin", origin)]).await;
        assert_eq!(r.status(), 403, "{origin}");
    }
    let r = post(addr, &[("host", "evil.example")]).await;
    assert!(
        r.status().is_client_error(),
        "Host evil.example: {}",
        r.status()
    );

    // With a token: nothing without it, nothing with a wrong one.
    let mut opts = scry_mcp::HttpOptions::new("127.0.0.1:0".parse().unwrap());
    opts.token = Some("t0ken-123".into());
    let (addr, _g2) = http_server(shared.clone(), opts).await;
    assert_eq!(post(addr, &[]).await.status(), 401);
    assert_eq!(
        post(addr, &[("authorization", "Bearer wrong")])
            .await
            .status(),
        401
    );
    assert_eq!(
        post(addr, &[("authorization", "Bearer t0ken-1234")])
            .await
            .status(),
        401
    );
    assert!(
        post(addr, &[("authorization", "Bearer t0ken-123")])
            .await
            .status()
            .is_success()
    );
    // And rmcp's client with the token works end to end.
    let transport = rmcp::transport::StreamableHttpClientTransport::from_config(
        rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig::with_uri(
            format!("http://{addr}/mcp"),
        )
        .auth_header("t0ken-123"),
    );
    use rmcp::ServiceExt;
    let client = Recorder::default()
        .serve(transport)
        .await
        .expect("initializes with the token");
    let r = ok(&client, "find_symbol", json!({"name": "rtreq"})).await;
    assert_eq!(r["symbols"][0]["name"], "route_request");
}

/// `params: []` once got an error without an `id` (the caller waited forever),
/// `arguments: [1]` got -32601, and `{not json}` got no reply at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn malformed_messages_get_json_rpc_errors_with_their_id() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let mut raw = Raw::start(shared).await;
    raw.send_line("{not json}").await;
    let r = raw
        .next(Duration::from_secs(10))
        .await
        .expect("a parse error");
    assert_eq!(
        (r["error"]["code"].as_i64(), &r["id"]),
        (Some(-32700), &Value::Null),
        "{r}"
    );
    raw.send_line("[1,2,3]").await;
    let r = raw
        .next(Duration::from_secs(10))
        .await
        .expect("an invalid request");
    assert_eq!(r["error"]["code"], -32600, "{r}");
    for (id, msg) in [
        (
            11,
            json!({"jsonrpc": "2.0", "id": 11, "method": "tools/list", "params": []}),
        ),
        (
            12,
            json!({"jsonrpc": "2.0", "id": 12, "method": "tools/call", "params": {"name": "find_symbol", "arguments": [1]}}),
        ),
        (
            13,
            json!({"jsonrpc": "2.0", "id": 13, "method": "tools/call", "params": {"name": 5}}),
        ),
    ] {
        raw.send(msg).await;
        let r = raw
            .until_id(id, Duration::from_secs(10))
            .await
            .expect("an answer with the id");
        assert_eq!(r["error"]["code"], -32602, "{r}");
    }
    // A malformed notification gets nothing; the next request is served.
    raw.send(json!({"jsonrpc": "2.0", "method": "notifications/initialized", "params": [1]}))
        .await;
    raw.send(json!({"jsonrpc": "2.0", "id": 14, "method": "tools/call", "params": {"name": "find_symbol", "arguments": {"name": "route_request"}}})).await;
    let r = raw.next(Duration::from_secs(10)).await.expect("served");
    assert_eq!(r["id"], 14, "{r}");
    assert_eq!(
        r["result"]["structuredContent"]["symbols"][0]["name"], "route_request",
        "{r}"
    );
}

/// 2,000 `initialize` calls without DELETE once added 113 MB in 3 s: sessions are capped,
/// a new one past the cap gets a clear, retryable 503, and idle ones expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_sessions_are_capped_and_idle_ones_expire() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let mut opts = scry_mcp::HttpOptions::new("127.0.0.1:0".parse().unwrap());
    opts.max_sessions = 3;
    opts.session_idle = Duration::from_secs(2);
    let (addr, _g) = http_server(shared, opts).await;
    for i in 0..3 {
        let r = post(addr, &[]).await;
        assert!(r.status().is_success(), "session {i}: {}", r.status());
        assert!(r.headers().contains_key("mcp-session-id"));
    }
    let r = post(addr, &[]).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "5");
    let body = r.text().await.unwrap();
    assert!(
        body.contains("too many open MCP sessions (3, the cap is 3)"),
        "{body}"
    );
    // Idle sessions close by themselves; then there is room again.
    let t0 = Instant::now();
    loop {
        let r = post(addr, &[]).await;
        if r.status().is_success() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "idle sessions never expired"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
