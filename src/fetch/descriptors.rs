//! Whether the process has run out of file descriptors. Out of them, the TLS library reports
//! "No CA certificates were loaded" (it cannot open the roots) and a connect "os error 24":
//! neither says what to do. A failure seen with the descriptors (nearly) used up is reported
//! as that, with the figures.

/// So close to the limit that opening a socket and the TLS roots may fail.
const MARGIN: u64 = 16;

/// Open descriptors and the soft limit, when the first are within [`MARGIN`] of the second.
pub fn exhausted() -> Option<(u64, u64)> {
    let limit = soft_limit()?;
    let open = match std::fs::read_dir("/proc/self/fd") {
        Ok(entries) => entries.count() as u64,
        // Reading the folder needs a descriptor too.
        Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => limit,
        Err(_) => return None,
    };
    (open + MARGIN >= limit).then_some((open, limit))
}

fn soft_limit() -> Option<u64> {
    limits().map(|l| l.rlim_cur).filter(|&n| n != libc::RLIM_INFINITY)
}

/// The soft limit of open files raised to the hard one (often 1,024 against 524,288): polls
/// of a thousand sources, their TLS roots and the listener's readers each hold descriptors, and
/// the soft limit exists for programs that cannot cope with more, which newswatch can.
pub fn raise_limit() {
    if let Some(mut limit) = limits().filter(|l| l.rlim_cur < l.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: setrlimit only reads the struct passed.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) };
    }
}

/// The soft and hard limits of open files.
fn limits() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed.
    (unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0).then_some(limit)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_test_process_has_descriptors_to_spare() {
        assert_eq!(super::exhausted(), None);
    }
}
