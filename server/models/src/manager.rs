//! Model lifecycle: which backend serves each role, loading on first use, unloading,
//! hot-swapping while running, and the fallback chain.
//!
//! A role (`fast`, `strong`) has a chain of backends, tried in order. A backend that
//! cannot load or is unreachable is skipped and the skip is recorded as a [`Fallback`],
//! which callers must show: a fallback is never silent. When the whole chain fails the
//! caller gets no generator and answers with the packed context alone.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::generate::Generator;
use crate::http::{HttpConfig, HttpGenerator};
use crate::llama_gen::{GeneratorOptions, LlamaGenerator};
use crate::{ModelError, discover, memory};

/// Which kind of backend a model runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// llama.cpp in this process.
    Llama,
    /// An OpenAI-compatible server.
    OpenAi,
    /// MLX on Apple Silicon.
    Mlx,
}

impl fmt::Display for BackendKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendKind::Llama => "llama.cpp",
            BackendKind::OpenAi => "openai-compatible",
            BackendKind::Mlx => "mlx",
        })
    }
}

/// How to get one generator.
#[derive(Debug, Clone)]
pub enum BackendSpec {
    Llama {
        model: PathBuf,
        options: GeneratorOptions,
    },
    OpenAi(HttpConfig),
    /// A directory with an MLX model (`config.json`, safetensors, `tokenizer.json`).
    Mlx {
        model_dir: PathBuf,
    },
}

impl BackendSpec {
    /// Picks a backend for a local model: MLX for an MLX model directory when this build
    /// has it (macOS arm64 with `--features mlx`), otherwise llama.cpp, offloaded to a GPU
    /// when the build has a GPU backend and a device is present.
    pub fn auto(model: &Path, options: GeneratorOptions) -> BackendSpec {
        if model.is_dir() && model.join("config.json").is_file() && cfg!(feature = "mlx") {
            return BackendSpec::Mlx {
                model_dir: model.to_owned(),
            };
        }
        BackendSpec::Llama {
            model: model.to_owned(),
            options,
        }
    }

    pub fn kind(&self) -> BackendKind {
        match self {
            BackendSpec::Llama { .. } => BackendKind::Llama,
            BackendSpec::OpenAi(_) => BackendKind::OpenAi,
            BackendSpec::Mlx { .. } => BackendKind::Mlx,
        }
    }

    /// A short human description (no credentials).
    pub fn describe(&self) -> String {
        match self {
            BackendSpec::Llama { model, .. } => format!(
                "llama.cpp {}",
                model.file_name().map_or_else(
                    || model.display().to_string(),
                    |n| n.to_string_lossy().into_owned()
                )
            ),
            BackendSpec::OpenAi(c) => {
                format!("{} at {}", c.model, crate::http::redact_url(&c.base_url))
            }
            BackendSpec::Mlx { model_dir } => format!("mlx {}", model_dir.display()),
        }
    }

    /// Loads (or, for a server, probes) the backend.
    pub fn load(&self) -> Result<Arc<dyn Generator>, ModelError> {
        match self {
            BackendSpec::Llama { model, options } => {
                Ok(Arc::new(LlamaGenerator::load(model, options.clone())?))
            }
            BackendSpec::OpenAi(config) => {
                let g = HttpGenerator::new(config.clone());
                g.probe()?;
                Ok(Arc::new(g))
            }
            #[cfg(all(feature = "mlx", target_os = "macos", target_arch = "aarch64"))]
            BackendSpec::Mlx { model_dir } => {
                Ok(Arc::new(crate::mlx::MlxGenerator::load(model_dir)?))
            }
            #[cfg(not(all(feature = "mlx", target_os = "macos", target_arch = "aarch64")))]
            BackendSpec::Mlx { .. } => Err(ModelError::MlxUnavailable),
        }
    }
}

/// The two model roles of the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelRole {
    /// Small and quick: simple questions, drafts.
    Fast,
    /// Larger: hard questions, validation.
    Strong,
}

