//! The watcher applies creates, edits, renames and deletes on disk without being asked.

mod common;

use std::time::{Duration, Instant};

use common::*;
use scry_engine::SearchMode;

fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for: {what}");
}

#[test]
fn watcher_follows_creates_edits_renames_and_deletes() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path().canonicalize().unwrap();
    fixture(&root);
    let engine = open_lexical(&root, idx.path());
    refresh(&engine);
    let _w = engine.watch(|_| {}).unwrap();

    write(&root, "src/fresh.rs", "fn watched_marker_one() {}\n");
    eventually("create", || {
        paths(&engine, "watched_marker_one", SearchMode::Lexical) == ["src/fresh.rs"]
    });

    write(&root, "src/fresh.rs", "fn watched_marker_two() {}\n");
    eventually("edit", || {
        paths(&engine, "watched_marker_two", SearchMode::Lexical) == ["src/fresh.rs"]
            && paths(&engine, "watched_marker_one", SearchMode::Lexical).is_empty()
    });

    std::fs::rename(root.join("src/fresh.rs"), root.join("src/renamed.rs")).unwrap();
    eventually("rename", || {
        paths(&engine, "watched_marker_two", SearchMode::Lexical) == ["src/renamed.rs"]
    });

    std::fs::create_dir_all(root.join("build")).unwrap();
    write(
        &root,
        "build/out.rs",
        "fn ignored_by_gitignore_marker() {}\n",
    );
    std::fs::remove_file(root.join("src/renamed.rs")).unwrap();
    eventually("delete", || {
        paths(&engine, "watched_marker_two", SearchMode::Lexical).is_empty()
    });
    assert!(paths(&engine, "ignored_by_gitignore_marker", SearchMode::Lexical).is_empty());

    // A directory renamed in one move.
    std::fs::rename(root.join("app"), root.join("application")).unwrap();
    eventually("directory rename", || {
        paths(&engine, "SessionStore", SearchMode::Lexical) == ["application/session.py"]
    });
}
