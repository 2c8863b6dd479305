//! The workspace lifecycle the LSP, MCP and `scry watch` share: the index opens at once
//! (BM25 from what is there), the model loads in the background, the first pass runs,
//! then the watcher keeps the index current; beside another writer it follows, and it
//! takes over when that writer exits.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use parking_lot::Mutex;
use scry_engine::{
    ModelState, SearchMode, SearchRequest, Workspace, WorkspaceEvent, WorkspaceOptions,
};

/// Records each event by name, in order.
fn recorder() -> (
    Arc<Mutex<Vec<String>>>,
    impl Fn(&WorkspaceEvent) + Send + Sync + 'static,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let listen = move |e: &WorkspaceEvent| {
        let name = match e {
            WorkspaceEvent::Model(ModelState::Ready(_)) => "model ready".to_owned(),
            WorkspaceEvent::Model(m) => format!("model {m:?}"),
            WorkspaceEvent::Indexing(_) => "indexing".into(),
            WorkspaceEvent::Indexed(Ok(_)) => "indexed".into(),
            WorkspaceEvent::Indexed(Err(e)) => format!("indexing failed: {e}"),
            WorkspaceEvent::Updated(Ok(_)) => "updated".into(),
            WorkspaceEvent::Updated(Err(e)) => format!("update failed: {e}"),
            WorkspaceEvent::NotWatching(why) => format!("not watching: {why}"),
            WorkspaceEvent::Upgraded(_) => "upgraded".into(),
        };
        s.lock().push(name);
    };
    (seen, listen)
}

fn until(what: &str, mut done: impl FnMut() -> bool) {
    let t = Instant::now();
    while !done() {
        assert!(t.elapsed() < Duration::from_secs(30), "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_workspace_serves_at_once_then_loads_the_model_indexes_and_watches() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path().canonicalize().unwrap();
    fixture(&root);
    let cfg = scry_engine::EngineConfig::builder([&root])
        .index_dir(idx.path())
        .embedding_model(Some(model_path()))
        .embed_threads(2)
        .build();
    let (seen, listen) = recorder();
    let w = Workspace::open(cfg, WorkspaceOptions::default(), listen).unwrap();
    // Open means searchable, whatever the model is doing.
    w.engine()
        .search(&SearchRequest::new("cartTotal").mode(SearchMode::Lexical))
        .expect("searchable while the model loads");
    assert!(w.wait_indexed(Duration::from_secs(60)));
    let st = w.state();
    assert!(
        matches!(&st.model, ModelState::Ready(info) if info.dims == 384),
        "{st:?}"
    );
    assert!(!st.indexing);
    assert!(st.last_report.as_ref().unwrap().files_indexed > 5, "{st:?}");
    assert_eq!(
        st.progress.as_ref().map(|p| p.files_done),
        Some(st.progress.as_ref().unwrap().files_total)
    );
    let events = seen.lock().clone();
    let at = |name: &str| events.iter().position(|e| e == name);
    assert!(at("model ready") < at("indexed"), "{events:?}");
    assert!(at("indexing").is_some(), "{events:?}");
    let r = w
        .engine()
        .search(&SearchRequest::new("total price of a shopping cart"))
        .unwrap();
    assert_eq!(r.mode, SearchMode::Hybrid);
    assert!(w.engine().vectors_consistent());

    // Then it watches: a new file becomes searchable by itself.
    until("the watcher started", || w.state().watching);
    write(&root, "src/late.rs", "pub fn arrived_while_watching() {}\n");
    until("the watcher indexed the new file", || {
        !found(w.engine(), "arrived_while_watching").is_empty()
    });
    until("the update was reported", || {
        seen.lock().iter().any(|e| e == "updated")
    });
    w.close();
    assert!(!w.state().watching);
}

#[test]
fn beside_another_writer_it_follows_then_takes_over_and_a_broken_model_is_reported() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path().canonicalize().unwrap();
    fixture(&root);
    let writer = open_lexical(&root, idx.path());
    refresh(&writer);
    let mut cfg = scry_engine::EngineConfig::builder([&root])
        .index_dir(idx.path())
        .embedding_model(Some(root.join("missing.gguf")))
        .build();
    cfg.follow_when_locked = true;
    let (seen, listen) = recorder();
    let opts = WorkspaceOptions {
        watch: true,
        lock_wait: Duration::from_millis(100),
    };
    let w = Workspace::open(cfg, opts, listen).unwrap();
    assert!(!w.engine().is_writer());
    assert!(w.wait_indexed(Duration::from_secs(30)));
    assert!(matches!(&w.state().model, ModelState::Failed(why) if why.contains("missing.gguf")));
    // The follower serves the writer's index.
    assert_eq!(found(w.engine(), "cartTotal"), ["web/cart.ts"]);
    let r = w.engine().search(&SearchRequest::new("cartTotal")).unwrap();
    assert!(r.notice.unwrap().contains("missing.gguf"));
    // The writer exits: the follower's watcher takes over, then catches up with the disk.
    write(
        &root,
        "src/after.rs",
        "pub fn written_after_the_writer_left() {}\n",
    );
    drop(writer);
    until("took over", || w.engine().is_writer());
    until("caught up with the disk", || {
        !found(w.engine(), "written_after_the_writer_left").is_empty()
    });
    let events = seen.lock().clone();
    assert!(events[0].starts_with("model Failed"), "{events:?}");
    assert!(events.iter().any(|e| e == "indexed"), "{events:?}");
}

#[test]
fn without_following_a_locked_index_is_an_error_after_the_wait() {
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    fixture(ws.path());
    let _writer = open_lexical(ws.path(), idx.path());
    let opts = WorkspaceOptions {
        watch: false,
        lock_wait: Duration::from_millis(200),
    };
    let t = Instant::now();
    let r = Workspace::open(config(ws.path(), idx.path()), opts, |_| {});
    assert!(matches!(r, Err(scry_engine::EngineError::Locked(_))));
    assert!(
        t.elapsed() >= Duration::from_millis(200),
        "it waited for the lock"
    );
}