impl ModelRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelRole::Fast => "fast",
            ModelRole::Strong => "strong",
        }
    }
    pub fn parse(s: &str) -> Option<ModelRole> {
        match s {
            "fast" => Some(ModelRole::Fast),
            "strong" => Some(ModelRole::Strong),
            _ => None,
        }
    }
}

/// A backend that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fallback {
    pub from: String,
    pub reason: String,
}

/// The reasons of a chain of fallbacks, in order, for a notice.
pub fn describe_fallbacks(fallbacks: &[Fallback]) -> String {
    fallbacks
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl fmt::Display for Fallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} unavailable ({})", self.from, self.reason)
    }
}

/// The outcome of [`ModelManager::acquire`].
pub struct Picked {
    pub generator: Option<Arc<dyn Generator>>,
    /// Position in the role's chain of the backend picked, for [`ModelManager::acquire_after`].
    pub index: usize,
    pub fallbacks: Vec<Fallback>,
}

struct Slot {
    chain: Vec<BackendSpec>,
    loaded: Option<(usize, Arc<dyn Generator>)>,
}

/// Owns the loaded generators.
#[derive(Default)]
pub struct ModelManager {
    slots: Mutex<HashMap<ModelRole, Slot>>,
}

impl ModelManager {
    pub fn new() -> Self {
        ModelManager::default()
    }

    /// Sets a role's chain. A model loaded for the old chain is unloaded.
    pub fn configure(&self, role: ModelRole, chain: Vec<BackendSpec>) {
        let old = self.slots.lock().insert(
            role,
            Slot {
                chain,
                loaded: None,
            },
        );
        drop(old);
        memory::release_freed_memory();
    }

    pub fn configured_roles(&self) -> Vec<ModelRole> {
        let mut roles: Vec<_> = self
            .slots
            .lock()
            .iter()
            .filter(|(_, s)| !s.chain.is_empty())
            .map(|(r, _)| *r)
            .collect();
        roles.sort();
        roles
    }

    /// Each configured role with its chain of backends, described for a status line.
    pub fn describe_chains(&self) -> Vec<(ModelRole, Vec<String>)> {
        let mut out: Vec<_> = self
            .slots
            .lock()
            .iter()
            .filter(|(_, s)| !s.chain.is_empty())
            .map(|(r, s)| (*r, s.chain.iter().map(BackendSpec::describe).collect()))
            .collect();
        out.sort_by_key(|(r, _)| *r);
        out
    }

    /// Whether some role answers through an HTTP server (a prompt may leave this
    /// process, and this machine, depending on where the server runs).
    pub fn has_http_backend(&self) -> bool {
        self.slots
            .lock()
            .values()
            .any(|s| s.chain.iter().any(|b| matches!(b, BackendSpec::OpenAi(_))))
    }

    pub fn is_configured(&self, role: ModelRole) -> bool {
        self.slots
            .lock()
            .get(&role)
            .is_some_and(|s| !s.chain.is_empty())
    }

    /// The role's generator, loading it on first use, walking the chain past backends
    /// that fail.
    pub fn acquire(&self, role: ModelRole) -> Picked {
        self.acquire_from(role, 0, Vec::new())
    }

    /// After the backend at `index` failed a request: the next one in the chain. The
    /// failed one is unloaded.
    pub fn acquire_after(&self, role: ModelRole, index: usize, reason: &ModelError) -> Picked {
        let from = {
            let mut slots = self.slots.lock();
            let Some(slot) = slots.get_mut(&role) else {
                return Picked {
                    generator: None,
                    index,
                    fallbacks: Vec::new(),
                };
            };
            if slot.loaded.as_ref().is_some_and(|(i, _)| *i == index) {
                slot.loaded = None;
            }
            slot.chain.get(index).map(BackendSpec::describe)
        };
        let fallbacks = from
            .map(|from| {
                vec![Fallback {
                    from,
                    reason: reason.to_string(),
                }]
            })
            .unwrap_or_default();
        self.acquire_from(role, index + 1, fallbacks)
    }

