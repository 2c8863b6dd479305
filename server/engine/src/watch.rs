//! Keeps the index current as files change on disk: debounced notify events trigger a
//! refresh that re-reads the changed paths. In a process that follows another's index,
//! the same thread polls for new generations and takes over when the writer exits.

use std::collections::HashSet;
use std::path::PathBuf;
use std::thread::JoinHandle;

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, new_debouncer};

use crate::{Engine, EngineError, FollowEvent, RefreshReport};

/// How often a follower looks for the writer's new commits (one `stat`) and tries the lock.
const FOLLOW_POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Watches while alive; dropping it stops watching.
pub struct Watcher {
    debouncer: Option<
        notify_debouncer_full::Debouncer<
            notify::RecommendedWatcher,
            notify_debouncer_full::RecommendedCache,
        >,
    >,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Some(d) = self.debouncer.take() {
            d.stop();
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts watching every root. `on_update` hears about each refresh a batch of changes
/// caused (or its error); the watcher keeps going after errors.
pub(crate) fn start(
    engine: &Engine,
    on_update: impl Fn(Result<RefreshReport, EngineError>) + Send + 'static,
) -> Result<Watcher, EngineError> {
    let (tx, rx) = crossbeam_channel::unbounded::<Vec<PathBuf>>();
    let index_dir = engine.inner.dir.clone();
    let mut debouncer = new_debouncer(
        engine.inner.config.watch_debounce,
        None,
        move |res: DebounceEventResult| match res {
            Ok(events) => {
                let paths: Vec<PathBuf> = events
                    .into_iter()
                    .flat_map(|e| e.event.paths)
                    .filter(|p| {
                        !p.starts_with(&index_dir)
                            && !p.components().any(|c| c.as_os_str() == ".git")
                    })
                    .collect();
                if !paths.is_empty() {
                    let _ = tx.send(paths);
                }
            }
            Err(errors) => {
                for e in errors {
                    tracing::warn!("file watcher: {e}");
                }
                // Events may have been lost: a full refresh catches up.
                let _ = tx.send(Vec::new());
            }
        },
    )
    .map_err(|e| EngineError::Watch(e.to_string()))?;
    for root in engine.inner.roots.roots() {
        debouncer
            .watch(root, RecursiveMode::Recursive)
            .map_err(|e| EngineError::Watch(format!("{}: {e}", root.display())))?;
    }
    let engine = engine.clone();
    let thread = std::thread::Builder::new()
        .name("scry-watch".into())
        .spawn(move || {
            loop {
                let first = match rx.recv_timeout(FOLLOW_POLL) {
                    Ok(paths) => paths,
                    Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                        // A follower polls the writer's commits, and takes over
                        // (then catches up with the disk) when the writer is gone.
                        match engine.follow() {
                            Ok(FollowEvent::TookOver) => {
                                on_update(engine.refresh(&HashSet::new(), &mut |_| {}));
                            }
                            Ok(FollowEvent::Reloaded(generation)) => {
                                on_update(Ok(RefreshReport {
                                    generation,
                                    ..Default::default()
                                }));
                            }
                            Ok(_) => {}
                            Err(e) => on_update(Err(e)),
                        }
                        continue;
                    }
                    Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
                };
                // Coalesce everything already queued into one refresh.
                let mut force: HashSet<PathBuf> = first.into_iter().collect();
                while let Ok(more) = rx.try_recv() {
                    force.extend(more);
                }
                if engine.is_writer() {
                    on_update(engine.refresh(&force, &mut |_| {}));
                }
            }
        })
        .map_err(|e| EngineError::Watch(e.to_string()))?;
    Ok(Watcher {
        debouncer: Some(debouncer),
        thread: Some(thread),
    })
}
