//! Finished `search`, `ask` and `plan` commands, written to the index's activity
//! journal so a dashboard on the same index lists them beside its own calls.

use std::time::Instant;

use scry_engine::Engine;
use scry_journal::{Activity, Face, Journal, Outcome};

/// Writes one finished command: `fill` says what it returned.
pub fn record(engine: &Engine, command: &str, started: Instant, fill: impl FnOnce(&mut Activity)) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let mut a = Activity::new(Face::Cli, "cli", command, ms);
    fill(&mut a);
    Journal::new(engine.index_dir()).append(&a);
}

/// A command that failed with `e`.
pub fn failed(a: &mut Activity, e: &dyn std::fmt::Display) {
    a.failed(Outcome::Failed, &e.to_string());
}

/// A command interrupted with Ctrl-C.
pub fn cancelled(a: &mut Activity) {
    a.outcome = Outcome::Cancelled;
}
