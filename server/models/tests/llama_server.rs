//! The OpenAI-compatible backend against a real server: llama.cpp's own `llama-server`
//! (built by scripts/llama-tools.sh from the same llama.cpp sources) serving the test
//! models on 127.0.0.1.

mod common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scry_models::http::{HttpConfig, HttpEmbedder, HttpGenerator};
use scry_models::{
    ChatMessage, Constraint, Embedder, EmbedderOptions, GenerateRequest, Generator,
    GeneratorOptions, LlamaEmbedder, LlamaGenerator, Sampling,
};

fn llama_server() -> PathBuf {
    let p = std::env::var_os("SCRY_LLAMA_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                PathBuf::from(h)
                    .join(".cache/scry/tools/llama-cpp-python-0.3.36/build/bin/llama-server")
            })
        })
        .unwrap();
    assert!(
        p.is_file(),
        "{} is missing: run scripts/llama-tools.sh (scripts/test.sh does)",
        p.display()
    );
    p
}

/// A llama-server process, killed when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(model: &Path, extra: &[&str]) -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(llama_server())
        .args([
            "-m",
            &model.to_string_lossy(),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .args(["-t", "1", "-c", "2048", "-np", "1", "--log-disable"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("llama-server starts");
    let url = format!("http://127.0.0.1:{port}");
    let server = Server { child, url };
    let t = Instant::now();
    loop {
        let ok = ureq::get(&format!("{}/health", server.url))
            .call()
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return server;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "llama-server did not come up"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn chat_streams_counts_exactly_and_follows_a_schema() {
    let server = start(&common::chat_model(), &[]);
    let g = HttpGenerator::new(HttpConfig::new(format!("{}/v1", server.url), "smollm2"));
    g.probe().expect("the model list answers");
    assert_eq!(g.context_length(), 8192, "n_ctx_train from the model list");

    // Exact counts through the server's tokenizer match llama.cpp in-process.
    let local = LlamaGenerator::load(
        &common::chat_model(),
        GeneratorOptions::default()
            .with_threads(1)
            .with_context_tokens(512),
    )
    .unwrap();
    let text = "fn main() { println!(\"héllo\"); }";
    let remote = g.count_tokens(text).unwrap();
    assert!(remote.is_exact());
    assert_eq!(remote.get(), local.count_tokens(text).unwrap().get());
    // With a system message: without one the server's Jinja template adds SmolLM2's
    // default system prompt, which llama.cpp's built-in ChatML does not.
    let messages = vec![
        ChatMessage::system("You are a helpful assistant."),
        ChatMessage::user("What is the capital of France? Answer in one sentence."),
    ];
    let remote = g.count_prompt_tokens(&messages).unwrap();
    assert!(remote.is_exact());
    assert_eq!(
        remote.get(),
        local.count_prompt_tokens(&messages).unwrap().get()
    );

    let greedy = Sampling {
        temperature: 0.0,
        max_tokens: 40,
        ..Sampling::default()
    };
    let mut pieces = 0;
    let done = g
        .generate(GenerateRequest::new(messages).with_sampling(greedy.clone()))
        .unwrap()
        .collect_with(|_| pieces += 1)
        .unwrap();
    assert!(done.text.contains("Paris"), "{:?}", done.text);
    assert!(pieces > 3, "streamed in {pieces} pieces");
    assert!(done.usage.completion_tokens > 0);

    let schema = r#"{"type":"object","properties":{"city":{"type":"string","maxLength":40}},"required":["city"],"additionalProperties":false}"#;
    let req = GenerateRequest::new(vec![ChatMessage::user("Name a city in France as JSON.")])
        .with_sampling(Sampling {
            max_tokens: 60,
            ..greedy
        })
        .with_constraint(Constraint {
            name: "city".into(),
            gbnf: String::new(),
            json_schema: schema.into(),
        });
    let done = g.generate(req).unwrap().collect().unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&done.text).unwrap_or_else(|e| panic!("{e}: {:?}", done.text));
    assert!(v["city"].is_string());
}

#[test]
fn embeddings_match_the_in_process_model() {
    let server = start(&common::embed_model(), &["--embeddings"]);
    let remote =
        HttpEmbedder::connect(HttpConfig::new(format!("{}/v1", server.url), "minilm"), 512)
            .unwrap();
    let local = LlamaEmbedder::load(
        &common::embed_model(),
        EmbedderOptions::default().with_threads(1),
    )
    .unwrap();
    assert_eq!(remote.info().dims, 384);
    let texts: Vec<String> = [
        "The cat sits on the mat.",
        "fn parse_config(path: &Path) -> Config",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let r = remote.embed(&texts).unwrap();
    let l = local.embed(&texts).unwrap();
    for (a, b) in r.vectors.iter().zip(&l.vectors) {
        let cos: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        assert!(cos > 0.99, "cosine {cos}");
    }
}
