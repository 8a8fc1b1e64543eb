//! Keeping the daemon's memory flat over months (glibc's allocator only; elsewhere these do
//! nothing).
//!
//! glibc gives each thread that allocates while another holds the lock an arena of its own,
//! up to eight per core, and memory freed in an arena stays with the process. The daemon's
//! work moves between tokio's workers and its blocking threads, so each arena held its own
//! share of the peak: measured with benches/memory.sh (500 changing feeds polled every
//! second), RSS went 58 → 75 MB over 180 polls of each source with the default, 48 → 53 MB
//! over 100 with two arenas.

/// Two arenas: the process does its allocating on about two cores at a time anyway. Call
/// before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; no memory is touched.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Gives memory freed since the last call back to the system.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes the allocator's locks itself and frees only unused pages.
    unsafe {
        libc::malloc_trim(0);
    }
}
