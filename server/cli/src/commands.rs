//! What each command does: build the engine config, call the engine, hand results to output.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use scry_engine::{
    DEFAULT_SECRET_PATTERNS, Engine, EngineConfig, EngineError, SearchMode, SearchRequest,
};

use crate::args::{Cli, Command, Global, IndexArgs, SearchArgs, StatusArgs};
use crate::output;

/// The embedding model the setup script installs.
pub const DEFAULT_EMBED_MODEL: &str = "all-MiniLM-L6-v2-f16.gguf";

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Index(args) => index(&cli.global, args),
        Command::Search(args) => search(&cli.global, args),
        Command::Status(args) => status(&cli.global, args),
        Command::Watch => watch(&cli.global),
    }
}

/// Scry's models directory: `SCRY_MODELS`, else `$XDG_DATA_HOME/scry/models`.
pub fn models_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SCRY_MODELS") {
        return Some(PathBuf::from(d));
    }
    let data = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local/share")))?;
    Some(data.join("scry/models"))
}

/// The workspace: `-w` roots, else the enclosing git repository, else the current dir.
fn workspace(global: &Global, explicit: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if !explicit.is_empty() {
        return Ok(explicit.to_vec());
    }
    if !global.workspace.is_empty() {
        return Ok(global.workspace.clone());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let git_root = cwd.ancestors().find(|a| a.join(".git").exists());
    Ok(vec![git_root.unwrap_or(&cwd).to_owned()])
}

fn config(global: &Global, roots: Vec<PathBuf>) -> Result<EngineConfig> {
    for r in &roots {
        if !r.exists() {
            bail!("{}: no such directory", r.display());
        }
        if !r.is_dir() {
            bail!("{}: not a directory", r.display());
        }
    }
    let model = if global.no_model {
        None
    } else if let Some(m) = &global.model {
        Some(m.clone())
    } else {
        models_dir()
            .map(|d| d.join(DEFAULT_EMBED_MODEL))
            .filter(|p| p.exists())
    };
    let mut b = EngineConfig::builder(roots)
        .embedding_model(model)
        .max_file_bytes(global.max_file_size)
        .include_hidden(global.hidden)
        .exclude(global.exclude.clone())
        .rrf_k(global.rrf_k);
    if let Some(dir) = &global.index_dir {
        b = b.index_dir(dir);
    }
    if let Some(t) = global.threads {
        b = b.embed_threads(t);
    }
    if global.include_secrets {
        b = b.secret_patterns(Vec::new());
    } else {
        b = b.secret_patterns(
            DEFAULT_SECRET_PATTERNS
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
    }
    Ok(b.build())
}

fn open(global: &Global, roots: Vec<PathBuf>) -> Result<Engine> {
    let cfg = config(global, roots)?;
    let engine = Engine::open(cfg).map_err(|e| match e {
        EngineError::Locked(dir) => anyhow::anyhow!(
            "the index at {} is being written by another scry process (`scry watch` or an editor); \
             try again when it is done, or pass --index-dir",
            dir.display()
        ),
        other => anyhow::Error::new(other),
    })?;
    for n in engine.status().notices {
        output::notice(&n);
    }
    Ok(engine)
}

fn index(global: &Global, args: IndexArgs) -> Result<ExitCode> {
    let roots = workspace(global, &args.paths)?;
    if args.dry_run {
        let report = scry_engine::dry_run(&config(global, roots)?)?;
        if let Some(why) = &report.model_problem {
            output::notice(&format!("BM25-only: {why}"));
        }
        output::dry_run(&report, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let engine = open(global, roots)?;
    let status = engine.status();
    if let Some(why) = &status.model_problem {
        output::notice(&format!("BM25-only: {why}"));
    }
    let bar = output::ProgressBar::new();
    let report = engine.refresh(&HashSet::new(), &mut |p| bar.update(p))?;
    bar.finish();
    output::refresh_report(&report, &engine.status(), args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn search(global: &Global, args: SearchArgs) -> Result<ExitCode> {
    let roots = workspace(global, &[])?;
    let engine = open(global, roots)?;
    if !args.no_refresh {
        let bar = output::ProgressBar::new();
        let report = engine.refresh(&HashSet::new(), &mut |p| bar.update(p))?;
        bar.finish();
        if report.changed() {
            tracing::info!(
                "index brought up to date: {} files indexed, {} removed",
                report.files_indexed,
                report.files_removed
            );
        }
    }
    let mode: SearchMode = args.mode.parse().map_err(anyhow::Error::msg)?;
    let within = args.root.as_ref().map(|r| r.to_string_lossy().into_owned());
    let req = SearchRequest::new(args.query)
        .k(args.k)
        .mode(mode)
        .language(args.language)
        .path_glob(args.path_glob)
        .within(within);
    let results = engine.search(&req)?;
    if let Some(n) = &results.notice {
        output::notice(n);
    }
    output::search_results(&results, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn status(global: &Global, args: StatusArgs) -> Result<ExitCode> {
    let roots = workspace(global, &[])?;
    let engine = open(global, roots)?;
    output::status(&engine.status(), args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn watch(global: &Global) -> Result<ExitCode> {
    let roots = workspace(global, &[])?;
    let engine = open(global, roots)?;
    let bar = output::ProgressBar::new();
    let report = engine.refresh(&HashSet::new(), &mut |p| bar.update(p))?;
    bar.finish();
    output::refresh_report(&report, &engine.status(), false)?;
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst))
            .context("cannot handle Ctrl-C")?;
    }
    let _watcher = engine.watch(|result| match result {
        Ok(r) if r.changed() => output::watch_update(&r),
        Ok(_) => {}
        Err(e) => output::error(&anyhow::Error::new(e)),
    })?;
    output::notice("watching for changes; press Ctrl-C to stop");
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(ExitCode::SUCCESS)
}
