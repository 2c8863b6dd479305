//! Generation benchmark through Scry's llama.cpp backend: prompt and generation
//! tokens/s, time to first token with an 8,000-token packed context, and RSS around
//! load and unload. Prints one JSON object; `scripts/bench-models.sh` puts it beside
//! llama-bench.
//!
//! usage: gen_bench MODEL THREADS WORKSPACE
#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::time::Instant;

use scry_answer::PromptTemplate;
use scry_answer::pack::{ModelCounter, pack};
use scry_engine::{Engine, EngineConfig, SearchMode, SearchRequest};
use scry_models::memory::{release_freed_memory, resident_bytes};
use scry_models::{
    ChatMessage, GenerateRequest, Generator, GeneratorOptions, LlamaGenerator, Sampling,
};

fn greedy(max_tokens: usize) -> Sampling {
    Sampling {
        temperature: 0.0,
        max_tokens,
        ..Sampling::default()
    }
}

fn mib(b: Option<u64>) -> f64 {
    b.unwrap_or(0) as f64 / (1024.0 * 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = std::path::PathBuf::from(&args[1]);
    let threads: usize = args[2].parse().unwrap();
    let workspace = std::path::PathBuf::from(&args[3]);

    // Index first (BM25 only), so its memory is in the baseline, not the model's.
    let index = tempfile::tempdir().unwrap();
    let engine = Engine::open_with_embedder(
        EngineConfig::builder([&workspace])
            .index_dir(index.path())
            .build(),
        Err(scry_models::ModelError::Config("lexical only".into())),
    )
    .unwrap();
    engine.refresh(&Default::default(), &mut |_| {}).unwrap();
    release_freed_memory();

    let rss_before = resident_bytes();
    let g: Arc<dyn Generator> = Arc::new(
        LlamaGenerator::load(&model, GeneratorOptions::default().with_threads(threads)).unwrap(),
    );
    let rss_loaded = resident_bytes();

    // Prompt processing: a ~512-token prompt, one token out.
    let filler = "The quick brown fox jumps over the lazy dog near the river bank. ".repeat(40);
    let mut pp = Vec::new();
    let mut pp_tokens = 0;
    for _ in 0..3 {
        let t = Instant::now();
        let done = g
            .generate(
                GenerateRequest::new(vec![ChatMessage::user(filler.clone())])
                    .with_sampling(greedy(1)),
            )
            .unwrap()
            .collect()
            .unwrap();
        pp_tokens = done.usage.prompt_tokens;
        pp.push(done.usage.prompt_tokens as f64 / t.elapsed().as_secs_f64());
    }

    // Generation: tokens after the first, over the time after the first.
    let mut tg = Vec::new();
    let mut tg_tokens = 0;
    for _ in 0..3 {
        let mut first = None;
        let done = g
            .generate(
                GenerateRequest::new(vec![ChatMessage::user(
                    "Count from one to two hundred in words, separated by commas.",
                )])
                .with_sampling(greedy(128)),
            )
            .unwrap()
            .collect_with(|_| {
                first.get_or_insert_with(Instant::now);
            })
            .unwrap();
        let first = first.unwrap();
        tg_tokens = done.usage.completion_tokens;
        tg.push((done.usage.completion_tokens - 1) as f64 / first.elapsed().as_secs_f64());
    }

    // Time to first token with a context packed to 8,000 tokens.
    let mut req = SearchRequest::new("index search query token document segment writer commit");
    req.k = 300;
    req.mode = SearchMode::Lexical;
    let results = engine.search(&req).unwrap();
    let packed = pack(
        &results.hits,
        &results.sources,
        "How does a search find and rank documents?",
        &PromptTemplate::ask(),
        &[],
        8000,
        &ModelCounter(g.as_ref()),
    )
    .unwrap();
    let t = Instant::now();
    let mut ttft = None;
    let done = g
        .generate(GenerateRequest::new(packed.messages.clone()).with_sampling(greedy(4)))
        .unwrap()
        .collect_with(|_| {
            ttft.get_or_insert_with(|| t.elapsed());
        })
        .unwrap();

    drop(g);
    release_freed_memory();
    let rss_unloaded = resident_bytes();

    println!(
        "{}",
        serde_json::json!({
            "threads": threads,
            "prompt_tokens": pp_tokens,
            "prompt_tps": median(pp),
            "gen_tokens": tg_tokens,
            "gen_tps": median(tg),
            "packed_tokens": packed.tokens,
            "packed_pieces": packed.pieces.len(),
            "ttft_packed_ms": ttft.map(|d| d.as_secs_f64() * 1000.0),
            "ttft_prompt_tokens": done.usage.prompt_tokens,
            "rss_before_mib": mib(rss_before),
            "rss_loaded_mib": mib(rss_loaded),
            "rss_unloaded_mib": mib(rss_unloaded),
        })
    );
}
