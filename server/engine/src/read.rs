//! Reading a workspace file for a client (`read_range`): the one confined read, with the
//! same refusals as indexing (secret-bearing names, `.git`, binaries, oversize) and the
//! same redaction, plus whether the disk still matches what was indexed.

use scry_index::{FileHash, file_term_text};

use crate::discover::SkipReason;
use crate::{EngineError, Snapshot, redact};

/// A file as it is on disk now, secrets masked.
#[derive(Debug, Clone)]
pub struct FileText {
    pub root: std::path::PathBuf,
    /// Relative to `root`, `/`-separated.
    pub path: String,
    pub text: String,
    /// The bytes on disk (before masking), comparable with [`crate::FileRef::hash`].
    pub disk_hash: FileHash,
    /// The content the snapshot indexed for this file; `None` if not indexed.
    pub indexed_hash: Option<FileHash>,
}

impl FileText {
    /// Whether the index holds other content than the disk (or none at all).
    pub fn stale(&self) -> bool {
        self.indexed_hash != Some(self.disk_hash)
    }
}

/// Reads `path` (relative to a root, or absolute inside one) from disk, confined to the
/// roots with symlinks resolved. Secret-bearing files, anything under `.git`, binaries
/// and files over the size limit are refused.
pub(crate) fn read_file(snap: &Snapshot, path: &str) -> Result<FileText, EngineError> {
    let inner = &snap.setup;
    let r = inner.roots.resolve(path)?;
    let refuse = |why: &str| Err(EngineError::InvalidRequest(format!("{}: {why}", r.rel)));
    if r.rel.split('/').any(|c| c == ".git") {
        return refuse("files under .git are not served");
    }
    if inner.discovery.is_secret(&r.abs) {
        return refuse("files that usually hold secrets are not served");
    }
    if r.abs.is_dir() {
        return refuse("is a directory");
    }
    // What the index would never hold is not served either: hidden, git-ignored,
    // `.scryignore`d or excluded files (`.docker/config.json`, build output).
    let root = &inner.roots.roots()[r.root as usize];
    if r.abs.exists() && !inner.discovery.walk_reaches(root, &r.abs) {
        return refuse("hidden, ignored or excluded files are not indexed and not served");
    }
    let bytes = match inner.discovery.read(&r.abs) {
        Ok(b) => b,
        Err(SkipReason::TooLarge) => {
            return refuse(&format!(
                "larger than the {}-byte file limit",
                inner.config.max_file_bytes
            ));
        }
        Err(SkipReason::Binary) => return refuse("binary file"),
        Err(SkipReason::NotRegular) => {
            return refuse("not a regular file (a FIFO, socket or device)");
        }
        Err(_) if !r.abs.exists() => return refuse("no such file"),
        Err(_) => return refuse("cannot be read"),
    };
    let disk_hash = FileHash::of(&bytes);
    let key = file_term_text(r.root, &r.rel);
    let indexed_hash = snap.view.files.get(&key).map(|f| f.hash);
    let root = inner.roots.roots()[r.root as usize].clone();
    Ok(FileText {
        root,
        text: redact::text(&r.rel, &bytes),
        path: r.rel,
        disk_hash,
        indexed_hash,
    })
}
