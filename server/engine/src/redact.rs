//! The one place the engine masks secrets: in what it chunks (and so stores and
//! embeds), in files it reads out, and in texts it packs for a model.
//!
//! Chunking parses the real bytes and takes every text from the masked copy
//! (`scry_chunk::chunk_masked`), so a masked value never changes the syntax tree. Masking
//! keeps every byte offset, so lines and ranges still point at the file on disk; the
//! file's hash is of its real bytes, so freshness checks are unaffected. Which bytes are
//! secrets is `scry_secrets`'s business.

use scry_chunk::{ChunkOptions, Chunked};

/// Chunks `bytes` (the file at `rel`) with its secrets masked in every text, each chunk
/// keyed for its vector by its content and path.
pub(crate) fn chunk(rel: &str, bytes: &[u8], opts: &ChunkOptions) -> Chunked {
    let shown = scry_secrets::mask(rel, bytes);
    let mut chunked = scry_chunk::chunk_masked(rel, bytes, &shown, opts);
    // Vectors are keyed by all that is embedded, the path included (see
    // `Chunk::embedding_text`): every key the engine stores comes from here.
    for c in &mut chunked.chunks {
        c.hash = c.vector_hash(rel);
    }
    chunked
}

/// The text of the file at `rel`, secrets masked (invalid UTF-8 replaced).
pub(crate) fn text(rel: &str, bytes: &[u8]) -> String {
    String::from_utf8_lossy(&scry_secrets::mask(rel, bytes)).into_owned()
}
