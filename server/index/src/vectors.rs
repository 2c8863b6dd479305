//! The vector index: usearch HNSW (cosine) keyed by chunk content hash, saved atomically
//! and verified by checksum before it is loaded (usearch itself does neither).

use std::io::Write;
use std::path::Path;

use parking_lot::RwLock;
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::IndexError;
use crate::fsync_dir;

pub struct VectorStore {
    index: RwLock<Index>,
    dims: usize,
}

fn options(dims: usize) -> IndexOptions {
    IndexOptions {
        dimensions: dims,
        metric: MetricKind::Cos,
        quantization: ScalarKind::F32,
        connectivity: 16,
        expansion_add: 128,
        expansion_search: 64,
        multi: false,
    }
}

impl VectorStore {
    pub fn new(dims: usize) -> Result<VectorStore, IndexError> {
        let index = Index::new(&options(dims)).map_err(|e| IndexError::Vectors(e.to_string()))?;
        index
            .reserve(1024)
            .map_err(|e| IndexError::Vectors(e.to_string()))?;
        Ok(VectorStore {
            index: RwLock::new(index),
            dims,
        })
    }

    /// Loads a saved index after checking its size and blake3 checksum.
    pub fn load(path: &Path, checksum: &str, dims: usize) -> Result<VectorStore, IndexError> {
        // Mapped, not read: the checksum and usearch read it once, without a copy.
        let file = std::fs::File::open(path).map_err(|e| IndexError::io(path, e))?;
        // SAFETY: vector files are written to a temporary name and renamed into place,
        // never modified after, so the mapping cannot change under us.
        let bytes = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| IndexError::io(path, e))?;
        // Both cores: a one-shot search waits for this check.
        let actual = blake3::Hasher::new()
            .update_rayon(&bytes)
            .finalize()
            .to_hex()
            .to_string();
        if actual != checksum {
            return Err(IndexError::corrupt(
                path,
                "vector file checksum does not match the manifest",
            ));
        }
        let meta = Index::metadata_from_buffer(&bytes).map_err(|e| IndexError::corrupt(path, e))?;
        if meta.dimensions as usize != dims {
            return Err(IndexError::corrupt(
                path,
                format!(
                    "vector file has {} dimensions, expected {dims}",
                    meta.dimensions
                ),
            ));
        }
        let store = VectorStore::new(dims)?;
        store
            .index
            .write()
            .load_from_buffer(&bytes)
            .map_err(|e| IndexError::corrupt(path, e))?;
        Ok(store)
    }

    /// Writes the index to `dir/name` (temp file, fsync, rename, fsync dir) and returns
    /// its blake3 checksum and size.
    pub fn save(&self, dir: &Path, name: &str) -> Result<(String, u64), IndexError> {
        let buf = {
            let index = self.index.read();
            let mut buf = vec![0u8; index.serialized_length()];
            index
                .save_to_buffer(&mut buf)
                .map_err(|e| IndexError::Vectors(e.to_string()))?;
            buf
        };
        let checksum = blake3::hash(&buf).to_hex().to_string();
        let tmp = dir.join(format!("{name}.tmp"));
        let dest = dir.join(name);
        {
            let mut f = std::fs::File::create(&tmp).map_err(|e| IndexError::io(&tmp, e))?;
            f.write_all(&buf).map_err(|e| IndexError::io(&tmp, e))?;
            f.sync_all().map_err(|e| IndexError::io(&tmp, e))?;
        }
        std::fs::rename(&tmp, &dest).map_err(|e| IndexError::io(&dest, e))?;
        fsync_dir(dir)?;
        Ok((checksum, buf.len() as u64))
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn len(&self) -> usize {
        self.index.read().size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, key: u64) -> bool {
        self.index.read().contains(key)
    }

    /// Adds vectors; a vector of the wrong length or with non-finite values is refused.
    pub fn add_all(&self, items: &[(u64, Vec<f32>)]) -> Result<(), IndexError> {
        let index = self.index.write();
        let need = index.size() + items.len();
        if need > index.capacity() {
            index
                .reserve((need * 3 / 2).max(1024))
                .map_err(|e| IndexError::Vectors(e.to_string()))?;
        }
        for (key, v) in items {
            if v.len() != self.dims || !v.iter().all(|x| x.is_finite()) {
                return Err(IndexError::Vectors(format!(
                    "refusing a vector of {} values (expected {} finite values)",
                    v.len(),
                    self.dims
                )));
            }
            if index.contains(*key) {
                continue;
            }
            index
                .add(*key, v)
                .map_err(|e| IndexError::Vectors(e.to_string()))?;
        }
        Ok(())
    }

    pub fn remove(&self, key: u64) -> Result<(), IndexError> {
        self.index
            .write()
            .remove(key)
            .map_err(|e| IndexError::Vectors(e.to_string()))?;
        Ok(())
    }

    /// The `n` nearest keys that pass `filter`, with cosine distances (0 = identical).
    pub fn search(
        &self,
        query: &[f32],
        n: usize,
        filter: impl Fn(u64) -> bool,
    ) -> Result<Vec<(u64, f32)>, IndexError> {
        if query.len() != self.dims {
            return Err(IndexError::Vectors(format!(
                "query has {} dimensions, index has {}",
                query.len(),
                self.dims
            )));
        }
        let index = self.index.read();
        if index.size() == 0 || n == 0 {
            return Ok(Vec::new());
        }
        let m = index
            .filtered_search(query, n, filter)
            .map_err(|e| IndexError::Vectors(e.to_string()))?;
        Ok(m.keys.into_iter().zip(m.distances).collect())
    }

    /// The stored vector for a key, if any.
    pub fn get(&self, key: u64) -> Option<Vec<f32>> {
        let index = self.index.read();
        let mut buf = vec![0f32; self.dims];
        match index.get(key, &mut buf) {
            Ok(n) if n > 0 => Some(buf),
            _ => None,
        }
    }
}
