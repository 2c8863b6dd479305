//! The `scry` CLI as a user runs it: index, search in every mode, status, dry runs,
//! watch, and bad input answered with clear errors.

use std::process::Stdio;
use std::time::{Duration, Instant};

use scry_test_support::{Sandbox, embed_model};

fn fixture(s: &Sandbox) {
    s.write("src/lib.rs", "/// Parses the configuration file into settings.\npub fn parse_config(path: &str) -> Settings {\n    todo!()\n}\n\npub struct Settings { pub verbose: bool }\n");
    s.write("src/net/http.rs", "/// Sends an HTTP request and waits for the response.\npub fn send_request(url: &str) -> Response {\n    todo!()\n}\n");
    s.write("web/cart.ts", "/** Computes the total price of the items in a shopping cart. */\nexport function cartTotal(items: Item[]): number {\n  return items.reduce((s, i) => s + i.price, 0);\n}\n");
    s.write(
        "README.md",
        "# Demo\n\n## Usage\n\nRun the demo server with the config file.\n",
    );
    s.write(".env", "SECRET_TOKEN=abc123\n");
    s.write("keys/server.pem", "-----BEGIN PRIVATE KEY-----\nabc\n");
}

fn model_arg() -> String {
    embed_model().to_string_lossy().into_owned()
}

