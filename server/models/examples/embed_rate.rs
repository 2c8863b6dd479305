//! Embedding throughput at a given batch size: `embed_rate MODEL SOURCE_DIR BATCH_TOKENS THREADS [N]`.
//! Feeds the first N chunk-sized pieces of the source's `.rs` files and prints tokens/s.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use scry_models::{Embedder, EmbedderOptions, LlamaEmbedder};

fn main() {
    let a: Vec<String> = std::env::args().collect();
    let batch: usize = a[3].parse().unwrap();
    let threads: usize = a[4].parse().unwrap();
    let n: usize = a.get(5).and_then(|x| x.parse().ok()).unwrap_or(400);
    let mut texts = Vec::new();
    let mut stack = vec![std::path::PathBuf::from(&a[2])];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let s = std::fs::read_to_string(&p).unwrap_or_default();
                // Pieces of about 40 lines, like chunks.
                let lines: Vec<&str> = s.lines().collect();
                texts.extend(lines.chunks(40).map(|c| c.join("\n")));
            }
        }
    }
    texts.truncate(n);
    let e = LlamaEmbedder::load(
        a[1].as_ref(),
        EmbedderOptions::default()
            .with_threads(threads)
            .with_batch_tokens(batch),
    )
    .unwrap();
    e.embed(&texts[..8]).unwrap();
    let t = Instant::now();
    let mut tokens = 0;
    for group in texts.chunks(64) {
        tokens += e.embed(group).unwrap().tokens;
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "batch {batch}: {} texts, {tokens} tokens, {:.0} tokens/s",
        texts.len(),
        tokens as f64 / s
    );
}
