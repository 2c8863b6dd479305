//! Workspace roots and the one place a client-supplied path becomes a filesystem path.
//!
//! [`Roots::resolve`] canonicalizes (resolving `..` and symlinks) and accepts a path only
//! if the result lies inside a root, compared component by component, so `/repo_evil`
//! is not inside `/repo`. A path that does not exist yet is resolved through its nearest
//! existing ancestor, so a new file under a symlink that points outside is refused too.
//! Nothing else in Scry joins a client path onto the filesystem.
//!
//! [`open_regular`] is how every part opens a file it will read: only regular files,
//! and never blocking on a FIFO or a device.

mod regular;

pub use regular::{is_not_regular, open_regular, read_regular};

use std::path::{Component, Path, PathBuf};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error("{0}: no such directory")]
    MissingRoot(PathBuf),
    #[error("{0}: not a directory")]
    RootNotDirectory(PathBuf),
    #[error("{0}: {1}")]
    Unreadable(PathBuf, String),
    #[error("the path is empty")]
    Empty,
    #[error("the path contains a NUL byte")]
    Nul,
    #[error("{0}: outside the workspace roots")]
    OutsideRoots(String),
    #[error("{0}: the path is not valid UTF-8")]
    NotUtf8(PathBuf),
}

/// A path inside a root.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resolved {
    /// Index of the root in [`Roots::roots`].
    pub root: u32,
    /// Canonical absolute path.
    pub abs: PathBuf,
    /// Relative to the root, `/`-separated; empty for the root itself.
    pub rel: String,
}

/// The canonical workspace roots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    roots: Vec<PathBuf>,
}

impl Roots {
    /// Canonicalizes each root; each must be an existing directory. Duplicates and
    /// roots nested in an earlier root are dropped (their files are already covered).
    pub fn new<P: AsRef<Path>>(paths: &[P]) -> Result<Roots, PathError> {
        let mut roots: Vec<PathBuf> = Vec::new();
        for p in paths {
            let p = p.as_ref();
            let canon = p.canonicalize().map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => PathError::MissingRoot(p.to_owned()),
                _ => PathError::Unreadable(p.to_owned(), e.to_string()),
            })?;
            if !canon.is_dir() {
                return Err(PathError::RootNotDirectory(p.to_owned()));
            }
            if canon.to_str().is_none() {
                return Err(PathError::NotUtf8(canon));
            }
            if !roots.iter().any(|r| canon.starts_with(r)) {
                roots.retain(|r| !r.starts_with(&canon));
                roots.push(canon);
            }
        }
        Ok(Roots { roots })
    }

    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    pub fn root(&self, i: u32) -> Option<&Path> {
        self.roots.get(i as usize).map(PathBuf::as_path)
    }

    /// Turns a client path (absolute, or relative to a root) into a confined path.
    pub fn resolve(&self, client_path: &str) -> Result<Resolved, PathError> {
        if client_path.is_empty() {
            return Err(PathError::Empty);
        }
        if client_path.contains('\0') {
            return Err(PathError::Nul);
        }
        let outside = || PathError::OutsideRoots(client_path.to_owned());
        let p = Path::new(client_path);
        let candidates: Vec<PathBuf> = if p.is_absolute() {
            vec![p.to_owned()]
        } else {
            self.roots.iter().map(|r| r.join(p)).collect()
        };
        let mut first_err = None;
        for c in &candidates {
            match canonicalize_lenient(c).and_then(|abs| self.locate(&abs).ok_or_else(outside)) {
                Ok(r) if p.is_absolute() || c.exists() => return Ok(r),
                Ok(r) => {
                    // A new relative path: the first root that confines it wins, unless a
                    // later root has it on disk.
                    first_err.get_or_insert(Ok(r));
                }
                Err(e) => {
                    first_err.get_or_insert(Err(e));
                }
            }
        }
        first_err.unwrap_or_else(|| Err(outside()))
    }

    /// Places an already canonical absolute path under its root.
    pub fn locate(&self, abs: &Path) -> Option<Resolved> {
        for (i, root) in self.roots.iter().enumerate() {
            if let Ok(rest) = abs.strip_prefix(root) {
                let rel = rest.to_str()?.replace('\\', "/");
                return Some(Resolved {
                    root: i as u32,
                    abs: abs.to_owned(),
                    rel,
                });
            }
        }
        None
    }
}

