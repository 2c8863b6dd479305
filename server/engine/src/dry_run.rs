//! `--dry-run`: the work an index run would do (files, chunks, embedding tokens, time),
//! computed without creating, locking or writing anything, and without loading the
//! model's weights: tokens are counted with its vocabulary, time comes from the speed
//! real runs measured on this machine ([`EmbedSpeed`]). It plans with the same
//! planner as a refresh ([`crate::changes`]), so the two cannot disagree.

use std::collections::HashSet;

use scry_index::{Manifest, VectorStore, file_term_text};
use scry_models::{EmbedSpeed, ModelError};

use crate::changes::{self, Change};
use crate::discover::Discovery;
use crate::report::DryRunReport;
use crate::tier::Tier;
use crate::{EngineConfig, EngineError, SearchMode};

/// Counts what indexing `config`'s roots would do now. Reads the existing index's
/// manifest, if any, to leave out unchanged files and chunks that already have vectors.
pub(crate) fn dry_run(config: &EngineConfig) -> Result<DryRunReport, EngineError> {
    let (roots, dir) = crate::location::locate(config)?;
    // The model's vocabulary only: counting tokens needs no weights, and the time comes
    // from what real runs measured here, so a dry run answers in about a second.
    // The tier whose vectors cost time: the model's own (the full tier, in the
    // background or with `--wait-vectors`), else the fast tier alone.
    let (spec, full) = match (&config.embedder, &config.fast_embedder) {
        (Some(s), _) => (Some(s), true),
        (None, s) => (s.as_ref(), false),
    };
    let counter = match spec {
        Some(spec) => spec.token_counter(),
        None => Err(ModelError::Config(crate::open::NO_MODEL.into())),
    };
    let expected_id = spec.and_then(|s| s.expected_id());
    let root_strings: Vec<String> = roots
        .roots()
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    // A manifest that cannot be read means everything would be indexed again.
    let manifest = Manifest::load(&dir)
        .ok()
        .flatten()
        .filter(|m| m.roots == root_strings)
        .unwrap_or_default();
    let tier = if full { Tier::Full } else { Tier::Fast };
    let entry = match tier {
        Tier::Full => &manifest.vectors,
        Tier::Fast => &manifest.fast_vectors,
    };
    let live: HashSet<u64> = manifest
        .files
        .values()
        .flat_map(|f| f.keys.iter().copied())
        .collect();
    let embedded: HashSet<u64> = match (entry, &expected_id) {
        (Some(v), Some(id)) if v.model == *id && v.covered >= live.len() => live,
        // Part of the way (a full tier still computing): which ones, from its file.
        (Some(v), Some(id)) if v.model == *id => {
            let path = dir.join(crate::writer::VECTORS_DIR).join(&v.file);
            match VectorStore::load(&path, &v.checksum, v.dims, tier.precision()) {
                Ok(store) => live.into_iter().filter(|k| store.contains(*k)).collect(),
                Err(_) => HashSet::new(),
            }
        }
        _ => HashSet::new(),
    };

    let discovery = Discovery::new(config, &dir);
    let plan = changes::plan(
        discovery.walk(&roots),
        &manifest.files,
        &|_| false,
        &HashSet::new(),
    );
    let mut report = DryRunReport {
        mode: if counter.is_ok() {
            SearchMode::Hybrid
        } else {
            SearchMode::Lexical
        },
        model_problem: counter.as_ref().err().map(|e| match e {
            ModelError::Config(why) => why.clone(),
            other => other.to_string(),
        }),
        files: plan.files_seen,
        files_to_index: 0,
        files_skipped: plan.skipped,
        chunks: 0,
        chunks_to_embed: 0,
        embed_tokens: 0,
        estimated_embed_seconds: None,
    };
    let mut seen = HashSet::new();
    for c in &plan.to_read {
        let known = manifest.files.get(&file_term_text(c.root, &c.rel));
        let bytes = match changes::read(&discovery, c, known) {
            Ok(Change::Content(bytes)) => bytes,
            Ok(Change::Same) => continue,
            Err(reason) => {
                *report.files_skipped.entry(reason.as_str()).or_default() += 1;
                continue;
            }
        };
        report.files_to_index += 1;
        // As the writer chunks it.
        let chunked = crate::redact::chunk(&c.rel, &bytes, &config.chunk);
        report.chunks += chunked.chunks.len();
        for ch in &chunked.chunks {
            let key = ch.hash.key();
            if embedded.contains(&key) || !seen.insert(key) {
                continue;
            }
            report.chunks_to_embed += 1;
            let text = format!("{}{}", config.document_prefix, ch.embedding_text(&c.rel));
            report.embed_tokens += match &counter {
                Ok(c) => c.count(&text),
                // Without a model, a rough estimate: four bytes a token.
                Err(_) => text.len().div_ceil(4),
            };
        }
    }
    // The rate real index runs measured on this machine; none before the first.
    if counter.is_ok()
        && let Some(rate) = expected_id
            .as_deref()
            .and_then(|id| EmbedSpeed::default().rate(id))
    {
        report.estimated_embed_seconds = Some(report.embed_tokens as f64 / rate.max(1e-6));
    }
    Ok(report)
}
