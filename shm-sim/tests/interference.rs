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
use tests::sims::{Script, SimSession, Who, normalized, stop_and_continue};
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
        let (segment, a, b) = tests::sims::started(lines, "segment");
        Self { segment, a, b }
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

// ---- Job control: A, B or the controller stopped and continued ----

/// A session in which A and B wait for each other (race: at its start line,
/// and for the lock), and for the controller.
const EVERY_WAIT: &str =
    "a write 0 hello\nb read 0 5\nrace 2000\nshow\nb write 5 LLO\na read 0 8\nquit\n";

/// A line of the transcript with what varies from run to run (numbers,
/// addresses, how many updates the race lost, and so whether a count is
/// plural) made the same.
fn comparable(line: &str) -> String {
    let line = normalized(line)
        .replace("futex waits", "futex wait")
        .replace("futex wakes", "futex wake");
    match line.strip_prefix("  counter = N, expected N: ") {
        Some(verdict) if verdict != "no update lost" => "  counter without the lock".to_owned(),
        _ => line,
    }
}

#[test]
fn a_process_stopped_and_continued_after_any_line_changes_nothing() {
    let script = Script::new(cargo_bin!("shm-sim"), EVERY_WAIT);
    let reference = script.transcript();
    let expected: Vec<String> = reference.iter().map(|l| comparable(l)).collect();
    for (n, &room) in Script::points(&reference).iter().enumerate() {
        for who in Who::ALL {
            let ended = stop_and_continue(&script, room, who);
            assert_eq!(
                (ended.code, ended.stderr.as_str()),
                (Some(0), ""),
                "{who:?} stopped after line {n}: {ended:#?}"
            );
            let got: Vec<String> = ended.lines.iter().map(|l| comparable(l)).collect();
            assert_eq!(got, expected, "{who:?} stopped after line {n}");
            Started::from(&ended.lines).assert_gone(&ended);
        }
    }
}

// ---- stdout that fails ----

/// `EVERY_WAIT` in an IPC namespace of its own, so that what it leaves
/// behind is exactly what the namespace holds after it; `None` where the
/// machine does not permit one.
fn namespaced() -> Option<(Script, tests::TestDir)> {
    let dir = tests::TestDir::new();
    let script = Script::new(cargo_bin!("shm-sim"), EVERY_WAIT)
        .in_own_ipc_namespace(&dir.path().join("left-behind"))?;
    Some((script, dir))
}

#[test]
fn stdout_on_a_full_device_is_one_line_and_nothing_is_left() {
    let Some((script, _dir)) = namespaced() else {
        return;
    };
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let output = script
        .command()
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "write stdout: No space left on device\n"
    );
    assert_eq!(script.left_behind(), "");
}

#[test]
fn stdout_closed_after_any_line_is_one_line_and_nothing_is_left() {
    let Some((script, _dir)) = namespaced() else {
        return;
    };
    let points = Script::points(&script.transcript());
    let mut closed = 0;
    for (n, &room) in points.iter().enumerate() {
        let ended = script.start_held(room).close_stdout();
        // The points are those of another run, whose pids, ids, times and
        // counts may have had more or fewer digits: a room may hold this
        // run's whole output, which then completes.
        let completed = ended.code == Some(0);
        closed += usize::from(!completed);
        if completed {
            assert_eq!(ended.stderr, "", "{ended:#?}");
        } else {
            assert_eq!(
                (ended.code, ended.stderr.as_str()),
                (Some(1), "write stdout: Broken pipe\n"),
                "closed after line {n}: {ended:#?}"
            );
        }
        assert_eq!(script.left_behind(), "", "closed after line {n}");
        ended.assert_group_gone();
    }
    assert!(closed >= points.len() / 2, "most runs were cut: {closed}");
}
