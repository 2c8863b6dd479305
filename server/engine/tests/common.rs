//! Shared helpers: the real test model, fixture workspaces, an embedding-call counter.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scry_engine::{Engine, EngineConfig};
use scry_models::{Embedder, EmbedderInfo, EmbedderOptions, Embeddings, LlamaEmbedder, ModelError};

pub use scry_test_support::write;

/// The all-MiniLM-L6-v2 GGUF the tests embed with.
pub fn model_path() -> PathBuf {
    scry_test_support::embed_model()
}

/// The real llama.cpp embedder, wrapped to count the texts it is asked to embed.
pub struct Counting {
    inner: LlamaEmbedder,
    pub texts: AtomicUsize,
    pub calls: AtomicUsize,
    /// Every text embedded, in order.
    pub log: std::sync::Mutex<Vec<String>>,
}

impl Counting {
    pub fn load() -> Arc<Counting> {
        let inner = LlamaEmbedder::load(&model_path(), EmbedderOptions::default().with_threads(2))
            .expect("the test model loads");
        Arc::new(Counting {
            inner,
            texts: AtomicUsize::new(0),
            calls: AtomicUsize::new(0),
            log: Default::default(),
        })
    }
    pub fn texts(&self) -> usize {
        self.texts.load(Ordering::SeqCst)
    }
}

impl Embedder for Counting {
    fn info(&self) -> &EmbedderInfo {
        self.inner.info()
    }
    fn embed(&self, texts: &[String]) -> Result<Embeddings, ModelError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.texts.fetch_add(texts.len(), Ordering::SeqCst);
        self.log.lock().unwrap().extend(texts.iter().cloned());
        self.inner.embed(texts)
    }
    fn count_tokens(&self, text: &str) -> Result<usize, ModelError> {
        self.inner.count_tokens(text)
    }
}

/// A small multi-language workspace with things that must not be indexed.
pub fn fixture(root: &Path) {
    write(
        root,
        "src/config.rs",
        r#"//! Configuration.

/// Reads the settings file from disk and parses it into a Config.
pub fn parse_config(path: &str) -> Config {
    let text = std::fs::read_to_string(path).unwrap();
    Config::from_toml(&text)
}

pub struct Config {
    pub port: u16,
}
"#,
    );
    write(
        root,
        "src/server.rs",
        r#"/// Accepts TCP connections and spawns a handler for each client.
pub fn accept_connections(listener: TcpListener) {
    for stream in listener.incoming() {
        std::thread::spawn(move || handle_client(stream));
    }
}
"#,
    );
    write(
        root,
        "app/session.py",
        r#"class SessionStore:
    """Keeps user sessions in memory with an expiry time."""

    def expire_old_sessions(self, now):
        self.sessions = {k: v for k, v in self.sessions.items() if v.expires > now}
"#,
    );
    write(
        root,
        "web/cart.ts",
        r#"/** Computes the total price of the items in a shopping cart, with tax. */
export function cartTotal(items: Item[], taxRate: number): number {
  return items.reduce((sum, i) => sum + i.price * i.qty, 0) * (1 + taxRate);
}
"#,
    );
    write(
        root,
        "cmd/main.go",
        "package main\n\n// main prints a greeting.\nfunc main() {\n\tprintln(\"hello gopher\")\n}\n",
    );
    write(
        root,
        "docs/guide.md",
        "# Guide\n\n## Installing\n\nRun the installer script and restart your shell.\n\n## Troubleshooting\n\nIf the daemon does not start, check the log file.\n",
    );
    write(
        root,
        "data/settings.json",
        "{\n  \"port\": 8080,\n  \"verbose\": true\n}\n",
    );
    write(root, ".gitignore", "build/\n*.log\n");
    write(
        root,
        "build/generated.rs",
        "pub fn generated_should_not_be_indexed() {}\n",
    );
    write(root, "debug.log", "log_line_should_not_be_indexed\n");
    write(root, ".scryignore", "vendor/\n");
    write(
        root,
        "vendor/lib.rs",
        "pub fn vendored_should_not_be_indexed() {}\n",
    );
    write(root, "secrets/.env", "API_KEY=should_not_be_indexed\n");
    write(
        root,
        "secrets/server.pem",
        "-----BEGIN PRIVATE KEY-----\nshould_not_be_indexed\n",
    );
    std::fs::write(
        root.join("src/blob.rs"),
        b"binary\0\0\0should_not_be_indexed",
    )
    .unwrap();
}

pub fn config(root: &Path, index: &Path) -> EngineConfig {
    EngineConfig::builder([root])
        .index_dir(index)
        .embed_threads(2)
        .build()
}

pub fn open_with(root: &Path, index: &Path, e: &Arc<Counting>) -> Engine {
    Engine::open_with_embedder(config(root, index), Ok(e.clone() as Arc<dyn Embedder>))
        .expect("engine opens")
}

/// No embedding model configured: BM25 only.
pub fn open_lexical(root: &Path, index: &Path) -> Engine {
    Engine::open(config(root, index)).expect("engine opens")
}

pub fn refresh(e: &Engine) -> scry_engine::RefreshReport {
    e.refresh(&Default::default(), &mut |_| {})
        .expect("refresh succeeds")
}

/// Paths of the hits for a query.
pub fn paths(e: &Engine, q: &str, mode: scry_engine::SearchMode) -> Vec<String> {
    let r = e
        .search(&scry_engine::SearchRequest::new(q).k(5).mode(mode))
        .unwrap();
    r.hits.into_iter().map(|h| h.file.path).collect()
}

/// Paths of the hits whose text contains `ident` exactly (BM25 also returns partial
/// matches: `old_marker` finds `new_marker` through `marker`).
pub fn found(e: &Engine, ident: &str) -> Vec<String> {
    let r = e
        .search(
            &scry_engine::SearchRequest::new(ident)
                .k(20)
                .mode(scry_engine::SearchMode::Lexical),
        )
        .unwrap();
    r.hits
        .into_iter()
        .filter(|h| h.text.contains(ident))
        .map(|h| h.file.path)
        .collect()
}
