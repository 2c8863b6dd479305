//! What indexing reports: progress while it runs, what a refresh or a batch did, and
//! what a dry run would do.

use std::collections::BTreeMap;

use crate::SearchMode;

/// What a refresh is doing, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Walking the roots for files.
    Scanning,
    /// Reading and chunking files into the lexical index.
    Chunking,
    /// Embedding the chunks of the files chunked so far.
    Embedding,
    Done,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Scanning => "scanning",
            Phase::Chunking => "chunking",
            Phase::Embedding => "embedding",
            Phase::Done => "done",
        }
    }
}

/// Where a refresh stands. Files are chunked and embedded batch by batch (each batch one
/// commit), so the phases alternate; the fraction and ETA cover the whole refresh.
#[derive(Debug, Clone)]
pub struct Progress {
    pub phase: Phase,
    /// Files read (chunked, or found unchanged) of those the scan found to read.
    pub files_done: usize,
    pub files_total: usize,
    /// Source bytes finished (chunked and, with a model, embedded) of those to read.
    pub bytes_done: u64,
    pub bytes_total: u64,
    /// Chunks made so far.
    pub chunks: usize,
    /// Chunks embedded so far, of those known so far to need a vector.
    pub embedded: usize,
    pub to_embed: usize,
    pub embed_tokens: usize,
    pub embed_seconds: f64,
    /// Seconds since the refresh started.
    pub elapsed: f64,
}

impl Progress {
    pub(crate) fn new(phase: Phase) -> Progress {
        Progress {
            phase,
            files_done: 0,
            files_total: 0,
            bytes_done: 0,
            bytes_total: 0,
            chunks: 0,
            embedded: 0,
            to_embed: 0,
            embed_tokens: 0,
            embed_seconds: 0.0,
            elapsed: 0.0,
        }
    }

    /// The share of the whole refresh done, 0 to 1: by source bytes, or by chunks when
    /// only chunks wait for vectors (a new model); `None` while scanning.
    pub fn fraction(&self) -> Option<f64> {
        match self.phase {
            Phase::Scanning => None,
            Phase::Done => Some(1.0),
            _ if self.bytes_total > 0 => {
                Some((self.bytes_done as f64 / self.bytes_total as f64).clamp(0.0, 1.0))
            }
            _ if self.to_embed > 0 => Some(self.embedded as f64 / self.to_embed as f64),
            _ => None,
        }
    }

    /// Seconds left, from the pace so far; `None` until there is a pace to go by.
    pub fn eta(&self) -> Option<f64> {
        let f = self.fraction()?;
        if f >= 1.0 {
            return Some(0.0);
        }
        (f >= 0.01 && self.elapsed >= 1.0).then(|| self.elapsed * (1.0 - f) / f)
    }

    /// Embedding tokens per second so far.
    pub fn embed_rate(&self) -> Option<f64> {
        (self.embed_seconds > 0.0).then(|| self.embed_tokens as f64 / self.embed_seconds)
    }

    /// One line for a person: the phase's counts, then rate and time left.
    pub fn summary(&self) -> String {
        let mut parts = match self.phase {
            Phase::Scanning => vec!["scanning files".to_owned()],
            Phase::Done => vec!["done".to_owned()],
            Phase::Chunking | Phase::Embedding => {
                let mut v = vec![
                    format!("files {}/{}", self.files_done, self.files_total),
                    format!("{} chunks", self.chunks),
                ];
                if self.to_embed > 0 {
                    v.push(format!("{}/{} embedded", self.embedded, self.to_embed));
                }
                v
            }
        };
        if self.phase == Phase::Embedding
            && let Some(rate) = self.embed_rate()
        {
            parts.push(format!("{rate:.0} tok/s"));
        }
        if !matches!(self.phase, Phase::Done)
            && let Some(eta) = self.eta()
        {
            parts.push(format!("ETA {}", human_secs(eta)));
        }
        parts.join(" · ")
    }
}

/// `75s` → `1m15s`.
pub fn human_secs(s: f64) -> String {
    if !s.is_finite() {
        return "?".into();
    }
    let s = s.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
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

impl BatchStats {
    /// Whether a file was indexed or removed (else the batch committed nothing).
    pub fn changed(&self) -> bool {
        self.files_indexed > 0 || self.files_removed > 0
    }
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
    /// From the embedding speed earlier index runs measured on this machine; `None`
    /// without a model or before the first run that embedded enough to tell.
    pub estimated_embed_seconds: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_left_follows_the_pace_of_the_whole_refresh() {
        let mut p = Progress::new(Phase::Embedding);
        p.files_total = 89;
        p.files_done = 30;
        p.bytes_total = 1000;
        p.bytes_done = 250;
        p.chunks = 400;
        p.embedded = 120;
        p.to_embed = 130;
        p.embed_tokens = 24_100;
        p.embed_seconds = 100.0;
        p.elapsed = 100.0;
        assert_eq!(p.fraction(), Some(0.25));
        // A quarter took 100 s: three quarters take 300 s more.
        assert_eq!(p.eta(), Some(300.0));
        assert_eq!(
            p.summary(),
            "files 30/89 · 400 chunks · 120/130 embedded · 241 tok/s · ETA 5m00s"
        );
        // No pace yet: no guess.
        p.elapsed = 0.2;
        assert_eq!(p.eta(), None);
        assert_eq!(Progress::new(Phase::Scanning).fraction(), None);
    }
}
