//! llama.cpp's OpenMP threads wait for work by spinning: on a machine that runs anything
//! else (an editor, a compiler, a browser) they burn the CPU the other threads need, and
//! throughput collapses. Passive waiting costs little when the machine is idle.
//!
//! Measured here (2 cores, psf/requests indexed with the default MiniLM model): idle,
//! 21.4 s spinning and 22.8 s passive; beside one CPU-bound process, 48.7 s spinning and
//! 38.8 s passive.
//!
//! The OpenMP runtime reads `OMP_WAIT_POLICY` once, when it loads, before `main` runs:
//! setting it from `main` is too late. So a `scry` started without one executes itself
//! again, at once, with `OMP_WAIT_POLICY=PASSIVE` (same process id, arguments and
//! streams). A policy the user set is kept.

const VAR: &str = "OMP_WAIT_POLICY";

/// Re-executes this process with a passive OpenMP wait policy when none is set; returns
/// (doing nothing) when one is set or re-executing fails.
pub fn ensure_passive_wait() {
    if std::env::var_os(VAR).is_some() {
        return;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let arg0 = args.next();
        let mut cmd = std::process::Command::new(exe);
        if let Some(a) = arg0 {
            cmd.arg0(a);
        }
        // `exec` returns only on failure: then run as we are, spinning.
        let _ = cmd.args(args).env(VAR, "PASSIVE").exec();
    }
}
