//! Model configuration: which backend serves each chat role and which model embeds,
//! from a TOML file, environment variables and flags (flags win, then the environment,
//! then the workspace's `scry.toml`, then `$XDG_CONFIG_HOME/scry/config.toml`).
//!
//! ```toml
//! [embedding]
//! backend = "llama"                       # llama | openai | none
//! model = "all-MiniLM-L6-v2-f16.gguf"     # a GGUF name or path, or the server's model id
//! # url = "http://127.0.0.1:8081/v1"      # with backend = "openai"
//!
//! [models.fast]
//! backend = "auto"                        # auto | llama | openai | mlx
//! model = "SmolLM2-135M-Instruct.Q4_1.gguf"
//!
//! [models.strong]
//! backend = "openai"
//! url = "http://127.0.0.1:8080/v1"
//! model = "qwen2.5-coder-7b"
//! api_key_env = "OPENAI_API_KEY"          # the variable's name, never the key
//! fallback = "SmolLM2-135M-Instruct.Q4_1.gguf"   # local model when the server is down
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::http::HttpConfig;
use crate::{
    BackendSpec, EmbedderOptions, EmbedderSpec, GeneratorOptions, ModelError, ModelManager,
    ModelRole, resolve_model_path,
};

/// The chat model the setup script installs, used when nothing else is configured.
pub const DEFAULT_CHAT_MODEL: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The embedding model the setup script installs, used when nothing else is configured.
pub const DEFAULT_EMBED_MODEL: &str = "all-MiniLM-L6-v2-f16.gguf";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub models: ModelsSection,
    pub embedding: Option<EmbeddingConfig>,
    #[serde(default)]
    pub ask: AskSection,
}

/// The `[embedding]` section: the model that makes the index's vectors.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EmbeddingConfig {
    /// `llama` (default: a GGUF file in this process), `openai` or `none`.
    pub backend: Option<String>,
    /// A GGUF name or path (llama), or the server's model id (openai).
    pub model: Option<String>,
    pub url: Option<String>,
    /// Further servers of the same model (backend `openai`): requests go to the least
    /// loaded healthy one, and move to another when one fails.
    #[serde(default)]
    pub urls: Vec<String>,
    pub api_key_env: Option<String>,
    /// The most threads a local model uses.
    pub threads: Option<usize>,
    /// A local model decodes with fewer threads while other work keeps cores busy, and
    /// goes back up when they free (default: on). Off: always `threads`.
    pub adapt_threads: Option<bool>,
    /// The model's longest input in tokens (openai; llama reads it from the file).
    pub max_tokens: Option<usize>,
    pub timeout_secs: Option<u64>,
    pub retries: Option<u32>,
    /// Prepended to queries and to documents, for models trained with prefixes
    /// (nomic-embed: `search_query: `, `search_document: `).
    pub query_prefix: Option<String>,
    pub document_prefix: Option<String>,
    /// With a local model (`llama`): also keep the fast tier, a static table distilled
    /// from it, so the index is hybrid at once while the model's own vectors follow in
    /// the background. Default: on.
    pub fast_tier: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsSection {
    pub fast: Option<RoleConfig>,
    pub strong: Option<RoleConfig>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AskSection {
    pub budget: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RoleConfig {
    /// `auto` (default), `llama`, `openai`, `mlx` or `none`.
    pub backend: Option<String>,
    /// A GGUF name or path (local backends) or the server's model id.
    pub model: Option<String>,
    pub url: Option<String>,
    /// Further servers of the same model (backend `openai`): requests go to the least
    /// loaded healthy one, and move to another when one fails.
    #[serde(default)]
    pub urls: Vec<String>,
    pub api_key_env: Option<String>,
    pub threads: Option<usize>,
    pub context: Option<usize>,
    pub gpu_layers: Option<u32>,
    pub timeout_secs: Option<u64>,
    pub retries: Option<u32>,
    /// A local model to fall back to when this backend fails.
    pub fallback: Option<String>,
}

impl ConfigFile {
    /// Reads the user's and the workspace's config files (the workspace wins per role).
    pub fn load(
        workspace: Option<&Path>,
        explicit: Option<&Path>,
    ) -> Result<ConfigFile, ModelError> {
        let mut merged = ConfigFile::default();
        let mut files: Vec<PathBuf> = Vec::new();
        if let Some(user) = user_config_path() {
            files.push(user);
        }
        if let Some(ws) = workspace {
            files.push(ws.join("scry.toml"));
        }
        if let Some(e) = explicit {
            if !e.is_file() {
                return Err(ModelError::Config(format!(
                    "the config file {} does not exist",
                    e.display()
                )));
            }
            files.push(e.to_owned());
        }
        for f in files.iter().filter(|f| f.is_file()) {
            let text = std::fs::read_to_string(f)
                .map_err(|e| ModelError::Config(format!("cannot read {}: {e}", f.display())))?;
            let c: ConfigFile = toml::from_str(&text).map_err(|e| {
                ModelError::Config(format!("{} is not a valid Scry config: {e}", f.display()))
            })?;
            if c.models.fast.is_some() {
                merged.models.fast = c.models.fast;
            }
            if c.models.strong.is_some() {
                merged.models.strong = c.models.strong;
            }
            if c.embedding.is_some() {
                merged.embedding = c.embedding;
            }
            if c.ask.budget.is_some() {
                merged.ask.budget = c.ask.budget;
            }
        }
        Ok(merged)
    }
}

fn user_config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("scry/config.toml"))
}

