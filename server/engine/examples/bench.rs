//! Measures the engine on a real codebase; `scripts/bench.sh` runs it and prints the table.
//!
//! `bench SOURCE_DIR INDEX_DIR [MODEL.gguf] [THREADS]`: without a model it measures the
//! lexical-only index; with one, the full index. Prints one JSON object on stdout.
#![allow(clippy::print_stdout)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use scry_engine::{Engine, EngineConfig, SearchMode, SearchRequest};

const QUERIES: &[&str] = &[
    "IndexWriter",
    "commit",
    "segment merge policy",
    "tokenizer lowercase filter",
    "how are deleted documents tracked",
    "fast field column reader",
    "BM25 scoring weight",
    "term dictionary fst",
    "parse a query string into a boolean query",
    "garbage collect unused files",
    "doc store compression",
    "phrase query positions",
    "facet collector counts",
    "schema builder add text field",
    "searcher reload policy",
    "write ahead lock file",
    "top docs collector order by score",
    "skip index block postings",
    "stemmer for english",
    "memory arena for the indexer",
];

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn source_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            source_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let src = PathBuf::from(&args[1]).canonicalize().unwrap();
    let index = PathBuf::from(&args[2]);
    let model = args.get(3).filter(|m| !m.is_empty()).map(PathBuf::from);
    let threads: usize = args.get(4).and_then(|t| t.parse().ok()).unwrap_or(2);
    let cfg = EngineConfig::builder([&src])
        .index_dir(&index)
        .embedding_model(model.clone())
        .embed_threads(threads)
        .build();

    let t = Instant::now();
    let engine = Engine::open(cfg).expect("engine opens");
    let report = engine.refresh(&HashSet::new(), &mut |_| {}).expect("index");
    let index_seconds = t.elapsed().as_secs_f64();
    let status = engine.status();
    let source_bytes: u64 = {
        let mut files = Vec::new();
        source_files(&src, &mut files);
        files
            .iter()
            .map(|f| std::fs::metadata(f).map_or(0, |m| m.len()))
            .sum()
    };

    // Reopening the unchanged workspace: ready time, and nothing embedded.
    drop(engine);
    let t = Instant::now();
    let engine = Engine::open(
        EngineConfig::builder([&src])
            .index_dir(&index)
            .embedding_model(model.clone())
            .embed_threads(threads)
            .build(),
    )
    .unwrap();
    let reopen = engine.refresh(&HashSet::new(), &mut |_| {}).unwrap();
    let reopen_seconds = t.elapsed().as_secs_f64();

    // Single-file update until searchable: append a new function to a file on disk,
    // refresh with that path (what the watcher does), search for it.
    let mut files = Vec::new();
    source_files(&src, &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "the update benchmark edits Rust files: {} has none",
        src.display()
    );
    let mut disk_ms = Vec::new();
    let mut overlay_ms = Vec::new();
    for i in 0..40 {
        let f = &files[(i * 7) % files.len()];
        let original = std::fs::read_to_string(f).unwrap();
        let marker = format!("scry_bench_marker_{i}_{}", std::process::id());
        std::fs::write(
            f,
            format!(
                "{original}\n/// Added by the benchmark.\npub fn {marker}() -> u32 {{ {i} }}\n"
            ),
        )
        .unwrap();
        let t = Instant::now();
        let force = HashSet::from([f.canonicalize().unwrap()]);
        engine.refresh(&force, &mut |_| {}).unwrap();
        let hits = engine
            .search(&SearchRequest::new(&marker).k(1).mode(SearchMode::Lexical))
            .unwrap()
            .hits;
        disk_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(hits[0].text.contains(&marker), "update not searchable");
        std::fs::write(f, &original).unwrap();
        engine.refresh(&force, &mut |_| {}).unwrap();

        // An editor's unsaved buffer (what `scry lsp` will do on didChange).
        let rel = f.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
        let t = Instant::now();
        engine
            .set_overlay(&rel, &format!("{original}\npub fn {marker}_buf() {{}}\n"))
            .unwrap();
        let hits = engine
            .search(
                &SearchRequest::new(format!("{marker}_buf"))
                    .k(1)
                    .mode(SearchMode::Lexical),
            )
            .unwrap()
            .hits;
        overlay_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(hits[0].text.contains(&marker));
        engine.clear_overlay(&rel).unwrap();
    }

    // Query latency.
    let has_model = status.model.is_some();
    let mode = if has_model {
        SearchMode::Hybrid
    } else {
        SearchMode::Lexical
    };
    let vectors: Vec<Option<Vec<f32>>> = QUERIES
        .iter()
        .map(|q| engine.embed_query(q).map(|r| r.unwrap()))
        .collect();
    let mut with_embed = Vec::new();
    let mut without_embed = Vec::new();
    for round in 0..5 {
        for (q, v) in QUERIES.iter().zip(&vectors) {
            let t = Instant::now();
            engine
                .search(&SearchRequest::new(*q).k(10).mode(mode))
                .unwrap();
            if round > 0 {
                with_embed.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let t = Instant::now();
            engine
                .search(
                    &SearchRequest::new(*q)
                        .k(10)
                        .mode(mode)
                        .query_embedding(v.clone()),
                )
                .unwrap();
            if round > 0 {
                without_embed.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }

    let out = serde_json::json!({
        "model": model.map(|m| m.display().to_string()),
        "threads": threads,
        "files": status.files,
        "chunks": status.chunks,
        "vectors": status.vectors,
        "source_bytes": source_bytes,
        "index_seconds": index_seconds,
        "embed_tokens": report.embed_tokens,
        "embed_seconds": report.embed_seconds,
        "embed_tokens_per_second": report.embed_tokens as f64 / report.embed_seconds.max(1e-9),
        "reopen_seconds": reopen_seconds,
        "reopen_embedded": reopen.chunks_embedded,
        "reopen_indexed": reopen.files_indexed,
        "update_disk_ms_p50": percentile(&mut disk_ms.clone(), 0.5),
        "update_disk_ms_p95": percentile(&mut disk_ms, 0.95),
        "update_overlay_ms_p50": percentile(&mut overlay_ms.clone(), 0.5),
        "update_overlay_ms_p95": percentile(&mut overlay_ms, 0.95),
        "query_ms_p50": percentile(&mut with_embed.clone(), 0.5),
        "query_ms_p95": percentile(&mut with_embed, 0.95),
        "query_no_embed_ms_p50": percentile(&mut without_embed.clone(), 0.5),
        "query_no_embed_ms_p95": percentile(&mut without_embed, 0.95),
        "peak_rss_bytes": peak_rss_bytes(),
    });
    println!("{out}");
}
