//! `scry mcp` as a process: stdout carries nothing but MCP even at trace level, an API
//! key reaches no output or log, HTTP listens on loopback, and an editor's `scry lsp`
//! and an agent's `scry mcp` share one index (RELIABILITY 9, 15, 20).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use scry_test_support::Sandbox;
use serde_json::{Value, json};

/// An MCP session with a `scry mcp` child over its stdio.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    /// Every stdout line, for the purity check.
    seen: Vec<String>,
    next_id: i64,
}

impl Session {
    fn start(mut cmd: Command) -> Session {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("scry mcp starts");
        // Drain stderr as it comes: at trace level it fills a pipe in no time.
        let mut stderr = child.stderr.take().unwrap();
        let err = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = err.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut s = Session {
            child,
            stdin,
            lines: rx,
            stderr: err,
            seen: Vec::new(),
            next_id: 1,
        };
        let init = s.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}),
        );
        assert_eq!(init["result"]["serverInfo"]["name"], "scry", "{init}");
        s.notify("notifications/initialized", json!({}));
        s
    }
    fn send(&mut self, v: Value) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{v}").unwrap();
        stdin.flush().unwrap();
    }
    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let line = self
                .lines
                .recv_timeout(end.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("no answer to {method}"));
            self.seen.push(line.clone());
            let v: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON-RPC ({e}): {line:?}"));
            if v["id"] == id {
                return v;
            }
        }
    }
    fn tool(&mut self, name: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": name, "arguments": args}));
        assert!(r["result"].is_object(), "{name}: {r}");
        r["result"].clone()
    }
    /// Closes stdin and waits for the exit; returns (exit code, stderr).
    fn finish(mut self) -> (i32, String) {
        drop(self.stdin.take());
        let t = Instant::now();
        let code = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s.code().unwrap_or(-1);
            }
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "scry mcp did not exit after stdin closed"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
            self.seen.push(line);
        }
        for line in &self.seen {
            let v: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"));
            assert_eq!(v["jsonrpc"], "2.0", "{line}");
        }
        std::thread::sleep(Duration::from_millis(100));
        let err = self.stderr.lock().unwrap().clone();
        (code, err)
    }
}

fn fixture(sb: &Sandbox) {
    sb.write("src/lib.rs", "/// Parses a config file.\npub fn parse_config(text: &str) -> usize {\n    text.len()\n}\n");
    sb.write(
        "src/keys.rs",
        "pub fn token() -> &'static str {\n    \"ghp_0123456789abcdefghijklmnopqrstuvwxyz\"\n}\n",
    );
}

#[test]
fn stdout_is_only_mcp_at_trace_level_and_no_api_key_reaches_any_output() {
    let sb = Sandbox::new();
    fixture(&sb);
    let key = "sk-e2e-never-print-me-93c1d";
    let mut cmd = sb.cmd(&[
        "--no-model",
        "--openai-url",
        "http://user:hunter2-url-secret@127.0.0.1:9/v1",
        "--api-key-env",
        "E2E_BACKEND_KEY",
        "mcp",
        "--no-watch",
    ]);
    cmd.env("SCRY_LOG", "trace").env("E2E_BACKEND_KEY", key);
    let mut s = Session::start(cmd);
    let tools = s.request("tools/list", json!({}));
    assert_eq!(tools["result"]["tools"].as_array().unwrap().len(), 6);
    let mut outputs = tools.to_string();
    for (name, args) in [
        ("index_status", json!({})),
        ("search_code", json!({"query": "parse_config"})),
        ("get_context", json!({"query": "config"})),
        ("find_symbol", json!({"name": "token"})),
        ("read_range", json!({"path": "src/keys.rs"})),
        ("ask", json!({"question": "What does token return?"})),
    ] {
        let r = s.tool(name, args);
        assert_ne!(r["isError"], true, "{name}: {r}");
        outputs.push_str(&r.to_string());
    }
    assert!(outputs.contains("parse_config"));
    let (code, stderr) = s.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("TRACE") || stderr.contains("DEBUG"),
        "trace logging was on"
    );
    for (what, text) in [("tool output", &outputs), ("stderr", &stderr)] {
        assert!(!text.contains(key), "the API key is in {what}");
        assert!(
            !text.contains("hunter2-url-secret"),
            "the URL password is in {what}"
        );
        assert!(
            !text.contains("ghp_0123456789abcdefghij"),
            "a token from a file is in {what}"
        );
    }
}

