//! Finding models: Scry's models directory, the Hugging Face cache, and a running Ollama.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::gguf::{GgufMetadata, read_gguf_metadata};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelSource {
    /// Scry's models directory (`SCRY_MODELS`, else the XDG data directory).
    Scry,
    HuggingFace,
    Ollama,
}

impl ModelSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelSource::Scry => "scry",
            ModelSource::HuggingFace => "huggingface",
            ModelSource::Ollama => "ollama",
        }
    }
}

#[derive(Debug, Clone)]
pub struct DiscoveredModel {
    /// File name, `org/repo/file.gguf` for the HF cache, or Ollama's model name.
    pub name: String,
    pub source: ModelSource,
    /// A path, or `ollama:NAME`.
    pub location: String,
    pub size: u64,
    pub architecture: Option<String>,
    pub parameters: Option<String>,
    pub quantization: Option<String>,
    pub context_length: Option<u64>,
    /// Whether it can embed (pooled output) rather than chat.
    pub embedding: bool,
    /// Why its metadata could not be read (a damaged file), if so.
    pub problem: Option<String>,
}

/// `SCRY_MODELS`, else `$XDG_DATA_HOME/scry/models`, else `~/.local/share/scry/models`.
pub fn models_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SCRY_MODELS").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    // The XDG spec says a relative value is to be ignored.
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    data.join("scry/models")
}

/// `HF_HUB_CACHE`, else `$HF_HOME/hub`, else `~/.cache/huggingface/hub`.
pub fn hf_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("HF_HUB_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("HF_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("hub");
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| PathBuf::from("."));
    cache.join("huggingface/hub")
}

/// Every model found, local ones first. Ollama is asked only when `ollama` is given
/// (its base URL) and answers within a second.
pub fn discover_models(ollama: Option<&str>) -> Vec<DiscoveredModel> {
    let mut out = local_models();
    if let Some(url) = ollama {
        out.extend(ollama_models(url));
    }
    out
}

pub(crate) fn local_models() -> Vec<DiscoveredModel> {
    let mut out = Vec::new();
    let dir = models_dir();
    for path in gguf_files(&dir, 2) {
        let name = path
            .strip_prefix(&dir)
            .unwrap_or(&path)
            .display()
            .to_string();
        out.push(describe(name, ModelSource::Scry, &path));
    }
    let hf = hf_cache_dir();
    if let Ok(repos) = std::fs::read_dir(&hf) {
        let mut repos: Vec<_> = repos.flatten().map(|e| e.path()).collect();
        repos.sort();
        for repo in repos {
            let Some(repo_name) = repo
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_prefix("models--"))
                .map(|n| n.replace("--", "/"))
            else {
                continue;
            };
            let snapshots = repo.join("snapshots");
            for path in gguf_files(&snapshots, 4) {
                let rel = path
                    .strip_prefix(&snapshots)
                    .ok()
                    .and_then(|p| {
                        p.iter()
                            .skip(1)
                            .collect::<PathBuf>()
                            .to_str()
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
                out.push(describe(
                    format!("{repo_name}/{rel}"),
                    ModelSource::HuggingFace,
                    &path,
                ));
            }
        }
    }
    out
}

fn gguf_files(dir: &Path, depth: usize) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() && depth > 0 {
            out.extend(gguf_files(&path, depth - 1));
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
            && path.is_file()
        {
            out.push(path);
        }
    }
    out
}

fn describe(name: String, source: ModelSource, path: &Path) -> DiscoveredModel {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut m = DiscoveredModel {
        name,
        source,
        location: path.display().to_string(),
        size,
        architecture: None,
        parameters: None,
        quantization: None,
        context_length: None,
        embedding: false,
        problem: None,
    };
    match read_gguf_metadata(path) {
        Ok(GgufMetadata {
            architecture,
            context_length,
            quantization,
            parameters,
            pooling,
            ..
        }) => {
            m.architecture = Some(architecture);
            m.context_length = context_length;
            m.quantization = quantization;
            m.parameters = Some(human_count(parameters));
            m.embedding = pooling.is_some_and(|p| p != 0);
        }
        Err(e) => m.problem = Some(e.to_string()),
    }
    m
}

/// 134515008 → "135M".
pub fn human_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.1}B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.0}M", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.0}K", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// Models of a running Ollama (`/api/tags`, then `/api/show` for the context length).
fn ollama_models(base: &str) -> Vec<DiscoveredModel> {
    let base = if base.contains("://") {
        base.trim_end_matches('/').to_owned()
    } else {
        format!("http://{}", base.trim_end_matches('/'))
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(1)))
        .http_status_as_error(false)
        .build()
        .into();
    let Some(tags) = get_json(&agent, &format!("{base}/api/tags")) else {
        return Vec::new();
    };
    let Some(models) = tags.get("models").and_then(Value::as_array) else {
        return Vec::new();
    };
    models
        .iter()
        .filter_map(|m| {
            let name = m.get("name")?.as_str()?.to_owned();
            let details = m.get("details");
            let detail = |k: &str| {
                details
                    .and_then(|d| d.get(k))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            };
            let show = agent
                .post(&format!("{base}/api/show"))
                .header("Content-Type", "application/json")
                .send(serde_json::json!({ "model": name }).to_string().as_bytes())
                .ok()
                .and_then(|r| r.into_body().read_to_string().ok())
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            let context_length = show.as_ref().and_then(|s| {
                s.get("model_info")?
                    .as_object()?
                    .iter()
                    .find(|(k, _)| k.ends_with(".context_length"))
                    .and_then(|(_, v)| v.as_u64())
            });
            Some(DiscoveredModel {
                location: format!("ollama:{name}"),
                name,
                source: ModelSource::Ollama,
                size: m.get("size").and_then(Value::as_u64).unwrap_or(0),
                architecture: detail("family"),
                parameters: detail("parameter_size"),
                quantization: detail("quantization_level"),
                context_length,
                embedding: false,
                problem: None,
            })
        })
        .collect()
}

fn get_json(agent: &ureq::Agent, url: &str) -> Option<Value> {
    let response = agent.get(url).call().ok()?;
    if !response.status().is_success() {
        return None;
    }
    let text = response.into_body().read_to_string().ok()?;
    serde_json::from_str(&text).ok()
}