/// Builds a role's backend chain. `None` for `backend = "none"` or nothing usable.
pub fn role_chain(
    role: &RoleConfig,
    default_threads: usize,
) -> Result<Vec<BackendSpec>, ModelError> {
    let backend = role.backend.as_deref().unwrap_or("auto");
    let mut options =
        GeneratorOptions::default().with_threads(role.threads.unwrap_or(default_threads));
    if let Some(c) = role.context {
        options = options.with_context_tokens(c);
    }
    if let Some(g) = role.gpu_layers {
        options = options.with_gpu_layers(g);
    }
    let local = |name: &str| -> Result<PathBuf, ModelError> { resolve_model_path(name) };
    let mut chain = Vec::new();
    match backend {
        "none" => return Ok(Vec::new()),
        "openai" => {
            chain.push(BackendSpec::OpenAi(http_config(
                role.url.as_deref(),
                &role.urls,
                role.model.as_deref(),
                role.api_key_env.as_deref(),
                role.timeout_secs,
                role.retries,
            )?));
        }
        "llama" | "auto" | "mlx" => {
            let name = role
                .model
                .clone()
                .unwrap_or_else(|| DEFAULT_CHAT_MODEL.into());
            let path = local(&name)?;
            chain.push(match backend {
                "llama" => BackendSpec::Llama {
                    model: path,
                    options: options.clone(),
                },
                "mlx" => BackendSpec::Mlx { model_dir: path },
                _ => BackendSpec::auto(&path, options.clone()),
            });
        }
        other => {
            return Err(ModelError::Config(format!(
                "unknown backend {other:?}; use auto, llama, openai, mlx or none"
            )));
        }
    }
    // A remote or MLX backend falls back to a local llama.cpp model when one is at hand.
    let fallback = role.fallback.clone().or_else(|| {
        (backend == "openai" || backend == "mlx")
            .then(|| DEFAULT_CHAT_MODEL.to_owned())
            .filter(|d| resolve_model_path(d).is_ok())
    });
    if let Some(f) = fallback {
        chain.push(BackendSpec::Llama {
            model: local(&f)?,
            options,
        });
    }
    Ok(chain)
}

/// An OpenAI-compatible server's settings, for a chat role or the embedder.
fn http_config(
    url: Option<&str>,
    more: &[String],
    model: Option<&str>,
    api_key_env: Option<&str>,
    timeout_secs: Option<u64>,
    retries: Option<u32>,
) -> Result<HttpConfig, ModelError> {
    let mut all = url.into_iter().chain(more.iter().map(String::as_str));
    let first = all.next().ok_or_else(|| {
        ModelError::Config(
            "backend \"openai\" needs a `url` (e.g. http://127.0.0.1:8080/v1), or `urls` \
             for several servers of one model"
                .into(),
        )
    })?;
    let mut http = HttpConfig::new(first, model.unwrap_or("default"))
        .with_replicas(all.map(str::to_owned).collect::<Vec<_>>());
    if let Some(var) = api_key_env {
        http = http.with_api_key_env(var);
    }
    if let Some(t) = timeout_secs {
        let t = Duration::from_secs(t.max(1));
        http = http.with_timeouts(Duration::from_secs(5).min(t), t, t);
    }
    if let Some(r) = retries {
        http.max_retries = r;
    }
    Ok(http)
}

