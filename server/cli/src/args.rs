//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "scry",
    version,
    about = "A live hybrid (BM25 + embeddings) index of your code, offline."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct Global {
    /// Workspace root (repeatable). Default: the git repository around the current
    /// directory, or the current directory.
    #[arg(short = 'w', long = "workspace", global = true, value_name = "DIR")]
    pub workspace: Vec<PathBuf>,
    /// Where the index lives. Default: a per-workspace directory under the XDG cache.
    #[arg(long, global = true, env = "SCRY_INDEX_DIR", value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// Embedding model: a GGUF file or name in the models directory (llama), or the
    /// server's model id (openai). Default: the config file's, else
    /// all-MiniLM-L6-v2-f16.gguf when installed.
    #[arg(
        long = "embed-model",
        global = true,
        env = "SCRY_EMBED_MODEL",
        value_name = "NAME"
    )]
    pub model: Option<String>,
    /// Embedding backend: llama (in this process), static (a table distilled once from
    /// the llama model: vectors at tokenizer speed), openai (an OpenAI-compatible
    /// /v1/embeddings server) or none.
    #[arg(long, global = true, env = "SCRY_EMBED_BACKEND", value_name = "KIND")]
    pub embed_backend: Option<String>,
    /// Base URL of an OpenAI-compatible embeddings server (implies --embed-backend
    /// openai), e.g. http://127.0.0.1:8081/v1.
    #[arg(long, global = true, env = "SCRY_EMBED_URL", value_name = "URL")]
    pub embed_url: Option<String>,
    /// Name of the environment variable that holds the embeddings server's API key.
    #[arg(long, global = true, value_name = "VAR")]
    pub embed_api_key_env: Option<String>,
    /// With a local embedding model, do not keep the fast tier (a static table distilled
    /// from it that makes every chunk hybrid-searchable at once): every chunk then waits
    /// for the model itself.
    #[arg(long, global = true, env = "SCRY_NO_FAST_TIER")]
    pub no_fast_tier: bool,
    /// Use no embedding model: BM25-only.
    #[arg(long, global = true, conflicts_with_all = ["model", "embed_url", "embed_backend"])]
    pub no_model: bool,
    /// Model configuration file (default: ./scry.toml in the workspace, then
    /// $XDG_CONFIG_HOME/scry/config.toml).
    #[arg(long, global = true, env = "SCRY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Chat model of the `fast` role: a GGUF name in the models directory, a path, or
    /// with --backend openai the server's model id.
    #[arg(long, global = true, env = "SCRY_CHAT_MODEL", value_name = "NAME")]
    pub chat_model: Option<String>,
    /// Backend of the `fast` role: auto, llama, openai, mlx or none.
    #[arg(long, global = true, env = "SCRY_BACKEND", value_name = "KIND")]
    pub backend: Option<String>,
    /// Base URL of an OpenAI-compatible server (implies --backend openai), e.g.
    /// http://127.0.0.1:8080/v1.
    #[arg(long, global = true, env = "SCRY_OPENAI_URL", value_name = "URL")]
    pub openai_url: Option<String>,
    /// Name of the environment variable that holds the server's API key.
    #[arg(long, global = true, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// CPU threads for llama.cpp (embedding and answering).
    #[arg(long, global = true, env = "SCRY_THREADS")]
    pub threads: Option<usize>,
    /// Files larger than this many bytes are not indexed.
    #[arg(long, global = true, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_file_size: u64,
    /// Exclude paths matching this gitignore-style glob (repeatable).
    #[arg(long, global = true, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Also index hidden files and directories.
    #[arg(long, global = true)]
    pub hidden: bool,
    /// Also index files that usually hold secrets (.env, *.pem, id_rsa, ...).
    #[arg(long, global = true)]
    pub include_secrets: bool,
    /// How BM25 and vector results are combined, each weighted by the query's shape:
    /// `rrf` (Reciprocal Rank Fusion) or `scores` (each retriever's score relative to
    /// its best hit).
    #[arg(long, global = true, default_value = "rrf", value_name = "FUSION")]
    pub fusion: scry_engine::Fusion,
    /// The k of Reciprocal Rank Fusion (`--fusion rrf`): score = sum of 1/(k + rank).
    /// Larger k flattens the advantage of top ranks.
    #[arg(long, global = true, default_value_t = 60.0, value_name = "K", value_parser = positive_finite)]
    pub rrf_k: f32,
    /// More logging on stderr (-v info, -vv debug). SCRY_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// How log lines are written: `text` for people, `json` (one object a line, with
    /// the request id and tool of every MCP call) for log collectors.
    #[arg(
        long,
        global = true,
        env = "SCRY_LOG_FORMAT",
        default_value = "text",
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Index (or bring up to date) the workspace.
    Index(IndexArgs),
    /// Search the index.
    Search(SearchArgs),
    /// Show what is indexed and how.
    Status(StatusArgs),
    /// Index, then keep the index current as files change, until interrupted.
    Watch,
    /// Answer a question about the workspace with a local model, citing sources.
    Ask(AskArgs),
    /// Draft a change plan for a task, as JSON steps with files and reasons.
    Plan(PlanArgs),
    /// List or download models.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Serve editors over the Language Server Protocol on stdin/stdout. The workspace
    /// is the folders the editor opens.
    Lsp(LspArgs),
    /// Serve coding agents over the Model Context Protocol: stdio by default, or
    /// streamable HTTP with --http. The workspace is --workspace (or the git repository
    /// around the current directory); roots a client advertises never widen it.
    Mcp(McpArgs),
    /// Serve the dashboard (http://ADDR/dashboard), /metrics and MCP over HTTP: the same
    /// as `scry mcp --http`, at 127.0.0.1:3939 unless --http names another address.
    Serve(McpArgs),
}

