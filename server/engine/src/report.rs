//! What indexing reports: progress while it runs, what a refresh or a batch did, and
//! what a dry run would do.

use std::collections::BTreeMap;

use crate::SearchMode;

/// What a refresh is doing, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Scanning,
    Indexing,
    Embedding,
    Done,
}

#[derive(Debug, Clone)]
pub struct Progress {
    pub phase: Phase,
    pub files_done: usize,
    pub files_total: usize,
    pub chunks: usize,
    pub embedded: usize,
    pub to_embed: usize,
    pub embed_tokens: usize,
    pub embed_seconds: f64,
}

impl Progress {
    pub(crate) fn new(phase: Phase) -> Progress {
        Progress {
            phase,
            files_done: 0,
            files_total: 0,
            chunks: 0,
            embedded: 0,
            to_embed: 0,
            embed_tokens: 0,
            embed_seconds: 0.0,
        }
    }
}

/// What one committed batch did.
#[derive(Debug, Default, Clone)]
pub struct BatchStats {
    pub files_indexed: usize,
    pub files_removed: usize,
    pub chunks_indexed: usize,
    pub chunks_embedded: usize,
    pub embed_tokens: usize,
    pub embed_seconds: f64,
    pub embed_errors: Vec<String>,
}

/// What a refresh (or an overlay, or a backfill) did.
#[derive(Debug, Clone, Default)]
pub struct RefreshReport {
    pub generation: u64,
    pub files_seen: usize,
    pub files_unchanged: usize,
    pub files_indexed: usize,
    pub files_removed: usize,
    pub files_skipped: BTreeMap<&'static str, usize>,
    pub chunks_indexed: usize,
    pub chunks_embedded: usize,
    pub embed_tokens: usize,
    pub embed_seconds: f64,
    pub embed_errors: Vec<String>,
    pub commits: usize,
    pub seconds: f64,
}

impl RefreshReport {
    /// Nothing changed; the index is at `generation`.
    pub(crate) fn unchanged(generation: u64) -> RefreshReport {
        RefreshReport {
            generation,
            ..RefreshReport::default()
        }
    }

    pub(crate) fn add(&mut self, s: &BatchStats) {
        self.files_indexed += s.files_indexed;
        self.files_removed += s.files_removed;
        self.chunks_indexed += s.chunks_indexed;
        self.chunks_embedded += s.chunks_embedded;
        self.embed_tokens += s.embed_tokens;
        self.embed_seconds += s.embed_seconds;
        self.embed_errors.extend(s.embed_errors.iter().cloned());
        self.commits += 1;
    }

    pub fn changed(&self) -> bool {
        self.files_indexed + self.files_removed + self.chunks_embedded > 0
    }
}

/// What `--dry-run` reports: the work a refresh would do, without doing it.
#[derive(Debug, Clone)]
pub struct DryRunReport {
    /// `Hybrid` if the configured model loads, else `Lexical`.
    pub mode: SearchMode,
    pub model_problem: Option<String>,
    pub files: usize,
    pub files_to_index: usize,
    pub files_skipped: BTreeMap<&'static str, usize>,
    pub chunks: usize,
    pub chunks_to_embed: usize,
    pub embed_tokens: usize,
    /// Measured on a sample of the chunks; `None` without a model.
    pub estimated_embed_seconds: Option<f64>,
}
