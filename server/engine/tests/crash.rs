//! `kill -9` the indexer at random points: every reopen lands on exactly one committed
//! generation, the lexical and vector indexes agree with the manifest, leftovers are
//! cleaned up, and the index ends equal to a from-scratch index of the tree.
//!
//! The child indexer is this test binary itself, re-run with `child_indexer` selected.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use rand::{Rng, SeedableRng, rngs::StdRng};
use scry_engine::{EmbedderSpec, Engine, EngineConfig};

const CHILD_WS: &str = "SCRY_CRASH_CHILD_WS";
const CHILD_INDEX: &str = "SCRY_CRASH_CHILD_INDEX";
const CHILD_MODEL: &str = "SCRY_CRASH_CHILD_MODEL";
/// Set: the model comes with its fast tier, and the child upgrades the full tier.
const CHILD_TIERS: &str = "SCRY_CRASH_CHILD_TIERS";

fn child_config(
    ws: &Path,
    index: &Path,
    model: Option<std::path::PathBuf>,
    tiers: bool,
) -> EngineConfig {
    let fast = model
        .clone()
        .filter(|_| tiers)
        .map(|m| EmbedderSpec::Static {
            cache_dir: scry_models::config::static_cache_dir(&m),
            model: m,
            options: Default::default(),
        });
    EngineConfig::builder([ws])
        .index_dir(index)
        .embedding_model(model)
        .fast_embedder(fast)
        .embed_threads(1)
        .files_per_commit(5)
        .build()
}

/// Does nothing unless run as the child: then it indexes and rewrites files until killed.
#[test]
fn child_indexer() {
    let (Some(ws), Some(index)) = (std::env::var_os(CHILD_WS), std::env::var_os(CHILD_INDEX))
    else {
        return;
    };
    let model = std::env::var_os(CHILD_MODEL).map(Into::into);
    let tiers = std::env::var_os(CHILD_TIERS).is_some();
    let ws = Path::new(&ws);
    let engine =
        Engine::open(child_config(ws, Path::new(&index), model, tiers)).expect("child opens");
    let mut round = 0u64;
    loop {
        engine
            .refresh(&Default::default(), &mut |_| {})
            .expect("child refresh");
        if tiers {
            engine
                .upgrade_vectors(Duration::from_millis(300), &|| false, &mut |_| {})
                .expect("child upgrade");
        }
        for i in 0..20 {
            let n = (round * 7 + i) % 120;
            write(
                ws,
                &format!("m/f{n}.rs"),
                &format!("/// Round {round}.\nfn f{n}_r{round}() -> u64 {{ {round} }}\n"),
            );
        }
        if round.is_multiple_of(3) {
            let _ = std::fs::remove_file(ws.join(format!("m/f{}.rs", round % 120)));
        }
        round += 1;
    }
}

/// How the killed child embeds.
#[derive(Clone, Copy, PartialEq)]
enum Vectors {
    None,
    Model,
    /// The model's fast tier as it indexes, the model itself in upgrade steps.
    Tiers,
}