/// Machines read the log: with `--log-format json` every line on stderr is one JSON
/// object, and each tool call's line carries its request id, tool and client.
#[test]
fn json_logs_carry_the_request_id_of_every_call() {
    let sb = Sandbox::new();
    fixture(&sb);
    let mut cmd = sb.cmd(&[
        "--no-model",
        "-v",
        "--log-format",
        "json",
        "mcp",
        "--no-watch",
    ]);
    cmd.env_remove("SCRY_LOG");
    let mut s = Session::start(cmd);
    s.tool("search_code", json!({"query": "parse_config"}));
    s.tool("find_symbol", json!({"name": "parse"}));
    let (code, stderr) = s.finish();
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l:?}")))
        .collect();
    let calls: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "tool call")
        .collect();
    assert_eq!(calls.len(), 2, "{stderr}");
    let span = |l: &Value| l["spans"].as_array().unwrap().last().unwrap().clone();
    let (a, b) = (span(calls[0]), span(calls[1]));
    assert_eq!(
        (a["name"].as_str(), a["tool"].as_str()),
        (Some("call"), Some("search_code"))
    );
    assert_eq!(b["tool"], "find_symbol");
    assert_eq!(a["client"], "stdio");
    assert!(
        a["id"].as_u64().unwrap() < b["id"].as_u64().unwrap(),
        "{a} {b}"
    );
    assert!(calls[0]["fields"]["ms"].as_f64().is_some());
}

#[test]
fn http_listens_on_loopback_and_says_where() {
    let sb = Sandbox::new();
    fixture(&sb);
    let mut child = sb
        .cmd(&["--no-model", "mcp", "--http", "127.0.0.1:0", "--no-watch"])
        .stderr(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    let t = Instant::now();
    let url = loop {
        line.clear();
        err.read_line(&mut line).unwrap();
        if let Some(i) = line.find("http://") {
            break line[i..].trim().to_owned();
        }
        assert!(t.elapsed() < Duration::from_secs(30), "no address printed");
    };
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/mcp"),
        "{url}"
    );
    child.kill().unwrap();
    let _ = child.wait();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.is_empty(), "HTTP mode printed on stdout: {out}");
}

