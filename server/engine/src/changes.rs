//! The change planner: a walk of the roots against the committed file table, turned into
//! what a refresh must do. [`crate::refresh`] applies the plan; `--dry-run` counts it.
//! Both call these two functions, so they cannot drift apart.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use scry_index::{FileEntry, FileHash, file_term_text};

use crate::discover::{Candidate, Discovery, SkipReason, Walked};

/// What the walk says before any file is read.
pub(crate) struct Plan {
    pub files_seen: usize,
    /// Same size and mtime as indexed (and not named by a watcher): not read at all.
    pub unchanged: usize,
    /// New files, and files whose size or mtime moved: read, and compared by hash.
    pub to_read: Vec<Candidate>,
    /// Indexed files the walk no longer finds: (root, path).
    pub removed: Vec<(u32, String)>,
    /// Files the walk left out, by reason.
    pub skipped: BTreeMap<&'static str, usize>,
}

/// Plans a refresh. `overlaid` says which file keys an editor buffer holds: those are
/// neither read nor removed (the buffer is authoritative). `force` names paths a watcher
/// saw change: they are read even when size and mtime did not move.
pub(crate) fn plan(
    walked: Walked,
    files: &BTreeMap<String, FileEntry>,
    overlaid: &dyn Fn(&str) -> bool,
    force: &HashSet<PathBuf>,
) -> Plan {
    let mut plan = Plan {
        files_seen: walked.files.len(),
        unchanged: 0,
        to_read: Vec::new(),
        removed: Vec::new(),
        skipped: BTreeMap::new(),
    };
    for (_, reason) in &walked.skipped {
        *plan.skipped.entry(reason.as_str()).or_default() += 1;
    }
    let mut seen = HashSet::with_capacity(walked.files.len());
    for c in walked.files {
        let key = file_term_text(c.root, &c.rel);
        let unchanged = files.get(&key).is_some_and(|e| {
            !e.overlay && e.size == c.size && e.mtime_ns == c.mtime_ns && !force.contains(&c.abs)
        });
        let buffered = overlaid(&key);
        seen.insert(key);
        if buffered {
            continue;
        }
        if unchanged {
            plan.unchanged += 1;
        } else {
            plan.to_read.push(c);
        }
    }
    plan.removed = files
        .iter()
        .filter(|(k, _)| !seen.contains(*k) && !overlaid(k))
        .map(|(_, e)| (e.root, e.path.clone()))
        .collect();
    plan
}

/// What reading one planned file found.
pub(crate) enum Change {
    /// The content is what was indexed (from disk): only its size or mtime moved.
    Same,
    /// New or changed content.
    Content(Vec<u8>),
}

/// Reads a planned file and compares it with what was indexed (`known`). `Err`: the
/// file cannot be indexed now (binary, too large, unreadable); if it was indexed, it
/// must be removed.
pub(crate) fn read(
    discovery: &Discovery,
    c: &Candidate,
    known: Option<&FileEntry>,
) -> Result<Change, SkipReason> {
    let bytes = discovery.read(&c.abs)?;
    Ok(match known {
        Some(e) if !e.overlay && e.hash == FileHash::of(&bytes) => Change::Same,
        _ => Change::Content(bytes),
    })
}
