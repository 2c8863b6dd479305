//! A guard between the client's byte stream and the JSON-RPC server.
//!
//! tower-lsp-server trusts its input: it buffers a body of whatever `Content-Length`
//! says, and a message that does not parse reaches it as-is. The guard reads frames
//! itself so that garbage, an oversized or malformed header, or a body that is not JSON
//! gets a -32700 error (id null) and costs nothing but that message, with memory bounded
//! by [`MAX_MESSAGE_BYTES`]. Good frames pass through unchanged. One writer task owns the
//! real output and writes whole frames only: the server's, and the guard's errors.

use serde_json::json;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Largest message body accepted.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Largest header block accepted.
const MAX_HEADER_BYTES: usize = 8 * 1024;
const CONTENT_LENGTH: &[u8] = b"content-length:";

/// Why a frame was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum FrameError {
    Garbage(usize),
    BadHeader(String),
    TooLarge(u64),
    NotJson(String),
}

impl FrameError {
    fn message(&self) -> String {
        match self {
            FrameError::Garbage(n) => format!("skipped {n} bytes that are not an LSP frame"),
            FrameError::BadHeader(h) => format!("malformed header: {h}"),
            FrameError::TooLarge(n) => format!(
                "a message of {n} bytes is over the {MAX_MESSAGE_BYTES}-byte limit; skipped"
            ),
            FrameError::NotJson(e) => format!("the message is not valid JSON: {e}"),
        }
    }
}

/// The -32700 response for a refused frame.
pub fn error_frame(e: &FrameError) -> Vec<u8> {
    let body = json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": { "code": -32700, "message": e.message() },
    })
    .to_string();
    frame(body.as_bytes())
}

pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// An incremental frame parser: feed bytes, take out messages and errors.
#[derive(Default)]
pub struct Deframer {
    buf: Vec<u8>,
    /// Skipping an oversized message: scanning for the next header.
    resync: bool,
    /// Frames come from our own server: already valid JSON, not parsed again.
    trusted: bool,
}

