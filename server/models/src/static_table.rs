//! The file a distilled static embedding table is cached in, beside the models and named
//! after the model's fingerprint: a header (format, the source model's id, the shape),
//! the rows as little-endian `f32`, and a blake3 of everything before it. A file that is
//! short, from another format or fails its checksum is refused, so it is rebuilt rather
//! than trusted.

use std::io::Write;
use std::path::Path;

const MAGIC: &[u8; 8] = b"SCRYM2V\0";
const VERSION: u32 = 1;

/// One row per vocabulary token; rows of tokens a text never yields are zero.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticTable {
    /// The id of the model it was distilled from ([`crate::EmbedderInfo::id`]).
    pub source: String,
    pub vocab: usize,
    pub dims: usize,
    pub rows: Vec<f32>,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a static embedding table: {0}")]
    Format(String),
}

impl StaticTable {
    pub fn row(&self, token: usize) -> Option<&[f32]> {
        (token < self.vocab).then(|| &self.rows[token * self.dims..(token + 1) * self.dims])
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.source.len() + self.rows.len() * 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(self.source.len() as u32).to_le_bytes());
        out.extend_from_slice(self.source.as_bytes());
        out.extend_from_slice(&(self.vocab as u32).to_le_bytes());
        out.extend_from_slice(&(self.dims as u32).to_le_bytes());
        for x in &self.rows {
            out.extend_from_slice(&x.to_le_bytes());
        }
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<StaticTable, TableError> {
        let bad = |why: &str| TableError::Format(why.to_owned());
        if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("no table header"));
        }
        let (body, sum) = bytes.split_at(bytes.len() - 32);
        if blake3::hash(body).as_bytes() != sum {
            return Err(bad("checksum mismatch (a damaged or partly written file)"));
        }
        let mut at = MAGIC.len();
        let u32_at = |at: &mut usize| -> Result<u32, TableError> {
            let b = body
                .get(*at..*at + 4)
                .ok_or_else(|| bad("truncated header"))?;
            *at += 4;
            Ok(u32::from_le_bytes(b.try_into().expect("four bytes")))
        };
        let version = u32_at(&mut at)?;
        if version != VERSION {
            return Err(TableError::Format(format!("format version {version}")));
        }
        let source_len = u32_at(&mut at)? as usize;
        let source = body
            .get(at..at + source_len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .ok_or_else(|| bad("unreadable source id"))?
            .to_owned();
        at += source_len;
        let vocab = u32_at(&mut at)? as usize;
        let dims = u32_at(&mut at)? as usize;
        let data = &body[at..];
        if dims == 0 || data.len() != vocab * dims * 4 {
            return Err(bad("rows do not match the stated shape"));
        }
        let rows = data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("four bytes")))
            .collect();
        Ok(StaticTable {
            source,
            vocab,
            dims,
            rows,
        })
    }

    /// Reads a table; any damage is an error, never a panic.
    pub fn read(path: &Path) -> Result<StaticTable, TableError> {
        let mut file = scry_paths::open_regular(path)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        StaticTable::decode(&bytes)
    }

    /// Writes the table whole or not at all: a temporary file, synced, then renamed.
    pub fn write(&self, path: &Path) -> Result<(), TableError> {
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let result = (|| {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&self.encode())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> StaticTable {
        StaticTable {
            source: "model.gguf#abc".into(),
            vocab: 3,
            dims: 2,
            rows: vec![0.0, 0.0, 1.5, -2.0, 0.25, 4.0],
        }
    }

    #[test]
    fn a_table_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.m2v");
        table().write(&path).unwrap();
        let back = StaticTable::read(&path).unwrap();
        assert_eq!(back, table());
        assert_eq!(back.row(1), Some(&[1.5, -2.0][..]));
        assert_eq!(back.row(3), None);
    }

    #[test]
    fn a_damaged_or_truncated_table_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.m2v");
        table().write(&path).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[30] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let e = StaticTable::read(&path).unwrap_err();
        assert!(e.to_string().contains("checksum"), "{e}");
        std::fs::write(&path, &bytes[..20]).unwrap();
        assert!(StaticTable::read(&path).is_err());
        std::fs::write(&path, b"").unwrap();
        assert!(StaticTable::read(&path).is_err());
    }
}
