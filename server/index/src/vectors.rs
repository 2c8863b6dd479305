//! The vector index: usearch HNSW (cosine) keyed by chunk content hash, saved atomically
//! and verified by checksum before it is loaded (usearch itself does neither).

use std::path::Path;

use parking_lot::RwLock;
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::IndexError;
use crate::fsync_dir;

pub struct VectorStore {
    index: RwLock<Index>,
    dims: usize,
}

/// How a new store keeps each value of a vector. A saved file loads in the precision it
/// was saved in, and what is added to it after is kept so too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Two bytes a value: the same ranking as f32 for a transformer's vectors on the
    /// quality benchmark, where one byte lost 0.003 NDCG@10.
    Half,
    /// One byte a value (scaled by 127): for unit vectors whose values spread wide
    /// enough, as a static table's 128 strongest components do.
    Byte,
}

fn options(dims: usize, precision: Precision) -> IndexOptions {
    IndexOptions {
        dimensions: dims,
        metric: MetricKind::Cos,
        quantization: match precision {
            Precision::Half => ScalarKind::F16,
            Precision::Byte => ScalarKind::I8,
        },
        connectivity: 16,
        expansion_add: 128,
        expansion_search: 64,
        multi: false,
    }
}

impl VectorStore {
    pub fn new(dims: usize, precision: Precision) -> Result<VectorStore, IndexError> {
        let index = Index::new(&options(dims, precision))
            .map_err(|e| IndexError::Vectors(e.to_string()))?;
        index
            .reserve(1024)
            .map_err(|e| IndexError::Vectors(e.to_string()))?;
        Ok(VectorStore {
            index: RwLock::new(index),
            dims,
        })
    }

    /// Loads a saved index after checking its size and blake3 checksum.
    pub fn load(
        path: &Path,
        checksum: &str,
        dims: usize,
        precision: Precision,
    ) -> Result<VectorStore, IndexError> {
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
        let store = VectorStore::new(dims, precision)?;
        store
            .index
            .write()
            .load_from_buffer(&bytes)
            .map_err(|e| IndexError::corrupt(path, e))?;
        Ok(store)
    }

    /// Writes the index to `dir/name` (temp file, fsync, rename, fsync dir) and returns
    /// its blake3 checksum and size. usearch writes the file itself: a copy in memory
    /// would double the vectors' share of the peak (they are most of an index's memory).
    pub fn save(&self, dir: &Path, name: &str) -> Result<(String, u64), IndexError> {
        let tmp = dir.join(format!("{name}.tmp"));
        let dest = dir.join(name);
        match tmp.to_str() {
            Some(tmp_str) => self
                .index
                .read()
                .save(tmp_str)
                .map_err(|e| IndexError::Vectors(format!("{}: {e}", tmp.display())))?,
            // usearch takes UTF-8 paths only: serialize in memory for any other.
            None => {
                let index = self.index.read();
                let mut buf = vec![0u8; index.serialized_length()];
                index
                    .save_to_buffer(&mut buf)
                    .map_err(|e| IndexError::Vectors(e.to_string()))?;
                std::fs::write(&tmp, &buf).map_err(|e| IndexError::io(&tmp, e))?;
            }
        }
        let (checksum, size) = {
            let mut f = std::fs::File::open(&tmp).map_err(|e| IndexError::io(&tmp, e))?;
            f.sync_all().map_err(|e| IndexError::io(&tmp, e))?;
            // Read, not mapped: mapped pages would count in the indexer's peak memory.
            let mut hasher = blake3::Hasher::new();
            hasher
                .update_reader(&mut f)
                .map_err(|e| IndexError::io(&tmp, e))?;
            (hasher.finalize().to_hex().to_string(), hasher.count())
        };
        std::fs::rename(&tmp, &dest).map_err(|e| IndexError::io(&dest, e))?;
        fsync_dir(dir)?;
        Ok((checksum, size))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(i: usize, dims: usize) -> Vec<f32> {
        // A different pseudo-random direction for every i (xorshift).
        let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let v: Vec<f32> = (0..dims)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 2001) as f32 / 1000.0 - 1.0
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / norm).collect()
    }

    #[test]
    fn vector_files_hold_half_precision_and_load_back_searchable() {
        let dims = 256;
        let n = 2000;
        let store = VectorStore::new(dims, Precision::Half).unwrap();
        let items: Vec<(u64, Vec<f32>)> = (0..n).map(|i| (i as u64, unit(i, dims))).collect();
        store.add_all(&items).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let (checksum, size) = store.save(dir.path(), "v.usearch").unwrap();
        assert_eq!(
            size,
            std::fs::metadata(dir.path().join("v.usearch"))
                .unwrap()
                .len()
        );
        // Half precision: 2 bytes a value, plus the graph; f32 alone would be 2 MB.
        let f32_bytes = (n * dims * 4) as u64;
        assert!(size < f32_bytes * 3 / 4, "{size} bytes for {n} vectors");
        assert!(!dir.path().join("v.usearch.tmp").exists());

        // Loaded as saved: a store that would keep new vectors in bytes reads halves.
        let loaded = VectorStore::load(
            &dir.path().join("v.usearch"),
            &checksum,
            dims,
            Precision::Byte,
        )
        .unwrap();
        assert_eq!(loaded.len(), n);
        let back = loaded.get(42).unwrap();
        let err = back
            .iter()
            .zip(&items[42].1)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err < 1e-3, "largest difference {err}");
        let hits = loaded.search(&items[42].1, 1, |_| true).unwrap();
        assert_eq!(hits[0].0, 42);
        assert!(
            VectorStore::load(&dir.path().join("v.usearch"), "0000", dims, Precision::Half)
                .is_err()
        );
    }

    #[test]
    fn byte_vectors_take_a_byte_a_value_and_still_find_their_neighbours() {
        let dims = 128;
        let n = 2000;
        let items: Vec<(u64, Vec<f32>)> = (0..n).map(|i| (i as u64, unit(i, dims))).collect();
        let dir = tempfile::tempdir().unwrap();
        let mut sizes = Vec::new();
        for (name, precision) in [("half", Precision::Half), ("byte", Precision::Byte)] {
            let store = VectorStore::new(dims, precision).unwrap();
            store.add_all(&items).unwrap();
            sizes.push(store.save(dir.path(), name).unwrap());
        }
        let ((_, half), (checksum, byte)) = (&sizes[0], &sizes[1]);
        // One byte a value fewer for each of n vectors; the graph is the same size.
        assert_eq!(half - byte, (n * dims) as u64, "{half} vs {byte} bytes");

        let loaded =
            VectorStore::load(&dir.path().join("byte"), checksum, dims, Precision::Byte).unwrap();
        let back = loaded.get(7).unwrap();
        let err = back
            .iter()
            .zip(&items[7].1)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        // usearch truncates to the byte below: within one step of 1/127.
        assert!(err <= 1.0 / 127.0 + 1e-6, "largest difference {err}");
        for i in [0, 7, 1999] {
            let hits = loaded.search(&items[i].1, 1, |_| true).unwrap();
            assert_eq!(hits[0].0, i as u64);
        }
    }
}
