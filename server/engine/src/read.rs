//! Reading a workspace file for a client (`read_range`): the one confined read, with the
//! same refusals as indexing (secret-bearing names, `.git`, binaries, oversize) and the
//! same redaction, plus whether the disk still matches what was indexed.

use scry_index::file_term_text;

use crate::discover::SkipReason;
use crate::{Engine, EngineError, redact};

/// A file as it is on disk now, secrets masked.
#[derive(Debug, Clone)]
pub struct FileText {
    pub root: std::path::PathBuf,
    /// Relative to `root`, `/`-separated.
    pub path: String,
    pub text: String,
    /// blake3 (first 128 bits, hex) of the bytes on disk (before masking), comparable
    /// with [`crate::Hit::file_hash`].
    pub disk_hash: String,
    /// The hash of the content the index holds for this file; `None` if not indexed.
    pub indexed_hash: Option<String>,
}

impl FileText {
    /// Whether the index holds other content than the disk (or none at all).
    pub fn stale(&self) -> bool {
        self.indexed_hash.as_deref() != Some(self.disk_hash.as_str())
    }
}

impl Engine {
    /// Whether the file on disk still has the content a hit or symbol was indexed from
    /// (`hash` as in [`crate::Hit::file_hash`]). A file gone or unreadable does not match.
    pub fn disk_matches(&self, root: &std::path::Path, path: &str, hash: &str) -> bool {
        let Ok(r) = self.inner.roots.resolve(&root.join(path).to_string_lossy()) else {
            return false;
        };
        std::fs::read(&r.abs).is_ok_and(|b| blake3::hash(&b).to_hex()[..32] == *hash)
    }

    /// Reads `path` (relative to a root, or absolute inside one) from disk, confined to
    /// the roots with symlinks resolved. Secret-bearing files, anything under `.git`,
    /// binaries and files over the size limit are refused.
    pub fn read_file(&self, path: &str) -> Result<FileText, EngineError> {
        let inner = &self.inner;
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
        let bytes = match inner.discovery.read(&r.abs) {
            Ok(b) => b,
            Err(SkipReason::TooLarge) => {
                return refuse(&format!(
                    "larger than the {}-byte file limit",
                    inner.config.max_file_bytes
                ));
            }
            Err(SkipReason::Binary) => return refuse("binary file"),
            Err(_) if !r.abs.exists() => return refuse("no such file"),
            Err(_) => return refuse("cannot be read"),
        };
        let disk_hash = blake3::hash(&bytes).to_hex()[..32].to_owned();
        let key = file_term_text(r.root, &r.rel);
        // The writer knows from its manifest; a follower asks its snapshot.
        let from_manifest = inner
            .state
            .lock()
            .as_ref()
            .map(|s| s.writer.manifest.files.get(&key).map(|f| f.hash.clone()));
        let indexed_hash = match from_manifest {
            Some(h) => h,
            None => self.snapshot().lexical.file_hash(r.root, &r.rel)?,
        };
        let root = inner.roots.roots()[r.root as usize].clone();
        Ok(FileText {
            root,
            path: r.rel,
            text: String::from_utf8_lossy(&redact::redact(&bytes)).into_owned(),
            disk_hash,
            indexed_hash,
        })
    }
}
