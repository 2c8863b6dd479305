//! `--dry-run`: the work an index run would do (files, chunks, embedding tokens, time),
//! computed without creating, locking or writing anything. It plans with the same
//! planner as a refresh ([`crate::changes`]), so the two cannot disagree.

use std::collections::HashSet;
use std::time::Instant;

use scry_index::{Manifest, file_term_text};
use scry_models::ModelError;

use crate::changes::{self, Change};
use crate::discover::Discovery;
use crate::report::DryRunReport;
use crate::{EngineConfig, EngineError, SearchMode};

/// Counts what indexing `config`'s roots would do now. Reads the existing index's
/// manifest, if any, to leave out unchanged files and chunks that already have vectors.
pub(crate) fn dry_run(config: &EngineConfig) -> Result<DryRunReport, EngineError> {
    let (roots, dir) = crate::location::locate(config)?;
    let embedder = match &config.embedder {
        Some(spec) => spec.load(),
        None => Err(ModelError::Config(crate::open::NO_MODEL.into())),
    };
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
    let embedded: HashSet<u64> = match (&manifest.vectors, &embedder) {
        (Some(v), Ok(e)) if v.model == e.info().id => manifest
            .files
            .values()
            .flat_map(|f| f.keys.iter().copied())
            .collect(),
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
        mode: if embedder.is_ok() {
            SearchMode::Hybrid
        } else {
            SearchMode::Lexical
        },
        model_problem: embedder.as_ref().err().map(|e| match e {
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
    let mut sample: Vec<String> = Vec::new();
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
            match &embedder {
                Ok(e) => {
                    let n = e.count_tokens(&text).unwrap_or(0);
                    report.embed_tokens += n.min(e.info().max_tokens);
                    if sample.len() < 32 {
                        sample.push(text);
                    }
                }
                // Without a model, a rough estimate: four bytes a token.
                Err(_) => report.embed_tokens += text.len().div_ceil(4),
            }
        }
    }
    // The time estimate comes from embedding a sample here, on this machine.
    if let (Ok(e), false) = (&embedder, sample.is_empty()) {
        let t = Instant::now();
        if let Ok(out) = e.embed(&sample) {
            let rate = out.tokens as f64 / t.elapsed().as_secs_f64().max(1e-6);
            report.estimated_embed_seconds = Some(report.embed_tokens as f64 / rate);
        }
    }
    Ok(report)
}
