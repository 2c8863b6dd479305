//! The full tier as a background upgrade: with a fast tier, a refresh gives every chunk
//! its fast vector and returns; the embedding model's own vectors follow here, a group
//! at a time, most wanted first (editor buffers, then the files changed most recently),
//! committed every few seconds so a stop loses little, and searched as they arrive.
//!
//! The model runs outside the writer's lock: an edit or a refresh never waits for more
//! than one group's bookkeeping.

use std::time::{Duration, Instant};

use crate::state::Role;
use crate::tier::Tier;
use crate::{Engine, EngineError};

/// Chunks per model call: small, so a stop (a closed workspace) waits about a second.
const UPGRADE_GROUP: usize = 16;

/// What one call of [`upgrade`] did, and what is left.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpgradeReport {
    /// Chunks that got their full-tier vector in this call.
    pub embedded: usize,
    /// Live chunks still without one.
    pub remaining: usize,
    /// Live chunks in all.
    pub chunks: usize,
    pub tokens: usize,
    pub seconds: f64,
    /// Whether this call committed a generation (searches see the new vectors).
    pub committed: bool,
    pub generation: u64,
    /// Groups that failed (their chunks are tried again by a later call).
    pub errors: Vec<String>,
}

impl UpgradeReport {
    /// This report followed by `later`'s: the work of both, the state after `later`.
    pub fn then(&self, later: &UpgradeReport) -> UpgradeReport {
        UpgradeReport {
            embedded: self.embedded + later.embedded,
            tokens: self.tokens + later.tokens,
            seconds: self.seconds + later.seconds,
            committed: self.committed || later.committed,
            errors: self.errors.iter().chain(&later.errors).cloned().collect(),
            ..later.clone()
        }
    }
}

/// Embeds full-tier vectors for about `budget` of model time (at least one group), or
/// until `stop` says so, then commits what it added. Does nothing unless this process
/// writes the index and both tiers' models are loaded (without a fast tier, a refresh
/// embeds the full tier itself).
pub(crate) fn upgrade(
    engine: &Engine,
    budget: Duration,
    stop: &dyn Fn() -> bool,
    progress: &mut dyn FnMut(&UpgradeReport),
) -> Result<UpgradeReport, EngineError> {
    let inner = &engine.inner;
    let mut report = UpgradeReport::default();
    let prefix = inner.config.document_prefix.clone();
    let started = Instant::now();
    loop {
        let models = inner.models.read().clone();
        let (Some(_), Some(full)) = (models.fast.embedder(), models.full.embedder().cloned())
        else {
            break;
        };
        let texts = {
            let role = inner.role.lock();
            let Role::Writer(state) = &*role else {
                break;
            };
            report.chunks = state.writer.live_count();
            report.remaining = state.writer.missing_count(Tier::Full);
            state
                .writer
                .texts_missing(Tier::Full, UPGRADE_GROUP, &prefix)?
        };
        if texts.is_empty() || stop() {
            break;
        }
        let t = Instant::now();
        let strings: Vec<String> = texts.iter().map(|(_, s)| s.clone()).collect();
        match full.embed(&strings) {
            Ok(out) => {
                let seconds = t.elapsed().as_secs_f64();
                report.seconds += seconds;
                report.tokens += out.tokens;
                scry_models::EmbedSpeed::default().record(&full.info().id, out.tokens, seconds);
                let items = texts.iter().map(|(k, _)| *k).zip(out.vectors).collect();
                let mut role = inner.role.lock();
                let Role::Writer(state) = &mut *role else {
                    break;
                };
                let added = state
                    .writer
                    .add_vectors(Tier::Full, &full.info().id, items)?;
                report.embedded += added;
                report.remaining = state.writer.missing_count(Tier::Full);
            }
            Err(e) => {
                report.errors.push(e.to_string());
                // The same group would fail again at once; the next call retries.
                break;
            }
        }
        progress(&report);
        if started.elapsed() >= budget {
            break;
        }
    }
    let mut role = inner.role.lock();
    if let Role::Writer(state) = &mut *role {
        if state.writer.commit_vectors()? {
            report.committed = true;
            inner.publish(state)?;
        }
        report.remaining = state.writer.missing_count(Tier::Full);
        report.chunks = state.writer.live_count();
        report.generation = state.writer.generation();
    }
    inner.log.lock().embedded += report.embedded;
    Ok(report)
}