    fn acquire_from(&self, role: ModelRole, start: usize, mut fallbacks: Vec<Fallback>) -> Picked {
        let mut slots = self.slots.lock();
        let Some(slot) = slots.get_mut(&role) else {
            return Picked {
                generator: None,
                index: start,
                fallbacks,
            };
        };
        if let Some((i, g)) = &slot.loaded
            && *i >= start
            && g.health().is_usable()
        {
            return Picked {
                generator: Some(g.clone()),
                index: *i,
                fallbacks,
            };
        }
        for (i, spec) in slot.chain.iter().enumerate().skip(start) {
            match spec.load() {
                Ok(g) => {
                    tracing::info!(role = role.as_str(), backend = %spec.describe(), "model ready");
                    slot.loaded = Some((i, g.clone()));
                    return Picked {
                        generator: Some(g),
                        index: i,
                        fallbacks,
                    };
                }
                Err(e) => {
                    tracing::warn!(role = role.as_str(), backend = %spec.describe(), error = %e, "falling back");
                    fallbacks.push(Fallback {
                        from: spec.describe(),
                        reason: e.to_string(),
                    });
                }
            }
        }
        Picked {
            generator: None,
            index: slot.chain.len(),
            fallbacks,
        }
    }

    /// Unloads a role's model. Memory is freed once requests still holding it finish.
    pub fn unload(&self, role: ModelRole) {
        let old = self
            .slots
            .lock()
            .get_mut(&role)
            .and_then(|s| s.loaded.take());
        drop(old);
        memory::release_freed_memory();
    }

    pub fn unload_all(&self) {
        let old: Vec<_> = self
            .slots
            .lock()
            .values_mut()
            .filter_map(|s| s.loaded.take())
            .collect();
        drop(old);
        memory::release_freed_memory();
    }

    /// Replaces a role's model while running: the new one is loaded first, so requests
    /// never see the role empty; the old one is freed when its last request ends.
    pub fn swap(
        &self,
        role: ModelRole,
        spec: BackendSpec,
    ) -> Result<Arc<dyn Generator>, ModelError> {
        let new = spec.load()?;
        let old = {
            let mut slots = self.slots.lock();
            let slot = slots.entry(role).or_insert_with(|| Slot {
                chain: Vec::new(),
                loaded: None,
            });
            // The new model becomes the head of the chain; its fallbacks stay.
            match slot.chain.first_mut() {
                Some(head) => *head = spec,
                None => slot.chain.push(spec),
            }
            slot.loaded.replace((0, new.clone()))
        };
        drop(old);
        memory::release_freed_memory();
        Ok(new)
    }

    /// What each role has loaded now.
    pub fn loaded(&self) -> Vec<(ModelRole, crate::ModelInfo)> {
        let mut out: Vec<_> = self
            .slots
            .lock()
            .iter()
            .filter_map(|(r, s)| s.loaded.as_ref().map(|(_, g)| (*r, g.info().clone())))
            .collect();
        out.sort_by_key(|(r, _)| *r);
        out
    }
}

impl Drop for ModelManager {
    fn drop(&mut self) {
        self.unload_all();
    }
}

/// Finds a model by path or by name in Scry's models directory and the Hugging Face
/// cache.
pub fn resolve_model_path(name: &str) -> Result<PathBuf, ModelError> {
    let direct = Path::new(name);
    if direct.exists() {
        return Ok(direct.to_owned());
    }
    let dir = discover::models_dir();
    for candidate in [dir.join(name), dir.join(format!("{name}.gguf"))] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let wanted = name.trim_end_matches(".gguf").to_lowercase();
    for m in discover::local_models() {
        let file = m
            .name
            .rsplit('/')
            .next()
            .unwrap_or(&m.name)
            .trim_end_matches(".gguf")
            .to_lowercase();
        if file == wanted || m.name.to_lowercase() == name.to_lowercase() {
            return Ok(PathBuf::from(m.location));
        }
    }
    Err(ModelError::UnknownModel {
        name: name.to_owned(),
        looked_in: format!(
            "{} and the Hugging Face cache ({})",
            dir.display(),
            discover::hf_cache_dir().display()
        ),
    })
}
