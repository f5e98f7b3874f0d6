//! `shm-sim` when the user or another program interferes with a session
//! (issue 14): the segment removed from outside (`ipcrm -m`, which the
//! README invites), A, B or the controller stopped and continued, and
//! stdout that fails. Each run either completes its whole transcript, or
//! ends with one line on stderr and a non-zero status, leaving nothing
//! behind.

// Helpers outside #[test] functions may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::cargo::cargo_bin;
use tests::faults::Ended;
use tests::sims::SimSession;
use tests::sysv::{self, Kind};

/// The segment and the two processes a session names in its first lines.
#[derive(Debug, Clone, Copy)]
struct Started {
    segment: i32,
    a: i32,
    b: i32,
}

impl Started {
    fn from(lines: &[String]) -> Self {
        let segment = lines
            .get(1)
            .and_then(|line| line.strip_prefix("segment "))
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("the second line names the segment: {lines:#?}"));
        let pid = |name: &str| {
            lines
                .iter()
                .find_map(|line| {
                    line.strip_prefix(&format!("{name} (pid "))
                        .and_then(|rest| rest.split(')').next())
                        .and_then(|pid| pid.parse().ok())
                })
                .unwrap_or_else(|| panic!("{name} says its pid: {lines:#?}"))
        };
        Self {
            segment,
            a: pid("A"),
            b: pid("B"),
        }
    }

    /// Nothing is left: the segment and every process of the run are gone.
    fn assert_gone(&self, ended: &Ended) {
        assert!(
            !sysv::exists(Kind::Shm, self.segment, libc::IPC_PRIVATE),
            "segment {} is removed: {ended:#?}",
            self.segment
        );
        for pid in [self.a, self.b] {
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "process {pid} is gone: {ended:#?}"
            );
        }
        ended.assert_group_gone();
    }
}

/// Removes segment `id`, as `ipcrm -m ID` does: marked for removal, it
/// goes once the last process detaches.
fn ipcrm(id: i32) {
    // SAFETY: IPC_RMID takes no buffer; null is allowed.
    let removed = unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    assert_eq!(
        removed,
        0,
        "ipcrm -m {id}: {}",
        std::io::Error::last_os_error()
    );
}

// ---- The segment removed from outside ----

/// What `quit` says of a segment that `ipcrm -m` marked for removal.
fn went_with_the_last_detach(segment: i32) -> String {
    format!(
        "segment {segment} was already marked for removal from outside (ipcrm -m {segment}, \
         or shmctl IPC_RMID): the kernel removed it at the last shmdt"
    )
}

#[test]
fn a_segment_removed_from_outside_shows_as_marked_and_quit_ends_cleanly() {
    let mut session = SimSession::start(cargo_bin!("shm-sim"));
    let s = Started::from(session.seen());
    session.type_line("a write 0 hi");
    session.read_until(&format!(
        "A (pid {}) wrote 2 bytes at offset 0: \"hi\" (plain stores into its mapping: no system call)",
        s.a
    ));
    ipcrm(s.segment);

    // The segment stays usable while attached, and `show` says it is going.
    session.type_line("show");
    session.read_until(
        "the kernel saw the attaches, and no read or write: those are loads and stores",
    );
    let seen = session.seen();
    // Before: "3 attached", with no sign of the removal.
    assert_eq!(
        seen[seen.len() - 2],
        format!(
            "marked for removal (SHM_DEST in shm_perm.mode): removed from outside (ipcrm -m {0}, \
             or shmctl IPC_RMID); the kernel frees it when the last of the 3 attached detaches, \
             and the session goes on with it",
            s.segment
        ),
        "{seen:#?}"
    );
    session.type_line("b read 0 2");
    session.read_until(&format!(
        "B (pid {}) read 2 bytes at offset 0: \"hi\" (plain loads from its mapping: no system call)",
        s.b
    ));
    session.type_line("quit");
    let ended = session.wait_end();
    // Before: `shmctl(IPC_RMID): Invalid argument`, exit 1.
    assert_eq!(
        (ended.code, ended.stderr.as_str()),
        (Some(0), ""),
        "{ended:#?}"
    );
    assert_eq!(
        ended.lines[ended.lines.len() - 3..],
        [
            format!("A (pid {}) detached the segment (shmdt) and exits", s.a),
            format!("B (pid {}) detached the segment (shmdt) and exits", s.b),
            went_with_the_last_detach(s.segment),
        ],
        "{ended:#?}"
    );
    s.assert_gone(&ended);
}

#[test]
fn a_segment_removed_from_outside_ends_cleanly_at_the_end_of_input_and_on_sigterm() {
    // The end of the input: as quit.
    let session = SimSession::start(cargo_bin!("shm-sim"));
    let s = Started::from(session.seen());
    ipcrm(s.segment);
    let ended = session.end_input();
    assert_eq!(
        (ended.code, ended.stderr.as_str()),
        (Some(0), ""),
        "{ended:#?}"
    );
    assert_eq!(
        ended.lines.last(),
        Some(&went_with_the_last_detach(s.segment))
    );
    s.assert_gone(&ended);

    // SIGTERM: A and B are ended, and nothing is left to remove.
    let session = SimSession::start(cargo_bin!("shm-sim"));
    let s = Started::from(session.seen());
    ipcrm(s.segment);
    assert!(tests::faults::kill(session.pid(), libc::SIGTERM));
    let ended = session.wait_end();
    assert_eq!(
        (ended.code, ended.stderr.as_str()),
        (Some(143), ""),
        "{ended:#?}"
    );
    assert_eq!(
        ended.lines.last(),
        Some(&format!(
            "interrupted by SIGTERM: A and B ended, segment {0} gone (it was marked for \
             removal from outside)",
            s.segment
        )),
        "{ended:#?}"
    );
    s.assert_gone(&ended);
}
