//! Engine configuration, validated once and built with [`EngineConfig::builder`].

use std::path::PathBuf;
use std::time::Duration;

use scry_chunk::ChunkOptions;
use scry_models::EmbedderSpec;

use crate::fusion::Fusion;

/// File names that usually hold secrets; not indexed unless configured otherwise.
pub const DEFAULT_SECRET_PATTERNS: &[&str] = &[
    ".env",
    ".env.*",
    "*.env",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "*.asc",
    "*.gpg",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "credentials",
    "credentials.*",
    "*.credentials",
    ".netrc",
    ".npmrc",
    ".pypirc",
    ".htpasswd",
    ".git-credentials",
    "secrets.*",
    "*.tfstate",
];

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub roots: Vec<PathBuf>,
    /// Where the index lives; `None`: the per-workspace cache directory.
    pub index_dir: Option<PathBuf>,
    /// The full vector tier: the embedding model; `None`: none.
    pub embedder: Option<EmbedderSpec>,
    /// The fast vector tier: a static table distilled from the embedding model; `None`:
    /// none. With neither tier, search is BM25-only. With both, `refresh` gives every
    /// chunk its fast vector and leaves the full tier to [`crate::Engine::upgrade_vectors`].
    pub fast_embedder: Option<EmbedderSpec>,
    /// Whether [`crate::Engine::open`] loads the full tier's model when there is a fast
    /// tier. Off for one-shot commands: they search BM25 and the fast tier, without
    /// paying for a model load (the full tier's vectors are kept as committed).
    pub load_full_tier: bool,
    /// Prepended to queries and documents for models trained with prefixes (nomic, e5).
    pub query_prefix: String,
    pub document_prefix: String,
    pub max_file_bytes: u64,
    pub include_hidden: bool,
    pub secret_patterns: Vec<String>,
    /// Extra gitignore-style globs to exclude.
    pub exclude: Vec<String>,
    /// How retrievers' results are combined (`fusion.rs`); `rrf_k` is the k of
    /// Reciprocal Rank Fusion when that is chosen.
    pub fusion: Fusion,
    pub rrf_k: f32,
    pub chunk: ChunkOptions,
    pub watch_debounce: Duration,
    /// Files per commit while indexing, so an interrupted run keeps its progress.
    pub files_per_commit: usize,
    /// With an embedding model, source bytes per commit too: embedding is the slow part
    /// (64 KiB is about a minute on two laptop cores), so a kill loses at most that.
    pub embed_bytes_per_commit: u64,
    /// When another process writes the index: follow it (read each generation it
    /// commits, take over when it exits) instead of failing with `Locked`.
    pub follow_when_locked: bool,
    /// Never write: read the last commit as it is on disk, without taking the lock,
    /// repairing what a crash left or creating the index directory (`scry status`,
    /// `--no-refresh` commands). Implies following a writer.
    pub read_only: bool,
}

impl EngineConfig {
    /// Whether the full tier's model stays unloaded (see [`EngineConfig::load_full_tier`]).
    pub fn defers_full_tier(&self) -> bool {
        !self.load_full_tier && self.fast_embedder.is_some()
    }

    /// Whether this engine will have `tier`'s model: configured, and not deferred.
    pub(crate) fn loads_tier(&self, tier: crate::Tier) -> bool {
        match tier {
            crate::Tier::Fast => self.fast_embedder.is_some(),
            crate::Tier::Full => self.embedder.is_some() && !self.defers_full_tier(),
        }
    }

