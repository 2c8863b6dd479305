//! The file a distilled static embedding table is cached in, beside the models and named
//! after the model's fingerprint: a header (format, the source model's id, the shape),
//! the WordPiece vocabulary when the model has one (so a query is tokenized without
//! loading the model), the rows as little-endian `f16`, and a blake3 of everything
//! before it. A file that is short, from another format or fails its checksum is
//! refused, so it is rebuilt rather than trusted.

use std::io::Write;
use std::path::Path;

use half::f16;

const MAGIC: &[u8; 8] = b"SCRYM2V\0";
const VERSION: u32 = 2;

/// How texts are cut into the table's tokens.
#[derive(Debug, Clone, PartialEq)]
pub enum TableTokenizer {
    /// The model's own WordPiece vocabulary, as GGUF stores it (`▁word`, `ing`).
    WordPiece {
        tokens: Vec<String>,
        unknown: u32,
        lowercase: bool,
    },
    /// Any other tokenizer: the model's vocabulary is loaded by llama.cpp.
    Model,
}

/// One row per vocabulary token; rows of tokens a text never yields are zero.
#[derive(Debug)]
pub struct StaticTable {
    /// The id of the model it was distilled from ([`crate::EmbedderInfo::id`]).
    pub source: String,
    pub vocab: usize,
    pub dims: usize,
    pub tokenizer: TableTokenizer,
    /// `vocab × dims` half floats, little-endian, from `rows_at` on: read where they lie
    /// in the file's bytes, never copied or converted as a whole.
    bytes: Bytes,
    rows_at: usize,
}

/// A table's bytes: built in memory, or the cached file mapped read-only (a query pays
/// for the pages it touches, not for copying the file).
#[derive(Debug)]
enum Bytes {
    Owned(Vec<u8>),
    Mapped(memmap2::Mmap),
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Owned(v) => v,
            Bytes::Mapped(m) => m,
        }
    }
}

