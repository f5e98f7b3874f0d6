//! Drives `shm-sim` with scripted sessions, as a person would type them, and
//! checks the transcript, the exit status, and that the segment and the two
//! processes are gone afterwards.

// Helpers outside #[test] functions may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use tests::sysv::{self, Kind};
use tests::{Live, TIMEOUT, assert_in_order, lines, position};

/// What the first lines of every session say.
#[derive(Debug)]
struct Started {
    segment: i32,
    a: u32,
    b: u32,
}

impl Started {
    fn from(lines: &[String]) -> Self {
        let segment = lines[1]
            .strip_prefix("segment ")
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

    /// The transcript's opening, up to the first prompt.
    fn opening(&self) -> Vec<String> {
        let Started { segment, a, b } = self;
        vec![
            "shm-sim: Process A and Process B share one System V shared memory segment.".into(),
            format!(
                "segment {segment} created: 144 bytes, private to this run (IPC_PRIVATE), owner only (0600)"
            ),
            format!("A (pid {a}) attached segment {segment} at ADDR (shmat)"),
            format!("B (pid {b}) attached segment {segment} at ADDR (shmat)"),
            "Type help for the commands.".into(),
        ]
    }

    /// The transcript's end after `quit` or the end of the input.
    fn closing(&self) -> Vec<String> {
        let Started { segment, a, b } = self;
        vec![
            format!("A (pid {a}) detached the segment (shmdt) and exits"),
            format!("B (pid {b}) detached the segment (shmdt) and exits"),
            format!("segment {segment} removed (shmctl IPC_RMID)"),
        ]
    }

    /// Nothing is left: the segment and both processes are gone.
    fn assert_gone(&self) {
        assert!(
            !sysv::exists(Kind::Shm, self.segment, libc::IPC_PRIVATE),
            "segment {} is removed",
            self.segment
        );
        for pid in [self.a, self.b] {
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "process {pid} is gone"
            );
        }
    }
}

/// The attach address varies from run to run: it reads as ADDR.
fn normalized(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|line| match line.split_once(" at 0x") {
            Some((before, after)) => {
                let rest = after.trim_start_matches(|c: char| c.is_ascii_hexdigit());
                format!("{before} at ADDR{rest}")
            }
            None => line,
        })
        .collect()
}

/// Runs a whole scripted session; returns its transcript and what it started.
fn session(script: &str) -> (Vec<String>, Started) {
    let assert = cargo_bin_cmd!("shm-sim")
        .write_stdin(script)
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let stdout = &assert.get_output().stdout;
    assert!(
        !stdout.contains(&0x1b),
        "no escape code in a transcript: {}",
        String::from_utf8_lossy(stdout)
    );
    let lines = normalized(lines(stdout));
    let started = Started::from(&lines);
    started.assert_gone();
    (lines, started)
}

fn strings(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|&l| l.to_owned()).collect()
}

#[test]
fn a_writes_b_reads_and_neither_makes_a_system_call() {
    let (lines, s) = session("a write 0 hello\nb read 0 5\nb read 3 4\nquit\n");
    let (a, b) = (s.a, s.b);
    let mut expected = s.opening();
    expected.extend(strings(&[
        "shm-sim> a write 0 hello",
        &format!(
            "A (pid {a}) wrote 5 bytes at offset 0: \"hello\" (plain stores into its mapping: no system call)"
        ),
        "shm-sim> b read 0 5",
        &format!(
            "B (pid {b}) read 5 bytes at offset 0: \"hello\" (plain loads from its mapping: no system call)"
        ),
        "shm-sim> b read 3 4",
        &format!(
            "B (pid {b}) read 4 bytes at offset 3: \"lo\\x00\\x00\" (plain loads from its mapping: no system call)"
        ),
        "shm-sim> quit",
    ]));
    expected.extend(s.closing());
    assert_eq!(lines, expected);
}

#[test]
fn show_dumps_the_region_and_marks_the_last_write() {
    let (lines, s) = session("a write 3 hello\nb write 5 LLO\nshow\n");
    let at = position(&lines, "shm-sim> show");
    let controller = lines[at + 1]
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .expect("the controller's pid");
    let zeros = "00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00  |................|";
    let mut expected = vec![
        format!(
            "segment {}, bytes 0-127, as the controller (pid {controller}) sees them (offsets in decimal):",
            s.segment
        ),
        "   0  00 00 00 68 65 4c 4c 4f  00 00 00 00 00 00 00 00  |...heLLO........|".into(),
        "                     ^^ ^^ ^^                                 ^^^".into(),
    ];
    for offset in (16..128).step_by(16) {
        expected.push(format!("{offset:4}  {zeros}"));
    }
    expected.extend([
        format!(
            "^ marks the last write: 3 bytes by B (pid {}), offsets 5-7",
            s.b
        ),
        format!(
            "kernel's view (shmctl IPC_STAT): 144 bytes, 3 attached (A, B and the controller), \
             created by pid {controller}, last shmat/shmdt by pid {controller}"
        ),
        "the kernel saw the attaches, and no read or write: those are loads and stores".into(),
    ]);
    assert_eq!(lines[at + 1..at + 1 + expected.len()], expected[..]);
    // The session ends at the end of the input, as after quit.
    assert_eq!(lines[at + 1 + expected.len()..], s.closing()[..]);
}

