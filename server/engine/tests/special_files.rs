//! Files that are not regular files (FIFOs, sockets, devices) never block the engine:
//! the walk skips them, a read refuses them at once, and an indexed file replaced by one
//! reads as changed.

mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::*;
use scry_engine::{SearchMode, SearchRequest};
use scry_test_support::mkfifo;

/// Runs `f` on a thread and fails (instead of hanging) if it takes over 10 s.
fn within_10s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} blocked"))
}

#[test]
fn a_fifo_in_the_workspace_is_skipped_and_refused_without_blocking() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    write(ws.path(), "src/lib.rs", "pub fn parse_config() {}\n");
    mkfifo(&ws.path().join("src/pipe.rs"));
    let engine = open_lexical(ws.path(), idx.path());
    let e = engine.clone();
    let report = within_10s("the first pass", move || refresh(&e));
    assert_eq!(report.files_indexed, 1, "{report:?}");
    for _ in 0..3 {
        let e = engine.clone();
        let err = within_10s("read_file", move || e.read_file("src/pipe.rs")).unwrap_err();
        assert!(err.to_string().contains("not a regular file"), "{err}");
    }
    // Still serving.
    assert_eq!(found(&engine, "parse_config"), ["src/lib.rs"]);
}

#[test]
fn an_indexed_file_replaced_by_a_fifo_reads_as_stale() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    write(ws.path(), "src/lib.rs", "pub fn parse_config() {}\n");
    let engine = open_lexical(ws.path(), idx.path());
    refresh(&engine);
    std::fs::remove_file(ws.path().join("src/lib.rs")).unwrap();
    mkfifo(&ws.path().join("src/lib.rs"));
    let e = engine.clone();
    let hit = within_10s("a search's freshness check", move || {
        let r = e
            .search(&SearchRequest::new("parse_config").mode(SearchMode::Lexical))
            .unwrap();
        let text = r.sources.indexed_text(&r.hits[0].file);
        (r.hits[0].file.stale, text.is_none())
    });
    assert_eq!(hit, (true, true));
}
