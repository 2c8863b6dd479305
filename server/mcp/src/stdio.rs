//! `scry mcp` over stdio: newline-delimited JSON-RPC on stdin and stdout.

use std::sync::Arc;

use rmcp::ServiceExt;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::server::ScryMcp;
use crate::state::Shared;
use crate::{McpError, McpOptions};

/// Serves one MCP session on stdin and `protocol_out` until the client closes it.
/// `protocol_out` is the process's stdout, taken over by the caller: a private copy of
/// the descriptor, with descriptor 1 pointed at stderr, so nothing else can print into
/// the stream.
pub fn run_stdio(opts: McpOptions, protocol_out: std::fs::File) -> Result<(), McpError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("scry-mcp")
        .enable_all()
        .build()
        .map_err(|e| McpError::io("cannot start the runtime", e))?;
    let shared = crate::start(opts)?;
    let result = rt.block_on(async move {
        let output = tokio::fs::File::from_std(protocol_out);
        serve_io(shared, tokio::io::stdin(), output).await
    });
    // Stdin's reader thread may be blocked in read(2); do not wait for it.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
    result
}

/// Serves one session over any pair of streams (stdio, or pipes in tests).
pub async fn serve_io<R, W>(shared: Arc<Shared>, input: R, output: W) -> Result<(), McpError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let service = ScryMcp::new(shared)
        .serve((input, output))
        .await
        .map_err(|e| McpError::Session(e.to_string()))?;
    service
        .waiting()
        .await
        .map_err(|e| McpError::Session(e.to_string()))?;
    Ok(())
}
