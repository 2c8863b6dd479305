//! Everything the CLI prints: results on stdout, notices, errors and progress on stderr.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::time::Duration;

use anyhow::Result;
use indicatif::{ProgressDrawTarget, ProgressStyle};
use scry_engine::{
    DryRunReport, FileHit, Hit, Phase, Progress, RefreshReport, SearchMode, SearchResults, Status,
    TierStatus, UpgradeReport, human_secs,
};
use serde_json::json;

/// With `--log-format json`, stderr is for machines: notices and errors become log
/// records (one JSON object a line) instead of lines for people.
static JSON_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn json_stderr() {
    JSON_STDERR.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn json() -> bool {
    JSON_STDERR.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn error(e: &anyhow::Error) {
    let mut msg = format!("error: {e}");
    for cause in e.chain().skip(1) {
        msg.push_str(&format!("\n  caused by: {cause}"));
    }
    if json() {
        tracing::error!("{}", msg.trim_start_matches("error: "));
        return;
    }
    eprintln!("{msg}");
}

pub fn notice(msg: &str) {
    if json() {
        tracing::warn!(notice = true, "{msg}");
        return;
    }
    eprintln!("note: {msg}");
}

/// Writes out what stdout still buffers (before the process leaves without unwinding).
pub fn flush_stdout() {
    let _ = std::io::stdout().lock().flush();
}

fn print_json(v: &serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub struct ProgressBar {
    bar: indicatif::ProgressBar,
}

/// A bar on stderr drawn with `template` (hidden when stderr is not a terminal).
fn stderr_bar(template: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

impl ProgressBar {
    pub fn new() -> ProgressBar {
        let bar = stderr_bar("{spinner} {prefix:>9} [{bar:30}] {msg}");
        bar.enable_steady_tick(Duration::from_millis(200));
        ProgressBar { bar }
    }

    /// The phase, a bar for the whole refresh (the phases alternate batch by batch),
    /// and the counts, rate and time left.
    pub fn update(&self, p: &Progress) {
        if p.phase == Phase::Done {
            return;
        }
        self.bar.set_prefix(p.phase.as_str());
        self.bar.set_length(1000);
        self.bar
            .set_position(p.fraction().map_or(0, |f| (f * 1000.0) as u64));
        self.bar.set_message(p.summary());
    }

    /// The full tier's upgrade: chunks with the model's vectors of all, rate and time
    /// left.
    pub fn upgrade(&self, r: &UpgradeReport) {
        let done = r.chunks.saturating_sub(r.remaining);
        self.bar.set_prefix("full tier");
        self.bar.set_length(r.chunks.max(1) as u64);
        self.bar.set_position(done as u64);
        let rate = r.tokens as f64 / r.seconds.max(1e-6);
        let chunk_rate = r.embedded as f64 / r.seconds.max(1e-6);
        self.bar.set_message(format!(
            "{done}/{} chunks · {rate:.0} tok/s · ETA {}",
            r.chunks,
            human_secs(r.remaining as f64 / chunk_rate.max(1e-6))
        ));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// While the model reads the prompt: tokens read of the total, and how long is left
/// (hidden when stderr is not a terminal, and gone with the first answer token).
pub struct ReadingBar {
    bar: indicatif::ProgressBar,
    started: std::time::Instant,
}

impl ReadingBar {
    pub fn new() -> ReadingBar {
        let bar = stderr_bar(
            "{spinner} reading the question and its context [{bar:30}] {pos}/{len} tokens {msg}",
        );
        ReadingBar {
            bar,
            started: std::time::Instant::now(),
        }
    }

    pub fn update(&self, read: usize, total: usize) {
        if self.bar.is_finished() {
            return;
        }
        if self.bar.length() == Some(0) {
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
        self.bar.set_length(total as u64);
        self.bar.set_position(read as u64);
        let rate = read as f64 / self.started.elapsed().as_secs_f64().max(1e-6);
        let left = total.saturating_sub(read) as f64 / rate.max(1e-6);
        self.bar
            .set_message(format!("· {rate:.0} tok/s · ETA {}", human_secs(left)));
    }

    pub fn finish(&self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
        }
    }
}

fn mode_line(status: &Status) -> String {
    match &status.model {
        Some(m) => format!("hybrid (BM25 + {} , {} dims)", m.id, m.dims),
        None => format!(
            "BM25-only ({})",
            status
                .model_problem
                .as_deref()
                .unwrap_or("no embedding model")
        ),
    }
}

/// Each vector tier's coverage, as JSON.
fn tiers_json(s: &Status) -> serde_json::Value {
    let tier = |t: &Option<TierStatus>| {
        t.as_ref().map(|t| {
            json!({
                "model": t.model, "loaded": t.loaded, "problem": t.problem,
                "chunks_with_vectors": t.covered, "chunks": t.chunks,
            })
        })
    };
    json!({ "fast": tier(&s.tiers.fast), "full": tier(&s.tiers.full) })
}

/// "fast 1200/1200, full 300/1200 (computed in the background…)", or nothing without
/// a second tier.
fn tiers_line(s: &Status) -> Option<String> {
    let (Some(fast), Some(full)) = (&s.tiers.fast, &s.tiers.full) else {
        return None;
    };
    let mut line = format!(
        "fast {}/{}, full {}/{} chunks",
        fast.covered, fast.chunks, full.covered, full.chunks
    );
    if full.covered < full.chunks {
        line.push_str(
            " (the full tier is computed in the background by `scry watch`, an editor's \
             `scry lsp` or `scry mcp`, or now by `scry index --wait-vectors`)",
        );
    }
    Some(line)
}

pub fn refresh_report(
    r: &RefreshReport,
    upgrade: Option<&UpgradeReport>,
    status: &Status,
    published: Option<(&crate::store::Published, &str)>,
    json: bool,
) -> Result<()> {
    if let Some((p, org)) = published
        && !json
    {
        eprintln!(
            "published {org}/{} generation {}: {} chunks, {} with vectors ({}), in {:.1}s",
            p.repo, p.generation, p.chunks, p.vectors, p.model, p.seconds
        );
    }
    if json {
        return print_json(&json!({
            "published": published.map(|(p, org)| json!({
                "org": org,
                "repository": p.repo,
                "generation": p.generation,
                "chunks": p.chunks,
                "vectors": p.vectors,
                "model": p.model,
                "seconds": p.seconds,
            })),
            "generation": r.generation,
            "files_seen": r.files_seen,
            "files_unchanged": r.files_unchanged,
            "files_indexed": r.files_indexed,
            "files_removed": r.files_removed,
            "files_skipped": r.files_skipped,
            "chunks_indexed": r.chunks_indexed,
            "chunks_embedded": r.chunks_embedded,
            "embed_tokens": r.embed_tokens,
            "embed_seconds": r.embed_seconds,
            "embed_errors": r.embed_errors,
            "seconds": r.seconds,
            "mode": status.mode.as_str(),
            "chunks": status.chunks,
            "vectors": status.vectors,
            "tiers": tiers_json(status),
            "full_tier": upgrade.map(|u| json!({
                "chunks_embedded": u.embedded, "embed_tokens": u.tokens,
                "embed_seconds": u.seconds, "errors": u.errors,
            })),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "indexed {} files ({} unchanged, {} removed) into {} chunks in {:.1}s; generation {}",
        r.files_indexed, r.files_unchanged, r.files_removed, status.chunks, r.seconds, r.generation
    )?;
    if r.chunks_embedded > 0 {
        writeln!(
            out,
            "embedded {} chunks ({} tokens, {:.0} tokens/s)",
            r.chunks_embedded,
            r.embed_tokens,
            r.embed_tokens as f64 / r.embed_seconds.max(1e-6)
        )?;
    }
    if !r.files_skipped.is_empty() {
        let parts: Vec<String> = r
            .files_skipped
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        writeln!(out, "skipped: {}", parts.join(", "))?;
    }
    if let Some(u) = upgrade.filter(|u| u.embedded > 0) {
        writeln!(
            out,
            "full tier: embedded {} chunks ({} tokens, {:.0} tokens/s)",
            u.embedded,
            u.tokens,
            u.tokens as f64 / u.seconds.max(1e-6)
        )?;
    }
    for e in r
        .embed_errors
        .iter()
        .chain(upgrade.iter().flat_map(|u| &u.errors))
        .take(3)
    {
        writeln!(out, "embedding error: {e}")?;
    }
    writeln!(out, "search mode: {}", mode_line(status))?;
    if let Some(line) = tiers_line(status) {
        writeln!(out, "vectors:     {line}")?;
    }
    Ok(())
}

pub fn watch_update(r: &RefreshReport) {
    eprintln!(
        "updated: {} indexed, {} removed, {} embedded; generation {}",
        r.files_indexed, r.files_removed, r.chunks_embedded, r.generation
    );
}

/// A step of the full tier's background upgrade, in `scry watch`.
pub fn upgrade_update(r: &UpgradeReport) {
    let done = r.chunks.saturating_sub(r.remaining);
    if r.remaining == 0 {
        eprintln!(
            "full tier: every chunk has its vector ({done}); generation {}",
            r.generation
        );
    } else {
        eprintln!(
            "full tier: {done}/{} chunks ({:.0} tokens/s); generation {}",
            r.chunks,
            r.tokens as f64 / r.seconds.max(1e-6),
            r.generation
        );
    }
}

pub fn dry_run(r: &DryRunReport, json: bool) -> Result<()> {
    if json {
        return print_json(&json!({
            "files": r.files,
            "files_to_index": r.files_to_index,
            "files_skipped": r.files_skipped,
            "chunks": r.chunks,
            "chunks_to_embed": r.chunks_to_embed,
            "embed_tokens": r.embed_tokens,
            "estimated_embed_seconds": r.estimated_embed_seconds,
            "mode": r.mode.as_str(),
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "dry run: nothing was written")?;
    writeln!(
        out,
        "files:            {} ({} to index)",
        r.files, r.files_to_index
    )?;
    writeln!(
        out,
        "chunks:           {} ({} to embed)",
        r.chunks, r.chunks_to_embed
    )?;
    writeln!(out, "embedding tokens: {}", r.embed_tokens)?;
    match (r.estimated_embed_seconds, r.mode) {
        (Some(s), _) => writeln!(
            out,
            "estimated time:   {} of embedding by the model (at the speed measured here \
             before; with a fast tier, `scry index` returns before this, the rest follows \
             in the background or with --wait-vectors)",
            human_secs(s)
        )?,
        (None, SearchMode::Lexical) => writeln!(out, "estimated time:   no embedding (BM25-only)")?,
        (None, _) => writeln!(
            out,
            "estimated time:   unknown until an index run has measured this model here"
        )?,
    }
    if !r.files_skipped.is_empty() {
        let parts: Vec<String> = r
            .files_skipped
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        writeln!(out, "skipped:          {}", parts.join(", "))?;
    }
    Ok(())
}

fn hit_json(h: &Hit) -> serde_json::Value {
    json!({
        "path": h.file.path,
        "root": h.file.root,
        "start_line": h.span.start_line,
        "end_line": h.span.end_line,
        "symbol": h.symbol,
        "scope": h.scope,
        "kind": h.kind,
        "language": h.language,
        "definition": h.definition.as_ref().map(|d| json!({
            "name": d.name,
            "kind": d.kind.as_str(),
            "start_line": d.span.start_line,
            "end_line": d.span.end_line,
            "name_line": d.name_span.start_line,
        })),
        "score": h.score,
        "generation": h.generation,
        "ranks": { "lexical": h.ranks.lexical, "vector": h.ranks.vector, "fast": h.ranks.fast },
        "file_hash": h.file.hash.to_string(),
        "stale": h.file.stale,
        "snippet": snippet(&h.text, 12),
    })
}

/// A file of a search by file: the file's own fields, and its ranges as hits.
fn file_json(f: &FileHit) -> serde_json::Value {
    json!({
        "path": f.file.path,
        "root": f.file.root,
        "language": f.language,
        "score": f.score,
        "file_hash": f.file.hash.to_string(),
        "stale": f.file.stale,
        "ranges": f.ranges.iter().map(hit_json).collect::<Vec<_>>(),
    })
}

/// Prints ranges, or files with their ranges for a search by file (`by_file`: the JSON
/// then has `files` and an empty `results`).
pub fn search_results(r: &SearchResults, json: bool, by_file: bool) -> Result<()> {
    if json {
        let mut v = json!({
            "generation": r.generation,
            "mode": r.mode.as_str(),
            "requested_mode": r.requested_mode.as_str(),
            "notice": r.notice,
            "results": r.hits.iter().map(hit_json).collect::<Vec<_>>(),
        });
        if by_file {
            v["files"] = r.files.iter().map(file_json).collect();
        }
        return print_json(&v);
    }
    hits_text(&r.hits, &r.files, "")
}

/// A search of a shared store: as [`search_results`], each result's `root` its
/// repository and `generation` the one read of it; the repositories read, with their
/// generations, in `repositories`.
pub fn store_results(s: &scry_store_pg::StoreSearch, json: bool, by_file: bool) -> Result<()> {
    let r = &s.results;
    if json {
        let mut v = json!({
            "mode": r.mode.as_str(),
            "requested_mode": r.requested_mode.as_str(),
            "notice": r.notice,
            "repositories": s.repos.iter().map(|g| json!({
                "name": g.name,
                "generation": g.generation,
            })).collect::<Vec<_>>(),
            "results": r.hits.iter().map(hit_json).collect::<Vec<_>>(),
        });
        if by_file {
            v["files"] = r.files.iter().map(file_json).collect();
        }
        return print_json(&v);
    }
    hits_text(&r.hits, &r.files, "/")
}

/// Hits or files as text; a store's paths are prefixed by their repository and `sep`.
fn hits_text(hits: &[Hit], files: &[FileHit], sep: &str) -> Result<()> {
    let prefix = |f: &scry_engine::FileRef| {
        if sep.is_empty() {
            String::new()
        } else {
            format!("{}{sep}", f.root.display())
        }
    };
    let mut out = std::io::stdout().lock();
    if hits.is_empty() && files.is_empty() {
        writeln!(out, "no results")?;
    }
    for h in hits {
        writeln!(
            out,
            "{}{}:{}-{}  {}",
            prefix(&h.file),
            h.file.path,
            h.span.start_line,
            h.span.end_line,
            describe_hit(h)
        )?;
        for line in snippet(&h.text, 3).lines() {
            writeln!(out, "    {line}")?;
        }
    }
    for f in files {
        writeln!(
            out,
            "{}{}  [{:.4}]{}",
            prefix(&f.file),
            f.file.path,
            f.score,
            stale_mark(f.file.stale)
        )?;
        for h in &f.ranges {
            writeln!(
                out,
                "    {}-{}  {}",
                h.span.start_line,
                h.span.end_line,
                describe_hit(h)
            )?;
            for line in snippet(&h.text, 2).lines() {
                writeln!(out, "        {line}")?;
            }
        }
    }
    Ok(())
}

/// `function send in Session  [0.8123; lexical #1, vector #4]`, and whether the file
/// changed since.
fn describe_hit(h: &Hit) -> String {
    let mut ranks = Vec::new();
    if let Some(l) = h.ranks.lexical {
        ranks.push(format!("lexical #{l}"));
    }
    if let Some(v) = h.ranks.fast {
        ranks.push(format!("fast #{v}"));
    }
    if let Some(v) = h.ranks.vector {
        ranks.push(format!("vector #{v}"));
    }
    let what = match (&h.symbol, &h.scope) {
        (Some(s), Some(sc)) => format!("{} {s} in {sc}", h.kind),
        (Some(s), None) => format!("{} {s}", h.kind),
        _ => h.kind.clone(),
    };
    format!(
        "{what}  [{:.4}; {}]{}",
        h.score,
        ranks.join(", "),
        stale_mark(h.file.stale)
    )
}

fn stale_mark(stale: bool) -> &'static str {
    if stale {
        "  (changed since indexing)"
    } else {
        ""
    }
}

fn snippet(text: &str, lines: usize) -> String {
    let mut s: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(lines)
        .collect();
    if s.is_empty() {
        s.push("");
    }
    s.iter()
        .map(|l| {
            if l.len() > 200 {
                &l[..l.floor_char_boundary(200)]
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn status(s: &Status, json: bool) -> Result<()> {
    if json {
        return print_json(&json!({
            "roots": s.roots,
            "index_dir": s.index_dir,
            "generation": s.generation,
            "files": s.files,
            "chunks": s.chunks,
            "vectors": s.vectors,
            "chunks_without_vectors": s.chunks_without_vectors,
            "mode": s.mode.as_str(),
            "bm25_only": s.model.is_none(),
            "model": s.model.as_ref().map(|m| json!({
                "id": m.id, "path": m.path, "architecture": m.architecture, "dims": m.dims, "max_tokens": m.max_tokens,
            })),
            "model_problem": s.model_problem,
            "tiers": tiers_json(s),
            "indexed": s.generation > 0,
            "languages": s.languages,
            "notices": s.notices,
            "problems": s.problems.iter().map(|p| json!({"path": p.path, "problems": p.problems})).collect::<Vec<_>>(),
        }));
    }
    let mut out = std::io::stdout().lock();
    let roots: Vec<String> = s.roots.iter().map(|r| r.display().to_string()).collect();
    writeln!(out, "roots:       {}", roots.join(", "))?;
    writeln!(
        out,
        "index:       {} (generation {})",
        s.index_dir.display(),
        s.generation
    )?;
    if s.generation == 0 {
        writeln!(
            out,
            "files:       nothing is indexed yet; run `scry index` (or start `scry watch`, `scry lsp` or `scry mcp`)"
        )?;
        return Ok(());
    }
    let langs: Vec<String> = s
        .languages
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    writeln!(out, "files:       {} ({})", s.files, langs.join(", "))?;
    writeln!(
        out,
        "chunks:      {} ({} with vectors)",
        s.chunks, s.vectors
    )?;
    if s.chunks_without_vectors > 0 {
        writeln!(
            out,
            "             {} chunks have no vector yet: run `scry index`",
            s.chunks_without_vectors
        )?;
    }
    writeln!(out, "search mode: {}", mode_line(s))?;
    if let Some(line) = tiers_line(s) {
        writeln!(out, "vectors:     {line}")?;
    }
    if !s.problems.is_empty() {
        writeln!(out, "problems:    {} files", s.problems.len())?;
        for p in s.problems.iter().take(10) {
            writeln!(out, "  {}: {}", p.path, p.problems.join("; "))?;
        }
    }
    for n in &s.notices {
        writeln!(out, "notice:      {n}")?;
    }
    Ok(())
}

/// One piece of a streamed answer, flushed at once so the user sees it arrive.
pub fn answer_piece(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

fn piece_json(p: &scry_answer::Piece) -> serde_json::Value {
    json!({
        "root": p.file.root.display().to_string(),
        "path": p.file.path,
        "start_line": p.start_line,
        "end_line": p.end_line,
        "symbol": p.symbol,
        "tier": p.tier.as_str(),
        "hits": p.hits,
        "stale": p.file.stale,
    })
}

fn model_json(m: &scry_models::ModelInfo) -> serde_json::Value {
    json!({
        "name": m.name,
        "backend": m.backend.to_string(),
        "location": m.location,
        "architecture": m.architecture,
        "parameters": m.parameters,
        "quantization": m.quantization,
        "context_length": m.context_length,
        "gpu_layers": m.gpu_layers,
    })
}

fn source_line(i: usize, p: &scry_answer::Piece) -> String {
    let lines = if p.start_line == p.end_line {
        p.start_line.to_string()
    } else {
        format!("{}-{}", p.start_line, p.end_line)
    };
    let symbol = p
        .symbol
        .as_deref()
        .map(|s| format!(" {s}"))
        .unwrap_or_default();
    let tier = match p.tier {
        scry_answer::Tier::Full => "",
        scry_answer::Tier::Signature => " (signature)",
        scry_answer::Tier::Path => " (path only)",
    };
    let stale = if p.file.stale {
        " (changed since indexing)"
    } else {
        ""
    };
    format!("  [{}] {}:{lines}{symbol}{tier}{stale}", i + 1, p.file.path)
}

/// After a streamed answer: the sources. With `--json`: everything in one object.
pub fn ask_outcome(o: &scry_answer::AskOutcome, json: bool) -> Result<()> {
    if json {
        return print_json(&json!({
            "answer": o.answer,
            "finish": o.finish.map(|f| format!("{f:?}").to_lowercase()),
            "sources": o.sources.iter().map(piece_json).collect::<Vec<_>>(),
            "context": if o.answer.is_none() { Some(&o.context) } else { None },
            "model": o.model.as_ref().map(model_json),
            "role": o.role.as_str(),
            "route_reasons": o.route.reasons,
            "fallbacks": o.fallbacks.iter().map(|f| json!({"from": f.from, "reason": f.reason})).collect::<Vec<_>>(),
            "notices": o.notices,
            "prompt_template": o.prompt_template,
            "tokens_in": o.tokens_in,
            "tokens_out": o.tokens_out,
            "tokens_exact": o.exact_tokens,
            "budget": o.budget,
            "generation": o.generation,
            "time_to_first_token_ms": o.first_token.map(|d| d.as_secs_f64() * 1000.0),
            "latency_ms": o.latency.as_secs_f64() * 1000.0,
        }));
    }
    let mut out = std::io::stdout().lock();
    if o.answer.is_none() {
        if o.context.trim().is_empty() {
            writeln!(out, "(no code in the workspace matched the question)")?;
        } else {
            writeln!(out, "{}", o.context)?;
        }
    }
    if !o.sources.is_empty() {
        writeln!(out, "\nSources:")?;
        for (i, p) in o.sources.iter().enumerate() {
            writeln!(out, "{}", source_line(i, p))?;
        }
    }
    if let Some(m) = &o.model {
        let ttft = o.first_token.map_or_else(String::new, |d| {
            format!(", first token {:.2} s", d.as_secs_f64())
        });
        eprintln!(
            "{} ({}, {} role) · {} tokens in, {} out{ttft}, {:.2} s",
            m.name,
            m.backend,
            o.role.as_str(),
            o.tokens_in,
            o.tokens_out,
            o.latency.as_secs_f64()
        );
    }
    Ok(())
}

pub fn plan_outcome(o: &scry_answer::PlanOutcome, json: bool) -> Result<()> {
    if json {
        return print_json(&json!({
            "plan": o.plan,
            "draft": o.draft,
            "drafted_by": model_json(&o.drafted_by),
            "refined_by": o.refined_by.as_ref().map(model_json),
            "sources": o.sources.iter().map(piece_json).collect::<Vec<_>>(),
            "fallbacks": o.fallbacks.iter().map(|f| json!({"from": f.from, "reason": f.reason})).collect::<Vec<_>>(),
            "notices": o.notices,
            "tokens_in": o.tokens_in,
            "tokens_out": o.tokens_out,
            "latency_ms": o.latency.as_secs_f64() * 1000.0,
        }));
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", o.plan.summary)?;
    for (i, s) in o.plan.steps.iter().enumerate() {
        writeln!(out, "\n{}. {}", i + 1, s.title)?;
        if !s.files.is_empty() {
            writeln!(out, "   files: {}", s.files.join(", "))?;
        }
        writeln!(out, "   why: {}", s.why)?;
    }
    Ok(())
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

pub fn models_list(
    models: &[scry_models::DiscoveredModel],
    dir: &std::path::Path,
    json: bool,
) -> Result<()> {
    let tables = scry_models::cached_static_tables(&dir.join("static"));
    if json {
        return print_json(&json!({
            "models_dir": dir.display().to_string(),
            "static_tables": tables.iter().map(|(name, size)| json!({
                "file": name,
                "size": size,
            })).collect::<Vec<_>>(),
            "models": models.iter().map(|m| json!({
                "name": m.name,
                "source": m.source.as_str(),
                "location": m.location,
                "size": m.size,
                "architecture": m.architecture,
                "parameters": m.parameters,
                "quantization": m.quantization,
                "context_length": m.context_length,
                "kind": if m.embedding { "embedding" } else { "chat" },
                "problem": m.problem,
            })).collect::<Vec<_>>(),
        }));
    }
    let mut out = std::io::stdout().lock();
    if models.is_empty() {
        writeln!(out, "no models found (models directory: {})", dir.display())?;
        return Ok(());
    }
    let rows: Vec<[String; 8]> = models
        .iter()
        .map(|m| {
            [
                m.name.clone(),
                m.source.as_str().to_owned(),
                m.architecture.clone().unwrap_or_else(|| "?".into()),
                m.parameters.clone().unwrap_or_else(|| "?".into()),
                m.quantization.clone().unwrap_or_else(|| "?".into()),
                m.context_length
                    .map_or_else(|| "?".into(), |c| c.to_string()),
                human_bytes(m.size),
                match (&m.problem, m.embedding) {
                    (Some(p), _) => format!("unreadable: {p}"),
                    (None, true) => "embedding".into(),
                    (None, false) => "chat".into(),
                },
            ]
        })
        .collect();
    let header = [
        "NAME", "SOURCE", "ARCH", "PARAMS", "QUANT", "CONTEXT", "SIZE", "KIND",
    ];
    let mut widths = header.map(str::len);
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r.iter()) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(widths.iter())
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    writeln!(out, "{}", line(&header.map(str::to_owned)))?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    if !tables.is_empty() {
        writeln!(
            out,
            "\nstatic tables (the fast vector tier, `--embed-backend static`), in {}:",
            dir.join("static").display()
        )?;
        for (name, size) in &tables {
            writeln!(out, "  {name}  {}", human_bytes(*size))?;
        }
    }
    writeln!(out, "\nmodels directory: {}", dir.display())?;
    Ok(())
}

/// Download progress on stderr.
pub struct DownloadBar {
    bar: indicatif::ProgressBar,
}

impl DownloadBar {
    pub fn new(name: &str) -> DownloadBar {
        let bar = indicatif::ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar.set_message(name.to_owned());
        DownloadBar { bar }
    }
    pub fn update(&self, done: u64, total: Option<u64>) {
        if let Some(t) = total {
            self.bar.set_length(t);
        }
        self.bar.set_position(done);
    }
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

pub fn pulled(path: &std::path::Path) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", path.display())?;
    Ok(())
}
