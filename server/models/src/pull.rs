//! `scry models pull`: a GGUF from Hugging Face into Scry's models directory, with the
//! checksum the Hub publishes for it checked before the file is put in place.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::ModelError;
use crate::gguf::read_gguf_header;

#[derive(Debug, Clone)]
pub struct PullOptions {
    /// `HF_ENDPOINT`, else `https://huggingface.co`.
    pub endpoint: String,
    pub revision: String,
    pub dest_dir: PathBuf,
    /// A sha256 to insist on; otherwise the Hub's `X-Linked-Etag` is used.
    pub sha256: Option<String>,
}

impl PullOptions {
    pub fn new(dest_dir: PathBuf) -> Self {
        PullOptions {
            endpoint: std::env::var("HF_ENDPOINT")
                .ok()
                .filter(|e| !e.is_empty())
                .unwrap_or_else(|| "https://huggingface.co".into())
                .trim_end_matches('/')
                .to_owned(),
            revision: "main".into(),
            dest_dir,
            sha256: None,
        }
    }
}

/// Progress callbacks: bytes so far and the total when known.
pub trait PullProgress {
    fn progress(&mut self, done: u64, total: Option<u64>);
}

impl<F: FnMut(u64, Option<u64>)> PullProgress for F {
    fn progress(&mut self, done: u64, total: Option<u64>) {
        self(done, total)
    }
}

fn valid_repo(repo: &str) -> bool {
    let parts: Vec<_> = repo.split('/').collect();
    parts.len() == 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
}

fn valid_file(file: &str) -> bool {
    file.ends_with(".gguf")
        && !file.starts_with('/')
        && file
            .split('/')
            .all(|p| !p.is_empty() && p != ".." && p != ".")
        && !file.contains('\\')
}

/// Downloads `file` of `repo` and returns where it now lies.
pub fn pull_model(
    repo: &str,
    file: &str,
    opts: &PullOptions,
    progress: &mut dyn PullProgress,
) -> Result<PathBuf, ModelError> {
    if !valid_repo(repo) {
        return Err(ModelError::Download(format!(
            "{repo:?} is not a Hugging Face repository name (owner/name)"
        )));
    }
    if !valid_file(file) {
        return Err(ModelError::Download(format!(
            "{file:?} is not a GGUF file path inside the repository"
        )));
    }
    let url = format!("{}/{repo}/resolve/{}/{file}", opts.endpoint, opts.revision);
    let offline = |e: ureq::Error| {
        ModelError::Download(format!(
            "cannot reach {} ({e}); are you offline? Copy the file into {} instead",
            opts.endpoint,
            opts.dest_dir.display()
        ))
    };
    let token = std::env::var("HF_TOKEN").ok().filter(|t| !t.is_empty());

    // The Hub puts the LFS sha256 on the first response, before redirecting to its CDN.
    let head_agent: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut head = head_agent.head(&url);
    if let Some(t) = &token {
        head = head.header("Authorization", format!("Bearer {t}"));
    }
    let head = head.call().map_err(offline)?;
    let status = head.status().as_u16();
    if status == 401 || status == 403 {
        return Err(ModelError::Download(format!(
            "{repo} needs access rights (HTTP {status}); set HF_TOKEN"
        )));
    }
    if status == 404 {
        return Err(ModelError::Download(format!(
            "{file} not found in {repo} at revision {}",
            opts.revision
        )));
    }
    if status >= 400 {
        return Err(ModelError::Download(format!(
            "the Hub answered HTTP {status}"
        )));
    }
    let header = |name: &str| {
        head.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim_matches('"').to_owned())
    };
    let published = header("x-linked-etag")
        .filter(|e| e.len() == 64 && e.chars().all(|c| c.is_ascii_hexdigit()));
    let expected = opts.sha256.clone().map(|s| s.to_lowercase()).or(published);

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut get = agent.get(&url);
    if let Some(t) = &token {
        get = get.header("Authorization", format!("Bearer {t}"));
    }
    let response = get.call().map_err(offline)?;
    let status = response.status().as_u16();
    if status >= 400 {
        return Err(ModelError::Download(format!(
            "the download answered HTTP {status}"
        )));
    }
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());

    std::fs::create_dir_all(&opts.dest_dir).map_err(|e| {
        ModelError::Download(format!("cannot create {}: {e}", opts.dest_dir.display()))
    })?;
    let name = Path::new(file)
        .file_name()
        .map_or_else(|| file.to_owned(), |n| n.to_string_lossy().into_owned());
    let dest = opts.dest_dir.join(&name);
    let part = opts.dest_dir.join(format!(".{name}.part"));
    let result = (|| {
        let mut out = std::fs::File::create(&part)
            .map_err(|e| ModelError::Download(format!("cannot write {}: {e}", part.display())))?;
        let mut reader = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader();
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut done = 0u64;
        progress.progress(0, total);
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| ModelError::Download(format!("the download broke off: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| {
                ModelError::Download(format!("cannot write {}: {e}", part.display()))
            })?;
            done += n as u64;
            progress.progress(done, total);
        }
        if let Some(t) = total
            && t != done
        {
            return Err(ModelError::Download(format!("got {done} of {t} bytes")));
        }
        out.sync_all()
            .map_err(|e| ModelError::Download(e.to_string()))?;
        let actual: String = hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        match &expected {
            Some(want) if *want != actual => {
                return Err(ModelError::Download(format!(
                    "checksum mismatch: expected sha256 {want}, got {actual}"
                )));
            }
            Some(_) => {}
            None => tracing::warn!(
                sha256 = %actual,
                "the server published no sha256 for this file; recorded the downloaded one"
            ),
        }
        read_gguf_header(&part)?;
        std::fs::rename(&part, &dest).map_err(|e| {
            ModelError::Download(format!("cannot move into {}: {e}", dest.display()))
        })?;
        Ok(dest.clone())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_escape_the_models_directory_are_refused() {
        assert!(valid_repo("HuggingFaceTB/SmolLM2-135M-Instruct-GGUF"));
        assert!(!valid_repo("../etc"));
        assert!(!valid_repo("a/b/c"));
        assert!(valid_file("sub/model.Q4_0.gguf"));
        assert!(!valid_file("../model.gguf"));
        assert!(!valid_file("/abs/model.gguf"));
        assert!(!valid_file("model.bin"));
    }
}