/// The embedder an `[embedding]` section asks for; `Ok(None)` for `backend = "none"`,
/// and, with nothing configured, for a default model that is not installed (search is
/// then BM25-only, and says so).
pub fn embedding_spec(
    config: &EmbeddingConfig,
    default_threads: usize,
) -> Result<Option<EmbedderSpec>, ModelError> {
    match config.backend.as_deref().unwrap_or("llama") {
        "none" => Ok(None),
        "openai" => Ok(Some(EmbedderSpec::OpenAi {
            http: http_config(
                config.url.as_deref(),
                &config.urls,
                config.model.as_deref(),
                config.api_key_env.as_deref(),
                config.timeout_secs,
                config.retries,
            )?,
            max_tokens: config
                .max_tokens
                .unwrap_or(crate::embedding::DEFAULT_REMOTE_MAX_TOKENS),
        })),
        backend @ ("llama" | "auto" | "static") => {
            let model = match &config.model {
                // Not found: kept as given, so loading says clearly what is missing.
                Some(name) => resolve_model_path(name).unwrap_or_else(|_| PathBuf::from(name)),
                None => match resolve_model_path(DEFAULT_EMBED_MODEL) {
                    Ok(p) => p,
                    Err(_) => return Ok(None),
                },
            };
            let options = EmbedderOptions::default()
                .with_threads(config.threads.unwrap_or(default_threads))
                .with_adapt_threads(config.adapt_threads.unwrap_or(true));
            if backend == "static" {
                return Ok(Some(EmbedderSpec::Static {
                    cache_dir: static_cache_dir(&model),
                    model,
                    options,
                }));
            }
            Ok(Some(EmbedderSpec::Llama { model, options }))
        }
        other => Err(ModelError::Config(format!(
            "unknown embedding backend {other:?}; use llama, static, openai or none"
        ))),
    }
}

/// The embedders of both vector tiers an `[embedding]` section asks for: (fast, full).
/// A local model brings its static table as the fast tier unless `fast_tier = false`;
/// `backend = "static"` is the fast tier alone; a server is the full tier alone.
pub fn embedding_tiers(
    config: &EmbeddingConfig,
    default_threads: usize,
) -> Result<(Option<EmbedderSpec>, Option<EmbedderSpec>), ModelError> {
    Ok(match embedding_spec(config, default_threads)? {
        Some(s @ EmbedderSpec::Static { .. }) => (Some(s), None),
        Some(s) => {
            let fast = match &s {
                EmbedderSpec::Llama { model, options } if config.fast_tier != Some(false) => {
                    Some(EmbedderSpec::Static {
                        model: model.clone(),
                        options: options.clone(),
                        cache_dir: static_cache_dir(model),
                    })
                }
                _ => None,
            };
            (fast, Some(s))
        }
        None => (None, None),
    })
}

/// Where a model's static table is cached: a `static/` folder beside the model file
/// (every process that uses the model finds it there), or under the models directory
/// when the model's folder is read-only.
pub fn static_cache_dir(model: &Path) -> PathBuf {
    match model.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) if std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly()) => {
            dir.join("static")
        }
        _ => crate::models_dir().join("static"),
    }
}

