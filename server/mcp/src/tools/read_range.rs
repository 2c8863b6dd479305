//! `read_range`: exact lines of a workspace file, read from disk now, confined to the
//! roots, secrets masked.

use rmcp::model::Tool;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, Output, ToolError, define, read_only_annotations};

pub const NAME: &str = "read_range";
/// Most lines one call returns.
pub const MAX_LINES: u64 = 2000;
const DEFAULT_LINES: u64 = 200;
/// Longest path accepted.
const MAX_PATH_BYTES: usize = 4096;

pub fn tool() -> Tool {
    define::<Input, RangeOutput>(
        NAME,
        "Read lines",
        "Read exact lines of a file in the workspace, from disk as it is now (secrets \
         masked). `path` is relative to a workspace root (as search results give it); \
         lines are 1-based and inclusive; at most 2000 lines per call (default 200 from \
         start_line). `stale: true` means the file changed since it was indexed, so search \
         results for it may be out of date. Files outside the workspace, under .git, or \
         that usually hold secrets (.env, keys) are refused.",
        read_only_annotations(),
    )
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// Workspace-relative path, `/`-separated ("src/main.rs").
    pub path: String,
    /// First line, 1-based (default 1).
    #[schemars(range(min = 1))]
    pub start_line: Option<u64>,
    /// Last line, inclusive (default start_line + 199).
    #[schemars(range(min = 1))]
    pub end_line: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RangeOutput {
    pub path: String,
    pub root: String,
    /// The lines returned, 1-based, inclusive (clamped to the file).
    pub start_line: u64,
    pub end_line: u64,
    pub total_lines: u64,
    /// The lines, with their line endings.
    pub text: String,
    /// More lines were asked for than one call returns.
    pub truncated: bool,
    /// blake3 (128 bits, hex) of the file on disk now.
    pub file_hash: String,
    /// The file on disk differs from what is indexed (or is not indexed).
    pub stale: bool,
    pub indexed: bool,
}

pub async fn run(call: &Call<'_>, input: Input) -> Result<RangeOutput, ToolError> {
    if input.path.len() > MAX_PATH_BYTES {
        return Err(ToolError::Invalid(format!(
            "the path is {} bytes; the limit is {MAX_PATH_BYTES}",
            input.path.len()
        )));
    }
    let start = input.start_line.unwrap_or(1);
    if start == 0 {
        return Err(ToolError::Invalid(
            "lines are 1-based: start_line must be ≥ 1".into(),
        ));
    }
    let asked_end = input
        .end_line
        .unwrap_or(start.saturating_add(DEFAULT_LINES - 1));
    if asked_end < start {
        return Err(ToolError::Invalid(format!(
            "end_line {asked_end} is before start_line {start}"
        )));
    }
    let end = asked_end.min(start.saturating_add(MAX_LINES - 1));
    let path = input.path;
    call.blocking(move |s| {
        let file = s.engine().read_file(&path)?;
        let lines: Vec<&str> = file.text.split_inclusive('\n').collect();
        let total = lines.len() as u64;
        if start > total.max(1) {
            return Err(ToolError::Invalid(format!(
                "{}: start_line {start} is past the end ({total} lines)",
                file.path
            )));
        }
        let last = end.min(total);
        let text: String = lines
            .get((start - 1) as usize..last as usize)
            .unwrap_or_default()
            .concat();
        Ok(RangeOutput {
            stale: file.stale(),
            indexed: file.indexed_hash.is_some(),
            path: file.path,
            root: file.root.display().to_string(),
            start_line: start,
            end_line: last,
            total_lines: total,
            text,
            truncated: asked_end > end && last < total,
            file_hash: file.disk_hash.to_string(),
        })
    })
    .await
}

impl Output for RangeOutput {
    fn text(&self) -> String {
        let mut s = format!(
            "{}:{}-{} of {}{}\n",
            self.path,
            self.start_line,
            self.end_line,
            self.total_lines,
            if self.stale {
                " (changed since indexing)"
            } else {
                ""
            }
        );
        s.push_str(&self.text);
        if self.truncated {
            s.push_str(&format!(
                "\n[truncated at {} lines; ask for the rest from line {}]\n",
                MAX_LINES,
                self.end_line + 1
            ));
        }
        s
    }
}
