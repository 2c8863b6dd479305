//! Helpers for end-to-end tests: find the built `scry` binary, run it in a sandbox.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `scry` binary: `SCRY_BIN`, else the one cargo built beside this test binary.
pub fn scry_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("SCRY_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/scry
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("scry"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build -p scry-cli` first (or set SCRY_BIN)",
        bin.display()
    );
    bin
}

/// The test embedding model (see the engine's tests).
pub fn model_path() -> PathBuf {
    if let Some(p) = std::env::var_os("SCRY_TEST_EMBED_MODEL") {
        return PathBuf::from(p);
    }
    // Cargo sets CARGO_MANIFEST_DIR when it runs a test too; the run-time value is right
    // even when a cached build came from a checkout at another path.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let p = manifest.join("../../shared/models/all-MiniLM-L6-v2-f16.gguf");
    assert!(
        p.exists(),
        "test embedding model not found at {}; set SCRY_TEST_EMBED_MODEL",
        p.display()
    );
    p
}

/// A sandbox: a workspace directory and private cache/data directories, so the user's
/// own index and models are never touched.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("ws")).unwrap();
        Sandbox { dir }
    }

    pub fn ws(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    pub fn write(&self, rel: &str, text: &str) {
        let p = self.ws().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// `scry ARGS` in the workspace with a private XDG cache and no default model.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(scry_bin());
        c.args(args)
            .current_dir(self.ws())
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env_remove("SCRY_INDEX_DIR")
            .env_remove("SCRY_EMBED_MODEL")
            .env_remove("SCRY_MODELS")
            .env_remove("SCRY_LOG");
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("scry runs")
    }

    /// Runs and parses stdout as JSON, asserting success.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "scry {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout of scry {args:?} is not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }
}

impl Default for Sandbox {
    fn default() -> Self {
        Sandbox::new()
    }
}

/// The chat model the setup script installs (SmolLM2-135M-Instruct Q4_1).
pub fn chat_model_path() -> PathBuf {
    let dir = std::env::var_os("SCRY_MODELS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/scry/models"))
        })
        .expect("SCRY_MODELS or HOME");
    let p = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup.sh",
        p.display()
    );
    p
}
