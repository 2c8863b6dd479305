//! Following the journal as other processes append to it: across rotations, past
//! torn or foreign lines, with bounded reads.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::{Activity, FILE_NAME, MAX_LINE_BYTES, regular};

/// Most bytes one [`Tail::poll`] reads; the rest waits for the next.
const MAX_READ: u64 = 1 << 20;
/// Bytes read back for the recent entries when a tail opens.
const BACKLOG_BYTES: u64 = 256 << 10;

/// Reads entries as they are appended.
pub struct Tail {
    path: PathBuf,
    file: Option<(File, (u64, u64))>,
    /// The start of a line whose end has not been written yet.
    pending: Vec<u8>,
    /// Lines that were not entries (torn by a crash, too long, not ours).
    skipped: u64,
}

impl Tail {
    /// Starts following the journal of `index_dir`, with the last `recent` entries
    /// already there (oldest first). A journal that does not exist yet is followed
    /// from its creation.
    pub fn open(index_dir: &Path, recent: usize) -> (Tail, Vec<Activity>) {
        Tail::of(index_dir.join(FILE_NAME), recent)
    }

    pub(crate) fn of(path: PathBuf, recent: usize) -> (Tail, Vec<Activity>) {
        let mut tail = Tail {
            path,
            file: None,
            pending: Vec::new(),
            skipped: 0,
        };
        let mut backlog = Vec::new();
        if let Some((mut file, id)) = open_read(&tail.path) {
            let len = file.metadata().map_or(0, |m| m.len());
            let start = len.saturating_sub(BACKLOG_BYTES);
            if file.seek(SeekFrom::Start(start)).is_ok() {
                tail.file = Some((file, id));
                // Starting mid-file: the first piece is the end of a line.
                let mut first = start > 0;
                backlog = tail.read_available(len - start, &mut first);
            }
        }
        let extra = backlog.len().saturating_sub(recent);
        backlog.drain(..extra);
        (tail, backlog)
    }

    /// Entries appended since the last call, oldest first.
    pub fn poll(&mut self) -> Vec<Activity> {
        let mut out = Vec::new();
        let mut first = false;
        if self.file.is_none() {
            self.file = open_read(&self.path);
        }
        let Some((file, id)) = &mut self.file else {
            return out;
        };
        // Truncated in place (by hand): start over.
        if let (Ok(m), Ok(pos)) = (file.metadata(), file.stream_position())
            && m.len() < pos
        {
            let _ = file.seek(SeekFrom::Start(0));
            self.pending.clear();
        }
        let id = *id;
        out.extend(self.read_available(MAX_READ, &mut first));
        // Rotated (or replaced): once the old file is read to its end, follow the new.
        let at_end = self.file.as_mut().is_some_and(
            |(f, _)| matches!((f.metadata(), f.stream_position()), (Ok(m), Ok(p)) if p >= m.len()),
        );
        let current = std::fs::symlink_metadata(&self.path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        if at_end && current != Some(id) {
            self.pending.clear();
            self.file = open_read(&self.path);
            if self.file.is_some() {
                out.extend(self.read_available(MAX_READ, &mut first));
            }
        }
        out
    }

    /// Lines that could not be read as entries since the tail opened.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    fn read_available(&mut self, limit: u64, skip_first: &mut bool) -> Vec<Activity> {
        let Some((file, _)) = &mut self.file else {
            return Vec::new();
        };
        let mut buf = Vec::new();
        if file.take(limit).read_to_end(&mut buf).is_err() {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut rest = &buf[..];
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let piece = &rest[..nl];
            rest = &rest[nl + 1..];
            let line = if self.pending.is_empty() {
                piece
            } else {
                self.pending.extend_from_slice(piece);
                &self.pending[..]
            };
            if std::mem::take(skip_first) {
                // The tail of a line that began before where reading started.
            } else if line.len() < MAX_LINE_BYTES
                && let Ok(a) = serde_json::from_slice::<Activity>(line)
            {
                out.push(a);
            } else if !line.is_empty() {
                self.skipped += 1;
            }
            self.pending.clear();
        }
        if self.pending.len() + rest.len() < MAX_LINE_BYTES {
            self.pending.extend_from_slice(rest);
        } else {
            // Too long to be an entry: drop it up to its end.
            self.pending.clear();
            *skip_first = true;
        }
        out
    }
}

