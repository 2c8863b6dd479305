//! Finished `search`, `ask` and `plan` commands, written to the index's activity
//! journal so a dashboard on the same index lists them beside its own calls.

use std::time::Instant;

use scry_answer::AnswerError;
use scry_engine::Engine;
use scry_journal::{Activity, Face, Journal, Outcome};
use scry_models::Fallback;

/// Writes one finished command: `fill` says what it returned.
pub fn record(engine: &Engine, command: &str, started: Instant, fill: impl FnOnce(&mut Activity)) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut a = Activity::new(Face::Cli, "cli", command, ms);
    fill(&mut a);
    Journal::new(engine.index_dir()).append(&a);
}

/// What an `ask` or a `plan` produced, as the journal records it.
pub struct Answered<'a> {
    pub sources: usize,
    pub fallbacks: &'a [Fallback],
    pub notices: &'a [String],
    /// Tokens the model wrote; `None` when no model answered.
    pub tokens: Option<usize>,
}

/// Writes a finished `ask` or `plan`: what `answered` says of its outcome, or how it
/// failed or was interrupted.
pub fn record_answer<T>(
    engine: &Engine,
    command: &str,
    started: Instant,
    outcome: &Result<T, AnswerError>,
    answered: impl FnOnce(&T) -> Answered<'_>,
) {
    record(engine, command, started, |a| match outcome {
        Ok(o) => {
            let done = answered(o);
            a.results = Some(done.sources);
            for f in done.fallbacks {
                a.notice(&format!("fallback: {f}"));
            }
            for n in done.notices {
                a.notice(n);
            }
            if let Some(tokens) = done.tokens {
                a.answered(tokens);
            }
        }
        Err(AnswerError::Cancelled) => a.outcome = Outcome::Cancelled,
        Err(e) => a.failed(Outcome::Failed, &e.to_string()),
    });
}

/// A command that failed with `e`.
pub fn failed(a: &mut Activity, e: &dyn std::fmt::Display) {
    a.failed(Outcome::Failed, &e.to_string());
}
