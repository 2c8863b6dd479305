//! How fast an embedder turns tokens into vectors on this machine, measured by real
//! index runs and remembered, so that `scry index --dry-run` estimates time at once
//! instead of embedding a sample (which took most of a minute on a laptop CPU).
//!
//! Kept per embedder id (the model's identity and tier) in
//! `$XDG_CACHE_HOME/scry/embed-speed.json`, as a running mean that favours recent runs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Runs shorter than this say more about start-up than about speed.
const MIN_TOKENS: usize = 2_000;
const MIN_SECONDS: f64 = 0.05;
/// Weight of a new run against what was remembered.
const NEW_RUN_WEIGHT: f64 = 0.5;

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    tokens_per_second: BTreeMap<String, f64>,
}

/// The remembered embedding speeds, in one file (none: in memory only).
pub struct EmbedSpeed {
    path: Option<PathBuf>,
}

impl Default for EmbedSpeed {
    fn default() -> Self {
        EmbedSpeed::at(crate::prompt_speed::cache_file_named("embed-speed.json"))
    }
}

impl EmbedSpeed {
    pub fn at(path: Option<PathBuf>) -> EmbedSpeed {
        EmbedSpeed { path }
    }

    /// Tokens per second `embedder_id` reached here, if a run was long enough to tell.
    pub fn rate(&self, embedder_id: &str) -> Option<f64> {
        self.read().tokens_per_second.get(embedder_id).copied()
    }

    /// Remembers that `tokens` were embedded in `seconds`; short runs are ignored.
    pub fn record(&self, embedder_id: &str, tokens: usize, seconds: f64) {
        if tokens < MIN_TOKENS || !seconds.is_finite() || seconds < MIN_SECONDS {
            return;
        }
        let Some(path) = &self.path else { return };
        let mut file = self.read();
        let measured = tokens as f64 / seconds;
        let rate = file
            .tokens_per_second
            .get(embedder_id)
            .map_or(measured, |old| {
                old * (1.0 - NEW_RUN_WEIGHT) + measured * NEW_RUN_WEIGHT
            });
        file.tokens_per_second.insert(embedder_id.to_owned(), rate);
        let write = || -> std::io::Result<()> {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = path.with_extension(format!("tmp{}", std::process::id()));
            std::fs::write(&tmp, serde_json::to_vec_pretty(&file)?)?;
            std::fs::rename(&tmp, path)
        };
        if let Err(e) = write() {
            tracing::debug!("cannot remember embedding speed in {}: {e}", path.display());
        }
    }

    fn read(&self) -> File {
        self.path
            .as_deref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_measured_rate_is_remembered_and_short_runs_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let speed = EmbedSpeed::at(Some(dir.path().join("s.json")));
        assert_eq!(speed.rate("m#1"), None);
        speed.record("m#1", 100, 1.0);
        assert_eq!(speed.rate("m#1"), None, "too short to tell");
        speed.record("m#1", 10_000, 2.0);
        assert_eq!(speed.rate("m#1"), Some(5_000.0));
        // A later run moves the figure half-way.
        speed.record("m#1", 30_000, 2.0);
        assert_eq!(speed.rate("m#1"), Some(10_000.0));
        // Another process reads what this one wrote; other models are apart.
        let again = EmbedSpeed::at(Some(dir.path().join("s.json")));
        assert_eq!(again.rate("m#1"), Some(10_000.0));
        assert_eq!(again.rate("static128v2:m#1"), None);
        // A damaged file is no measurement, not an error.
        std::fs::write(dir.path().join("s.json"), b"{not json").unwrap();
        assert_eq!(again.rate("m#1"), None);
    }
}
