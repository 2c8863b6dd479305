//! On-disk indexes: tantivy (lexical), usearch (vectors) and the manifest that commits both.
//!
//! - [`Lexical`]: chunks as tantivy documents, searched with BM25 through the
//!   [`CodeTokenizer`]; each commit carries its generation as payload.
//! - [`VectorStore`]: a usearch HNSW index keyed by chunk content hash, so a vector is
//!   computed once per distinct chunk text.
//! - [`Manifest`]: the single commit point that names the generation, the vector file
//!   and its checksum, and the table of indexed files.
//!
//! This crate knows nothing of workspaces, models or protocols.

mod file_hash;
mod lexical;
mod live_stats;
mod manifest;
mod tokenizer;
mod vectors;

pub use file_hash::FileHash;
pub use lexical::{
    Lexical, LexicalFilter, LexicalReader, LexicalSnapshot, PATH_BOOST, SCHEMA_VERSION,
    SYMBOL_BOOST, SymbolCache, SymbolEntry, boosted_names, decode_definitions, encode_definitions,
    file_key, file_term_text,
};
pub use manifest::{FORMAT, FileEntry, FileTable, MANIFEST_FILE, Manifest, VectorsEntry};
pub use tantivy::DocAddress;
pub use tokenizer::{CodeTokenizer, STOP_WORDS, index_tokens, query_terms, stem, tokenize};
pub use vectors::{Precision, VectorStore};

use std::path::{Path, PathBuf};

use scry_chunk::{Definition, Span};

/// A chunk as stored in the lexical index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChunk {
    pub root: u32,
    pub path: String,
    pub span: Span,
    pub symbol: Option<String>,
    pub scope: Option<String>,
    pub context: Option<String>,
    pub text: String,
    pub kind: String,
    pub language: String,
    /// The definitions whose names are in this chunk.
    pub definitions: Vec<Definition>,
    pub vec_key: u64,
    pub file_hash: FileHash,
}

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the index is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("lexical index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("vector index: {0}")]
    Vectors(String),
}

impl IndexError {
    pub fn io(path: &Path, source: std::io::Error) -> IndexError {
        IndexError::Io {
            path: path.to_owned(),
            source,
        }
    }
    pub fn corrupt(path: &Path, detail: impl std::fmt::Display) -> IndexError {
        IndexError::Corrupt {
            path: path.to_owned(),
            detail: detail.to_string(),
        }
    }
    pub(crate) fn tantivy(e: tantivy::TantivyError) -> IndexError {
        IndexError::Tantivy(e)
    }
    /// Whether rebuilding the index from the workspace is the fix.
    pub fn is_corruption(&self) -> bool {
        matches!(self, IndexError::Corrupt { .. })
            || matches!(self, IndexError::Tantivy(t) if !matches!(t, tantivy::TantivyError::LockFailure(..)))
    }
}

/// Makes a rename in `dir` durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<(), IndexError> {
    #[cfg(unix)]
    {
        let f = std::fs::File::open(dir).map_err(|e| IndexError::io(dir, e))?;
        f.sync_all().map_err(|e| IndexError::io(dir, e))?;
    }
    Ok(())
}
