//! llama.cpp's OpenMP threads wait for one another at a barrier after every operation.
//! libgomp's default lets a waiting thread spin for ~300,000 iterations (about a
//! millisecond) before it sleeps: on a machine that runs anything else (an editor, a
//! compiler, a browser) those spins burn the CPU the other threads need, and throughput
//! collapses. Sleeping at once (`OMP_WAIT_POLICY=PASSIVE`) pays a futex wake-up at every
//! barrier instead, even on an idle machine. A short spin, 3,000 iterations (tens of
//! microseconds: about one operation's imbalance between threads), keeps both.
//!
//! Measured here (2 cores, MiniLM on anyhow's sources, `scripts/bench.sh`'s engine
//! example, 3 interleaved runs each, embedding tokens/s): idle, passive 2,188-2,422 and
//! `GOMP_SPINCOUNT=3000` 2,471-2,629; beside one CPU-bound process, passive 1,346-1,372
//! and 3,000 spins 1,375-1,390 (the embedder then decodes with one thread, see
//! `scry_models`' `cpu_share`). libgomp's default spin lost ~20% beside that process.
//!
//! The OpenMP runtime reads its settings once, when it loads, before `main` runs:
//! setting them from `main` is too late. So a `scry` started without any executes
//! itself again, at once, with them set (same process id, arguments and streams).
//! `KMP_BLOCKTIME=0` asks the same of LLVM's runtime, where a build links that one.
//! Settings the user made are kept.

/// What a user may have set that we must not override.
const USER_SETTINGS: [&str; 3] = ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME"];
/// libgomp's spin before a waiting thread sleeps.
pub const SPIN_COUNT: &str = "3000";

/// Re-executes this process with a short OpenMP spin when the user set no wait policy;
/// returns (doing nothing) when one is set or re-executing fails.
pub fn ensure_short_spin() {
    if USER_SETTINGS.iter().any(|v| std::env::var_os(v).is_some()) {
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
        // `exec` returns only on failure: then run as we are.
        let _ = cmd
            .args(args)
            .env("GOMP_SPINCOUNT", SPIN_COUNT)
            .env("KMP_BLOCKTIME", "0")
            .exec();
    }
}
