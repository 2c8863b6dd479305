//! The embedding model gives up threads while other processes keep every core busy, and
//! its vectors do not change when it does (real MiniLM through llama.cpp, real busy
//! processes).

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scry_models::{Embedder, EmbedderOptions, LlamaEmbedder};

/// Busy processes, one per online CPU, killed when dropped.
struct Hogs(Vec<Child>);

impl Hogs {
    fn start() -> Hogs {
        let cpus = Command::new("getconf")
            .arg("_NPROCESSORS_ONLN")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(2);
        Hogs(
            (0..cpus)
                .map(|_| {
                    Command::new("yes")
                        .stdout(Stdio::null())
                        .spawn()
                        .expect("yes runs")
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn every_core_busy_elsewhere_leaves_one_thread_and_the_same_vectors() {
    // Where the kernel does not say how busy it is (not Linux), nothing adapts.
    if !std::path::Path::new("/proc/loadavg").exists() {
        return;
    }
    let embedder = LlamaEmbedder::load(
        &common::embed_model(),
        EmbedderOptions::default().with_threads(2),
    )
    .expect("the embedding model loads");
    assert_eq!(embedder.threads_now(), 2);
    let probe = vec!["fn parse_config(path: &Path) -> Result<Config, Error>".to_string()];
    let before = embedder.embed(&probe).unwrap().vectors.remove(0);

    let texts: Vec<String> = (0..16)
        .map(|i| {
            format!("pub fn handler_{i}(request: Request) -> Response {{ route(request) }}\n")
                .repeat(8)
        })
        .collect();
    let hogs = Hogs::start();
    let started = Instant::now();
    while embedder.threads_now() == 2 && started.elapsed() < Duration::from_secs(40) {
        embedder.embed(&texts).unwrap();
    }
    let under_load = embedder.threads_now();
    let after = embedder.embed(&probe).unwrap().vectors.remove(0);
    drop(hogs);

    assert_eq!(
        under_load,
        1,
        "every core was busy for {:.0?} and decodes still used 2 threads",
        started.elapsed()
    );
    let cosine: f32 = before.iter().zip(&after).map(|(a, b)| a * b).sum();
    assert!(
        cosine > 0.9999,
        "the rebuilt context embeds differently: cosine {cosine}"
    );
}

#[test]
fn pinned_threads_never_change() {
    let embedder = LlamaEmbedder::load(
        &common::embed_model(),
        EmbedderOptions::default()
            .with_threads(2)
            .with_adapt_threads(false),
    )
    .expect("the embedding model loads");
    let texts: Vec<String> = (0..16)
        .map(|i| format!("fn f{i}() {{}}").repeat(40))
        .collect();
    let hogs = Hogs::start();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        embedder.embed(&texts).unwrap();
    }
    drop(hogs);
    assert_eq!(embedder.threads_now(), 2);
}