#[test]
fn show_before_any_write_shows_zeros_and_marks_nothing() {
    let (lines, _) = session("show\nquit\n");
    let at = position(&lines, "shm-sim> show");
    assert!(lines[at + 2].starts_with("   0  00 00 00 00 00 00 00 00  00"));
    assert_eq!(lines[at + 10], "no write yet");
    assert!(!lines.iter().any(|l| l.contains('^')), "{lines:#?}");
}

#[test]
fn race_with_the_lock_loses_no_update() {
    let count = 20_000;
    let (lines, s) = session(&format!("race {count}\nquit\n"));
    let expected = 2 * count;
    let unlocked = position(&lines, "without a lock (load, add 1, store):");
    let locked = position(
        &lines,
        "with a lock (a futex mutex at offset 136: take it, load, add 1, store, release it):",
    );
    assert_eq!(
        lines[unlocked - 1],
        format!(
            "race: A and B each add 1 to the counter at offset 128, {count} times, both at once"
        )
    );

    // Without the lock: each process reports, then the controller counts.
    // How many updates are lost is up to the scheduler; the sums must agree.
    for (line, who) in lines[unlocked + 1..unlocked + 3]
        .iter()
        .zip([format!("A (pid {})", s.a), format!("B (pid {})", s.b)])
    {
        let prefix = format!("  {who} added 1 {count} times in ");
        assert!(line.starts_with(&prefix), "{line:?}");
        assert!(line.ends_with(" ms; no system call"), "{line:?}");
    }
    let verdict = &lines[unlocked + 3];
    let counter: u64 = verdict
        .strip_prefix("  counter = ")
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the counter: {verdict:?}"));
    assert!(counter <= expected, "{verdict:?}");
    let lost = expected - counter;
    let explained = if lost == 0 {
        "no update lost this time (the two loops hardly overlapped; try race again, or a larger count)"
            .to_owned()
    } else {
        format!(
            "{lost} updates lost: both loaded the same value, and one store overwrote the other"
        )
    };
    assert_eq!(
        *verdict,
        format!("  counter = {counter}, expected {expected}: {explained}")
    );

    // With the lock: never an update lost.
    assert_eq!(locked, unlocked + 4);
    for line in &lines[locked + 1..locked + 3] {
        assert!(
            line.contains(&format!(" added 1 {count} times in ")),
            "{line:?}"
        );
        assert!(line.contains(" ms; system calls: "), "{line:?}");
    }
    assert_eq!(
        lines[locked + 3],
        format!("  counter = {expected}, expected {expected}: no update lost")
    );
}

#[test]
fn bad_commands_get_a_one_line_hint_and_the_session_goes_on() {
    let (lines, s) = session(
        "fly\na\na write\na write 126 abc\nb read 0 0\nb read 100 50\nrace 0\n\nb write 1 ok\nquit\n",
    );
    let hints = [
        ("fly", "unknown command \"fly\": type help for the list"),
        (
            "a",
            "a what? a write <offset> <text>, or a read <offset> <len>",
        ),
        ("a write", "usage: a write <offset> <text>, offset 0-127"),
        (
            "a write 126 abc",
            "3 bytes at offset 126 would end past byte 127: the region is bytes 0-127",
        ),
        (
            "b read 0 0",
            "usage: b read <offset> <len>, within bytes 0-127",
        ),
        (
            "b read 100 50",
            "usage: b read <offset> <len>, within bytes 0-127",
        ),
        ("race 0", "usage: race [count], count 1-100000000"),
    ];
    for (command, hint) in hints {
        let at = position(&lines, &format!("shm-sim> {command}"));
        assert_eq!(lines[at + 1], hint);
        assert!(
            lines[at + 2].starts_with("shm-sim> "),
            "one line: {lines:#?}"
        );
    }
    assert_in_order(
        &lines,
        &[
            "shm-sim> b write 1 ok",
            &format!(
                "B (pid {}) wrote 2 bytes at offset 1: \"ok\" (plain stores into its mapping: no system call)",
                s.b
            ),
            "shm-sim> quit",
        ],
    );
}