fn lsp_frame(v: &Value) -> Vec<u8> {
    let body = v.to_string();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_editor_and_an_agent_share_one_index_and_the_agent_takes_over_when_the_editor_dies() {
    let sb = Sandbox::new();
    fixture(&sb);
    let index = sb.dir.path().join("index");
    let ws = sb.ws().canonicalize().unwrap();
    // The editor's language server starts first and writes the index.
    let mut lsp = sb
        .cmd(&["--no-model", "--index-dir", index.to_str().unwrap(), "lsp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lsp_in = lsp.stdin.take().unwrap();
    let mut lsp_out = lsp.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = lsp_out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    lsp_in
        .write_all(&lsp_frame(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": null, "rootUri": format!("file://{}", ws.display()), "capabilities": {}}})))
        .unwrap();
    lsp_in.flush().unwrap();
    // A client sends `initialized` after the response to `initialize`.
    rx.recv_timeout(Duration::from_secs(30))
        .expect("the editor's server answers");
    std::thread::spawn(move || while rx.recv().is_ok() {});
    lsp_in
        .write_all(&lsp_frame(
            &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
        ))
        .unwrap();
    lsp_in.flush().unwrap();
    wait_for("the editor's index", Duration::from_secs(30), || {
        index.join("manifest.json").exists()
    });

    // The agent's MCP server on the same workspace and index follows it.
    let mut cmd = sb.cmd(&["--no-model", "--index-dir", index.to_str().unwrap(), "mcp"]);
    cmd.current_dir(&ws);
    let mut agent = Session::start(cmd);
    let st = agent.tool("index_status", json!({}));
    assert_eq!(st["structuredContent"]["role"], "follower", "{st}");

    // The editor's watcher indexes a new file; the agent sees the new generation.
    sb.write(
        "src/fresh.rs",
        "pub fn brand_new_function_from_the_editor() {}\n",
    );
    wait_for(
        "the follower to see the editor's commit",
        Duration::from_secs(20),
        || {
            let r = agent.tool(
                "find_symbol",
                json!({"name": "brand_new_function_from_the_editor", "fuzzy": false}),
            );
            !r["structuredContent"]["symbols"]
                .as_array()
                .unwrap()
                .is_empty()
        },
    );

    // The editor dies hard; the agent takes the index over with no cleanup.
    lsp.kill().unwrap();
    let _ = lsp.wait();
    wait_for("the takeover", Duration::from_secs(10), || {
        agent.tool("index_status", json!({}))["structuredContent"]["role"] == "writer"
    });
    // And keeps it current itself.
    sb.write(
        "src/later.rs",
        "pub fn written_after_the_editor_died() {}\n",
    );
    wait_for(
        "the new writer to index a change",
        Duration::from_secs(20),
        || {
            let r = agent.tool(
                "find_symbol",
                json!({"name": "written_after_the_editor_died", "fuzzy": false}),
            );
            !r["structuredContent"]["symbols"]
                .as_array()
                .unwrap()
                .is_empty()
        },
    );
    let (code, stderr) = agent.finish();
    assert_eq!(code, 0, "{stderr}");
}

/// A plain HTTP/1.1 GET on loopback; the body.
fn http_get(addr: &str, path: &str) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    body.to_owned()
}

#[test]
fn the_dashboard_lists_the_calls_of_the_editor_the_shell_and_an_agent() {
    let sb = Sandbox::new();
    fixture(&sb);
    let ws = sb.ws().canonicalize().unwrap();
    // The dashboard: `scry serve`, the index's writer.
    let mut serve = sb
        .cmd(&["--no-model", "serve", "--http", "127.0.0.1:0", "--no-watch"])
        .current_dir(&ws)
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(serve.stderr.take().unwrap());
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "serve exited");
        if let Some(i) = line.find("http://") {
            let url = &line[i + "http://".len()..];
            break url.split('/').next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));

    // A person searches from a shell.
    let out = sb.run(&["--no-model", "search", "parse config"]);
    assert!(out.status.success(), "{out:?}");

    // An editor's language server searches.
    let mut lsp = sb
        .cmd(&["--no-model", "lsp"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lsp_in = lsp.stdin.take().unwrap();
    let mut lsp_out = BufReader::new(lsp.stdout.take().unwrap());
    let send = |w: &mut ChildStdin, v: Value| {
        w.write_all(&lsp_frame(&v)).unwrap();
        w.flush().unwrap();
    };
    let read = |r: &mut BufReader<ChildStdout>| -> Value {
        let mut len = 0;
        loop {
            let mut h = String::new();
            r.read_line(&mut h).unwrap();
            if h == "\r\n" {
                break;
            }
            if let Some(n) = h.strip_prefix("Content-Length: ") {
                len = n.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).unwrap();
        serde_json::from_slice(&body).unwrap()
    };
    send(
        &mut lsp_in,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"processId": null, "rootUri": format!("file://{}", ws.display()), "capabilities": {}}}),
    );
    while read(&mut lsp_out)["id"] != 1 {}
    send(
        &mut lsp_in,
        json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
    );
    send(
        &mut lsp_in,
        json!({"jsonrpc": "2.0", "id": 2, "method": "scry/search", "params": {"query": "retry backoff"}}),
    );
    let answer = loop {
        let m = read(&mut lsp_out);
        if m["id"] == 2 {
            break m;
        }
    };
    assert!(answer["result"]["hits"].is_array(), "{answer}");

    // An agent's MCP server over stdio.
    let mut agent = sb.cmd(&["--no-model", "mcp"]);
    agent.current_dir(&ws);
    let mut agent = Session::start(agent);
    agent.tool("search_code", json!({"query": "parse config"}));

    let mut seen = Value::Null;
    wait_for("the three faces' calls", Duration::from_secs(15), || {
        seen = serde_json::from_str(&http_get(&addr, "/dashboard/state")).unwrap();
        let recent = seen["recent"].as_array().unwrap();
        let has = |face: &str, tool: &str| {
            recent
                .iter()
                .any(|c| c["face"] == face && c["tool"] == tool && c["outcome"] == "ok")
        };
        has("cli", "search") && has("lsp", "scry/search") && has("mcp", "search_code")
    });
    // Each from its own process, none of them the dashboard's.
    let pids: std::collections::HashSet<_> = seen["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["pid"].as_u64().unwrap())
        .collect();
    assert_eq!(pids.len(), 3, "{seen}");
    assert!(!pids.contains(&seen["pid"].as_u64().unwrap()));
    let metrics = http_get(&addr, "/metrics");
    assert!(
        metrics.contains(r#"scry_calls_total{face="lsp",outcome="ok",tool="scry/search"} 1"#),
        "{metrics}"
    );

    let (code, stderr) = agent.finish();
    assert_eq!(code, 0, "{stderr}");
    drop(lsp_in);
    let _ = lsp.kill();
    let _ = lsp.wait();
    let _ = serve.kill();
    let _ = serve.wait();
}
