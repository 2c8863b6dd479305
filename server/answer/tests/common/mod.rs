//! Shared by the answer tests: a fixture workspace, a lexical engine over it, and the
//! real chat model.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;

use scry_engine::{Engine, EngineConfig};
use scry_models::{
    BackendSpec, Generator, GeneratorOptions, LlamaGenerator, ModelManager, ModelRole,
};
pub use scry_test_support::{chat_model, write};

pub fn options() -> GeneratorOptions {
    GeneratorOptions::default()
        .with_threads(1)
        .with_context_tokens(4096)
}

pub fn generator() -> Arc<dyn Generator> {
    Arc::new(LlamaGenerator::load(&chat_model(), options()).expect("chat model loads"))
}

pub fn manager_with(roles: &[ModelRole]) -> ModelManager {
    let m = ModelManager::new();
    for r in roles {
        m.configure(
            *r,
            vec![BackendSpec::Llama {
                model: chat_model(),
                options: options(),
            }],
        );
    }
    m
}

/// A small workspace about a rate limiter, with enough code to overflow small budgets.
pub fn fixture(root: &Path) {
    write(
        root,
        "src/limiter.rs",
        r#"//! A token-bucket rate limiter.

/// Refills `rate` tokens per second up to `burst`.
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: f64) -> TokenBucket {
        TokenBucket { rate, burst, tokens: burst }
    }

    /// Takes one token if there is one; the caller must wait otherwise.
    pub fn try_acquire(&mut self, elapsed_secs: f64) -> bool {
        self.tokens = (self.tokens + elapsed_secs * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
"#,
    );
    write(
        root,
        "src/server.py",
        r#"""HTTP handlers that use the rate limiter."""

def handle_request(limiter, request):
    """Rejects the request with 429 when the bucket is empty."""
    if not limiter.try_acquire(request.elapsed):
        return Response(status=429, body="slow down")
    return route(request)


def route(request):
    """Dispatches on the path."""
    handlers = {"/": index, "/health": health}
    return handlers.get(request.path, not_found)(request)
"#,
    );
    for i in 0..30 {
        write(
            root,
            &format!("src/gen/module_{i}.rs"),
            &format!(
                "/// Limiter helper number {i}: computes a refill rate.\npub fn refill_rate_{i}(burst: f64, window: f64) -> f64 {{\n    let base = burst / window;\n    base * {i}.0 + rate_limit_margin()\n}}\n\n/// Margin for limiter rate {i}.\nfn rate_limit_margin() -> f64 {{\n    0.{i}\n}}\n"
            ),
        );
    }
    write(
        root,
        "README.md",
        "# Limiter\n\nA token bucket rate limiter with an HTTP front end.\n",
    );
}

pub fn engine(root: &Path, index: &Path) -> Engine {
    let config = EngineConfig::builder([root]).index_dir(index).build();
    // No embedding model configured: BM25 only.
    let e = Engine::open(config).expect("engine opens");
    e.refresh(&Default::default(), &mut |_| {})
        .expect("indexes");
    e
}
