//! The activity journal: what every face of Scry was asked and how it went, shared
//! between processes through one bounded file in the index directory.
//!
//! An editor's `scry lsp`, an agent's `scry mcp` and a person's `scry search` are
//! separate processes over one index. Each appends one JSON line per finished query to
//! `activity.jsonl` (one `write` on an `O_APPEND` file, so lines from several processes
//! never interleave); the dashboard of any of them tails the file and so lists them
//! all. The file is bounded: past [`MAX_BYTES`] a writer renames it to
//! `activity.1.jsonl` (replacing the previous one) and starts a new one, so the journal
//! never holds more than twice that.
//!
//! What a query asked is never written: only which tool, how long, how it ended and
//! how many results, so the journal holds no code and no question.
//!
//! Writing never fails a query: a read-only or full disk is logged at debug and the
//! query goes on.

mod tail;

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use tail::Tail;

/// The journal's file in the index directory.
pub const FILE_NAME: &str = "activity.jsonl";
/// The previous file, kept after a rotation.
pub const PREVIOUS_FILE_NAME: &str = "activity.1.jsonl";
/// A file larger than this is rotated by the next writer.
pub const MAX_BYTES: u64 = 512 << 10;
/// Longer lines are neither written nor read (an error message is cut to fit first).
pub const MAX_LINE_BYTES: usize = 8 << 10;
/// Longest error or notice kept in an entry.
const MAX_MESSAGE_CHARS: usize = 500;

/// Which face answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Face {
    Cli,
    Lsp,
    Mcp,
}

impl Face {
    pub fn as_str(self) -> &'static str {
        match self {
            Face::Cli => "cli",
            Face::Lsp => "lsp",
            Face::Mcp => "mcp",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Invalid,
    Failed,
    Cancelled,
    RateLimited,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
            Outcome::RateLimited => "rate_limited",
        }
    }

    pub fn is_error(self) -> bool {
        matches!(self, Outcome::Invalid | Outcome::Failed)
    }
}

/// Whether a response cache answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheUse {
    Hit,
    Miss,
    /// Not a cacheable call, or a face without a cache.
    None,
}

/// One finished call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// The request id within its process (also in that process's logs).
    pub id: u64,
    /// The process that answered.
    pub pid: u32,
    /// Milliseconds since the Unix epoch, when it finished.
    pub at_ms: u64,
    pub face: Face,
    /// The client: an MCP session over HTTP, `stdio`, `editor` or `cli`.
    pub client: String,
    /// The tool, LSP method or command (`search_code`, `scry/search`, `search`).
    pub tool: String,
    pub ms: f64,
    pub outcome: Outcome,
    /// The search mode the results came from (hybrid, lexical, vector), when it says.
    pub mode: Option<String>,
    /// Hits, files, sources or symbols returned.
    pub results: Option<usize>,
    pub cache: CacheUse,
    /// The error's message, for calls that did not succeed.
    pub error: Option<String>,
    /// What the answer said the caller should know (BM25-only, a model that fell back
    /// to another, a partial result…), at most 3.
    #[serde(default)]
    pub notices: Vec<String>,
    /// Answers: the tokens the model wrote, and at what rate over the call.
    pub answer_tokens: Option<usize>,
    pub answer_tokens_per_second: Option<f64>,
}

impl Activity {
    /// A successful call of this process, finished now; the caller fills in the rest.
    pub fn new(face: Face, client: impl Into<String>, tool: impl Into<String>, ms: f64) -> Self {
        Activity {
            id: 0,
            pid: std::process::id(),
            at_ms: now_ms(),
            face,
            client: client.into(),
            tool: tool.into(),
            ms,
            outcome: Outcome::Ok,
            mode: None,
            results: None,
            cache: CacheUse::None,
            error: None,
            notices: Vec::new(),
            answer_tokens: None,
            answer_tokens_per_second: None,
        }
    }

    /// Whether this process recorded it.
    pub fn is_own(&self) -> bool {
        self.pid == std::process::id()
    }

    /// Sets an error's message, cut to a length a list can show.
    pub fn failed(&mut self, outcome: Outcome, message: &str) {
        self.outcome = outcome;
        self.error = Some(cut(message));
    }

    /// Adds what the answer said, at most 3.
    pub fn notice(&mut self, message: &str) {
        if self.notices.len() < 3 {
            self.notices.push(cut(message));
        }
    }

