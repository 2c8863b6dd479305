//! One writer, one follower on the same index (RELIABILITY 20): the follower serves each
//! generation the writer commits, never a mix, and takes over when the writer is gone.

mod common;

use std::sync::Arc;

use common::*;
use scry_engine::{Engine, FollowEvent, SearchMode, SearchRequest};

fn follower(ws: &std::path::Path, idx: &std::path::Path, e: Option<&Arc<Counting>>) -> Engine {
    let mut cfg = config(ws, idx);
    cfg.follow_when_locked = true;
    match e {
        Some(e) => Engine::open_with_embedder(cfg, Ok(e.clone() as Arc<dyn scry_models::Embedder>)),
        None => Engine::open(cfg),
    }
    .expect("a follower opens a locked index")
}

#[test]
fn a_follower_sees_each_new_generation_and_takes_over_when_the_writer_exits() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let model = Counting::load();
    let writer = open_with(ws.path(), idx.path(), &model);
    refresh(&writer);
    let embedded_by_writer = model.texts();

    let reader = follower(ws.path(), idx.path(), Some(&model));
    assert!(!reader.is_writer());
    assert_eq!(reader.generation(), writer.generation());
    let st = reader.status();
    assert!(
        st.notices.iter().any(|n| n.contains("following")),
        "{:?}",
        st.notices
    );
    assert_eq!(st.chunks, writer.status().chunks);
    // The follower searches the writer's vectors without embedding a single chunk.
    let hits = reader
        .search(&SearchRequest::new("read the settings file").mode(SearchMode::Hybrid))
        .unwrap();
    assert_eq!(hits.mode, SearchMode::Hybrid);
    assert!(hits.hits.iter().any(|h| h.file.path == "src/config.rs"));
    assert_eq!(
        model.texts(),
        embedded_by_writer + 1,
        "only the query was embedded"
    );

    // A refresh on the follower changes nothing on disk: the writer owns the index.
    write(
        ws.path(),
        "src/fresh.rs",
        "pub fn zanzibar_follow_marker() {}\n",
    );
    let r = reader.refresh(&Default::default(), &mut |_| {}).unwrap();
    assert_eq!(r.files_indexed, 0);
    assert!(found(&reader, "zanzibar_follow_marker").is_empty());

    // The writer commits; the follower's next search is on the new generation.
    refresh(&writer);
    assert_eq!(found(&reader, "zanzibar_follow_marker"), ["src/fresh.rs"]);
    assert_eq!(reader.generation(), writer.generation());
    assert!(reader.vectors_consistent());

    // The writer goes away: the follower takes the lock, and writes.
    drop(writer);
    assert_eq!(reader.follow().unwrap(), FollowEvent::TookOver);
    assert!(reader.is_writer());
    write(
        ws.path(),
        "src/later.rs",
        "pub fn after_the_takeover() {}\n",
    );
    std::fs::remove_file(ws.path().join("src/fresh.rs")).unwrap();
    let r = refresh(&reader);
    assert_eq!((r.files_indexed, r.files_removed), (1, 1));
    assert_eq!(found(&reader, "after_the_takeover"), ["src/later.rs"]);
    assert!(found(&reader, "zanzibar_follow_marker").is_empty());
    reader.verify().unwrap();

    // And a third process on the index now follows the new writer.
    let third = follower(ws.path(), idx.path(), None);
    assert!(!third.is_writer());
    assert_eq!(found(&third, "after_the_takeover"), ["src/later.rs"]);
    assert_eq!(third.follow().unwrap(), FollowEvent::Unchanged);
}

#[test]
fn searches_on_a_follower_never_mix_generations_while_the_writer_commits() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let writer = open_lexical(ws.path(), idx.path());
    refresh(&writer);
    let reader = follower(ws.path(), idx.path(), None);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let searcher = {
        let (reader, stop) = (reader.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut seen = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let r = reader
                    .search(&SearchRequest::new("generation_marker").k(50))
                    .unwrap();
                // Each version of the file names its own marker; one generation holds
                // one version, so every hit from the file carries the same hash and the
                // same marker. A mix would show two.
                let versions: std::collections::HashSet<_> = r
                    .hits
                    .iter()
                    .filter(|h| h.file.path == "src/gen.rs")
                    .map(|h| (h.file.hash, h.symbol.clone()))
                    .collect();
                if r.generation > 1 {
                    assert_eq!(
                        versions.len(),
                        1,
                        "generation {}: {versions:?}",
                        r.generation
                    );
                    seen += 1;
                }
            }
            seen
        })
    };
    for i in 0..30 {
        write(
            ws.path(),
            "src/gen.rs",
            &format!("/// generation_marker {i}\npub fn generation_marker_{i}() {{}}\n"),
        );
        refresh(&writer);
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(searcher.join().unwrap() > 0);
    assert_eq!(reader.generation(), writer.generation());
}

fn read_only(ws: &std::path::Path, idx: &std::path::Path) -> Engine {
    let mut cfg = config(ws, idx);
    cfg.read_only = true;
    Engine::open(cfg).expect("a read-only open")
}

/// `scry status` before any `scry index` once created the index directory (and, on a
/// crashed index, repaired it): a command that only looks must leave no trace.
#[test]
fn a_read_only_open_creates_nothing_where_nothing_is_indexed() {
    let ws = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let idx = parent.path().join("index");
    fixture(ws.path());
    let reader = read_only(ws.path(), &idx);
    let st = reader.status();
    assert_eq!((st.generation, st.files, st.chunks), (0, 0, 0));
    assert!(!idx.exists(), "the index directory was created");
    let report = reader.refresh(&Default::default(), &mut |_| {}).unwrap();
    assert_eq!(report.files_indexed, 0);
    assert!(!idx.exists(), "a read-only refresh wrote");
}

#[test]
fn a_read_only_reader_never_takes_the_lock_even_when_the_writer_exits() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let writer = open_lexical(ws.path(), idx.path());
    refresh(&writer);
    let reader = read_only(ws.path(), idx.path());
    assert!(!reader.is_writer());
    assert_eq!(reader.generation(), writer.generation());
    assert_eq!(reader.status().chunks, writer.status().chunks);
    drop(writer);
    assert_eq!(reader.follow().unwrap(), FollowEvent::Unchanged);
    reader.refresh(&Default::default(), &mut |_| {}).unwrap();
    assert!(
        !reader.is_writer(),
        "a read-only reader took over the writing"
    );
    // A writer can still start while it is open: it holds no lock.
    let mut cfg = config(ws.path(), idx.path());
    cfg.follow_when_locked = false;
    let next = Engine::open(cfg).expect("the lock is free");
    assert!(next.is_writer());
}
