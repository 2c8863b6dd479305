//! `scry ask`, `scry plan` and `scry models` on the built binary with the real chat model.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Stdio;
use std::time::{Duration, Instant};

use scry_test_support::{Sandbox, chat_model};

fn fixture(s: &Sandbox) {
    s.write(
        "src/limiter.rs",
        "/// A token bucket.\npub struct TokenBucket { tokens: f64 }\n\nimpl TokenBucket {\n    /// Takes one token if there is one.\n    pub fn try_acquire(&mut self) -> bool {\n        if self.tokens >= 1.0 { self.tokens -= 1.0; true } else { false }\n    }\n}\n",
    );
    s.write("src/server.py", "def handle_request(limiter, request):\n    \"\"\"Rejects with 429 when the bucket is empty.\"\"\"\n    if not limiter.try_acquire():\n        return 429\n    return 200\n");
}

#[test]
fn ask_json_has_the_answer_sources_model_tokens_and_timings() {
    let s = Sandbox::new();
    fixture(&s);
    let m = chat_model();
    let v = s.json(&[
        "--no-model",
        "--threads",
        "1",
        "--chat-model",
        m.to_str().unwrap(),
        "ask",
        "What does try_acquire do?",
        "--json",
        "--budget",
        "900",
        "--max-tokens",
        "30",
        "--temperature",
        "0",
    ]);
    assert!(
        v["answer"].as_str().is_some_and(|a| !a.trim().is_empty()),
        "{v}"
    );
    let sources = v["sources"].as_array().unwrap();
    assert!(sources.iter().any(|x| x["path"] == "src/limiter.rs"), "{v}");
    assert!(
        sources
            .iter()
            .all(|x| x["start_line"].as_u64().unwrap() >= 1)
    );
    assert_eq!(v["model"]["name"], "SmolLM2-135M-Instruct.Q4_1.gguf");
    assert_eq!(v["model"]["backend"], "llama.cpp");
    assert!(v["tokens_in"].as_u64().unwrap() <= 900);
    assert!(v["tokens_out"].as_u64().unwrap() <= 30);
    assert!(v["time_to_first_token_ms"].as_f64().unwrap() <= v["latency_ms"].as_f64().unwrap());
    assert_eq!(v["role"], "fast");
    assert!(
        v["notices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("BM25-only"))
    );
}

#[test]
fn ask_streams_to_stdout_then_lists_sources() {
    let s = Sandbox::new();
    fixture(&s);
    let m = chat_model();
    let out = s.run(&[
        "--no-model",
        "--threads",
        "1",
        "--chat-model",
        m.to_str().unwrap(),
        "ask",
        "How does handle_request reject a request?",
        "--budget",
        "700",
        "--max-tokens",
        "20",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (answer, sources) = stdout
        .split_once("\nSources:\n")
        .expect("a Sources section");
    assert!(!answer.trim().is_empty());
    assert!(sources.contains("src/server.py:1-5"), "{sources}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("tokens in"), "{stderr}");
}

#[test]
fn without_a_chat_model_ask_prints_the_context_and_says_why() {
    let s = Sandbox::new();
    fixture(&s);
    let out = s.run(&[
        "--no-model",
        "ask",
        "How does handle_request reject a request?",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("### src/server.py:1-5"), "{stdout}");
    assert!(stdout.contains("Sources:"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No language model answered"), "{stderr}");
    assert!(stderr.contains("not installed"), "{stderr}");
}

#[test]
fn an_unknown_or_broken_chat_model_is_a_clear_error_or_fallback() {
    let s = Sandbox::new();
    fixture(&s);
    let out = s.run(&["--no-model", "--chat-model", "no-such-model", "ask", "q"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model named \"no-such-model\""));
    s.write("bad.gguf", "GGUF and then nothing");
    let bad = s.ws().join("bad.gguf");
    let out = s.run(&[
        "--no-model",
        "--chat-model",
        bad.to_str().unwrap(),
        "ask",
        "How does handle_request reject a request?",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("fallback: llama.cpp bad.gguf unavailable"),
        "{stderr}"
    );
}

#[test]
fn sigterm_stops_an_answer_promptly() {
    let s = Sandbox::new();
    fixture(&s);
    let m = chat_model();
    let mut child = s
        .cmd(&[
            "--no-model",
            "--threads",
            "1",
            "--chat-model",
            m.to_str().unwrap(),
            "ask",
            "Write a very long story about the token bucket.",
            "--max-tokens",
            "2000",
            "--budget",
            "600",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the answer to start streaming.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).unwrap();
    let (code, took) = terminate(&mut child);
    assert_eq!(code, Some(130));
    // The promise is one second (8.4 s once); the margin is for a loaded machine.
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

/// Sends SIGTERM to `child` and returns its exit code and how long it took to leave.
fn terminate(child: &mut std::process::Child) -> (Option<i32>, Duration) {
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let t = Instant::now();
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return (st.code(), t.elapsed());
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "scry ignored SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `scry ask` refreshes the index first, and a refresh that embeds cannot stop between
/// two steps: SIGTERM there once waited for the whole refresh (minutes on a real tree).
#[test]
fn sigterm_during_the_refresh_of_ask_stops_it_and_keeps_the_index_usable() {
    let s = Sandbox::new();
    for i in 0..400 {
        s.write(
            &format!("src/m{i}.py"),
            &format!(
                "def handler_{i}(request, limiter):\n    \"\"\"Serves request {i} unless the limiter says no.\"\"\"\n    if not limiter.try_acquire({i}):\n        return reject(request, code=429, reason=\"busy {i}\")\n    return respond(request, body=render(request.path, {i}))\n"
            ),
        );
    }
    let embed = scry_test_support::embed_model();
    let chat = chat_model();
    let mut child = s
        .cmd(&[
            "--embed-model",
            embed.to_str().unwrap(),
            // The model itself embeds as the refresh indexes (with a fast tier the
            // refresh would be over in a blink).
            "--no-fast-tier",
            "--threads",
            "1",
            "--chat-model",
            chat.to_str().unwrap(),
            "ask",
            "Which handler rejects busy requests?",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Let it load the embedding model and start embedding.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        child.try_wait().unwrap().is_none(),
        "ask finished too early"
    );
    let (code, took) = terminate(&mut child);
    assert_eq!(code, Some(130));
    // The promise is one second; the margin is for a loaded machine.
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let v = s.json(&["--no-model", "status", "--json"]);
    assert!(v["files"].as_u64().is_some(), "{v}");
    let out = s.run(&["--no-model", "search", "--mode", "lexical", "busy requests"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn plan_json_always_parses() {
    let s = Sandbox::new();
    fixture(&s);
    let m = chat_model();
    let v = s.json(&[
        "--no-model",
        "--threads",
        "1",
        "--chat-model",
        m.to_str().unwrap(),
        "plan",
        "Make the token bucket refill over time",
        "--json",
        "--budget",
        "800",
    ]);
    let steps = v["plan"]["steps"].as_array().unwrap();
    assert!(!steps.is_empty() && steps.len() <= 5, "{v}");
    assert!(
        steps
            .iter()
            .all(|st| st["title"].is_string() && st["files"].is_array() && st["why"].is_string())
    );
    assert_eq!(v["drafted_by"]["name"], "SmolLM2-135M-Instruct.Q4_1.gguf");
}

#[test]
fn models_list_reads_gguf_metadata_from_every_source() {
    let s = Sandbox::new();
    let models = s.dir.path().join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::os::unix::fs::symlink(chat_model(), models.join("SmolLM2-135M-Instruct.Q4_1.gguf"))
        .unwrap();
    std::fs::write(models.join("broken.gguf"), b"GGUF\x03\x00\x00\x00").unwrap();
    let hub = s.dir.path().join("hub");
    let snap = hub.join("models--HuggingFaceTB--SmolLM2-GGUF/snapshots/0123abc");
    std::fs::create_dir_all(&snap).unwrap();
    std::os::unix::fs::symlink(scry_test_support::embed_model(), snap.join("minilm.gguf")).unwrap();
    let out = s
        .cmd(&["models", "list", "--json", "--ollama", "http://127.0.0.1:9"])
        .env("SCRY_MODELS", &models)
        .env("HF_HUB_CACHE", &hub)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let list = v["models"].as_array().unwrap();
    let smol = list
        .iter()
        .find(|m| m["name"] == "SmolLM2-135M-Instruct.Q4_1.gguf")
        .unwrap();
    assert_eq!(smol["architecture"], "llama");
    assert_eq!(smol["quantization"], "Q4_1");
    assert_eq!(smol["context_length"], 8192);
    assert_eq!(smol["parameters"], "135M");
    assert_eq!(smol["kind"], "chat");
    let broken = list.iter().find(|m| m["name"] == "broken.gguf").unwrap();
    assert!(broken["problem"].as_str().unwrap().contains("GGUF"));
    let hf = list.iter().find(|m| m["source"] == "huggingface").unwrap();
    assert_eq!(hf["name"], "HuggingFaceTB/SmolLM2-GGUF/minilm.gguf");
    assert_eq!(hf["kind"], "embedding");
    assert_eq!(hf["architecture"], "bert");
}

/// A stand-in for the Hub: HEAD answers with the LFS sha256 and a redirect, GET serves
/// the bytes.
fn fake_hub(body: Vec<u8>, sha256: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            if line.starts_with("HEAD") {
                let _ = write!(
                    stream,
                    "HTTP/1.1 302 Found\r\nLocation: /cdn/file\r\nX-Linked-Etag: \"{sha256}\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            } else if line.contains("/cdn/file") {
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            } else {
                let _ = write!(
                    stream,
                    "HTTP/1.1 302 Found\r\nLocation: /cdn/file\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        }
    });
    url
}

#[test]
fn models_pull_checks_the_hubs_checksum_and_fails_clearly_offline() {
    let s = Sandbox::new();
    let src = scry_test_support::embed_model();
    let body = std::fs::read(&src).unwrap();
    let out = std::process::Command::new("sha256sum")
        .arg(&src)
        .output()
        .unwrap();
    let sha = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let models = s.dir.path().join("models");
    let hub = fake_hub(body.clone(), sha);
    let pull = |extra: &[&str]| {
        let mut args = vec!["models", "pull", "org/minilm-GGUF", "minilm.gguf"];
        args.extend_from_slice(extra);
        s.cmd(&args)
            .env("SCRY_MODELS", &models)
            .env("HF_ENDPOINT", &hub)
            .output()
            .unwrap()
    };
    let out = pull(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dest = models.join("minilm.gguf");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        dest.to_str().unwrap()
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);

    std::fs::remove_file(&dest).unwrap();
    let out = pull(&["--sha256", &"0".repeat(64)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("checksum mismatch"));
    assert!(
        std::fs::read_dir(&models).unwrap().next().is_none(),
        "nothing is left behind"
    );

    let out = s
        .cmd(&["models", "pull", "org/repo", "m.gguf"])
        .env("SCRY_MODELS", &models)
        .env("HF_ENDPOINT", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("are you offline"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
