//! [`FileHash`]: which content of a file was indexed, comparable with what is on disk.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// blake3 of a file's whole content (its real bytes, before secrets are masked), cut to
/// 128 bits. The index records it per file, every result carries it, and a result is
/// stale when the editor buffer or the disk no longer hashes to it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileHash([u8; 16]);

impl FileHash {
    pub fn of(bytes: &[u8]) -> FileHash {
        let mut h = [0u8; 16];
        h.copy_from_slice(&blake3::hash(bytes).as_bytes()[..16]);
        FileHash(h)
    }
}

impl fmt::Display for FileHash {
    /// 32 lowercase hex digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for FileHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileHash({self})")
    }
}

impl FromStr for FileHash {
    type Err = String;

    fn from_str(s: &str) -> Result<FileHash, String> {
        let bad = || format!("{s:?} is not a file hash (32 hex digits)");
        if s.len() != 32 || !s.is_ascii() {
            return Err(bad());
        }
        let mut h = [0u8; 16];
        for (i, b) in h.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(FileHash(h))
    }
}

impl Serialize for FileHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FileHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FileHash, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::FileHash;

    #[test]
    fn prints_and_parses_as_the_first_128_bits_of_blake3_in_hex() {
        let h = FileHash::of(b"fn main() {}\n");
        let hex = h.to_string();
        assert_eq!(hex, blake3::hash(b"fn main() {}\n").to_hex()[..32]);
        assert_eq!(hex.parse::<FileHash>(), Ok(h));
        assert!("xyz".parse::<FileHash>().is_err());
        assert!("é".repeat(16).parse::<FileHash>().is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{hex}\""));
        assert_eq!(serde_json::from_str::<FileHash>(&json).unwrap(), h);
    }
}
