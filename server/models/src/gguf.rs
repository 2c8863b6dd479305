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
    let mut f = scry_paths::open_regular(path).map_err(|e| match e.kind() {
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

/// What `scry models list` shows about a GGUF file, read from its metadata without
/// loading the weights.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GgufMetadata {
    pub architecture: String,
    pub name: Option<String>,
    pub context_length: Option<u64>,
    /// Quantization of the bulk of the weights (`general.file_type`), e.g. `Q4_1`.
    pub quantization: Option<String>,
    /// Sum of the tensors' element counts.
    pub parameters: u64,
    pub has_chat_template: bool,
    /// Set for embedding models (`<arch>.pooling_type`).
    pub pooling: Option<u32>,
    pub file_size: u64,
}

const MAX_STRING: u64 = 64 << 20;

/// Reads a GGUF file's key-value metadata and tensor table (not the weights).
pub fn read_gguf_metadata(path: &Path) -> Result<GgufMetadata, ModelError> {
    use std::io::BufReader;
    let header = read_gguf_header(path)?;
    let bad = |detail: String| ModelError::BadFile {
        path: path.to_owned(),
        detail,
    };
    let file = scry_paths::open_regular(path).map_err(|e| bad(e.to_string()))?;
    let mut r = BufReader::with_capacity(1 << 16, file);
    r.seek_relative(24).map_err(|e| bad(e.to_string()))?;
    let mut meta = GgufMetadata {
        file_size: header.file_size,
        ..GgufMetadata::default()
    };
    let mut ints: Vec<(String, u64)> = Vec::new();
    let truncated = |e: std::io::Error| bad(format!("truncated metadata ({e})"));
    for _ in 0..header.kv_count {
        let key = read_string(&mut r).map_err(truncated)?;
        let ty = read_u32(&mut r).map_err(truncated)?;
        match ty {
            8 => {
                let v = read_string(&mut r).map_err(truncated)?;
                match key.as_str() {
                    "general.architecture" => meta.architecture = v,
                    "general.name" => meta.name = Some(v),
                    "tokenizer.chat_template" => meta.has_chat_template = true,
                    _ => {}
                }
            }
            9 => {
                let item = read_u32(&mut r).map_err(truncated)?;
                let n = read_u64(&mut r).map_err(truncated)?;
                for _ in 0..n {
                    skip_value(&mut r, item).map_err(|e| bad(e.to_string()))?;
                }
            }
            _ => {
                if let Some(v) = read_scalar(&mut r, ty).map_err(|e| bad(e.to_string()))? {
                    ints.push((key, v));
                }
            }
        }
    }
    let arch = meta.architecture.clone();
    for (key, v) in ints {
        if key == "general.file_type" {
            meta.quantization = Some(file_type_name(v).to_owned());
        } else if key == format!("{arch}.context_length") {
            meta.context_length = Some(v);
        } else if key == format!("{arch}.pooling_type") {
            meta.pooling = Some(v as u32);
        }
    }
    for _ in 0..header.tensor_count {
        let _name = read_string(&mut r).map_err(truncated)?;
        let dims = read_u32(&mut r).map_err(truncated)?;
        if dims > 8 {
            return Err(bad(format!("a tensor with {dims} dimensions")));
        }
        let mut count: u64 = 1;
        for _ in 0..dims {
            count = count.saturating_mul(read_u64(&mut r).map_err(truncated)?);
        }
        let _ty = read_u32(&mut r).map_err(truncated)?;
        let _offset = read_u64(&mut r).map_err(truncated)?;
        meta.parameters = meta.parameters.saturating_add(count);
    }
    if meta.architecture.is_empty() {
        return Err(bad("no general.architecture in its metadata".into()));
    }
    Ok(meta)
}

fn read_u32(r: &mut impl Read) -> std::io::Result<u32> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_string(r: &mut impl Read) -> std::io::Result<String> {
    let n = read_u64(r)?;
    if n > MAX_STRING {
        return Err(std::io::Error::other(format!("a {n}-byte string")));
    }
    let mut b = vec![0u8; n as usize];
    r.read_exact(&mut b)?;
    Ok(String::from_utf8_lossy(&b).into_owned())
}

fn scalar_size(ty: u32) -> Option<i64> {
    Some(match ty {
        0 | 1 | 7 => 1,
        2 | 3 => 2,
        4..=6 => 4,
        10..=12 => 8,
        _ => return None,
    })
}

/// An integer-valued scalar as u64 (floats are skipped).
fn read_scalar(r: &mut impl Read, ty: u32) -> std::io::Result<Option<u64>> {
    let size = scalar_size(ty)
        .ok_or_else(|| std::io::Error::other(format!("unknown GGUF value type {ty}")))?;
    let mut b = [0u8; 8];
    r.read_exact(&mut b[..size as usize])?;
    let v = u64::from_le_bytes(b);
    Ok(match ty {
        6 | 12 => None,
        _ => Some(v),
    })
}

fn skip_value<R: Read + std::io::Seek>(
    r: &mut std::io::BufReader<R>,
    ty: u32,
) -> std::io::Result<()> {
    match ty {
        8 => {
            let n = read_u64(r)?;
            if n > MAX_STRING {
                return Err(std::io::Error::other(format!("a {n}-byte string")));
            }
            r.seek_relative(n as i64)
        }
        9 => Err(std::io::Error::other("nested GGUF arrays")),
        _ => {
            let size = scalar_size(ty)
                .ok_or_else(|| std::io::Error::other(format!("unknown GGUF value type {ty}")))?;
            r.seek_relative(size)
        }
    }
}

/// llama.cpp's `llama_ftype` names.
pub fn file_type_name(ft: u64) -> &'static str {
    match ft {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4",
        _ => "unknown",
    }
}

/// A cheap fingerprint of a model file: its size and the blake3 of its first and last MiB.
pub(crate) fn fingerprint(path: &Path, size: u64) -> Result<String, std::io::Error> {
    let f = scry_paths::open_regular(path)?;
    // Mapped: hashing 2 MB straight from the page cache, with no buffer to fill, is
    // what a one-shot search pays here.
    // SAFETY: read-only; a model file rewritten in place while we hash it gives a
    // fingerprint no later load matches, which only means recomputing.
    let map = unsafe { memmap2::Mmap::map(&f)? };
    let len = map.len();
    let mut h = blake3::Hasher::new();
    h.update(&size.to_le_bytes());
    h.update(&map[..len.min(1 << 20)]);
    if len > (2 << 20) {
        h.update(&map[len - (1 << 20)..]);
    }
    Ok(h.finalize().to_hex()[..16].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_given_as_a_model_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.gguf");
        scry_test_support::mkfifo(&fifo);
        let t0 = std::time::Instant::now();
        let e = read_gguf_metadata(&fifo).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        assert!(t0.elapsed() < std::time::Duration::from_secs(1));
    }
}
