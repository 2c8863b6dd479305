//! The watcher applies creates, edits, renames and deletes on disk without being asked.

mod common;

use std::time::{Duration, Instant};

use common::*;

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
        found(&engine, "watched_marker_one") == ["src/fresh.rs"]
    });

    write(&root, "src/fresh.rs", "fn watched_marker_two() {}\n");
    eventually("edit", || {
        found(&engine, "watched_marker_two") == ["src/fresh.rs"]
            && found(&engine, "watched_marker_one").is_empty()
    });

    std::fs::rename(root.join("src/fresh.rs"), root.join("src/renamed.rs")).unwrap();
    eventually("rename", || {
        found(&engine, "watched_marker_two") == ["src/renamed.rs"]
    });

    std::fs::create_dir_all(root.join("build")).unwrap();
    write(
        &root,
        "build/out.rs",
        "fn ignored_by_gitignore_marker() {}\n",
    );
    std::fs::remove_file(root.join("src/renamed.rs")).unwrap();
    eventually("delete", || found(&engine, "watched_marker_two").is_empty());
    assert!(found(&engine, "ignored_by_gitignore_marker").is_empty());

    // A directory renamed in one move.
    std::fs::rename(root.join("app"), root.join("application")).unwrap();
    eventually("directory rename", || {
        found(&engine, "SessionStore") == ["application/session.py"]
    });
}