pub enum Frame {
    /// A message, with its `method` when it has one (read while checking the JSON).
    Message {
        body: Vec<u8>,
        method: Option<String>,
    },
    Refused(FrameError),
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_header_start(hay: &[u8]) -> Option<usize> {
    hay.windows(CONTENT_LENGTH.len())
        .position(|w| w.eq_ignore_ascii_case(CONTENT_LENGTH))
}

impl Deframer {
    /// For frames the server wrote: framing only.
    pub fn trusted() -> Deframer {
        Deframer {
            trusted: true,
            ..Deframer::default()
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, or `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Option<Frame> {
        if self.resync {
            match find_header_start(&self.buf) {
                Some(at) => {
                    self.buf.drain(..at);
                    self.resync = false;
                }
                None => {
                    // Keep a tail that might be the start of a split header name.
                    let keep = CONTENT_LENGTH.len() - 1;
                    if self.buf.len() > keep {
                        self.buf.drain(..self.buf.len() - keep);
                    }
                    return None;
                }
            }
        }
        // Bytes before the header name are garbage.
        match find_header_start(&self.buf) {
            Some(0) => {}
            Some(at) => {
                let skipped: Vec<u8> = self.buf.drain(..at).collect();
                // A Content-Type field may come before Content-Length.
                if !is_content_type_line(&skipped) {
                    return Some(Frame::Refused(FrameError::Garbage(skipped.len())));
                }
            }
            None => {
                if self.buf.len() > MAX_HEADER_BYTES {
                    let n = self.buf.len();
                    self.buf.clear();
                    self.resync = true;
                    return Some(Frame::Refused(FrameError::Garbage(n)));
                }
                return None;
            }
        }
        let Some(end) = find(&self.buf, b"\r\n\r\n") else {
            if self.buf.len() > MAX_HEADER_BYTES {
                self.buf.drain(..CONTENT_LENGTH.len());
                self.resync = true;
                return Some(Frame::Refused(FrameError::BadHeader(
                    "no end of header".into(),
                )));
            }
            return None;
        };
        let header = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        let mut length: Option<Result<u64, String>> = None;
        for line in header.split("\r\n") {
            let Some((name, value)) = line.split_once(':') else {
                length = Some(Err(format!("`{line}`")));
                break;
            };
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| format!("Content-Length `{}`", value.trim())),
                );
            }
        }
        let length = match length {
            Some(Ok(n)) => n,
            Some(Err(e)) => {
                self.buf.drain(..end + 4);
                return Some(Frame::Refused(FrameError::BadHeader(e)));
            }
            None => {
                self.buf.drain(..end + 4);
                return Some(Frame::Refused(FrameError::BadHeader(
                    "no Content-Length".into(),
                )));
            }
        };
        if length > MAX_MESSAGE_BYTES as u64 {
            self.buf.drain(..end + 4);
            self.resync = true;
            return Some(Frame::Refused(FrameError::TooLarge(length)));
        }
        let total = end + 4 + length as usize;
        if self.buf.len() < total {
            return None;
        }
        let body: Vec<u8> = self.buf[end + 4..total].to_vec();
        self.buf.drain(..total);
        if self.trusted {
            return Some(Frame::Message { body, method: None });
        }
        if let Err(e) = std::str::from_utf8(&body) {
            return Some(Frame::Refused(FrameError::NotJson(format!(
                "not UTF-8: {e}"
            ))));
        }
        // One parse checks the JSON and reads the method.
        #[derive(serde::Deserialize)]
        struct Peek {
            method: Option<String>,
        }
        let method = match serde_json::from_slice::<Peek>(&body) {
            Ok(p) => p.method,
            // Valid JSON of another shape: tower-lsp-server answers it.
            Err(e) if e.is_data() => None,
            Err(e) => return Some(Frame::Refused(FrameError::NotJson(e.to_string()))),
        };
        Some(Frame::Message { body, method })
    }
}

fn is_content_type_line(bytes: &[u8]) -> bool {
    bytes.len() > 2
        && bytes.ends_with(b"\r\n")
        && bytes[..bytes.len() - 2]
            .to_ascii_lowercase()
            .starts_with(b"content-type:")
        && !bytes[..bytes.len() - 2].contains(&b'\n')
}

/// Reads frames from `input`, passes good ones to `server`, and sends a -32700 frame
/// to `errors` for each refused one. Returns at the end of input.
///
/// `shutdown_seen` is set when a `shutdown` request arrives: an `exit` right behind it
/// may cancel the request before its handler runs, and the exit code must still be 0.
pub async fn guard_input<I, S>(
    mut input: I,
    mut server: S,
    errors: mpsc::Sender<Vec<u8>>,
    shutdown_seen: std::sync::Arc<std::sync::atomic::AtomicBool>,
) where
    I: AsyncRead + Unpin,
    S: AsyncWrite + Unpin,
{
    let mut de = Deframer::default();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match input.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        de.push(&chunk[..n]);
        while let Some(f) = de.next_frame() {
            match f {
                Frame::Message { body, method } => {
                    if method.as_deref() == Some("shutdown") {
                        shutdown_seen.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                    if server.write_all(&frame(&body)).await.is_err() {
                        return;
                    }
                }
                Frame::Refused(e) => {
                    tracing::warn!("refused input: {}", e.message());
                    if errors.send(error_frame(&e)).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
    let _ = server.shutdown().await;
}

/// Copies the server's frames and the guard's errors to `output`, whole frames only.
pub async fn write_output<R, O>(mut server: R, mut errors: mpsc::Receiver<Vec<u8>>, mut output: O)
where
    R: AsyncRead + Unpin,
    O: AsyncWrite + Unpin,
{
    let mut de = Deframer::trusted();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut server_open = true;
    let mut errors_open = true;
    loop {
        tokio::select! {
            read = server.read(&mut chunk), if server_open => {
                match read {
                    Ok(0) | Err(_) => server_open = false,
                    Ok(n) => {
                        de.push(&chunk[..n]);
                        while let Some(f) = de.next_frame() {
                            if let Frame::Message { body, .. } = f
                                && output.write_all(&frame(&body)).await.is_err()
                            {
                                return;
                            }
                        }
                        if output.flush().await.is_err() {
                            return;
                        }
                    }
                }
            }
            e = errors.recv(), if errors_open => {
                match e {
                    Some(bytes) => {
                        if output.write_all(&bytes).await.is_err() || output.flush().await.is_err() {
                            return;
                        }
                    }
                    None => errors_open = false,
                }
            }
            else => break,
        }
        if !server_open {
            // The server is done: what the guard has left to say no longer matters.
            break;
        }
    }
    let _ = output.flush().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Result<String, FrameError>> {
        let mut de = Deframer::default();
        de.push(input);
        let mut out = Vec::new();
        while let Some(f) = de.next_frame() {
            out.push(match f {
                Frame::Message { body, .. } => Ok(String::from_utf8(body).unwrap()),
                Frame::Refused(e) => Err(e),
            });
        }
        out
    }

    #[test]
    fn garbage_then_a_good_frame() {
        let mut input = b"\x00\xffgarbage".to_vec();
        input.extend(frame(br#"{"a":1}"#));
        let got = frames(&input);
        assert_eq!(got[0], Err(FrameError::Garbage(9)));
        assert_eq!(got[1], Ok(r#"{"a":1}"#.into()));
    }

    #[test]
    fn content_type_before_content_length_is_not_garbage() {
        let input = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(frames(input), vec![Ok("{}".into())]);
    }

    #[test]
    fn a_body_that_is_not_json_is_refused_and_the_next_is_served() {
        let mut input = frame(b"{not json");
        input.extend(frame(b"[1]"));
        let got = frames(&input);
        assert!(matches!(got[0], Err(FrameError::NotJson(_))));
        assert_eq!(got[1], Ok("[1]".into()));
    }

    #[test]
    fn an_oversized_length_is_refused_without_buffering_the_body() {
        let mut de = Deframer::default();
        de.push(b"Content-Length: 99999999999\r\n\r\n");
        assert!(matches!(
            de.next_frame(),
            Some(Frame::Refused(FrameError::TooLarge(_)))
        ));
        for _ in 0..1000 {
            de.push(&[b'x'; 1024]);
            assert!(de.next_frame().is_none());
            assert!(de.buf.len() < 64, "buffered {} bytes", de.buf.len());
        }
        de.push(&frame(b"{}"));
        assert!(matches!(de.next_frame(), Some(Frame::Message { .. })));
    }

    #[test]
    fn one_byte_at_a_time_is_the_same_as_one_write() {
        let whole = frame(br#"{"jsonrpc":"2.0","method":"x"}"#);
        let mut de = Deframer::default();
        let mut got = Vec::new();
        for b in &whole {
            de.push(std::slice::from_ref(b));
            while let Some(Frame::Message { body, .. }) = de.next_frame() {
                got.push(body);
            }
        }
        assert_eq!(got, vec![br#"{"jsonrpc":"2.0","method":"x"}"#.to_vec()]);
    }

    #[test]
    fn a_bad_length_is_refused() {
        let mut input = b"Content-Length: abc\r\n\r\n".to_vec();
        input.extend(frame(b"{}"));
        let got = frames(&input);
        assert!(matches!(got[0], Err(FrameError::BadHeader(_))));
        assert_eq!(got[1], Ok("{}".into()));
    }
}
