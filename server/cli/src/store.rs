//! `--store`: publishing this machine's index of a repository into a shared Postgres
//! store (`scry index --store`), and searching one (`scry search --store`). The search
//! runs the engine's own retrieval and ranking stage through the storage seam; only
//! the rows come from Postgres.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use scry_engine::{Engine, Export, SearchRequest, Tier};
use scry_store_pg::{BlockingPgStore, ChunkRow, RepoFilter, StoreError, StoreSearch};

use crate::args::StoreArgs;

/// Rows per COPY: a batch's rows are held once more as they are written.
const ROWS_PER_BATCH: usize = 2_000;

/// How long `scry index --store` waits for another indexer of the same repository.
const LOCK_WAIT: Duration = Duration::from_secs(30 * 60);

/// What a publish did.
pub struct Published {
    pub repo: String,
    pub generation: i64,
    pub chunks: usize,
    pub vectors: usize,
    pub model: String,
    pub seconds: f64,
}

/// The repository name `scry index --store PATH` publishes under: `--repo`, else the
/// folder's name.
pub fn repo_name(args: &StoreArgs, root: &Path) -> Result<String> {
    match args.repos.as_slice() {
        [one] => Ok(one.clone()),
        [] => {
            let abs = std::fs::canonicalize(root)
                .with_context(|| format!("{}: cannot resolve", root.display()))?;
            abs.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .context("the indexed folder has no name: pass --repo NAME")
        }
        _ => bail!("scry index --store publishes one repository: pass one --repo"),
    }
}

/// Publishes the engine's current generation as the next generation of `repo`: every
/// chunk with its fast-tier vector (the table a query is embedded with in
/// microseconds), made active in one transaction.
pub fn publish(engine: &Engine, urls: &[String], org: &str, repo: &str) -> Result<Published> {
    let started = Instant::now();
    let snap = engine.snapshot();
    let export = snap.export(Tier::Fast)?;
    let Export {
        model,
        dims,
        chunks,
        ..
    } = export;
    let Some(model) = model else {
        bail!(
            "a shared store holds vectors: index with an embedding model (its fast tier) \
             to publish, not --no-model"
        );
    };
    // Among shards, the one the repository's name hashes to.
    let store = BlockingPgStore::open_for_writing(urls, org, repo, dims, &model)?;
    let mut writer = store.block_on(async {
        let waited = Instant::now();
        let mut said = false;
        loop {
            match store.store().writer(org, repo).await {
                Err(StoreError::Locked { .. }) if waited.elapsed() < LOCK_WAIT => {
                    if !said {
                        crate::output::notice(&format!(
                            "another indexer is publishing {org}/{repo}; waiting for it"
                        ));
                        said = true;
                    }
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => return other,
            }
        }
    })?;
    let vectors = chunks.iter().filter(|(_, v)| v.is_some()).count();
    let count = chunks.len();
    let mut rows = Vec::with_capacity(ROWS_PER_BATCH);
    let mut chunks = chunks.into_iter();
    loop {
        rows.clear();
        rows.extend(
            chunks
                .by_ref()
                .take(ROWS_PER_BATCH)
                .map(|(chunk, embedding)| ChunkRow { chunk, embedding }),
        );
        if rows.is_empty() {
            break;
        }
        store.block_on(writer.add(&rows))?;
    }
    let generation = store.block_on(writer.commit())?;
    Ok(Published {
        repo: repo.to_owned(),
        generation,
        chunks: count,
        vectors,
        model,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Searches the shared store with the query embedded by the fast tier's table (when the
/// store's vectors are that model's).
pub fn search(
    urls: &[String],
    args: &StoreArgs,
    req: &SearchRequest,
    config: &scry_engine::EngineConfig,
) -> Result<StoreSearch> {
    let embedder = match &config.fast_embedder {
        Some(spec) => Some(spec.load().context("loading the fast tier's table")?),
        None => None,
    };
    let store = BlockingPgStore::open_shards(urls)?;
    let lexical = req.mode == scry_engine::SearchMode::Lexical;
    let vector = match embedder.as_deref().filter(|_| !lexical) {
        Some(e) => match store.query_vector(e, &config.query_prefix, &req.query) {
            Some(v) => Some(v.context("embedding the query")?),
            None => {
                crate::output::notice(&format!(
                    "the store's vectors come from {}, not this machine's embedding model: BM25 only",
                    store.store().model()
                ));
                None
            }
        },
        None => None,
    };
    let repos = if args.repos.is_empty() {
        RepoFilter::All
    } else {
        RepoFilter::Only(args.repos.clone())
    };
    Ok(store.search(&args.org, &repos, req, vector, config.fusion, config.rrf_k)?)
}

/// The `ORG TOKEN` lines of `scry serve --store --org-tokens FILE`. Refused when others
/// could read the tokens, when a line is malformed, or when two organisations share a
/// token.
pub fn org_tokens(file: &Path) -> Result<Vec<(String, String)>> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(file).with_context(|| format!("{}", file.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "{}: holds bearer tokens but group or others may read it (chmod 600 it)",
            file.display()
        );
    }
    let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
    let mut out: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(org), Some(token), None) = (parts.next(), parts.next(), parts.next()) else {
            bail!("{}:{}: expected `ORG TOKEN`", file.display(), i + 1);
        };
        if token.len() < 16 {
            bail!(
                "{}:{}: a token shorter than 16 characters is too easy to guess",
                file.display(),
                i + 1
            );
        }
        if out.iter().any(|(t, o)| t == token && o != org) {
            bail!(
                "{}:{}: this token already names another organisation",
                file.display(),
                i + 1
            );
        }
        out.push((token.to_owned(), org.to_owned()));
    }
    if out.is_empty() {
        bail!("{}: no `ORG TOKEN` line", file.display());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn file(text: &str, mode: u32) -> tempfile::NamedTempFile {
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        f
    }

    #[test]
    fn organisation_tokens_are_read_from_a_private_file_and_checked() {
        let ok = file(
            "# callers\nacme 0123456789abcdef0123\nglobex fedcba9876543210fedc\n",
            0o600,
        );
        assert_eq!(
            org_tokens(ok.path()).unwrap(),
            [
                ("0123456789abcdef0123".to_owned(), "acme".to_owned()),
                ("fedcba9876543210fedc".to_owned(), "globex".to_owned()),
            ]
        );
        let readable = file("acme 0123456789abcdef0123\n", 0o644);
        assert!(
            org_tokens(readable.path())
                .unwrap_err()
                .to_string()
                .contains("chmod 600")
        );
        let short = file("acme short\n", 0o600);
        assert!(org_tokens(short.path()).is_err());
        let shared = file(
            "acme 0123456789abcdef0123\nglobex 0123456789abcdef0123\n",
            0o600,
        );
        assert!(org_tokens(shared.path()).is_err());
        let malformed = file("acme\n", 0o600);
        assert!(org_tokens(malformed.path()).is_err());
    }
}
