//! Server-sent events as OpenAI-compatible servers stream them: `data: {json}` lines,
//! events separated by blank lines, `data: [DONE]` at the end.

use std::io::{BufRead, BufReader, Read};

/// One event's data, or the end of the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum SseEvent {
    Data(String),
    Done,
}

pub struct SseReader<R> {
    reader: BufReader<R>,
    line: String,
}

/// Longest line accepted; a server streaming one endless line is broken, not verbose.
const MAX_LINE: usize = 4 << 20;

impl<R: Read> SseReader<R> {
    pub fn new(inner: R) -> Self {
        SseReader {
            reader: BufReader::new(inner),
            line: String::new(),
        }
    }

    /// The next event; `Ok(None)` when the connection ends without `[DONE]`.
    pub fn next_event(&mut self) -> std::io::Result<Option<SseEvent>> {
        let mut data = String::new();
        loop {
            self.line.clear();
            let n = (&mut self.reader)
                .take(MAX_LINE as u64 + 1)
                .read_line(&mut self.line)?;
            if n == 0 {
                return Ok(if data.is_empty() {
                    None
                } else {
                    Some(SseEvent::Data(data))
                });
            }
            if n > MAX_LINE {
                return Err(std::io::Error::other("an event line longer than 4 MiB"));
            }
            let line = self.line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if data.is_empty() {
                    continue;
                }
                return Ok(Some(SseEvent::Data(data)));
            }
            if let Some(rest) = line.strip_prefix("data:") {
                let rest = rest.strip_prefix(' ').unwrap_or(rest);
                if rest == "[DONE]" {
                    return Ok(Some(SseEvent::Done));
                }
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(rest);
            }
            // `event:`, `id:`, `retry:` and comments carry nothing we use.
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_events_and_ends_at_done() {
        let body =
            b": keep-alive\n\ndata: {\"a\":1}\n\ndata: {\"b\":\r\ndata: 2}\r\n\r\ndata: [DONE]\n\n";
        let mut r = SseReader::new(&body[..]);
        assert_eq!(
            r.next_event().unwrap(),
            Some(SseEvent::Data("{\"a\":1}".into()))
        );
        assert_eq!(
            r.next_event().unwrap(),
            Some(SseEvent::Data("{\"b\":\n2}".into()))
        );
        assert_eq!(r.next_event().unwrap(), Some(SseEvent::Done));
    }

    #[test]
    fn a_cut_stream_ends_without_done() {
        let mut r = SseReader::new(&b"data: {}\n\n"[..]);
        assert_eq!(r.next_event().unwrap(), Some(SseEvent::Data("{}".into())));
        assert_eq!(r.next_event().unwrap(), None);
    }
}
