//! `scry mcp` over stdio: newline-delimited JSON-RPC on stdin and stdout.

use std::sync::Arc;

use rmcp::ServiceExt;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};

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

/// The longest line accepted from a client; a longer one is answered as a parse error
/// and skipped, never held whole in memory.
const MAX_LINE_BYTES: usize = 16 << 20;

/// Serves one session over any pair of streams (stdio, or pipes in tests). Every line
/// passes the JSON-RPC gate ([`crate::wire`]) first; the gate's replies and the
/// session's messages share one writer, a whole line at a time.
pub async fn serve_io<R, W>(shared: Arc<Shared>, input: R, output: W) -> Result<(), McpError>
where
    R: AsyncRead + Send + Unpin + 'static,
    W: AsyncWrite + Send + Unpin + 'static,
{
    let (gate_out, session_in) = tokio::io::duplex(1 << 20);
    let (session_out, session_lines) = tokio::io::duplex(1 << 20);
    let (lines_tx, lines_rx) = tokio::sync::mpsc::channel::<Vec<u8>>(64);
    let writer = tokio::spawn(write_lines(lines_rx, output));
    let forward = tokio::spawn(forward_lines(session_lines, lines_tx.clone()));
    let gate = tokio::spawn(gate(input, gate_out, lines_tx));
    let service = ScryMcp::new(shared)
        .serve((session_in, session_out))
        .await
        .map_err(|e| McpError::Session(e.to_string()))?;
    let result = service
        .waiting()
        .await
        .map_err(|e| McpError::Session(e.to_string()));
    gate.abort();
    let _ = forward.await;
    let _ = writer.await;
    result.map(|_| ())
}

/// Reads the client's lines; passes well-formed ones to the session and answers the rest.
async fn gate<R: AsyncRead + Unpin>(
    input: R,
    mut session: tokio::io::DuplexStream,
    replies: tokio::sync::mpsc::Sender<Vec<u8>>,
) {
    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    loop {
        line.clear();
        match read_line(&mut input, &mut line).await {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => break,
        }
        let verdict = if line.len() > MAX_LINE_BYTES {
            crate::wire::too_long()
        } else {
            crate::wire::check(&line)
        };
        match verdict {
            crate::wire::Verdict::Pass => {
                line.push(b'\n');
                if session.write_all(&line).await.is_err() {
                    break;
                }
            }
            crate::wire::Verdict::Reply(v) => {
                if replies.send(v.to_string().into_bytes()).await.is_err() {
                    break;
                }
            }
            crate::wire::Verdict::Drop => {}
        }
    }
    // End of input: the session sees it and ends.
    let _ = session.shutdown().await;
}

/// One line (without its newline) into `buf`, keeping at most `MAX_LINE_BYTES + 1`
/// bytes of it. `false` at the end of input.
async fn read_line<R: AsyncBufRead + Unpin>(r: &mut R, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut any = false;
    loop {
        let chunk = r.fill_buf().await?;
        if chunk.is_empty() {
            return Ok(any);
        }
        any = true;
        let (take, done) = match chunk.iter().position(|b| *b == b'\n') {
            Some(i) => (i, true),
            None => (chunk.len(), false),
        };
        let room = (MAX_LINE_BYTES + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(if done { take + 1 } else { take });
        if done {
            return Ok(true);
        }
    }
}

/// The session's output, a line at a time, onto the shared writer.
async fn forward_lines(
    session: tokio::io::DuplexStream,
    lines: tokio::sync::mpsc::Sender<Vec<u8>>,
) {
    let mut session = BufReader::new(session);
    let mut line = Vec::new();
    loop {
        line.clear();
        match session.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if line.ends_with(b"\n") {
                    line.pop();
                }
                if lines.send(std::mem::take(&mut line)).await.is_err() {
                    break;
                }
            }
        }
    }
}

async fn write_lines<W: AsyncWrite + Unpin>(
    mut lines: tokio::sync::mpsc::Receiver<Vec<u8>>,
    mut out: W,
) {
    while let Some(mut line) = lines.recv().await {
        line.push(b'\n');
        if out.write_all(&line).await.is_err() || out.flush().await.is_err() {
            break;
        }
    }
}
