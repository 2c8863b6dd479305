//! Two vector tiers on the real model: the fast tier (the static table distilled from
//! it) gives every chunk a vector as it is indexed; the full tier (the model itself)
//! follows in committed steps, most wanted chunks first, and survives a restart.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use scry_engine::{Engine, SearchMode, SearchRequest, Tier};
use scry_models::{Embedder, EmbedderOptions, EmbedderSpec};

fn fast_tier() -> Arc<dyn Embedder> {
    let model = model_path();
    EmbedderSpec::Static {
        cache_dir: scry_models::config::static_cache_dir(&model),
        model,
        options: EmbedderOptions::default().with_threads(2),
    }
    .load()
    .expect("the static table loads (distilled once)")
}

/// The fixture and 30 more small files: more chunks than one upgrade step embeds.
fn workspace(root: &std::path::Path) {
    fixture(root);
    for i in 0..30 {
        write(
            root,
            &format!("gen/f{i:02}.rs"),
            &format!(
                "/// Step {i} of the pipeline.\npub fn step_{i}(x: u32) -> u32 {{\n    x + {i}\n}}\n"
            ),
        );
    }
}

fn open_tiers(root: &std::path::Path, idx: &std::path::Path, full: &Arc<Counting>) -> Engine {
    let engine = Engine::open_lexical(config(root, idx)).unwrap();
    engine.attach_embedder(Tier::Fast, Ok(fast_tier())).unwrap();
    engine
        .attach_embedder(Tier::Full, Ok(full.clone() as Arc<dyn Embedder>))
        .unwrap();
    engine
}

fn coverage(engine: &Engine) -> (usize, usize, usize) {
    let s = engine.status();
    let fast = s.tiers.fast.expect("a fast tier");
    let full = s.tiers.full.expect("a full tier");
    assert_eq!(fast.chunks, full.chunks);
    (fast.covered, full.covered, fast.chunks)
}

#[test]
fn the_fast_tier_is_hybrid_at_once_and_the_full_tier_follows_most_wanted_first() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path();
    workspace(root);
    let full = Counting::load();
    let engine = open_tiers(root, idx.path(), &full);
    refresh(&engine);
    // Every chunk has its fast vector; the model itself has run on nothing.
    let (fast_covered, full_covered, chunks) = coverage(&engine);
    assert_eq!(fast_covered, chunks);
    assert_eq!(full_covered, 0);
    assert_eq!(full.texts(), 0);
    let r = engine
        .search(&SearchRequest::new("sum the cost of products in a basket").k(3))
        .unwrap();
    assert_eq!(r.mode, SearchMode::Hybrid);
    assert!(r.notice.is_none(), "{:?}", r.notice);
    assert_eq!(r.hits[0].file.path, "web/cart.ts");
    assert!(r.hits[0].ranks.fast.is_some() && r.hits[0].ranks.vector.is_none());

    // Most wanted first: an editor's buffer, then the file changed last.
    std::thread::sleep(Duration::from_millis(20));
    write(
        root,
        "src/server.rs",
        "/// Closes idle connections.\npub fn reap_idle() {}\n",
    );
    refresh(&engine);
    engine
        .set_overlay(
            "cmd/main.go",
            "package main\n\nfunc edited_in_the_editor() {}\n",
        )
        .unwrap();
    engine.embed_missing().unwrap();
    let step = engine
        .upgrade_vectors(Duration::ZERO, &|| false, &mut |_| {})
        .unwrap();
    assert!(
        step.committed && step.embedded > 0 && step.remaining > 0,
        "{step:?}"
    );
    let log = full.log.lock().unwrap().clone();
    assert!(log[0].contains("cmd/main.go"), "{}", log[0]);
    assert!(log[1].contains("src/server.rs"), "{}", log[1]);
    // A step is a commit: what it embedded is searched and survives a restart.
    let (_, full_covered, chunks) = coverage(&engine);
    assert_eq!(full_covered, step.embedded);
    assert_eq!(step.remaining, chunks - full_covered);
    engine.verify().unwrap();
    drop(engine);

    let full = Counting::load();
    let engine = open_tiers(root, idx.path(), &full);
    let (_, after_restart, _) = coverage(&engine);
    assert_eq!(after_restart, full_covered);
    loop {
        let r = engine
            .upgrade_vectors(Duration::from_secs(60), &|| false, &mut |_| {})
            .unwrap();
        if r.embedded == 0 || r.remaining == 0 {
            assert!(r.errors.is_empty(), "{:?}", r.errors);
            break;
        }
    }
    let (fast_covered, full_covered, chunks) = coverage(&engine);
    assert_eq!((fast_covered, full_covered), (chunks, chunks));
    // Only what the first engine had not embedded was embedded now.
    assert_eq!(full.texts(), chunks - after_restart);
    assert!(engine.vectors_consistent());
    engine.verify().unwrap();
    let r = engine
        .search(&SearchRequest::new("sum the cost of products in a basket").k(3))
        .unwrap();
    assert_eq!(r.hits[0].file.path, "web/cart.ts");
    // Both tiers complete are both searched and fused (see `fusion::FAST_TIER_WEIGHT`).
    assert!(r.hits[0].ranks.vector.is_some() && r.hits[0].ranks.fast.is_some());
}

