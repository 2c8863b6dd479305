//! Following an index another scry process writes (RELIABILITY 20).
//!
//! One process per index directory writes: it holds an OS file lock on `lock`, which
//! dies with it. Another process on the same workspace (the agent's `scry mcp` beside
//! the editor's `scry lsp`) opens as a *follower*: it reads the committed generation
//! (manifest, then the tantivy commit carrying the same generation, then the vector file
//! the manifest names), reloads when the manifest changes, and takes the lock, and with
//! it the writing, as soon as the writer is gone. No manual cleanup: the lock is the
//! kernel's, and the new writer repairs whatever a killed writer left.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use scry_index::{LexicalReader, Manifest, VectorStore};

use crate::writer::{VECTORS_DIR, Writer};
use crate::{Engine, EngineError, FileProblems, Snapshot, WriterState};

/// How long a follower keeps retrying a generation the writer is in the middle of
/// committing before it keeps serving the previous one.
const CONSISTENT_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// What a follower's poll found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowEvent {
    /// This process writes the index (nothing to follow).
    Writer,
    /// Still following; the generation did not change.
    Unchanged,
    /// Still following; now serving this newer generation.
    Reloaded(u64),
    /// The writer went away and this process took the lock: it writes from now on.
    /// The caller should refresh from disk (the old writer may have missed changes).
    TookOver,
}

/// A follower's memory of what it loaded, to reload only what changed.
#[derive(Default)]
pub(crate) struct FollowState {
    /// (size, mtime, inode) of the manifest last loaded.
    manifest_stamp: Option<(u64, std::time::SystemTime, u64)>,
    lexical: Option<LexicalReader>,
    /// The vector file last loaded, by checksum.
    vectors: Option<(String, Arc<VectorStore>)>,
}

