//! Feeds editor buffers to the engine's overlay on one worker thread.
//!
//! Typing sends a `didChange` per keystroke; indexing each one would queue commits
//! behind each other. The worker takes everything queued, keeps the newest text per
//! file, and applies that. Every submission has a sequence number, and a search first
//! waits (briefly) until everything submitted before it is applied, so a search sees
//! the text the user sees. Buffers are indexed lexically (no embedding, no rewrite of
//! the vector file); once the editor has been quiet for a moment, the new chunks are
//! embedded in one commit.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use scry_engine::Engine;
use tokio::sync::watch;

enum Job {
    /// `None`: the buffer closed; the disk is authoritative again.
    Set(String, Option<String>, u64),
    Stop,
}

pub struct OverlayQueue {
    tx: std::sync::mpsc::Sender<Job>,
    submitted: AtomicU64,
    applied: watch::Receiver<u64>,
    worker: parking_lot::Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl OverlayQueue {
    pub fn start(engine: Engine) -> Arc<OverlayQueue> {
        let (tx, rx) = std::sync::mpsc::channel();
        let (applied_tx, applied) = watch::channel(0u64);
        let worker = std::thread::Builder::new()
            .name("scry-overlay".into())
            .spawn(move || run(engine, rx, applied_tx))
            .ok();
        Arc::new(OverlayQueue {
            tx,
            submitted: AtomicU64::new(0),
            applied,
            worker: parking_lot::Mutex::new(worker),
        })
    }

    /// Queues the buffer text of `path` (or its closing).
    pub fn submit(&self, path: &str, text: Option<String>) {
        let seq = self.submitted.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.tx.send(Job::Set(path.to_owned(), text, seq));
    }

    /// Waits until everything submitted so far is in the index, or `limit` passes.
    /// Returns whether it caught up.
    pub async fn flushed(&self, limit: Duration) -> bool {
        let target = self.submitted.load(Ordering::SeqCst);
        let mut rx = self.applied.clone();
        tokio::time::timeout(limit, rx.wait_for(|a| *a >= target))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn stop(&self) {
        let _ = self.tx.send(Job::Stop);
        if let Some(h) = self.worker.lock().take() {
            let _ = h.join();
        }
    }
}

impl Drop for OverlayQueue {
    fn drop(&mut self) {
        let _ = self.tx.send(Job::Stop);
    }
}

/// How long the editor must be quiet before new chunks are embedded.
const EMBED_AFTER_IDLE: Duration = Duration::from_millis(400);

fn run(engine: Engine, rx: std::sync::mpsc::Receiver<Job>, applied: watch::Sender<u64>) {
    engine.warm_up();
    let mut embed_due = false;
    loop {
        let first = if embed_due {
            match rx.recv_timeout(EMBED_AFTER_IDLE) {
                Ok(job) => job,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    embed_due = false;
                    if let Err(e) = engine.embed_missing() {
                        tracing::warn!("embedding edited chunks failed: {e}");
                    }
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(job) => job,
                Err(_) => break,
            }
        };
        let mut latest: HashMap<String, (Option<String>, u64)> = HashMap::new();
        let mut order: Vec<String> = Vec::new();
        let mut stop = false;
        let mut top = 0;
        for job in std::iter::once(first).chain(rx.try_iter()) {
            match job {
                Job::Stop => {
                    stop = true;
                    break;
                }
                Job::Set(path, text, seq) => {
                    top = top.max(seq);
                    if !latest.contains_key(&path) {
                        order.push(path.clone());
                    }
                    latest.insert(path, (text, seq));
                }
            }
        }
        for path in order {
            let Some((text, _)) = latest.remove(&path) else {
                continue;
            };
            let result = match &text {
                Some(t) => engine.set_overlay(&path, t),
                None => engine.clear_overlay(&path),
            };
            if let Err(e) = result {
                // Files outside the roots, secrets and oversized buffers are not indexed;
                // the editor keeps working on them all the same.
                tracing::debug!("buffer {path} not indexed: {e}");
            }
        }
        applied.send_modify(|a| *a = (*a).max(top));
        if stop {
            break;
        }
        embed_due = engine.missing_vectors() > 0;
    }
}
