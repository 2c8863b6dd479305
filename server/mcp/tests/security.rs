//! RELIABILITY 10–16 through rmcp's client, over stdio and HTTP: paths confined to the
//! roots, client roots ignored, nothing reaching a shell, read-only tools writing
//! nothing, every input bounded, no key or secret in any output.

// MCP roots: deprecated by SEP-2577, still what hosts send.
#![allow(deprecated)]

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use support::*;

/// Bytes that must never reach a client: outside files, the sibling, secrets.
const FORBIDDEN: [&str; 7] = [
    "OUTSIDE CONTENT",
    "EVIL SIBLING",
    "root:x:0",
    "sk-dotenv-secret",
    "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c",
    "b3BlbnNzaC1rZXktdjEAAAAA",
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC",
];

fn assert_clean(what: &str, text: &str) {
    for f in FORBIDDEN {
        assert!(!text.contains(f), "{what} leaked {f:?}: {text}");
    }
}

fn everything(r: &rmcp::model::CallToolResult) -> String {
    format!(
        "{} {}",
        text_of(r),
        r.structured_content.clone().unwrap_or(Value::Null)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn paths_outside_the_roots_are_refused_whatever_their_disguise() {
    let fx = Fixture::new();
    let ws = fx.ws();
    let parent = fx.dir.path().canonicalize().unwrap();
    std::os::unix::fs::symlink(parent.join("outside/secret.txt"), ws.join("link.txt")).unwrap();
    std::os::unix::fs::symlink(parent.join("outside"), ws.join("linkdir")).unwrap();
    let shared = fx.start(no_models(), false).await;
    let attacks: Vec<String> = vec![
        "../../etc/passwd".into(),
        "/etc/passwd".into(),
        "file:///etc/passwd".into(),
        "..%2f..%2f..%2fetc%2fpasswd".into(),
        "src/..%2f..%2fouts ide".into(),
        "%2e%2e/%2e%2e/etc/passwd".into(),
        "../outside/secret.txt".into(),
        "../repo_evil/secret.txt".into(),
        format!("{}/repo_evil/secret.txt", parent.display()),
        format!("{}_evil/secret.txt", ws.display()),
        format!("{}/outside/secret.txt", parent.display()),
        "link.txt".into(),
        "linkdir/secret.txt".into(),
        "linkdir/new-file.txt".into(),
        "src/../../outside/secret.txt".into(),
        "src/\0/config.rs".into(),
        "".into(),
        ".git/config".into(),
    ];
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        for path in &attacks {
            let r = call(&client, "read_range", json!({"path": path})).await;
            assert_eq!(r.is_error, Some(true), "{t:?} {path:?}: {r:?}");
            assert_clean(path, &everything(&r));
        }
        // Nothing outside was indexed either, symlinks included.
        for q in ["OUTSIDE CONTENT", "EVIL SIBLING", "secret"] {
            let r = call(&client, "search_code", json!({"query": q, "k": 50})).await;
            assert_clean(q, &everything(&r));
            let hits = r.structured_content.unwrap();
            assert!(
                paths(&hits, "hits").iter().all(|p| !p.starts_with("link")),
                "{t:?}: {hits}"
            );
        }
        // Inside the workspace, an absolute path works.
        let inside = ok(
            &client,
            "read_range",
            json!({"path": format!("{}/src/server.rs", ws.display()), "end_line": 1}),
        )
        .await;
        assert_eq!(inside["path"], "src/server.rs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roots_a_client_advertises_never_widen_the_workspace() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let rec = Recorder {
            claims_roots: true,
            ..Default::default()
        };
        let (client, _g) = connect(shared.clone(), t, rec).await;
        client.notify_roots_list_changed().await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let home = std::env::var("HOME").unwrap();
        for path in [
            "/etc/passwd",
            &format!("{home}/.bashrc"),
            "/proc/self/environ",
        ] {
            let r = call(&client, "read_range", json!({"path": path})).await;
            assert_eq!(r.is_error, Some(true), "{t:?} {path}");
        }
        let s = ok(&client, "index_status", json!({})).await;
        assert_eq!(s["roots"], json!([fx.ws().display().to_string()]));
    }
}

/// Every file under `dir` with its size and modification time.
fn tree(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    for e in walk(dir) {
        let m = std::fs::symlink_metadata(&e).unwrap();
        out.insert(e.display().to_string(), (m.len(), m.modified().unwrap()));
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            v.push(p.clone());
            if e.file_type().unwrap().is_dir() {
                v.extend(walk(&p));
            }
        }
    }
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn text_never_reaches_a_shell_and_read_only_tools_write_nothing() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    let tmp = std::env::temp_dir();
    let canary = tmp.join(format!("scry-pwned-{}", std::process::id()));
    let before = tree(&fx.ws());
    let tmp_before: Vec<_> = walk(&tmp)
        .into_iter()
        .filter(|p| p.starts_with(&canary))
        .collect();
    let hostile = [
        format!("--output={}", canary.display()),
        format!("; touch {}", canary.display()),
        format!("$(touch {})", canary.display()),
        format!("`touch {}`", canary.display()),
        format!("x | tee {}", canary.display()),
    ];
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        for h in &hostile {
            for (tool, args) in [
                ("search_code", json!({"query": h})),
                (
                    "search_code",
                    json!({"query": "x", "path_glob": h, "language": h}),
                ),
                ("get_context", json!({"query": h})),
                ("find_symbol", json!({"name": h, "kind": h})),
                ("read_range", json!({"path": h})),
                ("ask", json!({"question": h})),
                ("index_status", json!({})),
            ] {
                let r = call(&client, tool, args).await;
                assert_clean(tool, &everything(&r));
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!canary.exists(), "a hostile argument ran a command");
    assert_eq!(tmp_before.len(), 0);
    // The workspace is byte for byte and mtime for mtime as it was.
    assert_eq!(tree(&fx.ws()), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn huge_and_hostile_inputs_get_clear_errors_or_bounded_answers() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let e = tool_error(
            &client,
            "search_code",
            json!({"query": "x", "k": 1_000_000_000u64}),
        )
        .await;
        assert!(e.contains("k must be within 1..=50"), "{e}");
        let e = tool_error(&client, "search_code", json!({"query": "x", "k": -1})).await;
        assert!(e.contains("invalid value"), "{e}");
        let e = tool_error(
            &client,
            "get_context",
            json!({"query": "x", "budget": -100}),
        )
        .await;
        assert!(e.contains("invalid value"), "{e}");
        let e = tool_error(
            &client,
            "get_context",
            json!({"query": "x", "budget": 10_000_000}),
        )
        .await;
        assert!(e.contains("budget"), "{e}");
        let e = tool_error(
            &client,
            "find_symbol",
            json!({"name": "x", "limit": 1_000_000}),
        )
        .await;
        assert!(e.contains("limit"), "{e}");
        // An absurd range is a bounded answer: clamped to the file.
        let r = ok(
            &client,
            "read_range",
            json!({"path": "src/config.rs", "start_line": 1, "end_line": u64::MAX}),
        )
        .await;
        assert_eq!(r["end_line"], 16);
        let e = tool_error(
            &client,
            "search_code",
            json!({"query": "x", "deadline_ms": 10_000_000}),
        )
        .await;
        assert!(e.contains("deadline_ms"), "{e}");
        // A 10 MB query: refused over stdio by the tool, over HTTP already by the body cap.
        let big = "a".repeat(10 << 20);
        match client
            .call_tool(
                rmcp::model::CallToolRequestParams::new("search_code")
                    .with_arguments(json!({"query": big}).as_object().unwrap().clone()),
            )
            .await
        {
            Ok(r) => {
                assert_eq!(r.is_error, Some(true), "{t:?}");
                assert!(text_of(&r).contains("the limit is"), "{}", text_of(&r));
            }
            Err(e) => assert_eq!(t, Transport::Http, "{e}"),
        }
    }
    // After all that, each transport still serves.
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        ok(&client, "search_code", json!({"query": "parse_config"})).await;
    }
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_parallel_calls_are_all_answered_with_memory_bounded() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let client = std::sync::Arc::new(client);
        let base = rss_kib();
        let mut tasks = Vec::new();
        for i in 0..1000 {
            let c = client.clone();
            tasks.push(tokio::spawn(async move {
                let (tool, args) = match i % 3 {
                    0 => (
                        "search_code",
                        json!({"query": format!("handle widget event {i}")}),
                    ),
                    1 => (
                        "get_context",
                        json!({"query": "parse config", "budget": 500}),
                    ),
                    _ => ("find_symbol", json!({"name": "widget"})),
                };
                let r = call(&c, tool, args).await;
                // Over HTTP the client is past its rate limit soon: that is a clear,
                // retryable refusal, not a failure.
                let limited = r.is_error == Some(true)
                    && text_of(&r).contains("rate limited")
                    && text_of(&r).contains("retry after");
                (r.is_error != Some(true), limited)
            }));
        }
        let (mut good, mut limited) = (0, 0);
        for task in tasks {
            let (ok, l) = task.await.unwrap();
            good += usize::from(ok);
            limited += usize::from(l);
        }
        assert_eq!(
            good + limited,
            1000,
            "{t:?}: every call is answered or refused clearly"
        );
        let burst = scry_mcp::RateLimit::default().burst as usize;
        match t {
            Transport::Stdio => assert_eq!(good, 1000, "stdio has one client: no limit"),
            Transport::Http => assert!(good >= burst, "{t:?}: only {good} answered"),
        }
        let grown = rss_kib().saturating_sub(base);
        assert!(grown < 256 * 1024, "{t:?}: memory grew by {grown} KiB");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secret_files_are_not_served_and_secrets_inside_files_are_masked() {
    let fx = Fixture::new();
    let shared = fx.start(no_models(), true).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        for path in [".env", "id_rsa", "certs/server.pem"] {
            let e = tool_error(&client, "read_range", json!({"path": path})).await;
            assert!(e.contains("secrets"), "{t:?} {path}: {e}");
            assert_clean(path, &e);
        }
        for (tool, args) in [
            (
                "search_code",
                json!({"query": "billing client sk-live key"}),
            ),
            (
                "search_code",
                json!({"query": "OPENAI_API_KEY PRIVATE KEY"}),
            ),
            ("get_context", json!({"query": "billing API client"})),
            ("find_symbol", json!({"name": "billing_client"})),
            ("read_range", json!({"path": "src/keys.rs"})),
            (
                "ask",
                json!({"question": "What key does billing_client use?"}),
            ),
        ] {
            let r = call(&client, tool, args.clone()).await;
            assert_ne!(r.is_error, Some(true), "{tool}: {r:?}");
            assert_clean(tool, &everything(&r));
        }
        // The masked file is still served, same length, with the key hidden.
        let r = ok(&client, "read_range", json!({"path": "src/keys.rs"})).await;
        let text = r["text"].as_str().unwrap();
        assert!(text.contains("fn billing_client"));
        assert_eq!(
            text.len(),
            std::fs::read_to_string(fx.ws().join("src/keys.rs"))
                .unwrap()
                .len()
        );
        let s = ok(&client, "search_code", json!({"query": "OPENAI_API_KEY"})).await;
        assert!(!paths(&s, "hits").iter().any(|p| p.contains(".env")));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_model_server_api_key_appears_in_no_output_and_no_argument_can_redirect_it() {
    use scry_models::http::HttpConfig;
    use scry_models::{BackendSpec, ModelManager, ModelRole};
    let key = "scry-test-key-7f3e9a1c5b";
    // SAFETY: set before any thread of this test reads the environment; the name is
    // unique to this test.
    unsafe { std::env::set_var("SCRY_TEST_BACKEND_KEY", key) };
    let fx = Fixture::new();
    let models = ModelManager::new();
    // Credentials in the URL too; nothing listens on port 9.
    let mut cfg = HttpConfig::new("http://user:url-password-55@127.0.0.1:9/v1", "remote-model")
        .with_api_key_env("SCRY_TEST_BACKEND_KEY");
    cfg.max_retries = 0;
    models.configure(ModelRole::Fast, vec![BackendSpec::OpenAi(cfg)]);
    models.configure(ModelRole::Strong, Vec::new());
    let shared = fx.start(models, false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        let tools = client.list_tools(None).await.unwrap().tools;
        let ask = tools.iter().find(|t| t.name == "ask").unwrap();
        // Truthful: prompts go to an HTTP server.
        assert_eq!(
            ask.annotations.as_ref().unwrap().open_world_hint,
            Some(true)
        );
        let mut all = serde_json::to_string(&tools).unwrap();
        for (tool, args) in [
            ("ask", json!({"question": "How is the config parsed?"})),
            ("index_status", json!({})),
            ("get_context", json!({"query": "config"})),
        ] {
            let r = call(&client, tool, args).await;
            all.push_str(&everything(&r));
        }
        assert!(!all.contains(key), "{t:?}: the API key leaked");
        assert!(
            !all.contains("url-password-55"),
            "{t:?}: the URL password leaked"
        );
        assert!(all.contains("No language model answered"), "{all}");
        // No parameter reaches the backend's URL or headers.
        for extra in ["url", "base_url", "headers", "api_key", "model", "backend"] {
            let mut args = json!({"question": "x"});
            args[extra] = json!("http://attacker.example/v1");
            let e = tool_error(&client, "ask", args).await;
            assert!(e.contains("unknown field"), "{extra}: {e}");
        }
    }
}

/// The leak corpus (60 secret forms in 24 files, 12 languages and config formats)
/// copied into the workspace: no tool returns one of its secrets in clear.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_secret_of_the_leak_corpus_is_returned_by_any_tool() {
    let secrets = scry_test_support::leak_corpus::secrets();
    let fx = Fixture::new();
    let mut names = Vec::new();
    for f in scry_test_support::leak_corpus::files() {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        write(
            &fx.ws(),
            &format!("leaks/{name}"),
            &std::fs::read_to_string(&f).unwrap(),
        );
        names.push(name);
    }
    let shared = fx.start(no_models(), false).await;
    let (client, _g) = connect(shared.clone(), Transport::Stdio, Recorder::default()).await;
    let mut all = String::new();
    let mut served = 0;
    for name in &names {
        let r = call(
            &client,
            "read_range",
            json!({"path": format!("leaks/{name}")}),
        )
        .await;
        served += usize::from(r.is_error != Some(true));
        all.push_str(&everything(&r));
    }
    let mut queries: Vec<String> = [
        "password",
        "token",
        "api key",
        "secret",
        "private key",
        "auth header",
        "database url",
    ]
    .map(String::from)
    .to_vec();
    queries.extend(secrets.iter().map(|(_, s)| s.clone()));
    for q in &queries {
        let r = call(&client, "search_code", json!({"query": q, "k": 50})).await;
        all.push_str(&everything(&r));
        let r = call(&client, "get_context", json!({"query": q, "budget": 4000})).await;
        all.push_str(&everything(&r));
    }
    assert!(served >= 15, "only {served} corpus files were served");
    let leaked = scry_test_support::leak_corpus::leaked(&secrets, &all);
    assert!(leaked.is_empty(), "returned in clear: {leaked:#?}");
}

/// A FIFO once hung `read_range` forever, and after two such calls no tool call was
/// answered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fifo_never_hangs_read_range_or_the_server() {
    let fx = Fixture::new();
    let fifo = fx.ws().join("src/pipe.rs");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let shared = fx.start(no_models(), false).await;
    for t in BOTH {
        let (client, _g) = connect(shared.clone(), t, Recorder::default()).await;
        for _ in 0..3 {
            let r = tokio::time::timeout(
                Duration::from_secs(10),
                call(&client, "read_range", json!({"path": "src/pipe.rs"})),
            )
            .await
            .expect("read_range answered");
            assert_eq!(r.is_error, Some(true), "{r:?}");
            assert!(
                text_of(&r).contains("not a regular file"),
                "{}",
                text_of(&r)
            );
        }
        let s = ok(&client, "search_code", json!({"query": "parse_config"})).await;
        assert!(
            paths(&s, "hits").iter().any(|p| p == "src/config.rs"),
            "{s}"
        );
    }
}
