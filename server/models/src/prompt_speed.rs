//! How fast a model reads prompts on this machine, measured and remembered, so that a
//! default context can be sized for an answer that starts in reasonable time.
//!
//! Reading slows as the prompt grows (each token attends to every one before it), so a
//! single speed does not describe it: reading `n` tokens is fitted as `a·n + c·n²` from
//! measured prompts. Measurements are kept per model file and thread count in
//! `$XDG_CACHE_HOME/scry/prompt-speed.json`, so a one-shot `scry ask` knows what the
//! previous ones measured.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Measurements kept per model (the newest).
const KEPT: usize = 8;

/// With only the short calibration read, the slowdown with length is assumed to double
/// the cost of a token by position 1,024 (what small models show on laptop CPUs; the
/// estimate errs towards a sooner first token). Real prompts replace the assumption.
const ASSUMED_DOUBLING_AT: f64 = 1024.0;

#[derive(Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    models: BTreeMap<String, Vec<(usize, f64)>>,
}

/// The prompt-reading measurements of one model.
pub struct PromptTimings {
    key: String,
    path: Option<PathBuf>,
    /// (tokens, seconds), calibration first when there is one.
    samples: Mutex<Vec<(usize, f64)>>,
}

impl PromptTimings {
    /// The remembered measurements of `model` read with `threads` threads.
    pub fn load(model: &Path, threads: usize) -> PromptTimings {
        let size = std::fs::metadata(model).map_or(0, |m| m.len());
        let name = model
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        PromptTimings::at(cache_file(), format!("{name}:{size}:t{threads}"))
    }

    /// Measurements kept in `path` (none: in memory only) under `key`.
    pub fn at(path: Option<PathBuf>, key: String) -> PromptTimings {
        let samples = path
            .as_deref()
            .and_then(read_file)
            .and_then(|mut f| f.models.remove(&key))
            .unwrap_or_default();
        PromptTimings {
            key,
            path,
            samples: Mutex::new(samples),
        }
    }

    /// Records that `tokens` prompt tokens were read in `seconds`.
    pub fn record(&self, tokens: usize, seconds: f64) {
        if tokens == 0 || !seconds.is_finite() || seconds <= 0.0 {
            return;
        }
        let kept = {
            let mut s = self.samples.lock();
            s.push((tokens, seconds));
            let excess = s.len().saturating_sub(KEPT);
            s.drain(..excess);
            s.clone()
        };
        if let Some(path) = &self.path
            && let Err(e) = self.save(path, kept)
        {
            tracing::debug!("cannot remember prompt speed in {}: {e}", path.display());
        }
    }

    /// How many prompt tokens this model reads within `seconds` here; `None` before any
    /// measurement.
    pub fn tokens_within(&self, seconds: f64) -> Option<usize> {
        let (a, c) = fit(&self.samples.lock())?;
        Some(solve(a, c, seconds))
    }

    fn save(&self, path: &Path, kept: Vec<(usize, f64)>) -> std::io::Result<()> {
        let mut file = read_file(path).unwrap_or_default();
        file.models.insert(self.key.clone(), kept);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Written aside and renamed: two processes never leave half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(&file)?)?;
        std::fs::rename(&tmp, path)
    }
}

fn cache_file() -> Option<PathBuf> {
    cache_file_named("prompt-speed.json")
}

/// `$XDG_CACHE_HOME/scry/NAME` (else `~/.cache/scry/NAME`): where measurements of this
/// machine are remembered.
pub(crate) fn cache_file_named(name: &str) -> Option<PathBuf> {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("scry").join(name))
}

fn read_file(path: &Path) -> Option<File> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Fits seconds = a·n + c·n² (a, c ≥ 0): per-token time `a + c·n` by least squares over
/// the samples. One distinct length says nothing of `c`: the assumed slowdown is used.
fn fit(samples: &[(usize, f64)]) -> Option<(f64, f64)> {
    let points: Vec<(f64, f64)> = samples
        .iter()
        .map(|&(n, t)| (n as f64, t / n as f64))
        .collect();
    let count = points.len() as f64;
    if points.is_empty() {
        return None;
    }
    let mean_n = points.iter().map(|p| p.0).sum::<f64>() / count;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / count;
    let var_n: f64 = points.iter().map(|p| (p.0 - mean_n).powi(2)).sum();
    if var_n < 1.0 {
        // Per-token time at the start, doubling by ASSUMED_DOUBLING_AT.
        let a = mean_y / (1.0 + mean_n / ASSUMED_DOUBLING_AT);
        return Some((a, a / (2.0 * ASSUMED_DOUBLING_AT)));
    }
    let cov: f64 = points.iter().map(|p| (p.0 - mean_n) * (p.1 - mean_y)).sum();
    let slope = (cov / var_n).max(0.0);
    let a = (mean_y - slope * mean_n).max(mean_y * 0.05);
    // Per-token time a + slope·n averages to a + c·n over a prompt of n when c = slope.
    Some((a, slope))
}

/// The largest `n` with a·n + c·n² ≤ seconds.
fn solve(a: f64, c: f64, seconds: f64) -> usize {
    let n = if c <= f64::EPSILON {
        seconds / a.max(f64::EPSILON)
    } else {
        (-a + (a * a + 4.0 * c * seconds).sqrt()) / (2.0 * c)
    };
    n.max(0.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two reads measured here for SmolLM2-135M on two cores: 1,995 tokens in 15.4 s,
    /// 3,277 tokens in 34.5 s, so one speed (130 or 95 tokens/s) fits neither.
    #[test]
    fn reading_time_grows_faster_than_the_prompt() {
        let (a, c) = fit(&[(1995, 15.4), (3277, 34.5)]).unwrap();
        let at = |n: f64| a * n + c * n * n;
        assert!((at(1995.0) - 15.4).abs() < 0.5, "{}", at(1995.0));
        assert!((at(3277.0) - 34.5).abs() < 0.5, "{}", at(3277.0));
        let n = solve(a, c, 20.0);
        assert!((2300..2700).contains(&n), "{n}");
    }

    #[test]
    fn a_calibration_alone_assumes_a_slowdown() {
        // 64 tokens in 248 ms: 258 tokens/s at the start.
        let (a, c) = fit(&[(64, 0.248)]).unwrap();
        assert!(c > 0.0);
        let n = solve(a, c, 20.0);
        assert!(n < 20 * 258, "{n}");
        assert!(n > 1500, "{n}");
        assert!(fit(&[]).is_none());
    }

    #[test]
    fn measurements_are_remembered_for_the_next_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scry/prompt-speed.json");
        let first = PromptTimings::at(Some(path.clone()), "m.gguf:1:t2".into());
        assert!(first.tokens_within(20.0).is_none());
        first.record(64, 0.25);
        first.record(2000, 15.0);
        let again = PromptTimings::at(Some(path.clone()), "m.gguf:1:t2".into());
        assert_eq!(again.tokens_within(20.0), first.tokens_within(20.0));
        let other = PromptTimings::at(Some(path), "m.gguf:1:t4".into());
        assert!(other.tokens_within(20.0).is_none(), "kept per thread count");
        for i in 0..20 {
            first.record(100 + i, 1.0);
        }
        assert_eq!(first.samples.lock().len(), KEPT);
    }
}
