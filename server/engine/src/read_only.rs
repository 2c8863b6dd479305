//! Opening an index only to read it (`scry status`, `--no-refresh` commands): the last
//! commit as it is on disk. No lock is taken, nothing a crash left is repaired and no
//! directory is created: a command that only looks must not be what changes the index.

use crate::{Engine, follow};

/// Said when the last commit on disk is not whole and nobody is writing it.
pub(crate) const INTERRUPTED: &str = "the last commit of this index was interrupted (a crash or \
     a kill); it is shown as empty here, and the next `scry index` (or an editor's server) \
     repairs it, keeping the vectors";

/// Loads the committed generation into a read-only engine, turning what it finds into
/// notices rather than errors: a status must still say what it can.
pub(crate) fn load(engine: &Engine) {
    let inner = &engine.inner;
    let writer = follow::live_writer(&inner.dir);
    if let Some(pid) = writer {
        inner.notice(format!(
            "another scry process (pid {pid}) is writing this index; this is its last commit"
        ));
    }
    if !inner.dir.join(scry_index::MANIFEST_FILE).exists() {
        return;
    }
    // A live writer may be mid-commit: wait for it as a follower does. Without one, a
    // generation whose parts disagree stays that way, so read it once.
    let read = match writer {
        Some(_) => engine.follow().map(|_| true),
        None => follow::read_once(engine),
    };
    match read {
        Ok(true) => {}
        Ok(false) => inner.notice(INTERRUPTED.to_owned()),
        Err(e) => inner.notice(format!(
            "this index cannot be read ({e}); `scry index` rebuilds it"
        )),
    }
}
