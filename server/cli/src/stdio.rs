//! The process's stdout, handed to a protocol server (`scry lsp`, `scry mcp`).
//!
//! Stdout belongs to the protocol: the server gets a private duplicate of descriptor 1,
//! and descriptor 1 itself is pointed at stderr, so a stray print from any library
//! (llama.cpp included) lands in the log instead of corrupting the stream.

#[cfg(unix)]
pub fn take_stdout() -> std::io::Result<std::fs::File> {
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
pub fn take_stdout() -> std::io::Result<std::fs::File> {
    use std::os::windows::io::{AsRawHandle, FromRawHandle};
    let handle = std::io::stdout().as_raw_handle();
    // SAFETY: the process's stdout handle stays open for the process's life.
    Ok(unsafe { std::fs::File::from_raw_handle(handle) })
}