#[test]
fn help_lists_the_commands() {
    let (lines, _) = session("help\n");
    let at = position(&lines, "shm-sim> help");
    assert_eq!(
        lines[at + 1],
        "commands (either process can read or write; offsets are decimal, 0-127):"
    );
    for command in [
        "a write <offset>",
        "b read <offset>",
        "show",
        "race [count]",
        "help",
        "quit",
    ] {
        assert!(
            lines.iter().any(|l| l.starts_with(&format!("  {command}"))),
            "help lists {command}: {lines:#?}"
        );
    }
}

#[test]
fn end_of_input_ends_the_session_like_quit() {
    let (lines, s) = session("");
    let mut expected = s.opening();
    expected.extend(s.closing());
    assert_eq!(lines, expected);
}

#[test]
fn ctrl_c_ends_both_processes_and_removes_the_segment() {
    let mut live = Live::start(cargo_bin!("shm-sim"), "Type help for the commands.");
    let s = Started::from(live.seen());
    let segment = sysv::objects(Kind::Shm)
        .into_iter()
        .find(|o| o.id == s.segment)
        .expect("the segment exists during the session");
    assert_eq!(segment.mode, 0o600, "owner only: {segment:?}");
    assert_eq!(segment.uid, tests::uid());
    assert_eq!(segment.key, libc::IPC_PRIVATE);

    live.type_line("a write 0 before ^C");
    live.read_until(&format!(
        "A (pid {}) wrote 9 bytes at offset 0: \"before ^C\" (plain stores into its mapping: no system call)",
        s.a
    ));
    // Ctrl-C reaches the whole foreground group: controller, A and B.
    live.signal(libc::SIGINT, true);
    let (status, lines, stderr) = live.finish();
    let lines = normalized(lines);
    assert_eq!((status, stderr.as_str()), (Some(130), ""));
    assert_eq!(
        lines.last().unwrap(),
        &format!(
            "interrupted by SIGINT: A and B ended, segment {} removed",
            s.segment
        )
    );
    s.assert_gone();
}

#[test]
fn sigterm_ends_both_processes_and_removes_the_segment() {
    let live = Live::start(cargo_bin!("shm-sim"), "Type help for the commands.");
    let s = Started::from(live.seen());
    live.signal(libc::SIGTERM, false);
    let (status, lines, stderr) = live.finish();
    let lines = normalized(lines);
    assert_eq!((status, stderr.as_str()), (Some(143), ""));
    assert_eq!(
        lines.last().unwrap(),
        &format!(
            "interrupted by SIGTERM: A and B ended, segment {} removed",
            s.segment
        )
    );
    s.assert_gone();
}

#[test]
fn a_process_that_dies_ends_the_session_with_the_reason() {
    let live = Live::start(cargo_bin!("shm-sim"), "Type help for the commands.");
    let s = Started::from(live.seen());
    // Someone kills B. The controller, waiting for a command, also watches
    // A and B: it notices, ends A and removes the segment.
    let b = i32::try_from(s.b).unwrap();
    // SAFETY: kill takes no pointers.
    assert_eq!(unsafe { libc::kill(b, libc::SIGKILL) }, 0);
    let (status, _, stderr) = live.finish();
    assert_eq!(status, Some(1));
    let reason = stderr
        .strip_prefix(&format!("B (pid {b}) ended: "))
        .unwrap_or_else(|| panic!("one line naming B: {stderr:?}"));
    assert!(
        reason.contains("SIGKILL") && reason.ends_with('\n'),
        "{stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    s.assert_gone();
}

#[test]
fn a_closed_stdout_is_an_error_and_the_segment_is_removed() {
    // The reader is gone before the first line: the first print fails
    // after shmget, and the segment must not outlive the error.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let program = Command::new(cargo_bin!("shm-sim"))
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = program.id();
    let output = program.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "write stdout: Broken pipe\n"
    );
    assert!(
        !segments_created_by(pid),
        "no segment created by pid {pid} is left"
    );
}

/// Whether a segment that process `pid` created still exists
/// (`/proc/sysvipc/shm` has a `cpid` column).
fn segments_created_by(pid: u32) -> bool {
    let text = std::fs::read_to_string("/proc/sysvipc/shm").unwrap();
    let mut rows = text.lines();
    let header: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    let cpid = header.iter().position(|&c| c == "cpid").unwrap();
    rows.any(|row| row.split_whitespace().nth(cpid) == Some(&pid.to_string()))
}

#[test]
fn help_and_bad_usage() {
    cargo_bin_cmd!("shm-sim")
        .arg("--help")
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Usage: shm-sim\n"));
    cargo_bin_cmd!("shm-sim")
        .arg("extra")
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::ends_with(
            "unexpected argument extra\nUsage: shm-sim\n",
        ));
}
