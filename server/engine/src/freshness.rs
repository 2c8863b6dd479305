//! Whether indexed content is still what the editor or the disk holds, and the text of
//! files as they were indexed. Decided here, below the faces, once per file per call:
//! every hit, symbol and packed source carries the answer in its [`FileRef`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use scry_index::{FileHash, file_term_text};

use crate::Snapshot;

/// A workspace file as a result names it: where it is, which content was indexed, and
/// whether that content is still current.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FileRef {
    /// The workspace root the file is under.
    pub root: PathBuf,
    /// Relative to `root`, `/`-separated.
    pub path: String,
    /// The content that was indexed (the editor buffer's or the disk's).
    pub hash: FileHash,
    /// The editor buffer or the disk no longer holds that content, or the file is gone:
    /// lines and text from the index may be off; read the file again.
    pub stale: bool,
}

/// What a file holds now: the editor's buffer when this snapshot indexed one, else the
/// disk. `None`: gone or unreadable.
#[derive(Clone)]
struct Current {
    hash: FileHash,
    bytes: Arc<[u8]>,
}

/// File contents read for one call (a search, a symbol lookup, the packing of context),
/// each file at most once, against one snapshot. Cheap to clone; clones share what was
/// read.
#[derive(Clone)]
pub struct Sources {
    snapshot: Snapshot,
    read: Arc<Mutex<Read>>,
}

/// A file by its root's index and its path.
type FileKey = (u32, String);

/// What one call has read so far.
#[derive(Default)]
struct Read {
    current: HashMap<FileKey, Option<Current>>,
    /// Indexed texts, secrets masked, of files found current.
    texts: HashMap<FileKey, Arc<str>>,
}

impl Sources {
    pub(crate) fn new(snapshot: Snapshot) -> Sources {
        Sources {
            snapshot,
            read: Default::default(),
        }
    }

    /// The reference to a file of root `root` (its index) that this snapshot indexed as
    /// `hash`, with its freshness.
    pub(crate) fn file_ref(&self, root: u32, path: &str, hash: FileHash) -> FileRef {
        let root_path = self
            .snapshot
            .setup
            .roots
            .root(root)
            .map(PathBuf::from)
            .unwrap_or_default();
        FileRef {
            root: root_path,
            path: path.to_owned(),
            hash,
            stale: self.now(root, path).is_none_or(|c| c.hash != hash),
        }
    }

    /// The text of `file` as it was indexed (secrets masked), when the editor buffer or
    /// the disk still holds exactly that content; `None` when it changed.
    pub fn indexed_text(&self, file: &FileRef) -> Option<Arc<str>> {
        let root = self
            .snapshot
            .setup
            .roots
            .roots()
            .iter()
            .position(|r| *r == file.root)? as u32;
        let now = self.now(root, &file.path)?;
        if now.hash != file.hash {
            return None;
        }
        let mut read = self.read.lock();
        let text = read
            .texts
            .entry((root, file.path.clone()))
            .or_insert_with(|| crate::redact::text(&file.path, &now.bytes).into());
        Some(text.clone())
    }

    fn now(&self, root: u32, path: &str) -> Option<Current> {
        let key = (root, path.to_owned());
        if let Some(c) = self.read.lock().current.get(&key) {
            return c.clone();
        }
        let c = self.read_now(root, path);
        self.read.lock().current.insert(key, c.clone());
        c
    }

    fn read_now(&self, root: u32, path: &str) -> Option<Current> {
        let view = &self.snapshot.view;
        if let Some(bytes) = view.overlays.get(&file_term_text(root, path)) {
            return Some(Current {
                hash: FileHash::of(bytes),
                bytes: bytes.clone(),
            });
        }
        // Through the path gate: an indexed path is confined like a client's.
        let roots = &self.snapshot.setup.roots;
        let abs = roots.root(root)?.join(path);
        let resolved = roots.resolve(&abs.to_string_lossy()).ok()?;
        // Never blocks: an indexed file replaced by a FIFO reads as gone (stale).
        let bytes: Arc<[u8]> = scry_paths::read_regular(&resolved.abs, u64::MAX - 1)
            .ok()?
            .into();
        Some(Current {
            hash: FileHash::of(&bytes),
            bytes,
        })
    }
}

impl std::fmt::Debug for Sources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sources")
            .field("generation", &self.snapshot.generation())
            .finish_non_exhaustive()
    }
}
