//! `scry lsp` as a process: exit codes, and nothing but protocol on stdout even with
//! trace logging on and a handler panicking (RELIABILITY.md items 3 and 9).

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scry_test_support::Sandbox;
use serde_json::{Value, json};

fn frame(v: &Value) -> Vec<u8> {
    let body = v.to_string();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// Splits stdout into frames; panics on anything that is not a frame of valid JSON.
fn parse_all(mut bytes: &[u8]) -> Vec<Value> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("not a frame: {:?}", String::from_utf8_lossy(bytes)));
        let header = std::str::from_utf8(&bytes[..end]).expect("an ASCII header");
        let len: usize = header
            .strip_prefix("Content-Length: ")
            .unwrap_or_else(|| panic!("not an LSP header: {header:?}"))
            .parse()
            .expect("a length");
        let body = &bytes[end + 4..end + 4 + len];
        out.push(serde_json::from_slice(body).unwrap_or_else(|e| {
            panic!(
                "a body that is not JSON ({e}): {:?}",
                String::from_utf8_lossy(body)
            )
        }));
        bytes = &bytes[end + 4 + len..];
    }
    out
}

fn spawn(sb: &Sandbox, envs: &[(&str, &str)]) -> Child {
    let mut c: Command = sb.cmd(&["lsp", "--no-model", "--index-dir"]);
    c.arg(sb.dir.path().join("index"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        c.env(k, v);
    }
    c.spawn().expect("scry lsp starts")
}

fn wait_exit(child: &mut Child, limit: Duration) -> i32 {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code().expect("an exit code");
        }
        assert!(
            t.elapsed() < limit,
            "scry lsp did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn init(sb: &Sandbox) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
           "params": {"processId": null, "rootUri": format!("file://{}", sb.ws().canonicalize().unwrap().display()), "capabilities": {}}})
}

#[test]
fn exit_after_shutdown_is_0_and_without_is_1_both_within_a_second() {
    let sb = Sandbox::new();
    sb.write("src/lib.rs", "pub fn alpha() {}\n");
    for with_shutdown in [true, false] {
        let mut child = spawn(&sb, &[]);
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&frame(&init(&sb))).unwrap();
        stdin
            .write_all(&frame(
                &json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}),
            ))
            .unwrap();
        if with_shutdown {
            stdin
                .write_all(&frame(
                    &json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}),
                ))
                .unwrap();
        }
        // Give the server a moment to answer before `exit`.
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        stdin
            .write_all(&frame(&json!({"jsonrpc": "2.0", "method": "exit"})))
            .unwrap();
        stdin.flush().unwrap();
        // stdin stays open: the server must not wait for it to close.
        let code = wait_exit(&mut child, Duration::from_secs(1));
        assert!(t.elapsed() < Duration::from_secs(1));
        assert_eq!(code, if with_shutdown { 0 } else { 1 });
        drop(stdin);
    }
}

#[test]
fn with_trace_logging_and_a_panic_stdout_is_only_protocol() {
    let sb = Sandbox::new();
    sb.write(
        "src/lib.rs",
        "/// Greets.\npub fn greet_user(name: &str) -> String {\n    format!(\"hi {name}\")\n}\n",
    );
    let index = sb.dir.path().join("index");
    let out = sb.run(&[
        "index",
        "--no-model",
        "--index-dir",
        index.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let mut child = spawn(&sb, &[("SCRY_LOG", "trace"), ("SCRY_LSP_TEST_HOOKS", "1")]);
    let mut stdin = child.stdin.take().unwrap();
    let mut send = |v: Value| stdin.write_all(&frame(&v)).unwrap();
    send(init(&sb));
    send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    std::thread::sleep(Duration::from_millis(500));
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "scry/_testPanic", "params": {}}));
    send(
        json!({"jsonrpc": "2.0", "id": 3, "method": "scry/search", "params": {"query": "greet user"}}),
    );
    send(
        json!({"jsonrpc": "2.0", "id": 4, "method": "workspace/symbol", "params": {"query": "greet"}}),
    );
    std::thread::sleep(Duration::from_millis(500));
    send(json!({"jsonrpc": "2.0", "id": 5, "method": "shutdown"}));
    send(json!({"jsonrpc": "2.0", "method": "exit"}));
    let code = wait_exit(&mut child, Duration::from_secs(10));
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(
        stderr.contains("TRACE"),
        "trace logging was on: {}",
        &stderr[..stderr.len().min(500)]
    );
    let messages = parse_all(&stdout);
    let by_id = |id: i64| {
        messages
            .iter()
            .find(|m| m["id"] == id && m.get("method").is_none())
            .unwrap_or_else(|| panic!("no response {id}: {messages:?}"))
    };
    assert_eq!(by_id(2)["error"]["code"], -32603);
    let hits = &by_id(3)["result"]["hits"];
    assert!(
        hits[0]["snippet"]
            .as_str()
            .is_some_and(|s| s.contains("greet_user")),
        "the search after the panic: {}",
        by_id(3)
    );
    assert_eq!(by_id(4)["result"][0]["name"], "greet_user");
    assert!(by_id(5)["result"].is_null());
}
