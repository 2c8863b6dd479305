//! Following an index another scry process writes (RELIABILITY 20).
//!
//! One process per index directory writes: it holds an OS file lock on `lock`, which
//! dies with it. Another process on the same workspace (the agent's `scry mcp` beside
//! the editor's `scry lsp`) opens as a *follower*: it reads the committed generation
//! (manifest, then the tantivy commit carrying the same generation, then the vector file
//! the manifest names), reloads when the manifest changes, and takes the lock, and with
//! it the writing, as soon as the writer is gone. No manual cleanup: the lock is the
//! kernel's, and the new writer repairs whatever a killed writer left.

use std::io::{Read, Seek, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scry_index::{LexicalReader, Manifest, VectorStore};

use crate::snapshot::{TierStore, View};
use crate::state::{Model, Overlays, Role, WriterState};
use crate::tier::{PerTier, Tier};
use crate::writer::{VECTORS_DIR, Writer};
use crate::{Engine, EngineError};

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
    /// Each tier's vector file last loaded, by checksum.
    vectors: PerTier<Option<(String, Arc<VectorStore>)>>,
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

/// Reloads when the writer committed a new generation, and takes over when the writer
/// is gone. Cheap when nothing changed (one `stat`).
pub(crate) fn poll(engine: &Engine) -> Result<FollowEvent, EngineError> {
    let inner = &engine.inner;
    if inner.is_writer() {
        return Ok(FollowEvent::Writer);
    }
    // Held throughout: two threads of this process must not both take over (the lock
    // is per open file, so the second try would succeed too).
    let mut role = inner.role.lock();
    let Role::Follower(follow) = &mut *role else {
        return Ok(FollowEvent::Writer);
    };
    if let Some(lock_file) = &inner.lock_file
        && try_lock(lock_file, &inner.dir.join("lock"))?
    {
        return take_over(engine, &mut role);
    }
    reload(engine, follow)
}

/// Loads the committed generation if the manifest changed since the last load. Returns
/// at once when another thread holds the engine (reloading, or writing).
pub(crate) fn reload_if_changed(engine: &Engine) -> Result<FollowEvent, EngineError> {
    let Some(mut role) = engine.inner.role.try_lock() else {
        return Ok(FollowEvent::Unchanged);
    };
    match &mut *role {
        Role::Follower(follow) => reload(engine, follow),
        Role::Writer(_) => Ok(FollowEvent::Writer),
    }
}

fn take_over(engine: &Engine, role: &mut Role) -> Result<FollowEvent, EngineError> {
    let inner = &engine.inner;
    let mut notices = Vec::new();
    let models = inner.models.read().clone();
    let writer = match Writer::open(
        &inner.dir,
        inner.roots.roots(),
        models.map(|_, m| m.embedder().map(|e| e.as_ref())),
        &mut notices,
    ) {
        Ok(w) => w,
        Err(e) => {
            // Stay a follower; let another process (or a later poll) try.
            if let Some(lock_file) = &inner.lock_file {
                let _ = lock_file.unlock();
            }
            return Err(e);
        }
    };
    for n in &notices {
        tracing::warn!("{n}");
    }
    let state = WriterState {
        writer,
        overlays: Overlays::default(),
    };
    inner.publish(&state)?;
    *role = Role::Writer(Box::new(state));
    inner.now_writes();
    let mut log = inner.log.lock();
    log.notices.retain(|n| !n.starts_with(FOLLOWING));
    log.notices
        .push("the process that wrote this index exited; this one writes it now".into());
    log.notices.extend(notices);
    tracing::info!("took over writing the index at {}", inner.dir.display());
    Ok(FollowEvent::TookOver)
}

/// Reads the committed generation once, without waiting for a commit to complete:
/// `Ok(false)` when its parts disagree (what a crash mid-commit leaves).
pub(crate) fn read_once(engine: &Engine) -> Result<bool, EngineError> {
    let mut role = engine.inner.role.lock();
    let Role::Follower(follow) = &mut *role else {
        return Ok(true);
    };
    let stamp = manifest_stamp(&engine.inner.dir);
    let Some(view) = read_generation(engine, follow)? else {
        return Ok(false);
    };
    *engine.inner.published.write() = Arc::new(view);
    follow.manifest_stamp = stamp;
    Ok(true)
}

/// The process that holds the index lock, if it is alive: read from the lock file
/// without taking the lock (a reader must never make a writer wait or follow).
pub(crate) fn live_writer(dir: &Path) -> Option<u32> {
    let file = std::fs::File::open(dir.join("lock")).ok()?;
    let pid = writer_pid(&file)?;
    let pid_t = libc::pid_t::try_from(pid).ok()?;
    // SAFETY: signal 0 only checks that the process exists (EPERM: it does, as
    // another user's).
    let alive = unsafe { libc::kill(pid_t, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    alive.then_some(pid)
}

/// Reads the committed generation again even if the manifest did not change (a tier's
/// model was attached that this engine did not expect, so its vectors were not read).
pub(crate) fn reread(
    engine: &Engine,
    follow: &mut FollowState,
) -> Result<FollowEvent, EngineError> {
    follow.manifest_stamp = None;
    reload(engine, follow)
}

fn reload(engine: &Engine, follow: &mut FollowState) -> Result<FollowEvent, EngineError> {
    let inner = &engine.inner;
    let stamp = manifest_stamp(&inner.dir);
    // No manifest: nothing was ever committed, so there is nothing to read yet.
    if stamp.is_none() || stamp == follow.manifest_stamp {
        return Ok(FollowEvent::Unchanged);
    }
    let deadline = Instant::now() + CONSISTENT_READ_TIMEOUT;
    loop {
        let stamp = manifest_stamp(&inner.dir);
        match read_generation(engine, follow) {
            Ok(Some(view)) => {
                let generation = view.generation;
                let changed = generation != inner.published.read().generation;
                *inner.published.write() = Arc::new(view);
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

/// One consistent generation as the writer committed it, or `None` when the manifest,
/// the tantivy commit and the vector file do not agree (a commit is under way).
fn read_generation(engine: &Engine, follow: &mut FollowState) -> Result<Option<View>, EngineError> {
    let inner = &engine.inner;
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
    let models = inner.models.read().clone();
    let mut vectors = PerTier::default();
    for tier in Tier::ALL {
        let entry = match tier {
            Tier::Fast => &manifest.fast_vectors,
            Tier::Full => &manifest.vectors,
        };
        // Read before its model is in (a search uses it once the model that made it
        // is: `View::tier`), but not for a model this engine never loads.
        let never = matches!(models.get(tier), Model::Off | Model::Deferred);
        let Some(v) = entry.as_ref().filter(|_| !never) else {
            continue;
        };
        let loaded = follow.vectors.get_mut(tier);
        let store = match loaded {
            Some((sum, store)) if *sum == v.checksum => store.clone(),
            _ => {
                let path = inner.dir.join(VECTORS_DIR).join(&v.file);
                match VectorStore::load(&path, &v.checksum, v.dims, tier.precision()) {
                    Ok(store) => {
                        let store = Arc::new(store);
                        *loaded = Some((v.checksum.clone(), store.clone()));
                        store
                    }
                    // Replaced by a newer commit while we read: try again.
                    Err(_) if manifest_changed(&inner.dir, &manifest) => {
                        return Ok(None);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        *vectors.get_mut(tier) = Some(TierStore {
            model: v.model.clone(),
            store,
        });
    }
    let committed = PerTier {
        fast: manifest.fast_vectors.clone(),
        full: manifest.vectors.clone(),
    };
    Ok(Some(View::new(
        manifest.generation,
        lexical,
        manifest.files,
        vectors,
        committed,
        Overlays::default(),
        models,
    )))
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
