//! What every test suite shares: where the real models are, llama.cpp's own
//! `llama-server`, writing fixture files, a sandbox for the built `scry` binary.
//!
//! Tests that need a model or a tool fail loudly when it is missing (with the command
//! that installs it): a test that skips itself cannot fail.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Where the setup script installs models: `SCRY_MODELS`, else the XDG data directory.
pub fn models_dir() -> PathBuf {
    std::env::var_os("SCRY_MODELS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_DATA_HOME")
                .filter(|d| !d.is_empty())
                .map(|d| PathBuf::from(d).join("scry/models"))
        })
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/scry/models"))
        })
        .expect("SCRY_MODELS or HOME")
}

fn installed(file: &str) -> PathBuf {
    let p = models_dir().join(file);
    assert!(
        p.is_file(),
        "{} is missing: run scripts/setup.sh (it installs the test models)",
        p.display()
    );
    p
}

/// all-MiniLM-L6-v2 F16, the embedding model: `SCRY_TEST_EMBED_MODEL`, else
/// `../shared/models/` beside the checkout, else the installed one.
pub fn embed_model() -> PathBuf {
    if let Some(p) = std::env::var_os("SCRY_TEST_EMBED_MODEL") {
        return PathBuf::from(p);
    }
    const FILE: &str = "all-MiniLM-L6-v2-f16.gguf";
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/models");
    let p = shared.join(FILE);
    if p.is_file() {
        return p;
    }
    installed(FILE)
}

/// A models folder shared by every test process, holding only `static/`: distilling
/// the embedding model's static table takes about a minute, so tests that need the
/// table (and not the distilling itself) find it here after the first has built it.
pub fn shared_static_models_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("scry-test-models");
    std::fs::create_dir_all(dir.join("static")).unwrap();
    dir
}

/// SmolLM2-135M-Instruct Q4_1: the default chat model.
pub fn chat_model() -> PathBuf {
    installed("SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// Gemma 3 270M (base) Q4_K_M: a second architecture, for hot-swapping.
pub fn second_chat_model() -> PathBuf {
    installed("gemma-3-270m-q4_k_m.gguf")
}

/// Threads for llama.cpp in tests: 1 keeps two test threads from fighting over 2 cores.
pub fn threads() -> usize {
    1
}

/// Writes `text` to `root/rel`, creating directories.
pub fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("a file has a parent")).unwrap();
    std::fs::write(p, text).unwrap();
}

/// CPU seconds this process has used (user + system), from /proc.
pub fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// llama.cpp's own OpenAI-compatible server: `SCRY_LLAMA_SERVER`, else where
/// scripts/llama-tools.sh builds it.
pub fn llama_server_bin() -> PathBuf {
    let p = std::env::var_os("SCRY_LLAMA_SERVER")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| {
                PathBuf::from(h)
                    .join(".cache/scry/tools/llama-cpp-python-0.3.36/build/bin/llama-server")
            })
        })
        .expect("SCRY_LLAMA_SERVER or HOME");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/llama-tools.sh (scripts/test.sh does)",
        p.display()
    );
    p
}

/// A `llama-server` process on a free loopback port, killed when dropped.
pub struct LlamaServer {
    child: Child,
    /// `http://127.0.0.1:PORT`, without `/v1`.
    pub url: String,
}

impl LlamaServer {
    /// Serves `model` with one thread and one slot (plus `extra` arguments), once its
    /// `/health` answers.
    pub fn start(model: &Path, extra: &[&str]) -> LlamaServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(llama_server_bin())
            .args(["-m", &model.to_string_lossy()])
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["-t", "1", "-c", "2048", "-np", "1", "--log-disable"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("llama-server starts");
        let server = LlamaServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let t = Instant::now();
        loop {
            let ok = ureq::get(&format!("{}/health", server.url))
                .call()
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return server;
            }
            assert!(
                t.elapsed() < Duration::from_secs(120),
                "llama-server did not come up"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The OpenAI-compatible base URL.
    pub fn v1(&self) -> String {
        format!("{}/v1", self.url)
    }
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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

/// A sandbox for the binary: a workspace directory and private cache and data
/// directories, so the user's own index and models are never touched.
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
        write(&self.ws(), rel, text);
    }

    /// `scry ARGS` in the workspace with a private XDG cache and no default model.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(scry_bin());
        c.args(args)
            .current_dir(self.ws())
            .env("XDG_CACHE_HOME", self.dir.path().join("cache"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env_remove("SCRY_INDEX_DIR")
            .env_remove("SCRY_EMBED_MODEL")
            .env_remove("SCRY_EMBED_BACKEND")
            .env_remove("SCRY_EMBED_URL")
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

/// The secret leak corpus of `server/secrets/tests/corpus`: files full of secrets in
/// many languages and formats, and the list of what must never come back in clear.
pub mod leak_corpus {
    use std::path::{Path, PathBuf};

    pub fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../server/secrets/tests/corpus")
    }

    /// The corpus files (hidden ones included), by file name.
    pub fn files() -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir().join("leaks"))
            .expect("the leak corpus")
            .map(|e| e.expect("a corpus entry").path())
            .collect();
        files.sort();
        files
    }

    /// `(form, secret)` from `secrets.tsv`.
    pub fn secrets() -> Vec<(String, String)> {
        std::fs::read_to_string(dir().join("secrets.tsv"))
            .expect("secrets.tsv")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                let (form, secret) = l.split_once('\t').expect("form<TAB>secret");
                (form.to_owned(), secret.to_owned())
            })
            .collect()
    }

    /// The forms whose secret appears in `seen`.
    pub fn leaked<'a>(secrets: &'a [(String, String)], seen: &str) -> Vec<&'a str> {
        secrets
            .iter()
            .filter(|(_, s)| seen.contains(s.as_str()))
            .map(|(f, _)| f.as_str())
            .collect()
    }
}

/// Makes a FIFO at `path` (with `mkfifo`, as a user would).
pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}