impl PartialEq for StaticTable {
    fn eq(&self, other: &StaticTable) -> bool {
        (
            &self.source,
            self.vocab,
            self.dims,
            &self.tokenizer,
            self.rows(),
        ) == (
            &other.source,
            other.vocab,
            other.dims,
            &other.tokenizer,
            other.rows(),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not a static embedding table: {0}")]
    Format(String),
}

impl StaticTable {
    pub fn new(
        source: String,
        dims: usize,
        tokenizer: TableTokenizer,
        rows: &[f32],
    ) -> StaticTable {
        StaticTable {
            source,
            vocab: rows.len().checked_div(dims).unwrap_or(0),
            dims,
            tokenizer,
            bytes: Bytes::Owned(
                rows.iter()
                    .flat_map(|x| f16::from_f32(*x).to_le_bytes())
                    .collect(),
            ),
            rows_at: 0,
        }
    }

    /// Bytes of the table's rows (mapped from the cache file, or built in memory).
    pub fn row_bytes(&self) -> usize {
        self.vocab * self.dims * 2
    }

    fn rows(&self) -> &[u8] {
        let end = self.rows_at + self.vocab * self.dims * 2;
        &self.bytes[self.rows_at..end]
    }

    /// Hands the WordPiece vocabulary over (to the tokenizer), leaving none here.
    pub fn take_tokenizer(&mut self) -> TableTokenizer {
        std::mem::replace(&mut self.tokenizer, TableTokenizer::Model)
    }

    /// Adds `token`'s row to `sum`; `false` for a token the table does not have.
    pub fn add_row(&self, token: usize, sum: &mut [f32]) -> bool {
        if token >= self.vocab || sum.len() != self.dims {
            return false;
        }
        let bytes = &self.rows()[token * self.dims * 2..(token + 1) * self.dims * 2];
        for (s, b) in sum.iter_mut().zip(bytes.chunks_exact(2)) {
            *s += f16::from_le_bytes([b[0], b[1]]).to_f32();
        }
        true
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.source.len() + self.rows().len());
        let put_u32 = |out: &mut Vec<u8>, x: u32| out.extend_from_slice(&x.to_le_bytes());
        out.extend_from_slice(MAGIC);
        put_u32(&mut out, VERSION);
        put_u32(&mut out, self.source.len() as u32);
        out.extend_from_slice(self.source.as_bytes());
        put_u32(&mut out, self.vocab as u32);
        put_u32(&mut out, self.dims as u32);
        match &self.tokenizer {
            TableTokenizer::Model => out.push(0),
            TableTokenizer::WordPiece {
                tokens,
                unknown,
                lowercase,
            } => {
                out.push(1);
                out.push(u8::from(*lowercase));
                put_u32(&mut out, *unknown);
                put_u32(&mut out, tokens.len() as u32);
                for t in tokens {
                    put_u32(&mut out, t.len() as u32);
                    out.extend_from_slice(t.as_bytes());
                }
            }
        }
        out.extend_from_slice(self.rows());
        let sum = blake3::hash(&out);
        out.extend_from_slice(sum.as_bytes());
        out
    }

    fn decode(bytes: Bytes) -> Result<StaticTable, TableError> {
        let bad = |why: &str| TableError::Format(why.to_owned());
        if bytes.len() < MAGIC.len() + 32 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("no table header"));
        }
        let body_len = bytes.len() - 32;
        // Both cores: a one-shot search waits for this check.
        let sum = blake3::Hasher::new()
            .update_rayon(&bytes[..body_len])
            .finalize();
        if sum.as_bytes() != &bytes[body_len..] {
            return Err(bad("checksum mismatch (a damaged or partly written file)"));
        }
        let mut r = Reader {
            bytes: &bytes[..body_len],
            at: MAGIC.len(),
        };
        let version = r.u32()?;
        if version != VERSION {
            return Err(TableError::Format(format!("format version {version}")));
        }
        let source_len = r.u32()? as usize;
        let source = r.string(source_len)?;
        let vocab = r.u32()? as usize;
        let dims = r.u32()? as usize;
        let tokenizer = match r.take(1)?[0] {
            0 => TableTokenizer::Model,
            1 => {
                let lowercase = r.take(1)?[0] != 0;
                let unknown = r.u32()?;
                let n = r.u32()? as usize;
                let mut tokens = Vec::with_capacity(n.min(1 << 20));
                for _ in 0..n {
                    let len = r.u32()? as usize;
                    tokens.push(r.string(len)?);
                }
                TableTokenizer::WordPiece {
                    tokens,
                    unknown,
                    lowercase,
                }
            }
            _ => return Err(bad("unknown tokenizer kind")),
        };
        let rows_at = r.at;
        if dims == 0 || body_len - rows_at != vocab * dims * 2 {
            return Err(bad("rows do not match the stated shape"));
        }
        Ok(StaticTable {
            source,
            vocab,
            dims,
            tokenizer,
            bytes,
            rows_at,
        })
    }

    /// Reads a table; any damage is an error, never a panic.
    pub fn read(path: &Path) -> Result<StaticTable, TableError> {
        let file = scry_paths::open_regular(path)?;
        // SAFETY: tables are only ever replaced by renaming a new file over the name,
        // never written in place, so the mapped file does not change under us.
        let map = unsafe { memmap2::MmapOptions::new().populate().map(&file)? };
        StaticTable::decode(Bytes::Mapped(map))
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

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TableError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| TableError::Format("truncated header".into()))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, TableError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self, len: usize) -> Result<String, TableError> {
        let b = self.take(len)?;
        String::from_utf8(b.to_vec()).map_err(|_| TableError::Format("a name is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> StaticTable {
        StaticTable::new(
            "model.gguf#abc".into(),
            2,
            TableTokenizer::WordPiece {
                tokens: vec!["[UNK]".into(), "▁a".into(), "b".into()],
                unknown: 0,
                lowercase: true,
            },
            &[0.0, 0.0, 1.5, -2.0, 0.25, 4.0],
        )
    }

    #[test]
    fn a_table_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.m2v");
        table().write(&path).unwrap();
        let back = StaticTable::read(&path).unwrap();
        assert_eq!(back, table());
        let mut sum = [0.0f32; 2];
        assert!(back.add_row(1, &mut sum));
        assert!(back.add_row(2, &mut sum));
        assert_eq!(sum, [1.75, 2.0]);
        assert!(!back.add_row(3, &mut sum));
        let model_tokenized = StaticTable {
            tokenizer: TableTokenizer::Model,
            ..table()
        };
        model_tokenized.write(&path).unwrap();
        assert_eq!(StaticTable::read(&path).unwrap(), model_tokenized);
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