#[test]
fn index_then_search_json_has_the_documented_shape() {
    let s = Sandbox::new();
    fixture(&s);
    let m = model_arg();
    let report = s.json(&["index", "--json", "--embed-model", &m]);
    assert_eq!(report["files_indexed"], 4);
    assert_eq!(report["files_skipped"]["secret"], 1);
    assert!(report["chunks_embedded"].as_u64().unwrap() >= 4);
    assert_eq!(report["mode"], "hybrid");

    let r = s.json(&[
        "search",
        "parse config",
        "--json",
        "-k",
        "3",
        "--embed-model",
        &m,
    ]);
    assert!(r["generation"].as_u64().unwrap() >= 1);
    assert_eq!(r["mode"], "hybrid");
    let top = &r["results"][0];
    assert_eq!(top["path"], "src/lib.rs");
    assert_eq!(top["start_line"], 1);
    // The tiny struct after the function is merged into its chunk.
    assert_eq!(top["end_line"], 6);
    assert_eq!(top["symbol"], "parse_config");
    assert_eq!(top["kind"], "function");
    assert_eq!(top["language"], "rust");
    assert!(top["score"].as_f64().unwrap() > 0.0);
    assert!(top["ranks"]["lexical"].is_u64());
    assert!(top["ranks"].get("vector").is_some());

    let r = s.json(&[
        "search",
        "price of everything in the basket",
        "--json",
        "--mode",
        "vector",
        "--embed-model",
        &m,
    ]);
    assert_eq!(r["mode"], "vector");
    assert_eq!(r["results"][0]["path"], "web/cart.ts");
    assert!(r["results"][0]["ranks"]["lexical"].is_null());

    let r = s.json(&[
        "search",
        "request",
        "--json",
        "--mode",
        "lexical",
        "--lang",
        "rust",
        "--path",
        "src/net/**",
        "--embed-model",
        &m,
    ]);
    let results = r["results"].as_array().unwrap();
    assert!(!results.is_empty());
    assert!(
        results
            .iter()
            .all(|h| h["path"].as_str().unwrap().starts_with("src/net/"))
    );

    let r = s.json(&[
        "search",
        "demo",
        "--json",
        "--root",
        "src",
        "--embed-model",
        &m,
    ]);
    assert!(
        r["results"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["path"].as_str().unwrap().starts_with("src/"))
    );

    // By file: each file once, ranked, with its best ranges.
    let r = s.json(&[
        "search",
        "request config settings",
        "--json",
        "--files",
        "-k",
        "2",
        "--embed-model",
        &m,
    ]);
    assert_eq!(r["results"], serde_json::json!([]));
    let files = r["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{r}");
    assert_ne!(files[0]["path"], files[1]["path"]);
    for f in files {
        assert_eq!(f["file_hash"].as_str().unwrap().len(), 32);
        let ranges = f["ranges"].as_array().unwrap();
        assert!((1..=3).contains(&ranges.len()), "{f}");
        assert!(ranges.iter().all(|h| h["path"] == f["path"]));
    }
    let out = s.run(&[
        "search",
        "request config settings",
        "--files",
        "--embed-model",
        &m,
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("src/lib.rs  ["),
        "{text}"
    );

    let st = s.json(&["status", "--json", "--embed-model", &m]);
    assert_eq!(st["files"], 4);
    assert_eq!(st["mode"], "hybrid");
    assert_eq!(st["bm25_only"], false);
    // A status loads no model: it reports the fast tier it would search, and what the
    // full tier has.
    assert_eq!(st["model"]["dims"], 128);
    let full = st["tiers"]["full"]["model"].as_str().unwrap();
    assert!(full.starts_with("all-MiniLM-L6-v2"), "{st}");
}

#[test]
fn without_a_model_every_search_says_bm25_only() {
    let s = Sandbox::new();
    fixture(&s);
    let out = s.run(&["search", "cartTotal", "--json"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("BM25-only"), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["mode"], "lexical");
    assert_eq!(r["requested_mode"], "hybrid");
    assert!(r["notice"].as_str().unwrap().starts_with("BM25-only"));
    assert_eq!(r["results"][0]["path"], "web/cart.ts");
    let st = s.json(&["status", "--json"]);
    assert_eq!(st["bm25_only"], true);
    assert_eq!(st["mode"], "lexical");
}

#[test]
fn dry_run_reports_work_and_writes_nothing() {
    let s = Sandbox::new();
    fixture(&s);
    let index = s.dir.path().join("idx");
    let m = model_arg();
    let dry_run = |dir: &std::path::Path| {
        s.json(&[
            "index",
            "--dry-run",
            "--json",
            "--embed-model",
            &m,
            "--index-dir",
            dir.to_str().unwrap(),
        ])
    };
    let r = dry_run(&index);
    assert_eq!(r["files_to_index"], 4);
    assert!(r["chunks"].as_u64().unwrap() >= 4);
    let tokens = r["embed_tokens"].as_u64().unwrap();
    assert!(tokens > 20);
    // No index run has measured this model on this machine yet: no guess.
    assert!(r["estimated_embed_seconds"].is_null(), "{r}");
    assert_eq!(r["mode"], "hybrid");
    assert!(!index.exists(), "a dry run created {}", index.display());
    // After a real run that waited for the model's own vectors (which embedded exactly
    // the tokens counted), a dry run finds nothing left to do.
    let done = s.json(&[
        "index",
        "--json",
        "--wait-vectors",
        "--embed-model",
        &m,
        "--index-dir",
        index.to_str().unwrap(),
    ]);
    assert_eq!(done["full_tier"]["embed_tokens"].as_u64().unwrap(), tokens);
    let r = dry_run(&index);
    assert_eq!(r["files_to_index"], 0);
    assert_eq!(r["chunks_to_embed"], 0);

    // With a speed measured here before (what a longer index run records), the
    // estimate is the tokens at that speed.
    let status = s.json(&[
        "status",
        "--json",
        "--embed-model",
        &m,
        "--index-dir",
        index.to_str().unwrap(),
    ]);
    let id = status["tiers"]["full"]["model"]
        .as_str()
        .unwrap()
        .to_owned();
    let speed = s.dir.path().join("cache/scry/embed-speed.json");
    std::fs::create_dir_all(speed.parent().unwrap()).unwrap();
    std::fs::write(
        &speed,
        serde_json::json!({ "tokens_per_second": { id: 50.0 } }).to_string(),
    )
    .unwrap();
    let fresh = s.dir.path().join("idx-fresh");
    let r = dry_run(&fresh);
    assert_eq!(r["embed_tokens"].as_u64().unwrap(), tokens);
    let expected = tokens as f64 / 50.0;
    let estimated = r["estimated_embed_seconds"].as_f64().unwrap();
    assert!(
        (estimated - expected).abs() < 1e-6,
        "{estimated} vs {expected}"
    );
}

#[test]
fn verbose_logging_never_reaches_stdout() {
    let s = Sandbox::new();
    fixture(&s);
    let m = model_arg();
    let out = s.run(&["-vv", "search", "config", "--json", "--embed-model", &m]);
    assert!(out.status.success());
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .expect("stdout is only the JSON result");
    assert!(!out.stderr.is_empty(), "debug logs go to stderr");
}

#[test]
fn bad_input_gets_a_clear_error_and_a_nonzero_exit() {
    let s = Sandbox::new();
    fixture(&s);
    let out = s.run(&["index", "/definitely/not/here"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/definitely/not/here") && err.contains("no such directory"),
        "{err}"
    );

    // A corrupt model: the command still succeeds, BM25-only, and says why.
    let bad = s.dir.path().join("bad.gguf");
    std::fs::write(&bad, b"this is not a model").unwrap();
    let out = s.run(&[
        "search",
        "cartTotal",
        "--json",
        "--embed-model",
        bad.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("BM25-only") && err.contains("bad.gguf"),
        "{err}"
    );

    let out = s.run(&["search", "x", "--path", "["]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad path glob"));

    let out = s.run(&["search", "x", "--root", "/etc"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("outside the workspace"));

    let out = s.run(&["search", "x", "--mode", "psychic"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_corrupt_index_directory_is_rebuilt_with_a_notice() {
    let s = Sandbox::new();
    fixture(&s);
    let index = s.dir.path().join("idx");
    let idx = index.to_str().unwrap();
    s.json(&["index", "--json", "--index-dir", idx]);
    std::fs::write(index.join("manifest.json"), b"garbage").unwrap();
    let out = s.run(&["search", "cartTotal", "--json", "--index-dir", idx]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("rebuilding"));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["results"][0]["path"], "web/cart.ts");
}

#[test]
fn watch_keeps_the_index_current_until_interrupted() {
    let s = Sandbox::new();
    fixture(&s);
    let mut child = s
        .cmd(&["watch"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the initial index to be committed and the watcher to start.
    let index_dir = s.dir.path().join("cache/scry/indexes");
    let t = Instant::now();
    while !index_dir.exists() || t.elapsed() < Duration::from_secs(2) {
        assert!(t.elapsed() < Duration::from_secs(30), "watch did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));
    s.write("src/added.rs", "pub fn added_while_watching() {}\n");
    std::thread::sleep(Duration::from_secs(3));
    // Read-only commands follow the writer instead of failing: "being written by another
    // scry process" once made `status` and `search --no-refresh` exit 1.
    for args in [
        &["status"][..],
        &["search", "added_while_watching", "--no-refresh"][..],
        &["search", "added_while_watching"][..],
    ] {
        let out = s.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(err.contains("is writing this index"), "{args:?}: {err}");
        if args[0] == "search" {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("src/added.rs"), "{args:?}: {text}");
        }
    }
    // SIGINT, as Ctrl-C would.
    let pid = child.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "watch exited with {status}");
    let r = s.json(&["search", "added_while_watching", "--json", "--no-refresh"]);
    assert_eq!(r["results"][0]["path"], "src/added.rs");
}

/// psf/requests' exceptions: three classes small enough to share one chunk.
const EXCEPTIONS: &str = "class ContentDecodingError(RequestException, BaseHTTPError):\n    \"\"\"Failed to decode response content.\"\"\"\n\n\nclass StreamConsumedError(RequestException, TypeError):\n    \"\"\"The content for this response was already consumed.\"\"\"\n\n\nclass RetryError(RequestException):\n    \"\"\"Custom retries logic failed\"\"\"\n";

#[test]
fn search_json_names_the_matched_definition_and_flags_files_changed_since_indexing() {
    let s = Sandbox::new();
    s.write("requests/exceptions.py", EXCEPTIONS);
    s.json(&["--no-model", "index", "--json"]);
    let search = |refresh: bool| {
        let mut args = vec!["--no-model", "search", "--json", "StreamConsumedError"];
        if !refresh {
            args.push("--no-refresh");
        }
        s.json(&args)
    };
    let r = search(true);
    let top = &r["results"][0];
    assert_eq!(top["symbol"], "StreamConsumedError", "{r}");
    assert_eq!(top["kind"], "class");
    assert_eq!(
        top["definition"],
        serde_json::json!({"name": "StreamConsumedError", "kind": "class",
                           "start_line": 5, "end_line": 6, "name_line": 5})
    );
    assert_eq!(top["stale"], false);

    // Changed on disk, searched without a refresh: the result says so.
    s.write("requests/exceptions.py", &format!("# moved\n{EXCEPTIONS}"));
    let r = search(false);
    assert_eq!(r["results"][0]["stale"], true, "{r}");
    let out = s.run(&[
        "--no-model",
        "search",
        "StreamConsumedError",
        "--no-refresh",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(changed since indexing)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Without a chat model, ask gives the context: its sources are stale too.
    let a = s.json(&[
        "--no-model",
        "--backend",
        "none",
        "ask",
        "--json",
        "--no-refresh",
        "What is StreamConsumedError?",
    ]);
    assert!(a["answer"].is_null(), "{a}");
    assert_eq!(a["sources"][0]["stale"], true, "{a}");
    assert!(
        a["notices"].as_array().unwrap().iter().any(|n| n
            .as_str()
            .unwrap()
            .starts_with("stale: requests/exceptions.py")),
        "{a}"
    );
    // A refresh brings it back in step.
    assert_eq!(search(true)["results"][0]["stale"], false);
}

#[test]
fn small_mistakes_in_arguments_get_a_clear_error() {
    let s = Sandbox::new();
    fixture(&s);
    // Before any index: say so and what to run, not `files: 0 ()`.
    let out = s.run(&["status"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nothing is indexed yet; run `scry index`"),
        "{text}"
    );
    assert_eq!(s.json(&["status", "--json"])["indexed"], false);
    // A command that only looks leaves no trace (it once created and locked the index).
    assert!(
        !s.dir.path().join("cache/scry/indexes").exists(),
        "status created an index"
    );
    for (args, expect) in [
        (&["search", "x", "-k", "0"][..], "0 is not in 1.."),
        (
            &["search", "x", "--rrf-k", "NaN"][..],
            "must be a finite number above 0",
        ),
        (
            &["search", "x", "--rrf-k=-5"][..],
            "must be a finite number above 0",
        ),
    ] {
        let out = s.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
    let file = s.dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = s.run(&["--index-dir", file.to_str().unwrap(), "status"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is a file, not a directory"), "{err}");
}

#[test]
fn llama_cpp_log_lines_stay_off_stderr_unless_asked() {
    let s = Sandbox::new();
    fixture(&s);
    let m = model_arg();
    let out = s.run(&["index", "--embed-model", &m]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let noisy: Vec<&str> = err
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains("llama"))
        .collect();
    assert!(noisy.is_empty(), "{noisy:#?}");
    // They are there to be had: -vv shows llama.cpp's own lines.
    let out = s.run(&[
        "-vv",
        "search",
        "--full-vectors",
        "config",
        "--embed-model",
        &m,
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("module=\"llama.cpp"),
        "{}",
        &err[..err.len().min(2000)]
    );
}

/// llama.cpp's OpenMP threads must not spin long on a busy machine: a `scry` started
/// without a wait policy runs with a short spin (it re-executes itself, since the runtime
/// reads its settings before `main`), and a policy the user set is kept.
#[cfg(target_os = "linux")]
#[test]
fn openmp_threads_spin_briefly_unless_the_user_chose_otherwise() {
    let s = Sandbox::new();
    fixture(&s);
    let setting_of = |set: Option<&str>, var: &str| -> String {
        let mut cmd = s.cmd(&["--no-model", "mcp"]);
        cmd.env_remove("OMP_WAIT_POLICY")
            .env_remove("GOMP_SPINCOUNT")
            .env_remove("KMP_BLOCKTIME")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        if let Some(p) = set {
            cmd.env("OMP_WAIT_POLICY", p);
        }
        let mut child = cmd.spawn().unwrap();
        // The server waits on stdin: read the environment it runs with.
        let environ = std::path::PathBuf::from(format!("/proc/{}/environ", child.id()));
        let mut found = String::new();
        for _ in 0..100 {
            let env = std::fs::read(&environ).unwrap_or_default();
            if let Some(v) = env
                .split(|b| *b == 0)
                .filter_map(|kv| std::str::from_utf8(kv).ok())
                .find_map(|kv| kv.strip_prefix(&format!("{var}=")))
            {
                found = v.to_owned();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        found
    };
    assert_eq!(setting_of(None, "GOMP_SPINCOUNT"), "3000");
    assert_eq!(setting_of(Some("ACTIVE"), "OMP_WAIT_POLICY"), "ACTIVE");
    assert_eq!(
        setting_of(Some("ACTIVE"), "GOMP_SPINCOUNT"),
        "",
        "a policy the user chose is not mixed with ours"
    );
}

#[test]
fn the_static_tier_makes_a_hybrid_index_without_running_the_model_per_chunk() {
    let s = Sandbox::new();
    fixture(&s);
    let m = model_arg();
    // The models directory, where the table distilled from the model is kept beside it.
    let models = scry_test_support::models_dir();
    let run = |args: &[&str]| {
        let out = s
            .cmd(args)
            .env("SCRY_MODELS", &models)
            .output()
            .expect("scry runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    let flags = ["--embed-model", &m, "--embed-backend", "static"];
    let report = run(&[&["index", "--json"][..], &flags].concat());
    assert_eq!(report["mode"], "hybrid");
    assert!(report["chunks_embedded"].as_u64().unwrap() >= 4);

    // Vectors alone find each file by meaning: no word of a query is in its file.
    for (query, file) in [
        ("add up what the goods in a basket cost", "web/cart.ts"),
        ("talk to a web server over the network", "src/net/http.rs"),
    ] {
        let r = run(&[
            &["search", "--json", "--mode", "vector", "-k", "1"][..],
            &[query],
            &flags,
        ]
        .concat());
        assert_eq!(r["mode"], "vector");
        assert_eq!(r["results"][0]["path"], file, "{query}: {r}");
    }
    let status = run(&[&["status", "--json"][..], &flags].concat());
    let id = status["model"]["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("static128v2:"), "{status}");
    assert_eq!(status["chunks_without_vectors"], 0);
    // `models list` shows the cached table beside the models.
    let listed = run(&["models", "list", "--json", "--no-ollama"]);
    let tables = listed["static_tables"].as_array().expect("static_tables");
    assert!(
        tables
            .iter()
            .any(|t| t["file"].as_str().unwrap().contains("-static128v2")),
        "{listed}"
    );
}

#[test]
fn scry_index_returns_with_the_fast_tier_and_waits_for_the_full_one_only_when_asked() {
    let s = Sandbox::new();
    fixture(&s);
    let m = model_arg();
    let run = |args: &[&str]| {
        let out = s.run(&[&["--embed-model", &m][..], args].concat());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout).expect("JSON")
    };
    // The default: every chunk gets its fast-tier vector, the model runs on none.
    let report = run(&["index", "--json"]);
    let chunks = report["chunks"].as_u64().unwrap();
    assert_eq!(report["mode"], "hybrid");
    assert_eq!(report["tiers"]["fast"]["chunks_with_vectors"], chunks);
    assert_eq!(report["tiers"]["full"]["chunks_with_vectors"], 0);
    assert!(report["full_tier"].is_null());
    let hit = run(&[
        "search",
        "--json",
        "-k",
        "1",
        "add up what the goods in a basket cost",
    ]);
    assert_eq!(hit["results"][0]["path"], "web/cart.ts", "{hit}");
    assert!(hit["results"][0]["ranks"]["fast"].is_u64(), "{hit}");
    assert!(hit["results"][0]["ranks"]["vector"].is_null(), "{hit}");

    // Asked to wait: the model's own vectors for every chunk, then searched on request.
    let report = run(&["index", "--json", "--wait-vectors"]);
    assert_eq!(report["full_tier"]["chunks_embedded"], chunks, "{report}");
    assert_eq!(report["tiers"]["full"]["chunks_with_vectors"], chunks);
    let status = run(&["status", "--json"]);
    assert_eq!(status["tiers"]["full"]["chunks_with_vectors"], chunks);
    assert_eq!(status["tiers"]["full"]["loaded"], false, "{status}");
    let hit = run(&[
        "search",
        "--json",
        "--full-vectors",
        "-k",
        "1",
        "add up what the goods in a basket cost",
    ]);
    assert_eq!(hit["results"][0]["path"], "web/cart.ts", "{hit}");
    assert!(hit["results"][0]["ranks"]["vector"].is_u64(), "{hit}");
    // Nothing is embedded twice.
    let report = run(&["index", "--json", "--wait-vectors"]);
    assert_eq!(report["full_tier"]["chunks_embedded"], 0, "{report}");
}
