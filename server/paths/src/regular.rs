//! Opening a file that must be a regular file, without ever blocking: a FIFO, a socket
//! or a device in the workspace (or given as a model path) is refused at once instead
//! of hanging the reader until some writer appears.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` for reading if it is a regular file (after following symlinks).
///
/// The open itself cannot block: it is non-blocking (a FIFO opens at once with no
/// writer), and the type is checked on the opened handle, so a file swapped for a FIFO
/// between a check and the open is still refused.
pub fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a regular file ({})", kind_of(&meta)),
        ));
    }
    Ok(file)
}

/// Reads a regular file, at most `limit + 1` bytes (so a caller can tell "over the
/// limit" from "exactly the limit").
pub fn read_regular(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Whether an error from [`open_regular`] means "exists, but is not a regular file".
pub fn is_not_regular(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidInput && e.to_string().starts_with("not a regular file")
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
    }
    "not a file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let t0 = std::time::Instant::now();
        let e = read_regular(&fifo, 10).unwrap_err();
        assert!(is_not_regular(&e), "{e}");
        assert!(e.to_string().contains("a FIFO"), "{e}");
        assert!(t0.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn directories_and_devices_are_refused_and_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        assert!(is_not_regular(&open_regular(dir.path()).unwrap_err()));
        assert!(is_not_regular(
            &open_regular(Path::new("/dev/zero")).unwrap_err()
        ));
        std::fs::write(dir.path().join("a.txt"), "hello").unwrap();
        assert_eq!(read_regular(&dir.path().join("a.txt"), 3).unwrap(), b"hell");
    }
}
