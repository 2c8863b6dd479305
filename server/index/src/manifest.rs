//! The manifest: the one commit point of an index generation (temp file, fsync, rename).
//!
//! Its first line is the blake3 checksum of the JSON body after it, so a flipped byte
//! that still parses is caught too.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{FileHash, IndexError, fsync_dir};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub schema_version: u32,
    pub generation: u64,
    pub roots: Vec<String>,
    /// The full tier: vectors of the embedding model itself.
    pub vectors: Option<VectorsEntry>,
    /// The fast tier: vectors of a static table distilled from it.
    #[serde(default)]
    pub fast_vectors: Option<VectorsEntry>,
    /// Keyed by `root\u{1f}path`. Shared: every snapshot of this generation holds the
    /// same table, and the writer copies it only to change it.
    #[serde(with = "shared_table")]
    pub files: Arc<FileTable>,
}

/// Every indexed file, by file key.
pub type FileTable = BTreeMap<String, FileEntry>;

/// `Arc<FileTable>` as a plain JSON object.
mod shared_table {
    use super::*;

    pub fn serialize<S: Serializer>(files: &Arc<FileTable>, s: S) -> Result<S::Ok, S::Error> {
        files.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<FileTable>, D::Error> {
        FileTable::deserialize(d).map(Arc::new)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct VectorsEntry {
    pub file: String,
    pub checksum: String,
    pub size: u64,
    pub model: String,
    pub dims: usize,
    pub count: usize,
    /// Chunks of this generation that have a vector in the file (the file may hold
    /// others, kept for a later commit): the tier's coverage, without loading it.
    #[serde(default)]
    pub covered: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct FileEntry {
    pub root: u32,
    pub path: String,
    pub size: u64,
    pub mtime_ns: i128,
    /// The indexed content (disk or editor buffer).
    pub hash: FileHash,
    pub language: String,
    pub chunks: u32,
    /// Vector keys (content hashes) of the file's chunks, in order.
    #[serde(default)]
    pub keys: Vec<u64>,
    /// Whether the indexed content came from an editor buffer rather than the disk.
    #[serde(default)]
    pub overlay: bool,
    #[serde(default)]
    pub problems: Vec<String>,
}

impl Manifest {
    /// Reads the manifest; `Ok(None)` when there is none yet.
    pub fn load(dir: &Path) -> Result<Option<Manifest>, IndexError> {
        let path = dir.join(MANIFEST_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(IndexError::io(&path, e)),
        };
        let Some(nl) = bytes.iter().position(|b| *b == b'\n') else {
            return Err(IndexError::corrupt(&path, "manifest has no checksum line"));
        };
        let (sum, body) = (&bytes[..nl], &bytes[nl + 1..]);
        if blake3::hash(body).to_hex().as_bytes() != sum {
            return Err(IndexError::corrupt(
                &path,
                "manifest checksum does not match its body",
            ));
        }
        let m: Manifest =
            serde_json::from_slice(body).map_err(|e| IndexError::corrupt(&path, e))?;
        if m.format != FORMAT {
            return Err(IndexError::corrupt(
                &path,
                format!("manifest format {} is not {FORMAT}", m.format),
            ));
        }
        Ok(Some(m))
    }

    /// Commits this manifest atomically.
    pub fn store(&self, dir: &Path) -> Result<(), IndexError> {
        let path = dir.join(MANIFEST_FILE);
        let tmp = dir.join(format!("{MANIFEST_FILE}.tmp"));
        let body = serde_json::to_vec(self).map_err(|e| IndexError::corrupt(&path, e))?;
        let sum = blake3::hash(&body).to_hex();
        {
            let mut f = std::fs::File::create(&tmp).map_err(|e| IndexError::io(&tmp, e))?;
            f.write_all(sum.as_bytes())
                .map_err(|e| IndexError::io(&tmp, e))?;
            f.write_all(b"\n").map_err(|e| IndexError::io(&tmp, e))?;
            f.write_all(&body).map_err(|e| IndexError::io(&tmp, e))?;
            f.sync_all().map_err(|e| IndexError::io(&tmp, e))?;
        }
        std::fs::rename(&tmp, &path).map_err(|e| IndexError::io(&path, e))?;
        fsync_dir(dir)
    }
}
