//! What each command does: build the engine config, call the engine, hand results to output.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use scry_engine::{
    DEFAULT_SECRET_PATTERNS, Engine, EngineConfig, EngineError, SearchMode, SearchRequest,
    Workspace, WorkspaceEvent, WorkspaceOptions,
};

use scry_answer::{AnswerError, AskEvent, AskOptions, PlanOptions};
use scry_models::config::{
    ConfigFile, EmbeddingConfig, ModelsSection, RoleConfig, configure_models, embedding_tiers,
};
use scry_models::{ModelManager, ModelRole, PullOptions, Sampling};

use crate::args::{
    AskArgs, Cli, Command, Global, IndexArgs, LspArgs, McpArgs, ModelsCommand, PlanArgs,
    SearchArgs, StatusArgs,
};
use crate::{journal, output};

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Index(args) => index(&cli.global, args),
        Command::Search(args) => search(&cli.global, args),
        Command::Status(args) => status(&cli.global, args),
        Command::Watch => watch(&cli.global),
        Command::Ask(args) => ask(&cli.global, args),
        Command::Plan(args) => plan(&cli.global, args),
        Command::Models(cmd) => models(cmd),
        Command::Lsp(args) => lsp(&cli.global, args),
        Command::Mcp(args) => mcp(&cli.global, args),
        Command::Serve(mut args) => {
            args.http = args.http.or(Some(DEFAULT_HTTP_ADDR.parse()?));
            mcp(&cli.global, args)
        }
    }
}

/// How long a command may take to wind down after Ctrl-C or SIGTERM before the process
/// leaves anyway.
const WIND_DOWN: Duration = Duration::from_millis(700);

/// Set by Ctrl-C or SIGTERM; long commands stop, and models are freed on the way out.
///
/// Some work cannot stop between two steps (a refresh embedding a batch, a model being
/// freed), so the process leaves after [`WIND_DOWN`] whatever it is doing. That is safe:
/// an index generation is committed in one step and survives a kill at any point.
fn interrupt_flag() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            return;
        }
        // The handler runs on its own thread: waiting here leaves the main one its
        // chance to stop cleanly.
        std::thread::sleep(WIND_DOWN);
        output::notice("interrupted");
        output::flush_stdout();
        // SAFETY: `_exit` ends the process without running destructors or atexit
        // handlers, which could race llama.cpp threads still computing.
        unsafe { libc::_exit(130) }
    })
    .context("cannot handle Ctrl-C")?;
    Ok(stop)
}

fn default_threads(global: &Global) -> usize {
    global.threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .min(8)
    })
}

/// The config files: the user's, then the workspace's `scry.toml`, then `--config`.
fn config_file(global: &Global, roots: &[PathBuf]) -> Result<ConfigFile> {
    Ok(ConfigFile::load(
        roots.first().map(PathBuf::as_path),
        global.config.as_deref(),
    )?)
}

/// The model roles from the config files, the environment and the flags.
fn model_manager(
    global: &Global,
    roots: &[PathBuf],
    pick: Option<&str>,
) -> Result<(ModelManager, Option<ModelRole>, Option<usize>)> {
    let file = config_file(global, roots)?;
    let mut fast = file.models.fast.clone().unwrap_or_default();
    if let Some(m) = &global.chat_model {
        fast.model = Some(m.clone());
    }
    if let Some(b) = &global.backend {
        fast.backend = Some(b.clone());
    }
    if let Some(u) = &global.openai_url {
        fast.url = Some(u.clone());
        fast.backend = Some("openai".into());
    }
    if let Some(k) = &global.api_key_env {
        fast.api_key_env = Some(k.clone());
    }
    let mut forced = None;
    match pick {
        Some(r) if ModelRole::parse(r).is_some() => forced = ModelRole::parse(r),
        Some(name) => {
            fast = RoleConfig {
                backend: Some("auto".into()),
                model: Some(name.to_owned()),
                ..RoleConfig::default()
            };
            forced = Some(ModelRole::Fast);
        }
        None => {}
    }
    let section = ModelsSection {
        fast: fast.with_env(ModelRole::Fast),
        strong: file
            .models
            .strong
            .clone()
            .unwrap_or_default()
            .with_env(ModelRole::Strong),
    };
    let manager = ModelManager::new();
    for n in configure_models(&manager, &section, default_threads(global))? {
        output::notice(&n);
    }
    Ok((manager, forced, file.ask.budget))
}