/// Configures `manager`'s roles. With nothing configured, `fast` is the default local
/// chat model when it is installed.
pub fn configure_models(
    manager: &ModelManager,
    config: &ModelsSection,
    default_threads: usize,
) -> Result<Vec<String>, ModelError> {
    let mut notices = Vec::new();
    let fast = match &config.fast {
        Some(r) => Some(role_chain(r, default_threads)?),
        None => match resolve_model_path(DEFAULT_CHAT_MODEL) {
            Ok(path) => Some(vec![BackendSpec::auto(
                &path,
                GeneratorOptions::default().with_threads(default_threads),
            )]),
            Err(_) => {
                notices.push(format!(
                    "no chat model is configured and {DEFAULT_CHAT_MODEL} is not installed; answers will be context only (run scripts/setup.sh or `scry models pull`)"
                ));
                None
            }
        },
    };
    if let Some(chain) = fast {
        manager.configure(ModelRole::Fast, chain);
    }
    if let Some(r) = &config.strong {
        manager.configure(ModelRole::Strong, role_chain(r, default_threads)?);
    }
    Ok(notices)
}

impl RoleConfig {
    /// Reads `SCRY_<ROLE>_BACKEND`, `_MODEL`, `_URL`, `_API_KEY_ENV` over `self`.
    pub fn with_env(mut self, role: ModelRole) -> Option<RoleConfig> {
        let prefix = format!("SCRY_{}_", role.as_str().to_uppercase());
        let var = |k: &str| {
            std::env::var(format!("{prefix}{k}"))
                .ok()
                .filter(|v| !v.is_empty())
        };
        let mut any = self != RoleConfig::default();
        if let Some(v) = var("BACKEND") {
            self.backend = Some(v);
            any = true;
        }
        if let Some(v) = var("MODEL") {
            self.model = Some(v);
            any = true;
        }
        if let Some(v) = var("URL") {
            self.url = Some(v);
            any = true;
        }
        if let Some(v) = var("API_KEY_ENV") {
            self.api_key_env = Some(v);
        }
        any.then_some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_servers_of_one_model_become_one_pool() {
        let toml = r#"
            [models.strong]
            backend = "openai"
            url = "http://10.0.0.1:8080/v1/"
            urls = ["http://10.0.0.2:8080/v1", "http://10.0.0.3:8080/v1/"]
            model = "coder"
        "#;
        let file: ConfigFile = toml::from_str(toml).unwrap();
        let role = file.models.strong.unwrap();
        let http = http_config(
            role.url.as_deref(),
            &role.urls,
            Some("coder"),
            None,
            None,
            None,
        )
        .unwrap();
        assert_eq!(http.base_url, "http://10.0.0.1:8080/v1");
        assert_eq!(
            http.replicas,
            ["http://10.0.0.2:8080/v1", "http://10.0.0.3:8080/v1"]
        );
        // `urls` alone will do; neither is an error that says what to write.
        let only = http_config(None, &role.urls, None, None, None, None).unwrap();
        assert_eq!(only.base_url, "http://10.0.0.2:8080/v1");
        assert_eq!(only.replicas.len(), 1);
        let err = http_config(None, &[], None, None, None, None).unwrap_err();
        assert!(err.to_string().contains("`urls`"), "{err}");
    }

    #[test]
    fn an_embedding_section_becomes_a_spec_like_a_chat_role() {
        let remote = EmbeddingConfig {
            backend: Some("openai".into()),
            url: Some("http://127.0.0.1:8081/v1".into()),
            model: Some("bge-small".into()),
            api_key_env: Some("EMBED_KEY".into()),
            ..EmbeddingConfig::default()
        };
        match embedding_spec(&remote, 2).unwrap() {
            Some(EmbedderSpec::OpenAi { http, max_tokens }) => {
                assert_eq!(http.base_url, "http://127.0.0.1:8081/v1");
                assert_eq!(http.model, "bge-small");
                assert_eq!(http.api_key_env.as_deref(), Some("EMBED_KEY"));
                assert_eq!(max_tokens, crate::DEFAULT_REMOTE_MAX_TOKENS);
            }
            other => panic!("{other:?}"),
        }
        let none = EmbeddingConfig {
            backend: Some("none".into()),
            ..EmbeddingConfig::default()
        };
        assert!(embedding_spec(&none, 2).unwrap().is_none());
        // A named file that is not there is kept as a path: loading it later fails with
        // a clear "does not exist", and search stays BM25-only.
        let missing = EmbeddingConfig {
            model: Some("/no/such/model.gguf".into()),
            ..EmbeddingConfig::default()
        };
        match embedding_spec(&missing, 3).unwrap() {
            Some(EmbedderSpec::Llama { model, options }) => {
                assert_eq!(model, PathBuf::from("/no/such/model.gguf"));
                assert_eq!(options.threads, 3);
                assert!(options.adapt_threads, "adapting is the default");
            }
            other => panic!("{other:?}"),
        }
        let pinned = EmbeddingConfig {
            model: Some("/m.gguf".into()),
            threads: Some(4),
            adapt_threads: Some(false),
            ..EmbeddingConfig::default()
        };
        match embedding_spec(&pinned, 2).unwrap() {
            Some(EmbedderSpec::Llama { options, .. }) => {
                assert_eq!(options.threads, 4);
                assert!(!options.adapt_threads);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_static_backend_is_the_named_model_with_its_table_beside_the_models() {
        // A folder that does not exist: the table goes under the models directory.
        let fast = EmbeddingConfig {
            backend: Some("static".into()),
            model: Some("/models/mini.gguf".into()),
            ..EmbeddingConfig::default()
        };
        match embedding_spec(&fast, 2).unwrap() {
            Some(EmbedderSpec::Static {
                model,
                options,
                cache_dir,
            }) => {
                assert_eq!(model, PathBuf::from("/models/mini.gguf"));
                assert_eq!(options.threads, 2);
                assert_eq!(cache_dir, crate::models_dir().join("static"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_remote_embedder_without_a_url_or_an_unknown_backend_is_a_config_error() {
        let no_url = EmbeddingConfig {
            backend: Some("openai".into()),
            ..EmbeddingConfig::default()
        };
        let e = embedding_spec(&no_url, 2).unwrap_err();
        assert!(
            matches!(e, ModelError::Config(ref m) if m.contains("url")),
            "{e}"
        );
        let odd = EmbeddingConfig {
            backend: Some("tpu".into()),
            ..EmbeddingConfig::default()
        };
        let e = embedding_spec(&odd, 2).unwrap_err();
        assert!(e.to_string().contains("unknown embedding backend"), "{e}");
    }

    #[test]
    fn the_embedding_section_is_read_from_the_workspace_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("scry.toml"),
            "[embedding]\nbackend = \"openai\"\nurl = \"http://h/v1\"\nquery_prefix = \"q: \"\n",
        )
        .unwrap();
        let f = ConfigFile::load(Some(dir.path()), None).unwrap();
        let e = f.embedding.unwrap();
        assert_eq!(e.url.as_deref(), Some("http://h/v1"));
        assert_eq!(e.query_prefix.as_deref(), Some("q: "));
        std::fs::write(dir.path().join("scry.toml"), "[embedding]\nmodle = \"x\"\n").unwrap();
        let err = ConfigFile::load(Some(dir.path()), None).unwrap_err();
        assert!(err.to_string().contains("modle"), "{err}");
    }

    #[test]
    fn a_local_model_brings_its_fast_tier_beside_it_unless_turned_off() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("mini.gguf");
        let local = EmbeddingConfig {
            model: Some(model.display().to_string()),
            ..EmbeddingConfig::default()
        };
        match embedding_tiers(&local, 2).unwrap() {
            (
                Some(EmbedderSpec::Static {
                    model: m,
                    cache_dir,
                    ..
                }),
                Some(EmbedderSpec::Llama { model: full, .. }),
            ) => {
                assert_eq!(m, model);
                assert_eq!(full, model);
                assert_eq!(cache_dir, dir.path().join("static"));
            }
            other => panic!("{other:?}"),
        }
        let off = EmbeddingConfig {
            fast_tier: Some(false),
            ..local.clone()
        };
        assert!(matches!(
            embedding_tiers(&off, 2).unwrap(),
            (None, Some(EmbedderSpec::Llama { .. }))
        ));
        let only_fast = EmbeddingConfig {
            backend: Some("static".into()),
            ..local
        };
        assert!(matches!(
            embedding_tiers(&only_fast, 2).unwrap(),
            (Some(EmbedderSpec::Static { .. }), None)
        ));
    }
}
