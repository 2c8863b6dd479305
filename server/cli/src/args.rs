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
    /// GGUF embedding model. Default: all-MiniLM-L6-v2-f16.gguf in the models directory.
    #[arg(long, global = true, env = "SCRY_EMBED_MODEL", value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Use no embedding model: BM25-only.
    #[arg(long, global = true, conflicts_with = "model")]
    pub no_model: bool,
    /// CPU threads for embedding.
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
    /// The k of Reciprocal Rank Fusion: score = sum of 1/(k + rank). Larger k flattens
    /// the advantage of top ranks.
    #[arg(long, global = true, default_value_t = 60.0, value_name = "K")]
    pub rrf_k: f32,
    /// More logging on stderr (-v info, -vv debug). SCRY_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
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
}

#[derive(Args)]
pub struct IndexArgs {
    /// Roots to index (default: the workspace).
    pub paths: Vec<PathBuf>,
    /// Report files, chunks, embedding tokens and estimated time; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct SearchArgs {
    pub query: String,
    /// Number of results.
    #[arg(short, default_value_t = 10)]
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
    /// Search the index as it is, without first bringing it up to date.
    #[arg(long)]
    pub no_refresh: bool,
}

#[derive(Args)]
pub struct StatusArgs {
    #[arg(long)]
    pub json: bool,
}
