//! What a refresh reports while it runs: the real phases (scan, chunk, embed) with
//! counts that move file by file, and a share of the whole refresh that only grows. The
//! progress bar once showed `files 0/89 0 chunks` for minutes, then `89/89 · 0 chunks`
//! while embedding.

mod common;

use common::*;
use scry_engine::{Engine, Phase, Progress};

#[test]
fn progress_moves_file_by_file_through_scan_chunk_and_embed() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let mut bytes = 0u64;
    for i in 0..24 {
        let text = format!(
            "/// Handler {i}.\npub fn handler_{i}(x: u32) -> u32 {{\n    x * {i} + 1\n}}\n\npub struct State{i} {{ pub count: u32 }}\n"
        );
        bytes += text.len() as u64;
        write(ws.path(), &format!("src/h{i}.rs"), &text);
    }
    let mut cfg = config(ws.path(), idx.path());
    // Several commits: embedding alternates with chunking, batch by batch.
    cfg.embed_bytes_per_commit = 600;
    let model = Counting::load();
    let e = Engine::open_with_embedder(cfg, Ok(model as std::sync::Arc<dyn scry_models::Embedder>))
        .unwrap();
    let mut seen: Vec<Progress> = Vec::new();
    e.refresh(&Default::default(), &mut |p| seen.push(p.clone()))
        .unwrap();

    assert_eq!(seen.first().unwrap().phase, Phase::Scanning);
    assert_eq!(seen.last().unwrap().phase, Phase::Done);
    let chunking: Vec<&Progress> = seen.iter().filter(|p| p.phase == Phase::Chunking).collect();
    // Every file is counted as it is chunked, not a batch at a time.
    let mut done: Vec<usize> = chunking.iter().map(|p| p.files_done).collect();
    done.dedup();
    assert!(done.ends_with(&[24]), "{done:?}");
    assert!(
        (1..=24).all(|n| done.contains(&n)),
        "files_done skipped values: {done:?}"
    );
    // Chunks are counted while files are chunked, before the embedding of the last batch.
    let first_embed = seen
        .iter()
        .position(|p| p.phase == Phase::Embedding)
        .unwrap();
    assert!(seen[..first_embed].iter().any(|p| p.chunks > 0));
    // Chunking and embedding alternate (several batches).
    let switches = seen
        .windows(2)
        .filter(|w| w[0].phase == Phase::Embedding && w[1].phase == Phase::Chunking)
        .count();
    assert!(switches >= 2, "{switches} switches back to chunking");
    // One share for the whole refresh, by bytes: it only grows, and ends whole.
    assert!(seen.iter().skip(1).all(|p| p.bytes_total == bytes));
    let shares: Vec<f64> = seen.iter().filter_map(Progress::fraction).collect();
    assert!(
        shares.windows(2).all(|w| w[1] >= w[0]),
        "the share went back: {shares:?}"
    );
    assert_eq!(*shares.last().unwrap(), 1.0);
    let embedding = seen.iter().rfind(|p| p.phase == Phase::Embedding).unwrap();
    assert!(embedding.embedded > 0 && embedding.embed_tokens > 0);
    assert!(
        embedding.summary().contains("tok/s"),
        "{}",
        embedding.summary()
    );
}
