//! `keep_freed_memory`: large blocks come from the heap, not from a mapping of their own
//! that glibc would unmap on free (its own process: mallopt is process-wide).

#![cfg(all(target_os = "linux", target_env = "gnu"))]

/// Bytes in blocks glibc mapped on their own (mallinfo2's hblkhd).
fn mapped_blocks() -> usize {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    unsafe { libc::mallinfo2() }.hblkhd
}

#[test]
fn large_blocks_are_served_from_the_heap() {
    // Above glibc's largest mmap threshold (32 MiB): mapped on its own by default.
    const SIZE: usize = 40 << 20;
    let before = mapped_blocks();
    dancenow_nn::keep_freed_memory();
    let block = vec![1u8; SIZE];
    let during = mapped_blocks();
    assert_eq!(block[SIZE - 1], 1);
    drop(block);
    assert!(
        during < before + SIZE,
        "a {SIZE}-byte block was mapped on its own ({before} -> {during} bytes)"
    );
}