/// Canonicalizes a path that may not exist: its nearest existing ancestor is
/// canonicalized (resolving symlinks), then the missing tail is appended, which may
/// not contain `..`.
fn canonicalize_lenient(p: &Path) -> Result<PathBuf, PathError> {
    let outside = || PathError::OutsideRoots(p.display().to_string());
    let mut existing = p.to_owned();
    let mut tail: Vec<std::ffi::OsString> = Vec::new();
    loop {
        match existing.canonicalize() {
            Ok(canon) => {
                let mut out = canon;
                for part in tail.iter().rev() {
                    out.push(part);
                }
                return Ok(out);
            }
            Err(_) => {
                let last = existing.components().next_back().ok_or_else(outside)?;
                match last {
                    Component::Normal(name) => tail.push(name.to_owned()),
                    Component::CurDir => {}
                    _ => return Err(outside()),
                }
                if !existing.pop() {
                    return Err(outside());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Roots) {
        let t = tempfile::tempdir().unwrap();
        let repo = t.path().join("repo");
        std::fs::create_dir_all(repo.join("src")).unwrap();
        std::fs::write(repo.join("src/a.rs"), "fn a() {}").unwrap();
        std::fs::create_dir_all(t.path().join("repo_evil")).unwrap();
        std::fs::write(t.path().join("repo_evil/x"), "secret").unwrap();
        std::fs::write(t.path().join("outside.txt"), "secret").unwrap();
        let roots = Roots::new(&[repo]).unwrap();
        (t, roots)
    }

    #[test]
    fn relative_and_absolute_paths_inside_resolve() {
        let (_t, roots) = setup();
        let r = roots.resolve("src/a.rs").unwrap();
        assert_eq!(r.rel, "src/a.rs");
        let abs = roots.roots()[0].join("src/a.rs");
        assert_eq!(
            roots.resolve(abs.to_str().unwrap()).unwrap().rel,
            "src/a.rs"
        );
        assert_eq!(roots.resolve("src/../src/a.rs").unwrap().rel, "src/a.rs");
        assert_eq!(
            roots.resolve("src/new_file.rs").unwrap().rel,
            "src/new_file.rs"
        );
    }

    #[test]
    fn escapes_are_refused() {
        let (t, roots) = setup();
        for bad in [
            "../outside.txt",
            "../../etc/passwd",
            "/etc/passwd",
            "src/../../outside.txt",
            "../repo_evil/x",
            "src/missing/../../../outside.txt",
        ] {
            assert!(
                matches!(roots.resolve(bad), Err(PathError::OutsideRoots(_))),
                "{bad} was accepted"
            );
        }
        let evil = t.path().join("repo_evil/x");
        assert!(roots.resolve(evil.to_str().unwrap()).is_err());
        assert_eq!(roots.resolve(""), Err(PathError::Empty));
        assert_eq!(roots.resolve("a\0b"), Err(PathError::Nul));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_pointing_outside_are_refused_even_for_new_files() {
        let (t, roots) = setup();
        let root = roots.roots()[0].clone();
        std::os::unix::fs::symlink(t.path().join("outside.txt"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(t.path().join("repo_evil"), root.join("evil_dir")).unwrap();
        assert!(roots.resolve("link.txt").is_err());
        assert!(roots.resolve("evil_dir/x").is_err());
        assert!(roots.resolve("evil_dir/brand_new.txt").is_err());
        // A symlink that stays inside is fine and resolves to its target.
        std::os::unix::fs::symlink(root.join("src/a.rs"), root.join("alias.rs")).unwrap();
        assert_eq!(roots.resolve("alias.rs").unwrap().rel, "src/a.rs");
    }

    #[test]
    fn nested_and_duplicate_roots_collapse() {
        let (t, _) = setup();
        let repo = t.path().join("repo");
        let roots = Roots::new(&[repo.join("src"), repo.clone(), repo]).unwrap();
        assert_eq!(roots.roots().len(), 1);
        assert!(matches!(
            Roots::new(&[t.path().join("nope")]),
            Err(PathError::MissingRoot(_))
        ));
    }
}
