//! The `scry` binary: clap commands over the engine; the only crate that writes to stdout.

mod args;
mod commands;
mod journal;
mod omp;
mod output;
mod stdio;
mod store;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    omp::ensure_short_spin();
    scry_models::memory::tune_allocator();
    let cli = args::Cli::parse();
    let log_file = match &cli.command {
        args::Command::Lsp(a) => a.log_file.clone(),
        args::Command::Mcp(a) | args::Command::Serve(a) => a.log_file.clone(),
        _ => None,
    };
    init_tracing(
        cli.global.verbose,
        cli.global.log_format,
        log_file.as_deref(),
    );
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            output::error(&e);
            ExitCode::from(1)
        }
    }
}

/// Logs go to stderr (and to `log_file` when given); stdout is for results and protocol.
fn init_tracing(verbose: u8, format: args::LogFormat, log_file: Option<&std::path::Path>) {
    // llama.cpp's own log lines (target `llama-cpp-2`: hundreds of `WARN`s per run about
    // padding tokens and graph reuse) are its internals, not the user's business: they
    // show at `-vv` (or through SCRY_LOG), never by default. Its errors still show.
    let default = match verbose {
        0 => "warn,llama-cpp-2=error",
        1 => "info,llama-cpp-2=error",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("SCRY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let file = log_file.and_then(|p| {
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
            .map(std::sync::Arc::new)
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(move || Tee(file.clone()))
        .with_ansi(false);
    match format {
        args::LogFormat::Text => builder.with_target(false).init(),
        // The span list carries each MCP call's request id, tool and client.
        args::LogFormat::Json => {
            builder.json().with_span_list(true).init();
            output::json_stderr();
        }
    }
}

/// stderr, and a copy to the log file if there is one.
struct Tee(Option<std::sync::Arc<std::fs::File>>);

impl std::io::Write for Tee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(f) = &self.0 {
            let _ = (&**f).write_all(buf);
        }
        std::io::stderr().write_all(buf)?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