    pub fn builder<P: Into<PathBuf>>(roots: impl IntoIterator<Item = P>) -> EngineConfigBuilder {
        EngineConfigBuilder {
            config: EngineConfig {
                roots: roots.into_iter().map(Into::into).collect(),
                index_dir: None,
                embedder: None,
                fast_embedder: None,
                load_full_tier: true,
                query_prefix: String::new(),
                document_prefix: String::new(),
                max_file_bytes: 1 << 20,
                include_hidden: false,
                secret_patterns: DEFAULT_SECRET_PATTERNS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
                exclude: Vec::new(),
                fusion: Fusion::default(),
                rrf_k: 60.0,
                chunk: ChunkOptions::default(),
                watch_debounce: Duration::from_millis(150),
                files_per_commit: 400,
                embed_bytes_per_commit: 64 << 10,
                follow_when_locked: false,
                read_only: false,
            },
        }
    }
}

pub struct EngineConfigBuilder {
    config: EngineConfig,
}

impl EngineConfigBuilder {
    pub fn index_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.config.index_dir = Some(dir.into());
        self
    }
    pub fn embedder(mut self, spec: Option<EmbedderSpec>) -> Self {
        self.config.embedder = spec;
        self
    }
    /// The fast tier (see [`EngineConfig::fast_embedder`]).
    pub fn fast_embedder(mut self, spec: Option<EmbedderSpec>) -> Self {
        self.config.fast_embedder = spec;
        self
    }
    /// See [`EngineConfig::load_full_tier`].
    pub fn load_full_tier(mut self, yes: bool) -> Self {
        self.config.load_full_tier = yes;
        self
    }
    /// A GGUF embedding model run by llama.cpp in this process (`None`: BM25 only).
    pub fn embedding_model(mut self, model: Option<PathBuf>) -> Self {
        self.config.embedder = model.map(EmbedderSpec::llama);
        self
    }
    /// Threads of a llama.cpp embedder (no effect on a remote one).
    pub fn embed_threads(mut self, n: usize) -> Self {
        for spec in [&mut self.config.embedder, &mut self.config.fast_embedder] {
            if let Some(
                EmbedderSpec::Llama { options, .. } | EmbedderSpec::Static { options, .. },
            ) = spec
            {
                *options = std::mem::take(options).with_threads(n);
            }
        }
        self
    }
    pub fn prefixes(mut self, query: impl Into<String>, document: impl Into<String>) -> Self {
        self.config.query_prefix = query.into();
        self.config.document_prefix = document.into();
        self
    }
    pub fn max_file_bytes(mut self, n: u64) -> Self {
        self.config.max_file_bytes = n;
        self
    }
    pub fn include_hidden(mut self, yes: bool) -> Self {
        self.config.include_hidden = yes;
        self
    }
    /// Replaces the secret file patterns (an empty list indexes secret-looking files).
    pub fn secret_patterns(mut self, patterns: Vec<String>) -> Self {
        self.config.secret_patterns = patterns;
        self
    }
    pub fn exclude(mut self, globs: Vec<String>) -> Self {
        self.config.exclude = globs;
        self
    }
    pub fn fusion(mut self, fusion: Fusion) -> Self {
        self.config.fusion = fusion;
        self
    }
    pub fn rrf_k(mut self, k: f32) -> Self {
        self.config.rrf_k = if k.is_finite() && k > 0.0 { k } else { 60.0 };
        self
    }
    pub fn chunk_options(mut self, opts: ChunkOptions) -> Self {
        self.config.chunk = opts;
        self
    }
    pub fn watch_debounce(mut self, d: Duration) -> Self {
        self.config.watch_debounce = d;
        self
    }
    pub fn follow_when_locked(mut self, yes: bool) -> Self {
        self.config.follow_when_locked = yes;
        self
    }
    pub fn read_only(mut self, yes: bool) -> Self {
        self.config.read_only = yes;
        self
    }

    pub fn files_per_commit(mut self, n: usize) -> Self {
        self.config.files_per_commit = n.max(1);
        self
    }
    pub fn embed_bytes_per_commit(mut self, n: u64) -> Self {
        self.config.embed_bytes_per_commit = n.max(1);
        self
    }

    pub fn build(self) -> EngineConfig {
        self.config
    }
}
