//! The OpenAI-compatible backend against a real server: llama.cpp's own `llama-server`
//! (built by scripts/llama-tools.sh from the same llama.cpp sources) serving the test
//! models on 127.0.0.1.

mod common;

use scry_models::http::{HttpConfig, HttpEmbedder, HttpGenerator};
use scry_models::{
    ChatMessage, Constraint, Embedder, EmbedderOptions, GenerateRequest, Generator,
    GeneratorOptions, LlamaEmbedder, LlamaGenerator, Sampling,
};
use scry_test_support::LlamaServer;

#[test]
fn chat_streams_counts_exactly_and_follows_a_schema() {
    let server = LlamaServer::start(&common::chat_model(), &[]);
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
    let server = LlamaServer::start(&common::embed_model(), &["--embeddings"]);
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
