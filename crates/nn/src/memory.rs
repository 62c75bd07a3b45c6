//! How the C allocator treats libtorch's large CPU tensors.
//!
//! glibc serves every allocation above its mmap threshold (at most 32 MiB) with a fresh
//! `mmap` and gives it back with `munmap` when freed. A training step allocates and
//! frees the same large activations every time, so each step paid the kernel again to
//! map and zero those pages: about 12 s of system time in 50 s of the paper-size
//! benchmark. Keeping freed memory in the heap lets the next step reuse it; the
//! process's resident size stays at its peak, which a step reaches anyway.

/// Keeps freed memory for reuse instead of returning it to the system. Call once, at the
/// start of the process, before other threads allocate (mallopt is not thread-safe).
/// Only CPU memory is affected: GPU memory has its own caching allocator. Does nothing
/// where the C library is not glibc.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; callers run this at start-up,
        // before other threads allocate. An mmap maximum of 0 serves large blocks from
        // the heap; a trim threshold of -1 never shrinks it (mallopt(3) documents both).
        let (no_mmap, no_trim) = unsafe {
            (
                libc::mallopt(libc::M_MMAP_MAX, 0),
                libc::mallopt(libc::M_TRIM_THRESHOLD, -1),
            )
        };
        if no_mmap == 0 || no_trim == 0 {
            tracing::debug!("the C allocator refused the settings that keep freed memory");
        }
    }
}