#[derive(Args)]
pub struct McpArgs {
    /// Serve streamable HTTP at http://ADDR/mcp instead of stdio (default address
    /// 127.0.0.1:3939; port 0 picks a free one and prints it on stderr).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:3939")]
    pub http: Option<std::net::SocketAddr>,
    /// Environment variable holding a bearer token that HTTP clients must send
    /// (`Authorization: Bearer ...`). Never pass the token itself on the command line.
    #[arg(long, value_name = "VAR", default_value = "SCRY_MCP_TOKEN")]
    pub token_env: String,
    /// Also accept this Host header over HTTP (repeatable), for a non-loopback bind.
    #[arg(long, value_name = "HOST")]
    pub allow_host: Vec<String>,
    /// Also accept requests from this browser origin (repeatable, e.g. https://app.example:443).
    #[arg(long, value_name = "ORIGIN")]
    pub allow_origin: Vec<String>,
    /// Most HTTP sessions open at once; past it a new session gets 503 and Retry-After.
    #[arg(long, value_name = "N", default_value_t = scry_mcp::DEFAULT_MAX_SESSIONS, value_parser = at_least_one())]
    pub max_sessions: usize,
    /// Close an HTTP session after this many seconds without a request.
    #[arg(long, value_name = "SECONDS", default_value_t = scry_mcp::DEFAULT_SESSION_IDLE.as_secs())]
    pub session_idle: u64,
    /// Tool calls per second each client (an HTTP session) may make on average; past
    /// it, calls get a retryable "rate limited" error. 0: no limit.
    #[arg(long, value_name = "N", default_value_t = scry_mcp::RateLimit::default().per_second)]
    pub rate_limit: f64,
    /// Calls a client may make at once after a quiet spell (the burst above the rate).
    #[arg(long, value_name = "N", default_value_t = scry_mcp::RateLimit::default().burst)]
    pub rate_burst: f64,
    /// Memory for cached search and context answers, in MiB (0: no cache). Entries
    /// belong to one index generation; a new one invalidates them.
    #[arg(long, value_name = "MIB", default_value_t = 32)]
    pub cache_mb: usize,
    /// Also write the log to this file (it always goes to stderr).
    #[arg(long, env = "SCRY_LOG_FILE", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Do not watch files for changes.
    #[arg(long)]
    pub no_watch: bool,
    /// Token budget of `ask` prompts (default: the config file's, else 8000).
    #[arg(long)]
    pub budget: Option<usize>,
    /// Serve a shared Postgres store (`scry index --store` feeds it) for one
    /// organisation (`--org`) instead of this machine's workspace: `search_code` across
    /// its repositories, and `index_status`.
    /// Repeat for shards (see `scry search --help`).
    #[arg(long, env = "SCRY_STORE", value_name = "URL")]
    pub store: Vec<String>,
    /// The organisation a `--store` server answers for.
    #[arg(long, env = "SCRY_ORG", default_value = "default", value_name = "ORG")]
    pub org: String,
    /// With --store: one server for many organisations. FILE holds one `ORG TOKEN` line
    /// per caller (`#` comments); a caller's bearer token names its organisation, and
    /// a request without a listed token is refused. The file must not be readable by
    /// group or others.
    #[arg(long, value_name = "FILE", conflicts_with = "org")]
    pub org_tokens: Option<PathBuf>,
    /// With --store on a logical replica: the primary, asked for each repository's
    /// newest generation so hits the replica has not caught up with say `stale`.
    #[arg(long, value_name = "URL")]
    pub primary: Option<String>,
}

#[derive(Args)]
pub struct LspArgs {
    /// Also write the log to this file (it always goes to stderr).
    #[arg(long, env = "SCRY_LOG_FILE", value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Do not watch files; the index follows the editor's buffers and `scry.reindex`.
    #[arg(long)]
    pub no_watch: bool,
    /// Token budget of `scry/ask` prompts (default: the config file's, else 8000).
    #[arg(long)]
    pub budget: Option<usize>,
    /// Accepted for clients that pass it; stdio is the only transport.
    #[arg(long, hide = true)]
    pub stdio: bool,
}