/// Tries the index lock; `Ok(true)` when this process now holds it.
pub(crate) fn try_lock(file: &std::fs::File, path: &Path) -> Result<bool, EngineError> {
    match file.try_lock() {
        Ok(()) => {
            // Who writes, for the followers' status; advisory only.
            let mut f = file;
            let _ = f.set_len(0);
            let _ = f.rewind();
            let _ = write!(f, "{}", std::process::id());
            let _ = f.sync_data();
            Ok(true)
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(false),
        Err(std::fs::TryLockError::Error(e)) => Err(EngineError::io(path, e)),
    }
}

/// The process id the writer wrote into the lock file, if readable.
pub(crate) fn writer_pid(file: &std::fs::File) -> Option<u32> {
    let mut f = file;
    let mut s = String::new();
    f.rewind().ok()?;
    f.read_to_string(&mut s).ok()?;
    s.trim().parse().ok()
}

impl Engine {
    /// Whether this process writes the index (else it follows another process's writes).
    pub fn is_writer(&self) -> bool {
        self.inner.state.lock().is_some()
    }

    /// For a follower: reloads when the writer committed a new generation, and takes
    /// over when the writer is gone. Cheap when nothing changed (one `stat`). Call it
    /// now and then (the watcher does, every few hundred milliseconds).
    pub fn follow(&self) -> Result<FollowEvent, EngineError> {
        let inner = &self.inner;
        // Held throughout: two threads of this process must not both take over (the
        // lock is per open file, so the second try would succeed too).
        let mut follow = inner.follow.lock();
        if !inner.following.load(Ordering::Acquire) {
            return Ok(FollowEvent::Writer);
        }
        if try_lock(&inner.lock_file, &inner.dir.join("lock"))? {
            return self.take_over(&mut follow);
        }
        self.reload_locked(&mut follow)
    }

    fn take_over(&self, follow: &mut FollowState) -> Result<FollowEvent, EngineError> {
        let inner = &self.inner;
        let mut notices = Vec::new();
        let writer = match Writer::open(
            &inner.dir,
            inner.roots.roots(),
            inner.embedder.as_deref(),
            &mut notices,
        ) {
            Ok(w) => w,
            Err(e) => {
                // Stay a follower; let another process (or a later poll) try.
                let _ = inner.lock_file.unlock();
                return Err(e);
            }
        };
        for n in &notices {
            tracing::warn!("{n}");
        }
        let mut state = inner.state.lock();
        self.publish(&writer)?;
        *state = Some(WriterState {
            writer,
            overlays: HashMap::new(),
        });
        inner.following.store(false, Ordering::Release);
        drop(state);
        *follow = FollowState::default();
        let mut all = inner.notices.lock();
        all.retain(|n| !n.starts_with(FOLLOWING));
        all.push("the process that wrote this index exited; this one writes it now".into());
        all.extend(notices);
        tracing::info!("took over writing the index at {}", inner.dir.display());
        Ok(FollowEvent::TookOver)
    }

    /// Loads the committed generation if the manifest changed since the last load.
    /// Returns at once when another thread is already reloading or taking over.
    pub(crate) fn reload_if_changed(&self) -> Result<FollowEvent, EngineError> {
        let Some(mut follow) = self.inner.follow.try_lock() else {
            return Ok(FollowEvent::Unchanged);
        };
        if !self.inner.following.load(Ordering::Acquire) {
            return Ok(FollowEvent::Writer);
        }
        self.reload_locked(&mut follow)
    }

    fn reload_locked(&self, follow: &mut FollowState) -> Result<FollowEvent, EngineError> {
        let inner = &self.inner;
        let stamp = manifest_stamp(&inner.dir);
        if stamp.is_some() && stamp == follow.manifest_stamp {
            return Ok(FollowEvent::Unchanged);
        }
        let deadline = Instant::now() + CONSISTENT_READ_TIMEOUT;
        loop {
            let stamp = manifest_stamp(&inner.dir);
            match self.read_generation(follow) {
                Ok(Some(snap)) => {
                    let generation = snap.generation;
                    let changed = generation != inner.snapshot.read().generation;
                    *inner.snapshot.write() = Arc::new(snap);
                    follow.manifest_stamp = stamp;
                    return Ok(if changed {
                        FollowEvent::Reloaded(generation)
                    } else {
                        FollowEvent::Unchanged
                    });
                }
                // Mid-commit: the parts do not agree yet.
                Ok(None) => {}
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(e) => tracing::debug!("reading the followed index: {e}; retrying"),
            }
            if Instant::now() >= deadline {
                return Ok(FollowEvent::Unchanged);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// One consistent generation as the writer committed it, or `None` when the
    /// manifest, the tantivy commit and the vector file do not agree (a commit is
    /// under way).
    fn read_generation(&self, follow: &mut FollowState) -> Result<Option<Snapshot>, EngineError> {
        let inner = &self.inner;
        let manifest = Manifest::load(&inner.dir)?.unwrap_or_default();
        if follow.lexical.is_none() {
            follow.lexical = Some(LexicalReader::open(&inner.dir.join("lexical"))?);
        }
        let Some(lexical) = follow
            .lexical
            .as_ref()
            .map(|r| r.snapshot_of(manifest.generation))
        else {
            return Ok(None);
        };
        let Some(lexical) = lexical? else {
            return Ok(None);
        };
        let vectors = match (&inner.embedder, &manifest.vectors) {
            (Some(e), Some(v)) if v.model == e.info().id && v.dims == e.info().dims => {
                match &follow.vectors {
                    Some((sum, store)) if *sum == v.checksum => Some(store.clone()),
                    _ => {
                        let path = inner.dir.join(VECTORS_DIR).join(&v.file);
                        match VectorStore::load(&path, &v.checksum, v.dims) {
                            Ok(store) => {
                                let store = Arc::new(store);
                                follow.vectors = Some((v.checksum.clone(), store.clone()));
                                Some(store)
                            }
                            // Replaced by a newer commit while we read: try again.
                            Err(_) if manifest_changed(&inner.dir, &manifest) => {
                                return Ok(None);
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
            }
            _ => None,
        };
        let live_keys: HashSet<u64> = manifest
            .files
            .values()
            .flat_map(|f| f.keys.iter().copied())
            .collect();
        let missing_vectors = match &vectors {
            Some(v) => live_keys.iter().filter(|k| !v.contains(**k)).count(),
            None => live_keys.len(),
        };
        let mut languages = BTreeMap::new();
        let mut problems = Vec::new();
        for f in manifest.files.values() {
            *languages.entry(f.language.clone()).or_default() += 1;
            if !f.problems.is_empty() {
                problems.push(FileProblems {
                    root: f.root,
                    path: f.path.clone(),
                    problems: f.problems.clone(),
                });
            }
        }
        Ok(Some(Snapshot {
            generation: manifest.generation,
            lexical,
            live_keys,
            vectors,
            files: manifest.files.len(),
            missing_vectors,
            languages,
            problems,
        }))
    }
}

/// The notice a follower carries while it follows.
pub(crate) const FOLLOWING: &str = "following the index written by another scry process";
/// What a follower leaves to the writer, for the notice.
pub(crate) const FOLLOWING_DETAIL: &str = "; its new commits are served here, and this process takes over the writing when it \
     exits (until then, unsaved editor buffers here are not indexed)";

fn manifest_stamp(dir: &Path) -> Option<(u64, std::time::SystemTime, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(dir.join(scry_index::MANIFEST_FILE)).ok()?;
    Some((m.len(), m.modified().ok()?, m.ino()))
}

fn manifest_changed(dir: &Path, loaded: &Manifest) -> bool {
    Manifest::load(dir)
        .ok()
        .flatten()
        .is_some_and(|m| m.generation != loaded.generation)
}
