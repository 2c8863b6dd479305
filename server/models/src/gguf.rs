//! A GGUF header check, so a truncated or foreign file gets a clear error before llama.cpp.

use std::io::Read;
use std::path::Path;

use crate::ModelError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GgufHeader {
    pub version: u32,
    pub tensor_count: u64,
    pub kv_count: u64,
    pub file_size: u64,
}

pub fn read_gguf_header(path: &Path) -> Result<GgufHeader, ModelError> {
    let bad = |detail: &str| ModelError::BadFile {
        path: path.to_owned(),
        detail: detail.to_owned(),
    };
    let mut f = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ModelError::NotFound(path.to_owned()),
        _ => bad(&e.to_string()),
    })?;
    let file_size = f.metadata().map_err(|e| bad(&e.to_string()))?.len();
    let mut head = [0u8; 24];
    f.read_exact(&mut head)
        .map_err(|_| bad("the file is shorter than a GGUF header"))?;
    if &head[0..4] != b"GGUF" {
        return Err(bad("it does not start with the GGUF magic bytes"));
    }
    let version = u32::from_le_bytes(head[4..8].try_into().unwrap_or_default());
    let tensor_count = u64::from_le_bytes(head[8..16].try_into().unwrap_or_default());
    let kv_count = u64::from_le_bytes(head[16..24].try_into().unwrap_or_default());
    if !(2..=3).contains(&version) {
        return Err(bad(&format!("unsupported GGUF version {version}")));
    }
    if tensor_count == 0 || tensor_count > 1 << 20 || kv_count > 1 << 20 {
        return Err(bad("the header's counts are implausible (damaged file?)"));
    }
    Ok(GgufHeader {
        version,
        tensor_count,
        kv_count,
        file_size,
    })
}

/// A cheap fingerprint of a model file: its size and the blake3 of its first and last MiB.
pub(crate) fn fingerprint(path: &Path, size: u64) -> Result<String, std::io::Error> {
    use std::io::{Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let mut h = blake3::Hasher::new();
    h.update(&size.to_le_bytes());
    let mut buf = vec![0u8; 1 << 20];
    let n = f.read(&mut buf)?;
    h.update(&buf[..n]);
    if size > (2 << 20) {
        f.seek(SeekFrom::End(-(1 << 20)))?;
        let n = f.read(&mut buf)?;
        h.update(&buf[..n]);
    }
    Ok(h.finalize().to_hex()[..16].to_owned())
}