#[test]
fn a_command_without_the_full_model_keeps_its_committed_vectors_exact() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path();
    workspace(root);
    let full = Counting::load();
    let engine = open_tiers(root, idx.path(), &full);
    refresh(&engine);
    while engine
        .upgrade_vectors(Duration::from_secs(60), &|| false, &mut |_| {})
        .unwrap()
        .embedded
        > 0
    {}
    drop(engine);

    // Only the fast tier loaded (what `scry index` and a one-shot search do): a deleted
    // file's full vectors still go, and the full tier's coverage stays exact.
    std::fs::remove_file(root.join("gen/f00.rs")).unwrap();
    write(root, "gen/f01.rs", "pub fn renamed_step() {}\n");
    let engine = Engine::open_lexical(config(root, idx.path())).unwrap();
    engine.attach_embedder(Tier::Fast, Ok(fast_tier())).unwrap();
    refresh(&engine);
    let (fast_covered, full_covered, chunks) = coverage(&engine);
    assert_eq!(fast_covered, chunks);
    assert_eq!(full_covered, chunks - 1, "the changed file's chunk waits");
    engine.verify().unwrap();
    drop(engine);

    let full = Counting::load();
    let engine = open_tiers(root, idx.path(), &full);
    let r = engine
        .upgrade_vectors(Duration::from_secs(60), &|| false, &mut |_| {})
        .unwrap();
    assert_eq!((r.embedded, r.remaining), (1, 0));
    assert_eq!(full.texts(), 1);
    engine.verify().unwrap();
}

/// A batch of more than a mebibyte of source embeds its fast vectors in rounds while it
/// is chunked (so its texts do not all wait in memory until the commit): every chunk
/// still gets its vector once, in one commit, and the progress counts add up.
#[test]
fn a_batch_over_a_mebibyte_embeds_in_rounds_and_every_chunk_gets_its_vector() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path();
    let mut bytes = 0;
    for f in 0..6 {
        let mut text = String::new();
        for i in 0..3000 {
            text += &format!(
                "/// Step {i} of stage {f}.\npub fn stage{f}_step{i}(x: u64) -> u64 {{\n    x.wrapping_mul({i}) + {f}\n}}\n\n"
            );
        }
        bytes += text.len();
        write(root, &format!("src/stage{f}.rs"), &text);
    }
    assert!(bytes > 1 << 20, "{bytes} bytes: not over the round size");
    let engine = Engine::open_lexical(config(root, idx.path())).unwrap();
    engine.attach_embedder(Tier::Fast, Ok(fast_tier())).unwrap();
    let mut seen: Vec<scry_engine::Progress> = Vec::new();
    let report = engine
        .refresh(&Default::default(), &mut |p| seen.push(p.clone()))
        .unwrap();

    assert_eq!(report.commits, 1, "{report:?}");
    assert_eq!(report.chunks_embedded, report.chunks_indexed, "{report:?}");
    let fast = engine.status().tiers.fast.expect("a fast tier");
    assert_eq!(
        (fast.covered, fast.chunks),
        (fast.chunks, report.chunks_indexed)
    );
    // Embedding came back to chunking inside the one batch: it ran in rounds.
    let rounds = seen
        .windows(2)
        .filter(|w| {
            w[0].phase == scry_engine::Phase::Embedding
                && w[1].phase == scry_engine::Phase::Chunking
        })
        .count();
    assert!(rounds >= 1, "no embedding before the batch was chunked");
    // The share of the refresh done only grows, round after round, and ends whole.
    let shares: Vec<f64> = seen
        .iter()
        .filter_map(scry_engine::Progress::fraction)
        .collect();
    assert!(shares.windows(2).all(|w| w[1] >= w[0]), "{shares:?}");
    assert_eq!(shares.last(), Some(&1.0));
    let last = seen
        .iter()
        .rev()
        .find(|p| p.phase == scry_engine::Phase::Embedding)
        .unwrap();
    assert_eq!((last.embedded, last.to_embed), (fast.chunks, fast.chunks));
    engine.verify().unwrap();
}
