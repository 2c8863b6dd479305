//! `index_status`: how complete and how fresh the index is, and what it runs with.

use std::time::SystemTime;

use rmcp::model::Tool;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, Output, ToolError, define, read_only_annotations};

pub const NAME: &str = "index_status";
/// Problems listed in full; the rest are counted.
const MAX_PROBLEMS: usize = 50;

pub fn tool() -> Tool {
    define::<Input, StatusOutput>(
        NAME,
        "Index status",
        "Whether the index is complete and current, and what it runs with: roots, files, \
         chunks, the index generation, whether indexing is running, the embedding model \
         (or why search is BM25-only), the chat models for ask, whether this process \
         writes the index or follows another's (an editor's), and files that could not be \
         chunked. Call it when results look incomplete or a search says BM25-only.",
        read_only_annotations(),
    )
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct StatusOutput {
    pub roots: Vec<String>,
    pub index_dir: String,
    pub generation: u64,
    pub files: usize,
    pub chunks: u64,
    pub vectors: usize,
    /// Chunks still waiting for an embedding.
    pub chunks_without_vectors: usize,
    /// "hybrid" (BM25 + embeddings) or "lexical" (BM25-only).
    pub search_mode: String,
    pub embedding_model: Option<String>,
    /// Why there is no embedding model, when there is none.
    pub embedding_problem: Option<String>,
    /// Each vector tier's coverage: `fast` (a static table distilled from the model,
    /// which every chunk gets as it is indexed) and `full` (the model's own vectors,
    /// computed in the background); absent when not configured.
    pub vector_tiers: VectorTiers,
    /// The chat models `ask` uses, per role.
    pub chat_models: Vec<String>,
    /// "writer" (this process keeps the index current) or "follower" (another scry
    /// process writes it; this one reads each generation it commits).
    pub role: String,
    pub freshness: Freshness,
    pub languages: std::collections::BTreeMap<String, usize>,
    pub problems: Vec<ProblemOut>,
    pub problems_total: usize,
    pub notices: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Freshness {
    /// Indexing is running now (results may miss files not reached yet).
    pub indexing: bool,
    pub files_done: usize,
    pub files_total: usize,
    /// File changes are picked up as they happen.
    pub watching: bool,
    /// Seconds since the last indexing pass finished.
    pub seconds_since_last_update: Option<u64>,
    pub last_error: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct VectorTiers {
    pub fast: Option<VectorTier>,
    pub full: Option<VectorTier>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct VectorTier {
    /// The embedder's id.
    pub model: Option<String>,
    /// Whether searches use it now.
    pub loaded: bool,
    /// The loaded embedder's weights (or static table) in memory, in bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights_bytes: Option<u64>,
    pub chunks_with_vectors: usize,
    pub chunks: usize,
}

impl VectorTiers {
    fn of(tiers: &scry_engine::PerTier<Option<scry_engine::TierStatus>>) -> VectorTiers {
        let tier = |t: &Option<scry_engine::TierStatus>| {
            t.as_ref().map(|t| VectorTier {
                model: t.model.clone(),
                loaded: t.loaded,
                weights_bytes: t.weights_bytes,
                chunks_with_vectors: t.covered,
                chunks: t.chunks,
            })
        };
        VectorTiers {
            fast: tier(&tiers.fast),
            full: tier(&tiers.full),
        }
    }
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ProblemOut {
    pub path: String,
    pub problems: Vec<String>,
}

pub async fn run(call: &Call<'_>, _input: Input) -> Result<StatusOutput, ToolError> {
    call.blocking(|s| Ok(snapshot(s))).await
}

/// The status of this moment (also the dashboard's): reads the engine, so call it
/// off the async threads.
pub(crate) fn snapshot(s: &crate::state::Shared) -> StatusOutput {
    let st = s.engine().status();
    let ix = s.workspace.state();
    let (files_done, files_total) = ix
        .progress
        .as_ref()
        .map_or((0, 0), |p| (p.files_done, p.files_total));
    let chat_models = s
        .models
        .describe_chains()
        .into_iter()
        .map(|(role, chain)| format!("{}: {}", role.as_str(), chain.join(" → ")))
        .collect();
    StatusOutput {
        roots: st.roots.iter().map(|r| r.display().to_string()).collect(),
        index_dir: st.index_dir.display().to_string(),
        generation: st.generation,
        files: st.files,
        chunks: st.chunks,
        vectors: st.vectors,
        chunks_without_vectors: st.chunks_without_vectors,
        search_mode: st.mode.as_str().to_owned(),
        embedding_model: st.model.map(|m| m.id),
        embedding_problem: st.model_problem,
        vector_tiers: VectorTiers::of(&st.tiers),
        chat_models,
        role: if s.engine().is_writer() {
            "writer"
        } else {
            "follower"
        }
        .into(),
        freshness: Freshness {
            indexing: ix.indexing,
            files_done,
            files_total,
            watching: ix.watching,
            seconds_since_last_update: ix.last_finished.and_then(|t| {
                SystemTime::now()
                    .duration_since(t)
                    .ok()
                    .map(|d| d.as_secs())
            }),
            last_error: ix.last_error,
        },
        languages: st.languages,
        problems_total: st.problems.len(),
        problems: st
            .problems
            .into_iter()
            .take(MAX_PROBLEMS)
            .map(|p| ProblemOut {
                path: p.path,
                problems: p.problems,
            })
            .collect(),
        notices: st.notices,
    }
}

impl Output for StatusOutput {
    fn text(&self) -> String {
        let mut s = format!(
            "{} files, {} chunks, generation {} ({}, {}); search: {}{}\n",
            self.files,
            self.chunks,
            self.generation,
            self.role,
            if self.freshness.indexing {
                format!(
                    "indexing {}/{}",
                    self.freshness.files_done, self.freshness.files_total
                )
            } else {
                "up to date".to_owned()
            },
            self.search_mode,
            self.embedding_problem
                .as_deref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default(),
        );
        s.push_str(&format!("roots: {}\n", self.roots.join(", ")));
        for (name, tier) in [
            ("fast", &self.vector_tiers.fast),
            ("full", &self.vector_tiers.full),
        ] {
            if let Some(t) = tier {
                s.push_str(&format!(
                    "{name} vectors: {}/{} chunks{}\n",
                    t.chunks_with_vectors,
                    t.chunks,
                    if name == "full" && t.chunks_with_vectors < t.chunks {
                        " (computing in the background)"
                    } else {
                        ""
                    }
                ));
            }
        }
        for m in &self.chat_models {
            s.push_str(&format!("chat model {m}\n"));
        }
        for n in &self.notices {
            s.push_str(&format!("note: {n}\n"));
        }
        if self.problems_total > 0 {
            s.push_str(&format!("{} files had problems\n", self.problems_total));
        }
        s
    }
}
