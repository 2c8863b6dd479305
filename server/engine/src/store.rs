//! The storage seam: what a search needs of one generation of an index, whoever holds
//! it. The local store (tantivy + usearch, [`LocalStore`]) and a shared one (Postgres,
//! the `scry-store-pg` crate) answer it; retrieval, fusion, the ranking stage and the
//! shape of results above it are one code for both (`search.rs`).
//!
//! A store answers for exactly one generation of each repository it spans (the local
//! store: the snapshot's; Postgres: each repository's active one at the start of the
//! read transaction), so a search never mixes two.

use scry_index::{DocAddress, LexicalFilter, StoredChunk};

use crate::EngineError;
use crate::snapshot::View;
use crate::tier::Tier;

/// A chunk's id within one store and generation, to load it by.
pub type ChunkId = u64;

/// One BM25 hit: its score, the file it belongs to, and the chunk to load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LexicalHit {
    pub score: f32,
    /// Equal for the chunks of one file, distinct across files (and repositories).
    pub file: u64,
    pub id: ChunkId,
}

/// One generation's chunks, as a search reads them.
pub trait ChunkStore {
    /// BM25's best `limit` chunks over content, symbol names (boosted) and paths
    /// (boosted), best first; only scores and ids, nothing loaded.
    fn lexical(
        &self,
        query: &str,
        limit: usize,
        filter: &LexicalFilter,
    ) -> Result<Vec<LexicalHit>, EngineError>;

    /// The chunks nearest to `vector` in `tier`'s vectors by cosine similarity, best
    /// first, with their similarity. Several chunks of one text may share a vector.
    fn nearest(
        &self,
        tier: Tier,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<(f32, ChunkId)>, EngineError>;

    /// The chunks of `ids`, in that order.
    fn load(&self, ids: &[ChunkId]) -> Result<Vec<StoredChunk>, EngineError>;

    /// How many chunks' content mentions each of `words` (lowercase tokens), and how
    /// many chunks there are in all: what module centrality is read from.
    fn mentions(&self, words: &[String]) -> Result<(Vec<u64>, u64), EngineError>;
}

/// The local store's generation: a tantivy searcher and the usearch tiers of one
/// published view.
pub(crate) struct LocalStore<'a> {
    pub(crate) view: &'a View,
}

fn id_of(a: DocAddress) -> ChunkId {
    (u64::from(a.segment_ord) << 32) | u64::from(a.doc_id)
}

fn address_of(id: ChunkId) -> DocAddress {
    DocAddress {
        segment_ord: (id >> 32) as u32,
        doc_id: id as u32,
    }
}

impl ChunkStore for LocalStore<'_> {
    fn lexical(
        &self,
        query: &str,
        limit: usize,
        filter: &LexicalFilter,
    ) -> Result<Vec<LexicalHit>, EngineError> {
        let lexical = &self.view.lexical;
        let hits = lexical.search(query, limit, filter)?;
        let addrs: Vec<DocAddress> = hits.iter().map(|(_, a)| *a).collect();
        let files = lexical.file_keys(&addrs)?;
        Ok(hits
            .iter()
            .zip(files)
            .map(|((score, addr), file)| LexicalHit {
                score: *score,
                file,
                id: id_of(*addr),
            })
            .collect())
    }

    fn nearest(
        &self,
        tier: Tier,
        vector: &[f32],
        limit: usize,
    ) -> Result<Vec<(f32, ChunkId)>, EngineError> {
        let view = self.view;
        let Some((_, store)) = view.tier(tier) else {
            return Ok(Vec::new());
        };
        // Live keys of this generation only: the vector file may hold newer ones.
        let live = &view.live_keys;
        let mut out = Vec::new();
        for (key, distance) in store.search(vector, limit, |key| live.contains(&key))? {
            for addr in view.lexical.docs_with_key(key)? {
                out.push((1.0 - distance, id_of(addr)));
            }
        }
        Ok(out)
    }

    fn load(&self, ids: &[ChunkId]) -> Result<Vec<StoredChunk>, EngineError> {
        ids.iter()
            .map(|id| Ok(self.view.lexical.load(address_of(*id))?))
            .collect()
    }

    fn mentions(&self, words: &[String]) -> Result<(Vec<u64>, u64), EngineError> {
        let lexical = &self.view.lexical;
        let counts = words.iter().map(|w| lexical.content_doc_freq(w)).collect();
        Ok((counts, lexical.num_chunks()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_id_round_trips_to_its_tantivy_address() {
        for (segment_ord, doc_id) in [(0, 0), (1, 7), (u32::MAX, u32::MAX), (3, 1 << 31)] {
            let a = DocAddress {
                segment_ord,
                doc_id,
            };
            assert_eq!(address_of(id_of(a)), a);
        }
    }
}