    /// Records an answer's token count and its rate over the call.
    pub fn answered(&mut self, tokens: usize) {
        self.answer_tokens = Some(tokens);
        self.answer_tokens_per_second = Some(tokens as f64 / (self.ms / 1000.0).max(1e-3));
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Appends to one index directory's journal.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// The journal of the index at `index_dir` (nothing is opened until a write).
    pub fn new(index_dir: &Path) -> Journal {
        Journal {
            path: index_dir.join(FILE_NAME),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts following this journal, with its last `recent` entries (see [`Tail::open`]).
    pub fn tail(&self, recent: usize) -> (Tail, Vec<Activity>) {
        Tail::of(self.path.clone(), recent)
    }

    /// Appends one entry. Failures are logged at debug: the journal is for watching,
    /// and never worth failing a query over.
    pub fn append(&self, entry: &Activity) {
        if let Err(e) = self.try_append(entry) {
            tracing::debug!(path = %self.path.display(), "activity journal not written: {e}");
        }
    }

    fn try_append(&self, entry: &Activity) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        if line.len() >= MAX_LINE_BYTES {
            let mut shorter = entry.clone();
            shorter.error = shorter.error.map(|e| cut_to(&e, 200));
            shorter.notices.clear();
            line = serde_json::to_vec(&shorter)?;
            if line.len() >= MAX_LINE_BYTES {
                return Err(std::io::Error::other("the entry is too long"));
            }
        }
        line.push(b'\n');
        self.rotate_if_full();
        let mut file = open_append(&self.path)?;
        // One write: O_APPEND places it at the end as one piece, whatever other
        // processes append at the same time.
        let n = file.write(&line)?;
        if n != line.len() {
            return Err(std::io::Error::other("a short write (disk full?)"));
        }
        Ok(())
    }

    fn rotate_if_full(&self) {
        let full = fs::symlink_metadata(&self.path).is_ok_and(|m| m.len() > MAX_BYTES);
        if full {
            // Two writers may both rotate: the second moves a nearly empty file over
            // the first's, losing older history only. Nothing in Scry reads it back
            // beyond the dashboard.
            let _ = fs::rename(&self.path, self.path.with_file_name(PREVIOUS_FILE_NAME));
        }
    }
}

fn cut_to(s: &str, chars: usize) -> String {
    match s.char_indices().nth(chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// Opens the journal for appending: never through a symlink, never blocking on a FIFO
/// someone put in its place, and only a regular file.
fn open_append(path: &Path) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    regular(&file)?;
    Ok(file)
}

fn regular(file: &File) -> std::io::Result<()> {
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        Ok(())
    } else {
        let what = if kind.is_fifo() {
            "a FIFO"
        } else {
            "not a regular file"
        };
        Err(std::io::Error::other(format!("the journal is {what}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(tool: &str) -> Activity {
        let mut a = Activity::new(Face::Cli, "cli", tool, 12.5);
        a.mode = Some("lexical".into());
        a.results = Some(3);
        a
    }

    #[test]
    fn an_entry_reads_back_as_it_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        let mut a = entry("search");
        a.failed(Outcome::Failed, "the index is locked");
        a.notice("BM25-only: no embedding model");
        j.append(&a);
        let text = fs::read_to_string(j.path()).unwrap();
        assert_eq!(text.lines().count(), 1);
        let back: Activity = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!(back, a);
        assert!(back.is_own());
    }

    #[test]
    fn a_full_journal_is_rotated_and_stays_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        let line = serde_json::to_vec(&entry("search")).unwrap().len() as u64 + 1;
        let writes = 3 * MAX_BYTES / line;
        for _ in 0..writes {
            j.append(&entry("search"));
        }
        let now = fs::metadata(j.path()).unwrap().len();
        let before = fs::metadata(dir.path().join(PREVIOUS_FILE_NAME))
            .unwrap()
            .len();
        assert!(now <= MAX_BYTES + line, "{now}");
        assert!(before <= MAX_BYTES + line, "{before}");
        assert!(before > MAX_BYTES - line, "{before}");
    }

    #[test]
    fn a_long_error_is_cut_and_the_line_stays_short() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        let mut a = entry("ask");
        a.failed(Outcome::Failed, &"é".repeat(20_000));
        for _ in 0..5 {
            a.notice(&"x".repeat(5_000));
        }
        assert_eq!(a.notices.len(), 3);
        j.append(&a);
        let text = fs::read_to_string(j.path()).unwrap();
        assert!(text.len() < MAX_LINE_BYTES, "{}", text.len());
        let back: Activity = serde_json::from_str(text.trim_end()).unwrap();
        assert!(back.error.unwrap().ends_with('…'));
    }

    #[test]
    fn a_fifo_in_place_of_the_journal_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        let c = std::ffi::CString::new(j.path().as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        // No reader: the open fails at once (ENXIO) instead of waiting for one.
        assert!(j.try_append(&entry("search")).is_err());
        // With a reader the open succeeds, and the check on the handle refuses it.
        let reader = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(j.path())
            .unwrap();
        let err = j.try_append(&entry("search")).unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        drop(reader);
    }

    #[test]
    fn a_symlink_in_place_of_the_journal_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        fs::write(&target, "keep\n").unwrap();
        let j = Journal::new(dir.path());
        std::os::unix::fs::symlink(&target, j.path()).unwrap();
        j.append(&entry("search"));
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep\n");
    }

    #[test]
    fn a_missing_index_directory_is_not_an_error_for_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(&dir.path().join("gone"));
        j.append(&entry("search"));
        assert!(!j.path().exists());
    }
}
