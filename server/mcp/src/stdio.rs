//! `scry mcp` over stdio: newline-delimited JSON-RPC on stdin and stdout.
//!
//! Stdout belongs to the protocol. Before anything runs, the protocol gets a private
//! duplicate of fd 1 and fd 1 itself is pointed at stderr, so a stray print from any
//! library (llama.cpp included) lands in the log instead of corrupting the stream.

use std::sync::Arc;

use rmcp::ServiceExt;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::server::ScryMcp;
use crate::state::Shared;
use crate::{McpError, McpOptions};

/// Serves one MCP session on the process's stdin and stdout until the client closes it.
pub fn run_stdio(opts: McpOptions) -> Result<(), McpError> {
    let protocol_out = private_stdout().map_err(|e| McpError::io("cannot take over stdout", e))?;
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

#[cfg(unix)]
fn private_stdout() -> std::io::Result<std::fs::File> {
    use std::os::fd::FromRawFd;
    // SAFETY: dup and dup2 on the process's own standard descriptors; the new
    // descriptor is owned by the returned File and by nothing else.
    unsafe {
        let fd = libc::dup(1);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::dup2(2, 1) < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(std::fs::File::from_raw_fd(fd))
    }
}

#[cfg(not(unix))]
fn private_stdout() -> std::io::Result<std::fs::File> {
    use std::os::windows::io::{AsRawHandle, FromRawHandle};
    let handle = std::io::stdout().as_raw_handle();
    // SAFETY: the process's stdout handle stays open for the process's life.
    Ok(unsafe { std::fs::File::from_raw_handle(handle) })
}