fn refresh_quietly(engine: &Engine) -> Result<()> {
    if !engine.is_writer() {
        return Ok(());
    }
    let bar = output::ProgressBar::new();
    engine.refresh(&HashSet::new(), &mut |p| bar.update(p))?;
    bar.finish();
    Ok(())
}

fn ask(global: &Global, args: AskArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let roots = workspace(global, &[])?;
    let stop = interrupt_flag()?;
    let (models, forced, configured_budget) = model_manager(global, &roots, args.model.as_deref())?;
    let engine = open(global, roots, Access::refreshing(args.no_refresh), true)?;
    if !args.no_refresh {
        refresh_quietly(&engine)?;
    }
    let chosen_budget = args.budget.or(configured_budget);
    let opts = AskOptions {
        budget: chosen_budget.unwrap_or(8000),
        // A budget someone chose is sent whole; the default one fits the model's speed.
        answer_within: chosen_budget
            .is_none()
            .then_some(scry_answer::DEFAULT_ANSWER_WITHIN),
        k: args.k,
        role: forced,
        sampling: Sampling {
            temperature: args.temperature,
            max_tokens: args.max_tokens,
            seed: args.seed,
            ..Sampling::default()
        },
        ..AskOptions::default()
    };
    let streaming = !args.json;
    let reading = output::ReadingBar::new();
    let mut on_event = |e: AskEvent<'_>| match e {
        AskEvent::Reading { read, total } => reading.update(read, total),
        AskEvent::Text(t) => {
            reading.finish();
            if streaming {
                output::answer_piece(t);
            }
        }
    };
    let outcome = scry_answer::ask(
        &engine,
        &models,
        &args.question,
        &opts,
        &mut on_event,
        &stop,
    );
    journal::record_answer(&engine, "ask", started, &outcome, |o| journal::Answered {
        sources: o.sources.len(),
        fallbacks: &o.fallbacks,
        notices: &o.notices,
        tokens: o.answer.is_some().then_some(o.tokens_out),
    });
    let outcome = match outcome {
        Err(AnswerError::Cancelled) => {
            reading.finish();
            output::notice("interrupted");
            return Ok(ExitCode::from(130));
        }
        other => {
            reading.finish();
            other?
        }
    };
    if streaming && outcome.answer.is_some() {
        output::answer_piece("\n");
    }
    for f in &outcome.fallbacks {
        output::notice(&format!("fallback: {f}"));
    }
    for n in &outcome.notices {
        output::notice(n);
    }
    output::ask_outcome(&outcome, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn plan(global: &Global, args: PlanArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let roots = workspace(global, &[])?;
    let stop = interrupt_flag()?;
    let (models, _, _) = model_manager(global, &roots, None)?;
    let engine = open(global, roots, Access::refreshing(args.no_refresh), true)?;
    if !args.no_refresh {
        refresh_quietly(&engine)?;
    }
    let opts = PlanOptions {
        budget: args.budget,
        ..PlanOptions::default()
    };
    let outcome = scry_answer::plan(&engine, &models, &args.task, &opts, &stop);
    journal::record_answer(&engine, "plan", started, &outcome, |o| journal::Answered {
        sources: o.sources.len(),
        fallbacks: &o.fallbacks,
        notices: &o.notices,
        tokens: Some(o.tokens_out),
    });
    let outcome = match outcome {
        Err(AnswerError::Cancelled) => {
            output::notice("interrupted");
            return Ok(ExitCode::from(130));
        }
        other => other?,
    };
    for f in &outcome.fallbacks {
        output::notice(&format!("fallback: {f}"));
    }
    for n in &outcome.notices {
        output::notice(n);
    }
    output::plan_outcome(&outcome, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn models(cmd: ModelsCommand) -> Result<ExitCode> {
    match cmd {
        ModelsCommand::List {
            json,
            ollama,
            no_ollama,
        } => {
            let found = scry_models::discover_models((!no_ollama).then_some(ollama.as_str()));
            output::models_list(&found, &scry_models::models_dir(), json)?;
        }
        ModelsCommand::Pull {
            repo,
            file,
            revision,
            sha256,
        } => {
            let mut opts = PullOptions::new(scry_models::models_dir());
            opts.revision = revision;
            opts.sha256 = sha256;
            let bar = output::DownloadBar::new(&file);
            let path = scry_models::pull_model(&repo, &file, &opts, &mut |done, total| {
                bar.update(done, total)
            })?;
            bar.finish();
            output::pulled(&path)?;
        }
    }
    Ok(ExitCode::SUCCESS)
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
    config_for(global, roots)
}

/// The engine settings: flags, then the environment, then the config files (the
/// workspace's `scry.toml` when there is a root to look in).
fn config_for(global: &Global, roots: Vec<PathBuf>) -> Result<EngineConfig> {
    let file = config_file(global, &roots)?;
    let embedding = embedding_config(global, file.embedding.unwrap_or_default());
    let (fast, full) = if global.no_model {
        (None, None)
    } else {
        embedding_tiers(&embedding, default_threads(global))?
    };
    let fast = fast.filter(|_| !global.no_fast_tier);
    let mut b = EngineConfig::builder(roots)
        .embedder(full)
        .fast_embedder(fast)
        .prefixes(
            embedding.query_prefix.unwrap_or_default(),
            embedding.document_prefix.unwrap_or_default(),
        )
        .max_file_bytes(global.max_file_size)
        .include_hidden(global.hidden)
        .exclude(global.exclude.clone())
        .fusion(global.fusion)
        .rrf_k(global.rrf_k);
    if let Some(dir) = &global.index_dir {
        if dir.exists() && !dir.is_dir() {
            anyhow::bail!(
                "--index-dir {}: is a file, not a directory; give a directory (it is created if missing)",
                dir.display()
            );
        }
        b = b.index_dir(dir);
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

/// The `[embedding]` section with the flags (and their variables) over it.
fn embedding_config(global: &Global, mut c: EmbeddingConfig) -> EmbeddingConfig {
    if let Some(m) = &global.model {
        c.model = Some(m.clone());
    }
    if let Some(u) = &global.embed_url {
        c.url = Some(u.clone());
        c.backend = Some("openai".into());
    }
    if let Some(b) = &global.embed_backend {
        c.backend = Some(b.clone());
    }
    if let Some(k) = &global.embed_api_key_env {
        c.api_key_env = Some(k.clone());
    }
    if let Some(t) = global.threads {
        c.threads = Some(t);
    }
    c
}

/// The "in use" error of a locked index, in words a user can act on.
fn locked_message(e: EngineError) -> anyhow::Error {
    match e {
        EngineError::Locked(dir) => anyhow::anyhow!(
            "the index at {} is being written by another scry process (`scry watch` or an editor); \
             try again when it is done, or pass --index-dir",
            dir.display()
        ),
        other => anyhow::Error::new(other),
    }
}

/// How a command opens the index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// `scry index`: write it; another writer is an error.
    Write,
    /// `search`, `ask`, `plan`: refresh it first, unless another scry process writes it
    /// (an editor's server, `scry watch`); then read that writer's last commit instead of
    /// failing, as the faces do, and say so.
    RefreshOrFollow,
    /// `status` and `--no-refresh`: only read the last commit; never take the lock,
    /// repair or create anything.
    Read,
}

impl Access {
    fn refreshing(no_refresh: bool) -> Access {
        if no_refresh {
            Access::Read
        } else {
            Access::RefreshOrFollow
        }
    }
}

/// Opens the index for a command. `full`: load the full tier's model too; without it a
/// command with a fast tier searches BM25 and the fast tier, and starts in milliseconds.
fn open(global: &Global, roots: Vec<PathBuf>, access: Access, full: bool) -> Result<Engine> {
    let mut cfg = config(global, roots)?;
    cfg.follow_when_locked = access != Access::Write;
    cfg.read_only = access == Access::Read;
    cfg.load_full_tier = full;
    let specs = [cfg.fast_embedder.as_ref(), cfg.embedder.as_ref()];
    if let Some(spec) = specs.into_iter().flatten().find(|s| s.needs_distilling()) {
        output::notice(&format!(
            "distilling a static embedding table from {} (once per model; about a minute on a \
             laptop CPU)",
            spec.model_name()
        ));
    }
    let engine = Engine::open(cfg).map_err(locked_message)?;
    let status = engine.status();
    if access == Access::RefreshOrFollow && !engine.is_writer() {
        output::notice(&format!(
            "another scry process (an editor's server or `scry watch`) is writing this index; \
             reading its last commit (generation {}) without refreshing",
            status.generation
        ));
    }
    for n in status.notices {
        output::notice(&n);
    }
    Ok(engine)
}

fn index(global: &Global, args: IndexArgs) -> Result<ExitCode> {
    let roots = workspace(global, &args.paths)?;
    if args.dry_run {
        let report = Engine::dry_run(&config(global, roots)?)?;
        if let Some(why) = &report.model_problem {
            output::notice(&format!("BM25-only: {why}"));
        }
        output::dry_run(&report, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    let publish_to = match (args.store.store.as_slice(), roots.as_slice()) {
        ([], _) => None,
        (urls, [root]) => Some((urls.to_vec(), crate::store::repo_name(&args.store, root)?)),
        _ => bail!("scry index --store publishes one repository: give one folder"),
    };
    let engine = open(global, roots, Access::Write, args.wait_vectors)?;
    let status = engine.status();
    if let Some(why) = &status.model_problem {
        output::notice(&format!("BM25-only: {why}"));
    }
    let bar = output::ProgressBar::new();
    let report = engine.refresh(&HashSet::new(), &mut |p| bar.update(p))?;
    let upgrade = if args.wait_vectors {
        Some(upgrade_all(&engine, &bar)?)
    } else {
        None
    };
    bar.finish();
    let published = match publish_to {
        Some((urls, repo)) => Some(crate::store::publish(
            &engine,
            &urls,
            &args.store.org,
            &repo,
        )?),
        None => None,
    };
    output::refresh_report(
        &report,
        upgrade.as_ref(),
        &engine.status(),
        published.as_ref().map(|p| (p, args.store.org.as_str())),
        args.json,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Model time between commits while `scry index --wait-vectors` computes the full tier.
const UPGRADE_COMMIT_EVERY: Duration = Duration::from_secs(10);

/// Computes the full tier's vectors for every chunk, committing every few seconds (an
/// interrupted run keeps what it did); the figures of the whole run.
fn upgrade_all(engine: &Engine, bar: &output::ProgressBar) -> Result<scry_engine::UpgradeReport> {
    let mut total = scry_engine::UpgradeReport::default();
    loop {
        let step = engine.upgrade_vectors(UPGRADE_COMMIT_EVERY, &|| false, &mut |r| {
            bar.upgrade(&total.then(r));
        })?;
        total = total.then(&step);
        // Nothing embedded: done, or the model fails (said in `errors`).
        if step.embedded == 0 || step.remaining == 0 {
            return Ok(total);
        }
    }
}

fn search(global: &Global, args: SearchArgs) -> Result<ExitCode> {
    if !args.store.store.is_empty() {
        let urls = args.store.store.clone();
        return search_store(global, &urls, args);
    }
    let started = Instant::now();
    let roots = workspace(global, &[])?;
    let engine = open(
        global,
        roots,
        Access::refreshing(args.no_refresh),
        args.full_vectors,
    )?;
    if !args.no_refresh && engine.is_writer() {
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
        .within(within)
        .by_file(args.files);
    let results = engine.search(&req);
    journal::record(&engine, "search", started, |a| match &results {
        Ok(r) => {
            a.mode = Some(r.mode.to_string());
            a.results = Some(if args.files {
                r.files.len()
            } else {
                r.hits.len()
            });
            if let Some(n) = &r.notice {
                a.notice(n);
            }
        }
        Err(e) => journal::failed(a, e),
    });
    let results = results?;
    if let Some(n) = &results.notice {
        output::notice(n);
    }
    output::search_results(&results, args.json, args.files)?;
    // The process ends here: tearing down the index, the vectors and the model (tens of
    // thousands of allocations) would only add to a one-shot search's latency, and
    // everything it wrote is committed already (safe to leave as a kill would).
    std::mem::forget(results);
    std::mem::forget(engine);
    Ok(ExitCode::SUCCESS)
}

/// The HTTP face's options from the flags; Ctrl-C stops it.
fn http_options(
    addr: std::net::SocketAddr,
    token: Option<String>,
    args: McpArgs,
) -> Result<scry_mcp::HttpOptions> {
    let mut http = scry_mcp::HttpOptions::new(addr);
    http.token = token;
    http.allowed_hosts = args.allow_host;
    http.allowed_origins = args.allow_origin;
    http.max_sessions = args.max_sessions;
    http.session_idle = std::time::Duration::from_secs(args.session_idle.max(1));
    let shutdown = http.shutdown.clone();
    ctrlc::set_handler(move || shutdown.cancel()).context("cannot handle Ctrl-C")?;
    Ok(http)
}

fn mcp_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scry-mcp")
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

/// `scry serve --store`: MCP over HTTP for one organisation's repositories in a shared
/// store.
fn serve_store(global: &Global, urls: &[String], args: McpArgs) -> Result<ExitCode> {
    let Some(addr) = args.http else {
        bail!("--store serves over HTTP: use `scry serve --store` or `scry mcp --http --store`");
    };
    let config = config_for(global, Vec::new())?;
    let embedder = match &config.fast_embedder {
        Some(spec) => Some(spec.load().context("loading the fast tier's table")?),
        None => None,
    };
    let mut store = scry_store_pg::BlockingPgStore::open_shards(urls)?;
    if let Some(primary) = &args.primary {
        store = store.with_primary(primary)?;
    }
    if !embedder
        .as_deref()
        .is_some_and(|e| store.takes_queries_from(e))
    {
        output::notice(&format!(
            "the store's vectors come from {}; without that model here, searches are BM25 only",
            store.store().model()
        ));
    }
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.is_empty());
    if token.is_none() && args.org_tokens.is_none() && !addr.ip().is_loopback() {
        output::notice(&format!(
            "serving on {addr} without a token: set {} to require one",
            args.token_env
        ));
    }
    let orgs = match &args.org_tokens {
        Some(file) => scry_mcp::Orgs::ByToken(crate::store::org_tokens(file)?),
        None => scry_mcp::Orgs::One(args.org.clone()),
    };
    let state = Arc::new(scry_mcp::StoreState {
        store,
        orgs,
        embedder,
        query_prefix: config.query_prefix.clone(),
        fusion: config.fusion,
        rrf_k: config.rrf_k,
        permits: tokio::sync::Semaphore::new(8),
    });
    let http = http_options(addr, token, args)?;
    let rt = mcp_runtime()?;
    rt.block_on(scry_mcp::serve_store_http(state, http, |bound| {
        output::notice(&format!(
            "serving the shared store's MCP at http://{bound}/mcp"
        ));
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// `scry search --store`: the shared store, not this machine's index.
fn search_store(global: &Global, urls: &[String], args: SearchArgs) -> Result<ExitCode> {
    if args.root.is_some() {
        bail!(
            "--root names a folder of this machine's workspace; with --store, use --repo or --path"
        );
    }
    let mode: SearchMode = args.mode.parse().map_err(anyhow::Error::msg)?;
    let req = SearchRequest::new(args.query.clone())
        .k(args.k)
        .mode(mode)
        .language(args.language.clone())
        .path_glob(args.path_glob.clone())
        .by_file(args.files);
    let config = config_for(global, Vec::new())?;
    let found = crate::store::search(urls, &args.store, &req, &config)?;
    if let Some(n) = &found.results.notice {
        output::notice(n);
    }
    output::store_results(&found, args.json, args.files)?;
    Ok(ExitCode::SUCCESS)
}

fn status(global: &Global, args: StatusArgs) -> Result<ExitCode> {
    let roots = workspace(global, &[])?;
    let engine = open(global, roots, Access::Read, false)?;
    output::status(&engine.status(), args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// `scry watch`: the engine's workspace lifecycle (model, first pass, watcher) until
/// Ctrl-C; another writer on the index is an error, not something to follow.
fn watch(global: &Global) -> Result<ExitCode> {
    let roots = workspace(global, &[])?;
    let config = config(global, roots)?;
    let stop = interrupt_flag()?;
    let bar = std::sync::Mutex::new(Some(output::ProgressBar::new()));
    let ws = Workspace::open(
        config,
        WorkspaceOptions::default(),
        move |event| match event {
            WorkspaceEvent::Model(scry_engine::ModelState::Failed(why)) => {
                output::notice(&format!("BM25-only: {why}"));
            }
            WorkspaceEvent::Indexing(p) => {
                if let Some(bar) = &*bar.lock().unwrap_or_else(|e| e.into_inner()) {
                    bar.update(p);
                }
            }
            WorkspaceEvent::Indexed(r) => {
                if let Some(bar) = bar.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    bar.finish();
                }
                if let Err(e) = r {
                    output::error(&anyhow::anyhow!("indexing failed: {e}"));
                }
            }
            WorkspaceEvent::Updated(Ok(r)) if r.changed() => output::watch_update(r),
            WorkspaceEvent::Updated(Err(e)) => output::error(&anyhow::anyhow!("{e}")),
            WorkspaceEvent::Upgraded(r) => output::upgrade_update(r),
            WorkspaceEvent::NotWatching(why) => {
                output::error(&anyhow::anyhow!("not watching: {why}"))
            }
            _ => {}
        },
    )
    .map_err(locked_message)?;
    for n in ws.engine().status().notices {
        output::notice(&n);
    }
    if ws.state().model == scry_engine::ModelState::NotConfigured {
        output::notice("BM25-only: no embedding model is configured");
    }
    ws.wait_indexed(Duration::MAX);
    if let Some(r) = ws.state().last_report {
        output::refresh_report(&r, None, &ws.engine().status(), None, false)?;
    }
    output::notice("watching for changes; press Ctrl-C to stop");
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(ExitCode::SUCCESS)
}

/// `scry lsp`: the engine settings from the flags; the roots come from the editor.
fn lsp(global: &Global, args: LspArgs) -> Result<ExitCode> {
    let (models, _, configured_budget) = model_manager(global, &[], None)?;
    let engine = config_for(global, Vec::new())?;
    let mut opts = scry_lsp::LspOptions::new(engine, Arc::new(models));
    if let Some(b) = args.budget.or(configured_budget) {
        opts.ask.budget = b;
        opts.ask.answer_within = None;
    }
    opts.log_file = args.log_file;
    opts.watch = !args.no_watch;
    let out = crate::stdio::take_stdout().context("cannot take over stdout")?;
    let status = scry_lsp::run_stdio(opts, out).context("cannot serve over stdio")?;
    Ok(ExitCode::from(status.0 as u8))
}

/// Where `scry serve` and a bare `scry mcp --http` listen.
const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:3939";

fn mcp(global: &Global, args: McpArgs) -> Result<ExitCode> {
    if !args.store.is_empty() {
        let urls = args.store.clone();
        return serve_store(global, &urls, args);
    }
    let roots = workspace(global, &[])?;
    let (models, _, configured_budget) = model_manager(global, &roots, None)?;
    let engine = config(global, roots)?;
    let mut opts = scry_mcp::McpOptions::new(engine, Arc::new(models));
    opts.ask_budget = args.budget.or(configured_budget);
    opts.watch = !args.no_watch;
    opts.observe.cache_bytes = args.cache_mb << 20;
    opts.observe.rate_limit = (args.rate_limit > 0.0).then_some(scry_mcp::RateLimit {
        per_second: args.rate_limit,
        burst: args.rate_burst.max(1.0),
    });
    let Some(addr) = args.http else {
        let out = crate::stdio::take_stdout().context("cannot take over stdout")?;
        scry_mcp::run_stdio(opts, out).context("cannot serve MCP over stdio")?;
        return Ok(ExitCode::SUCCESS);
    };
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.is_empty());
    if token.is_none() && !addr.ip().is_loopback() {
        output::notice(&format!(
            "serving on {addr} without a token: set {} to require one",
            args.token_env
        ));
    }
    let http = http_options(addr, token, args)?;
    let rt = mcp_runtime()?;
    let shared = scry_mcp::start(opts)?;
    rt.block_on(scry_mcp::serve_http(shared, http, |bound| {
        output::notice(&format!("serving MCP at http://{bound}/mcp"));
        output::notice(&format!(
            "dashboard at http://{bound}/dashboard, metrics at http://{bound}/metrics"
        ));
    }))?;
    Ok(ExitCode::SUCCESS)
}