#[derive(Args)]
pub struct AskArgs {
    pub question: String,
    /// Token budget for the whole prompt (context, template and question).
    #[arg(long)]
    pub budget: Option<usize>,
    /// `fast`, `strong`, or a model (GGUF name or path) to answer with.
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// Hits retrieved before packing.
    #[arg(short, default_value_t = 40, value_parser = at_least_one())]
    pub k: usize,
    /// Longest answer, in tokens.
    #[arg(long, default_value_t = 512)]
    pub max_tokens: usize,
    #[arg(long, default_value_t = 0.2)]
    pub temperature: f32,
    #[arg(long, default_value_t = 42)]
    pub seed: u32,
    /// Print one JSON object (answer, sources, model, tokens, timings) instead of streaming.
    #[arg(long)]
    pub json: bool,
    /// Answer from the index as it is, without first bringing it up to date.
    #[arg(long)]
    pub no_refresh: bool,
}

#[derive(Args)]
pub struct PlanArgs {
    pub task: String,
    /// Token budget for the prompt.
    #[arg(long, default_value_t = 4000)]
    pub budget: usize,
    /// Print the whole outcome (plan, models, sources, tokens) as JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long)]
    pub no_refresh: bool,
}

#[derive(Subcommand)]
pub enum ModelsCommand {
    /// Models in Scry's models directory, the Hugging Face cache and a running Ollama.
    List {
        #[arg(long)]
        json: bool,
        /// Ollama's address.
        #[arg(long, env = "OLLAMA_HOST", default_value = "http://127.0.0.1:11434")]
        ollama: String,
        /// Do not ask Ollama.
        #[arg(long)]
        no_ollama: bool,
    },
    /// Download a GGUF file from Hugging Face into the models directory.
    Pull {
        /// Repository, e.g. HuggingFaceTB/SmolLM2-135M-Instruct-GGUF.
        repo: String,
        /// File in the repository, e.g. smollm2-135m-instruct-q8_0.gguf.
        file: String,
        #[arg(long, default_value = "main")]
        revision: String,
        /// Insist on this sha256 (default: the one the Hub publishes).
        #[arg(long)]
        sha256: Option<String>,
    },
}

#[derive(Args)]
pub struct IndexArgs {
    /// Roots to index (default: the workspace).
    pub paths: Vec<PathBuf>,
    /// Report files, chunks, embedding tokens and estimated time; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also wait for the full tier: the embedding model's own vectors for every chunk
    /// (otherwise `scry index` returns once every chunk has its fast-tier vector, and
    /// `scry watch`, `scry lsp` or `scry mcp` compute the rest in the background).
    #[arg(long)]
    pub wait_vectors: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// A shared store (Postgres) to publish to or search, instead of this machine's index
/// alone.
#[derive(Args, Clone)]
pub struct StoreArgs {
    /// A Postgres store (`postgres://…` or `host=… user=… dbname=…`): `scry index`
    /// publishes the indexed generation there (as one repository: `--repo`), and
    /// `scry search` searches it. Repeat for shards: each repository lives in the one
    /// its name hashes to, and a search asks them all and ranks their finds together.
    #[arg(long, env = "SCRY_STORE", value_name = "URL")]
    pub store: Vec<String>,
    /// The organisation in the store: searches see only its repositories.
    #[arg(long, env = "SCRY_ORG", default_value = "default", value_name = "ORG")]
    pub org: String,
    /// The repository: the name `scry index --store` publishes under (default: the
    /// indexed folder's name); for `scry search --store`, only these (repeatable;
    /// default: every repository of the organisation).
    #[arg(long = "repo", value_name = "NAME")]
    pub repos: Vec<String>,
}

#[derive(Args)]
pub struct SearchArgs {
    pub query: String,
    /// Also search the full tier (the embedding model's own vectors), loading the
    /// model: slower to start than the fast tier alone, which a one-shot search uses.
    #[arg(long)]
    pub full_vectors: bool,
    /// Number of results.
    #[arg(short, default_value_t = 10, value_parser = at_least_one())]
    pub k: usize,
    #[arg(long, default_value = "hybrid", value_parser = ["hybrid", "lexical", "vector"])]
    pub mode: String,
    /// Only this language (rust, python, typescript, markdown, ...).
    #[arg(long = "lang", value_name = "LANG")]
    pub language: Option<String>,
    /// Only paths matching this glob (relative to their root).
    #[arg(long = "path", value_name = "GLOB")]
    pub path_glob: Option<String>,
    /// Only results under this directory.
    #[arg(long = "root", value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Print results as JSON (shape in README).
    #[arg(long)]
    pub json: bool,
    /// Results by file ("which files…"): the `-k` best files, ranked by their
    /// evidence, each with its best ranges.
    #[arg(long)]
    pub files: bool,
    /// Search the index as it is, without first bringing it up to date.
    #[arg(long)]
    pub no_refresh: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}

/// `-k 0` asks for nothing: refused rather than answered with "no results".
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(1..)
}

/// `--rrf-k NaN`, `inf`, `0` or `-5` would silently rank nothing sensibly.
fn positive_finite(s: &str) -> Result<f32, String> {
    let v: f32 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("{s} must be a finite number above 0"))
    }
}