fn open_read(path: &Path) -> Option<(File, (u64, u64))> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .ok()?;
    regular(&file).ok()?;
    let m = file.metadata().ok()?;
    Some((file, (m.dev(), m.ino())))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::{Face, Journal, MAX_BYTES, Outcome};

    fn entry(n: usize) -> Activity {
        let mut a = Activity::new(Face::Lsp, "editor", "scry/search", n as f64);
        a.id = n as u64;
        a
    }

    fn ids(v: &[Activity]) -> Vec<u64> {
        v.iter().map(|a| a.id).collect()
    }

    #[test]
    fn a_tail_opens_with_the_latest_entries_then_sees_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        for n in 0..10 {
            j.append(&entry(n));
        }
        let (mut tail, recent) = Tail::open(dir.path(), 3);
        assert_eq!(ids(&recent), [7, 8, 9]);
        assert!(tail.poll().is_empty());
        j.append(&entry(10));
        j.append(&entry(11));
        assert_eq!(ids(&tail.poll()), [10, 11]);
        assert!(tail.poll().is_empty());
    }

    #[test]
    fn a_journal_created_later_is_followed_from_its_start() {
        let dir = tempfile::tempdir().unwrap();
        let (mut tail, recent) = Tail::open(dir.path(), 5);
        assert!(recent.is_empty());
        assert!(tail.poll().is_empty());
        Journal::new(dir.path()).append(&entry(1));
        assert_eq!(ids(&tail.poll()), [1]);
    }

    #[test]
    fn a_rotation_loses_nothing_the_tail_had_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        j.append(&entry(0));
        let (mut tail, _) = Tail::open(dir.path(), 0);
        let line = serde_json::to_vec(&entry(1)).unwrap().len() as u64 + 1;
        let mut n = 1;
        // Fill past the bound, then one more write rotates.
        while std::fs::metadata(j.path()).unwrap().len() <= MAX_BYTES {
            j.append(&entry(n));
            n += 1;
        }
        j.append(&entry(n));
        j.append(&entry(n + 1));
        let mut seen = Vec::new();
        for _ in 0..4 {
            seen.extend(ids(&tail.poll()));
        }
        assert_eq!(seen, (1..=n as u64 + 1).collect::<Vec<_>>(), "line {line}");
    }

    #[test]
    fn torn_and_foreign_lines_are_skipped_and_a_half_written_line_waits() {
        let dir = tempfile::tempdir().unwrap();
        let j = Journal::new(dir.path());
        let (mut tail, _) = Tail::open(dir.path(), 0);
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(j.path())
            .unwrap();
        f.write_all(b"{\"id\": 1, \"tru\n").unwrap();
        f.write_all(b"not json at all \xff\xfe\n").unwrap();
        f.write_all(&vec![b'x'; 3 * MAX_LINE_BYTES]).unwrap();
        f.write_all(b"\n").unwrap();
        let whole = serde_json::to_vec(&entry(7)).unwrap();
        let (a, b) = whole.split_at(whole.len() / 2);
        f.write_all(a).unwrap();
        assert!(tail.poll().is_empty());
        f.write_all(b).unwrap();
        f.write_all(b"\n").unwrap();
        assert_eq!(ids(&tail.poll()), [7]);
        assert_eq!(tail.skipped(), 3);
    }

    #[test]
    fn entries_from_many_threads_arrive_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (mut tail, _) = Tail::open(dir.path(), 0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let j = Journal::new(dir.path());
                s.spawn(move || {
                    for n in 0..200 {
                        let mut a = entry(t * 1000 + n);
                        a.failed(Outcome::Failed, &"why ".repeat(50));
                        j.append(&a);
                    }
                });
            }
        });
        let mut seen = Vec::new();
        for _ in 0..3 {
            seen.extend(ids(&tail.poll()));
        }
        seen.sort();
        let mut want: Vec<u64> = (0..4)
            .flat_map(|t| (0..200).map(move |n| t * 1000 + n))
            .collect();
        want.sort();
        assert_eq!(seen, want);
        assert_eq!(tail.skipped(), 0);
    }
}
