//! Process memory: the resident set size, and handing freed heap back to the OS after a
//! model is unloaded (glibc keeps freed arenas otherwise, and RSS would not come down).

/// Resident set size in bytes (`VmRSS`), where the OS reports it.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Returns freed heap pages to the OS. Called after a model is unloaded.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Sets glibc's allocator up for a process that indexes and loads and unloads models:
/// blocks of 1 MiB and more (model buffers, logits, KV caches, an indexing batch's
/// buffers) are mapped on their own and go back to the OS when freed, and a thread's
/// heap is trimmed once 8 MiB at its top are free. glibc's default raises both
/// thresholds as large blocks come and go (to 32 MiB and 64 MiB), and a worker thread's
/// heap then keeps tens of MiB after its model is gone, which `malloc_trim` does not
/// always return. At most two heaps (glibc makes up to 8 per core, one per thread that
/// meets contention): rayon's chunking threads otherwise each keep a fragmented heap
/// of their own. Together these took the peak of indexing a 91 MB tree
/// without a model from 195 to 171 MB (`/usr/bin/time`). Idempotent; called when the
/// process starts and again before the first model loads.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: mallopt only sets glibc's tunables; fixed values disable the
            // dynamic adjustment and have no other preconditions.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
                libc::mallopt(libc::M_TRIM_THRESHOLD, 8 << 20);
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
        });
    }
}
