//! One generation's chunks with one tier's vectors, read out whole for another store to
//! take in (`scry index --store` publishes the local index into a shared one).

use scry_index::StoredChunk;

use crate::tier::Tier;
use crate::{EngineError, Snapshot};

/// A generation's chunks, each with its vector in one tier (`None`: not embedded yet).
pub struct Export {
    pub generation: u64,
    pub tier: Tier,
    /// The id of the model the vectors come from; `None`: the tier has no vectors.
    pub model: Option<String>,
    /// The vectors' dimensions (0 without vectors).
    pub dims: usize,
    pub chunks: Vec<(StoredChunk, Option<Vec<f32>>)>,
}

impl Export {
    /// Chunks that have no vector in the tier.
    pub fn missing_vectors(&self) -> usize {
        self.chunks.iter().filter(|(_, v)| v.is_none()).count()
    }
}

pub(crate) fn export(snap: &Snapshot, tier: Tier) -> Result<Export, EngineError> {
    let view = &snap.view;
    let chunks = view.lexical.all_chunks()?;
    let vectors = view.vectors.get(tier).as_ref();
    let chunks = chunks
        .into_iter()
        .map(|c| {
            let v = vectors.and_then(|t| t.store.get(c.vec_key));
            (c, v)
        })
        .collect();
    Ok(Export {
        generation: view.generation,
        tier,
        model: vectors.map(|t| t.model.clone()),
        dims: vectors.map_or(0, |t| t.store.dims()),
        chunks,
    })
}