fn kill_loop(iterations: usize, vectors: Vectors, max_delay_ms: u64, seed: u64) {
    let with_model = vectors != Vectors::None;
    let ws = tempfile::tempdir().unwrap();
    let idx = tempfile::tempdir().unwrap();
    let root = ws.path();
    for n in 0..120 {
        write(root, &format!("m/f{n}.rs"), &format!("fn f{n}() {{}}\n"));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let exe = std::env::current_exe().unwrap();
    let mut last_generation = 0;
    for i in 0..iterations {
        let mut cmd = Command::new(&exe);
        cmd.args([
            "--exact",
            "child_indexer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_WS, root)
        .env(CHILD_INDEX, idx.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        if with_model {
            cmd.env(CHILD_MODEL, model_path());
        }
        if vectors == Vectors::Tiers {
            cmd.env(CHILD_TIERS, "1");
        }
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(0..max_delay_ms)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let engine = match vectors {
            Vectors::Tiers => {
                Engine::open(child_config(root, idx.path(), Some(model_path()), true)).unwrap()
            }
            Vectors::Model => open_with(root, idx.path(), &Counting::load()),
            Vectors::None => open_lexical(root, idx.path()),
        };
        engine
            .verify()
            .unwrap_or_else(|e| panic!("after kill {i}: {e}"));
        let g = engine.generation();
        assert!(
            g >= last_generation || !engine.status().notices.is_empty(),
            "generation went back from {last_generation} to {g} silently"
        );
        last_generation = g;
    }
    // Finally the index catches up and equals a from-scratch index of the tree.
    let model = Counting::load();
    let engine = if with_model {
        open_with(root, idx.path(), &model)
    } else {
        open_lexical(root, idx.path())
    };
    refresh(&engine);
    engine.verify().unwrap();
    let incremental = engine.chunk_inventory().unwrap();
    drop(engine);
    let idx2 = tempfile::tempdir().unwrap();
    let fresh = if with_model {
        open_with(root, idx2.path(), &model)
    } else {
        open_lexical(root, idx2.path())
    };
    refresh(&fresh);
    assert_eq!(incremental, fresh.chunk_inventory().unwrap());
}

/// A crash at each step of a commit, with and without vectors: the child aborts exactly
/// there (`SCRY_FAILPOINT`), on its first commit after some generations exist.
#[test]
fn a_crash_at_every_commit_step_is_recovered() {
    for with_model in [false, true] {
        for point in scry_engine::FAILPOINTS {
            let ws = tempfile::tempdir().unwrap();
            let idx = tempfile::tempdir().unwrap();
            let root = ws.path();
            for n in 0..12 {
                write(root, &format!("m/f{n}.rs"), &format!("fn f{n}() {{}}\n"));
            }
            let model = with_model.then(model_path);
            {
                let e = Engine::open(child_config(root, idx.path(), model.clone(), false)).unwrap();
                refresh(&e);
            }
            write(root, "m/f3.rs", "fn changed_before_the_crash() {}\n");
            std::fs::remove_file(root.join("m/f4.rs")).unwrap();
            let mut cmd = Command::new(std::env::current_exe().unwrap());
            cmd.args([
                "--exact",
                "child_indexer",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_WS, root)
            .env(CHILD_INDEX, idx.path())
            .env("SCRY_FAILPOINT", point)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
            if let Some(m) = &model {
                cmd.env(CHILD_MODEL, m);
            }
            let mut child = cmd.spawn().unwrap();
            let t = std::time::Instant::now();
            let status = loop {
                if let Some(st) = child.try_wait().unwrap() {
                    break st;
                }
                if t.elapsed() > Duration::from_secs(60) {
                    child.kill().unwrap();
                    panic!("{point}: the child never reached the failpoint");
                }
                std::thread::sleep(Duration::from_millis(20));
            };
            assert!(!status.success(), "{point}: the child did not crash");
            // A read-only open (`scry status`) reads what is there and changes nothing:
            // the repair is left to the next writer.
            let before = digest(idx.path());
            {
                let mut cfg = child_config(root, idx.path(), None, false);
                cfg.read_only = true;
                let reader = Engine::open(cfg).unwrap();
                let notices = reader.status().notices;
                if *point == "commit-after-lexical" {
                    assert!(
                        notices.iter().any(|n| n.contains("interrupted")),
                        "{point}: {notices:?}"
                    );
                }
            }
            assert_eq!(
                before,
                digest(idx.path()),
                "{point}: a read-only open wrote"
            );
            let e = Engine::open(child_config(root, idx.path(), model.clone(), false)).unwrap();
            e.verify()
                .unwrap_or_else(|err| panic!("{point} (model: {with_model}): {err}"));
            let report = refresh(&e);
            e.verify().unwrap();
            // Only what changed is embedded again: a crash between the lexical commit and
            // the manifest once dropped every vector, and the next run re-embedded all.
            assert!(
                report.chunks_embedded <= 2,
                "{point}: {} chunks embedded again",
                report.chunks_embedded
            );
            assert_eq!(
                found(&e, "changed_before_the_crash"),
                ["m/f3.rs"],
                "{point}"
            );
            let inventory = e.chunk_inventory().unwrap();
            drop(e);
            let idx2 = tempfile::tempdir().unwrap();
            let fresh = Engine::open(child_config(root, idx2.path(), model, false)).unwrap();
            refresh(&fresh);
            assert_eq!(inventory, fresh.chunk_inventory().unwrap(), "{point}");
        }
    }
}

/// Every file under `dir` with a hash of its bytes, to see that nothing changed.
fn digest(dir: &Path) -> Vec<(std::path::PathBuf, u64)> {
    use std::hash::{Hash, Hasher};
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                std::fs::read(&path).unwrap().hash(&mut h);
                out.push((path.strip_prefix(dir).unwrap().to_owned(), h.finish()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn kill_dash_nine_200_times_bm25() {
    kill_loop(200, Vectors::None, 400, 17);
}

#[test]
fn kill_dash_nine_with_vectors() {
    kill_loop(25, Vectors::Model, 2500, 29);
}

#[test]
fn kill_dash_nine_while_the_full_tier_follows_the_fast_one() {
    kill_loop(12, Vectors::Tiers, 3000, 31);
}
