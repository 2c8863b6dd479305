//! Where a workspace's index lives.
//!
//! Default: `$XDG_CACHE_HOME/scry/indexes/<name>-<hash>` (or `~/.cache/...`), where the
//! hash is of the canonical roots. Why there: the index is derived data (safe to delete,
//! skipped by backups); outside the workspace, so it never dirties the repository and
//! the watcher never sees its own writes; and keyed by the roots, so every scry process
//! on the same workspace (editor, agent, CLI) finds the same index.

use std::path::{Path, PathBuf};

use scry_paths::Roots;

use crate::{EngineConfig, EngineError};

/// The configured roots, canonical, and the index directory that belongs to them.
pub(crate) fn locate(config: &EngineConfig) -> Result<(Roots, PathBuf), EngineError> {
    if config.roots.is_empty() {
        return Err(EngineError::NoRoots);
    }
    let roots = Roots::new(&config.roots)?;
    let dir = match &config.index_dir {
        Some(d) => d.clone(),
        None => default_index_dir(roots.roots())?,
    };
    Ok((roots, dir))
}

pub fn default_index_dir(roots: &[PathBuf]) -> Result<PathBuf, EngineError> {
    if let Some(dir) = std::env::var_os("SCRY_INDEX_DIR") {
        return Ok(PathBuf::from(dir));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
        .ok_or_else(|| EngineError::NoIndexDir("neither XDG_CACHE_HOME nor HOME is set".into()))?;
    let mut h = blake3::Hasher::new();
    for r in roots {
        h.update(r.as_os_str().as_encoded_bytes());
        h.update(b"\0");
    }
    let name: String = roots
        .first()
        .and_then(|r| r.file_name())
        .map(|n| {
            n.to_string_lossy()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                .take(40)
                .collect()
        })
        .unwrap_or_else(|| "root".into());
    let hash = &h.finalize().to_hex()[..12];
    Ok(cache
        .join("scry")
        .join("indexes")
        .join(format!("{name}-{hash}")))
}
