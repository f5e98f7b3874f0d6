//! `msg-sim` when the user or another program interferes with a session
//! (issue 14), and the rough edges a new user found: a limit above
//! `kernel.msgmnb`, a message larger than the queue's limit, the hints in a
//! deadlock, the queue removed from outside (`ipcrm -q`), A, B or the
//! controller stopped and continued, and stdout that fails. Each run either
//! completes its whole transcript, or ends with one line on stderr and a
//! non-zero status, leaving nothing behind.

// Helpers outside #[test] functions may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::CommandExt;
use std::process::Command;

use assert_cmd::cargo::cargo_bin;
use tests::faults::Ended;
use tests::sims::{Script, SimSession, Who, normalized, stop_and_continue};
use tests::sysv::{self, Kind};
use tests::{TIMEOUT, position};

/// The queue and the two processes a session names in its first lines.
#[derive(Debug, Clone, Copy)]
struct Started {
    queue: i32,
    a: i32,
    b: i32,
}

impl Started {
    fn from(lines: &[String]) -> Self {
        let (queue, a, b) = tests::sims::started(lines, "queue");
        Self { queue, a, b }
    }

    /// Nothing is left: the queue and both processes are gone.
    fn assert_gone(&self, ended: &impl std::fmt::Debug) {
        assert!(
            !sysv::exists(Kind::Msg, self.queue, libc::IPC_PRIVATE),
            "queue {} is removed: {ended:#?}",
            self.queue
        );
        for pid in [self.a, self.b] {
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "process {pid} is gone: {ended:#?}"
            );
        }
    }

    /// What the controller prints once `who` (pid `pid`) sleeps in `call`.
    fn asleep(who: &str, pid: i32, call: &str) -> String {
        format!(
            "{who} (pid {pid}) is asleep in {call} (state S, as /proc/{pid}/stat shows); \
             the controller takes commands meanwhile"
        )
    }
}

/// Runs a whole scripted session, as `msg-sim < script`.
fn scripted(mut command: Command, script: &str) -> (Ended, Started) {
    let output = assert_cmd::Command::from_std(std::mem::replace(&mut command, Command::new("")))
        .write_stdin(script)
        .timeout(TIMEOUT)
        .output()
        .unwrap();
    let ended = Ended {
        code: output.status.code(),
        lines: tests::lines(&output.stdout),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        pid: 0,
    };
    let started = Started::from(&ended.lines);
    (ended, started)
}

/// A scripted session that must complete: exit 0, nothing on stderr,
/// nothing left.
fn session(script: &str) -> (Vec<String>, Started) {
    let (ended, started) = scripted(Command::new(cargo_bin!("msg-sim")), script);
    assert_eq!(
        (ended.code, ended.stderr.as_str()),
        (Some(0), ""),
        "{ended:#?}"
    );
    started.assert_gone(&ended);
    (ended.lines, started)
}

/// The lines that follow the command `command` up to the next prompt.
fn answer<'a>(lines: &'a [String], command: &str) -> &'a [String] {
    let at = position(lines, &format!("msg-sim> {command}")) + 1;
    let end = lines[at..]
        .iter()
        .position(|l| l.starts_with("msg-sim> "))
        .map_or(lines.len(), |n| at + n);
    &lines[at..end]
}

// ---- Found trying it as a new user ----

/// Linux's `CAP_SYS_RESOURCE`, which lets a process raise `msg_qbytes`
/// above `kernel.msgmnb`.
const CAP_SYS_RESOURCE: libc::c_ulong = 24;

/// `command`, made to run without `CAP_SYS_RESOURCE` even when the tests
/// run as root with every capability: dropped from the bounding set, which
/// is all that root's capabilities come from at `execve`. (Where the tests
/// may not drop it, they do not have it to begin with.)
fn without_sys_resource(mut command: Command) -> Command {
    let drop_it = || {
        // SAFETY: PR_CAPBSET_DROP takes an integer; one system call, safe
        // between fork and exec. Failing is fine (see above).
        unsafe { libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_RESOURCE, 0, 0, 0) };
        Ok(())
    };
    // SAFETY: the closure makes one system call and allocates nothing.
    unsafe { command.pre_exec(drop_it) };
    command
}

#[test]
fn a_limit_above_msgmnb_is_a_one_line_hint_and_the_session_goes_on() {
    let msgmnb: u64 = std::fs::read_to_string("/proc/sys/kernel/msgmnb")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let above = msgmnb + 1;
    let command = without_sys_resource(Command::new(cargo_bin!("msg-sim")));
    let (ended, s) = scripted(command, &format!("limit {above}\nshow\nlimit 100\nquit\n"));
    // Before: `msgctl(IPC_SET): Operation not permitted` on stderr, exit 1.
    assert_eq!(
        (ended.code, ended.stderr.as_str()),
        (Some(0), ""),
        "{ended:#?}"
    );
    let lines = &ended.lines;
    assert_eq!(
        answer(lines, &format!("limit {above}")),
        [format!(
            "limit {above}: msgctl(IPC_SET) fails with EPERM: only a privileged process \
             (CAP_SYS_RESOURCE) may set a limit above kernel.msgmnb, {msgmnb} here; \
             the limit stays {msgmnb}"
        )]
    );
    assert_eq!(
        answer(lines, "show")[2],
        format!("  msg_qbytes {msgmnb}: the limit; a msgsnd that would pass it sleeps")
    );
    assert_eq!(
        answer(lines, "limit 100"),
        [format!(
            "msgctl(queue {}, IPC_SET): msg_qbytes {msgmnb} -> 100: the queue now holds at most 100 bytes of text",
            s.queue
        )]
    );
    s.assert_gone(&ended);
}

#[test]
fn a_message_larger_than_the_limit_is_not_sent_to_sleep_forever() {
    let (lines, s) = session("limit 10\na send 0123456789abc\nshow\nb send ok\nb recv\nquit\n");
    let Started { queue, a, b } = s;
    // Before: A slept in msgsnd "until there is room", which never comes.
    assert_eq!(
        answer(&lines, "a send 0123456789abc"),
        [
            format!(
                "A (pid {a}): msgsnd(queue {queue}, type 1, \"0123456789abc\") with IPC_NOWAIT \
                 fails with EAGAIN: the queue has no room for 13 more bytes"
            ),
            format!(
                "A (pid {a}): 13 bytes are more than the queue's limit, msg_qbytes 10 \
                 (msgctl IPC_STAT): the message can never fit, and msgsnd without IPC_NOWAIT \
                 would sleep forever, so A does not call it (limit 13 or more first)"
            ),
        ]
    );
    let show = answer(&lines, "show");
    assert_eq!(
        show[show.len() - 2],
        format!("A (pid {a}): awake, waiting for the controller's next command")
    );
    assert!(
        answer(&lines, "b recv")[0].contains("got type 1, \"ok\""),
        "{lines:#?}"
    );
    assert!(lines.iter().all(|l| !l.contains("deadlock")), "{lines:#?}");
    let _ = b;
}

/// The hint for a command to `who`, asleep, while the other is asleep too.
fn busy(who: &str, pid: i32, waiting: &str, way_out: &str) -> String {
    let other = if who == "A" { "B" } else { "A" };
    format!(
        "{who} (pid {pid}) is asleep in {waiting}; it takes commands again once it wakes \
         ({other} is asleep too{way_out})"
    )
}

#[test]
fn in_a_deadlock_the_hints_suggest_only_what_can_end_it() {
    // Both asleep in msgrcv: only quit ends it.
    let (lines, s) = session("a recv 7\nb recv 8\nb send x\na send y\ncompare\nquit\n");
    // Before: "(try: a send <text>)", though A is asleep too.
    assert_eq!(
        answer(&lines, "b send x"),
        [busy(
            "B",
            s.b,
            "msgrcv, waiting for type 8",
            ": a deadlock that only quit ends"
        )]
    );
    assert_eq!(
        answer(&lines, "a send y"),
        [busy(
            "A",
            s.a,
            "msgrcv, waiting for type 7",
            ": a deadlock that only quit ends"
        )]
    );
    assert_eq!(
        answer(&lines, "compare"),
        [format!(
            "compare needs A and B awake: {}",
            busy(
                "A",
                s.a,
                "msgrcv, waiting for type 7",
                ": a deadlock that only quit ends"
            )
        )]
    );

    // A asleep in msgsnd, B in msgrcv for A's message: a larger limit ends it.
    let (lines, s) =
        session("limit 5\na send 2 xxxxx\nb recv 1\na send 1 yy\nb send z\na recv\nquit\n");
    assert_eq!(
        answer(&lines, "b send z"),
        [busy(
            "B",
            s.b,
            "msgrcv, waiting for type 1",
            "; try: limit <bytes>, or quit"
        )]
    );
    assert_eq!(
        answer(&lines, "a recv"),
        [busy(
            "A",
            s.a,
            "msgsnd, waiting for room for 2 bytes",
            "; try: limit <bytes>, or quit"
        )]
    );

    // Both asleep in msgsnd: a new limit would wake both in a race, which
    // `limit` refuses; only quit ends it.
    let (lines, s) = session("limit 5\na send xxxxx\na send yy\nb send zz\nb recv\nquit\n");
    assert_eq!(
        answer(&lines, "b recv"),
        [busy(
            "B",
            s.b,
            "msgsnd, waiting for room for 2 bytes",
            ": a deadlock that only quit ends"
        )]
    );
}

// ---- The queue removed from outside ----

/// Removes queue `id`, as `ipcrm -q ID` does.
fn ipcrm(id: i32) {
    // SAFETY: IPC_RMID takes no buffer; null is allowed.
    let removed = unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    assert_eq!(
        removed,
        0,
        "ipcrm -q {id}: {}",
        std::io::Error::last_os_error()
    );
}

/// The one line on stderr of a session whose queue was removed from outside.
fn assert_ended_by_removal(ended: &Ended, s: &Started, how: &str) {
    let queue = s.queue;
    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(
        ended.stderr,
        format!(
            "queue {queue} was removed from outside the session (ipcrm -q {queue}, or \
             msgctl IPC_RMID in another program): {how}; A and B ended\n"
        ),
        "{ended:#?}"
    );
    s.assert_gone(ended);
    ended.assert_group_gone();
}

#[test]
fn the_queue_removed_while_a_process_sleeps_on_it_ends_the_session_in_one_line() {
    // The commands, and who sleeps in which call once they are done.
    type Sleepers = &'static [(&'static str, &'static str)];
    let cases: [(&[&str], Sleepers); 3] = [
        (&["b recv"], &[("B", "msgrcv")]),
        (
            &["limit 5", "a send xxxxx", "a send yy"],
            &[("A", "msgsnd")],
        ),
        // A deadlock: both sleep, and both wake.
        (
            &["limit 5", "a send 2 xxxxx", "b recv 1", "a send 1 yy"],
            &[("B", "msgrcv"), ("A", "msgsnd")],
        ),
    ];
    for (commands, sleepers) in cases {
        let mut session = SimSession::start(cargo_bin!("msg-sim"));
        let s = Started::from(session.seen());
        for command in commands {
            session.type_line(command);
        }
        let pid = |who| if who == "A" { s.a } else { s.b };
        for &(who, call) in sleepers {
            session.read_until(&Started::asleep(who, pid(who), call));
        }
        ipcrm(s.queue);
        // Stdin stays open: the session must end by itself.
        let ended = session.wait_end();
        // Before: it went on, and the next command failed with a raw
        // `msgctl(IPC_STAT): Invalid argument`, after the guard's own line.
        // The controller prints the wake it reads first, and ends there.
        let woke: Vec<(&str, &str)> = sleepers
            .iter()
            .copied()
            .filter(|&(who, call)| {
                ended.lines.contains(&format!(
                    "{who} (pid {}) woke: {call} failed with EIDRM (Identifier removed)",
                    pid(who)
                ))
            })
            .collect();
        assert_eq!(woke.len(), 1, "one wake printed: {ended:#?}");
        let (who, call) = woke[0];
        let how = format!("{who} (pid {}) woke from {call} with EIDRM", pid(who));
        assert_ended_by_removal(&ended, &s, &how);
    }
}

#[test]
fn the_queue_removed_between_two_commands_ends_the_session_at_the_next_in_one_line() {
    let cases: [(&str, &str); 6] = [
        ("a send x", "A's msgsnd failed with EINVAL"),
        ("b recv", "msgctl(IPC_STAT) failed with EINVAL"),
        ("show", "msgctl(IPC_STAT) failed with EINVAL"),
        ("limit 20", "msgctl(IPC_STAT) failed with EINVAL"),
        ("quit", "msgctl(IPC_RMID) failed with EINVAL"),
        ("", "msgctl(IPC_RMID) failed with EINVAL"),
    ];
    for (command, how) in cases {
        let mut session = SimSession::start(cargo_bin!("msg-sim"));
        let s = Started::from(session.seen());
        ipcrm(s.queue);
        let ended = if command.is_empty() {
            session.end_input()
        } else {
            session.type_line(command);
            session.wait_end()
        };
        assert_ended_by_removal(&ended, &s, how);
    }
}

// ---- Job control: A, B or the controller stopped and continued ----

/// Sessions in which each process sleeps in the kernel waiting for the
/// other at some point: B in msgrcv for A's message, A in msgsnd for room
/// that B's receive makes; B in msgrcv and futex during compare, A asleep
/// in msgrcv at quit. (Two, as a held run's output must stay under a page.)
const EVERY_WAIT: [&str; 2] = [
    "b recv\na send hello\nlimit 10\na send 0123456789\na send more\nb recv\nb recv\nquit\n",
    "compare hi\na recv 7\nb send 7 seven\nb recv 3\nquit\n",
];

/// Stops `who` after every `step`-th line of the [`EVERY_WAIT`]
/// transcripts, lets the run go on until the controller waits for it,
/// continues it: each run completes its whole transcript (but for pids,
/// ids and times), exit 0, nothing on stderr, nothing left.
fn stop_and_continue_sweep(step: usize) {
    let mut stopped = 0;
    for text in EVERY_WAIT {
        let script = Script::new(cargo_bin!("msg-sim"), text);
        let reference = script.transcript();
        let expected: Vec<String> = reference.iter().map(|l| normalized(l)).collect();
        let points = Script::points(&reference);
        for (n, &room) in points.iter().enumerate().step_by(step) {
            for who in Who::ALL {
                let ended = stop_and_continue(&script, room, who);
                assert_eq!(
                    (ended.code, ended.stderr.as_str()),
                    (Some(0), ""),
                    "{who:?} stopped after line {n}: {ended:#?}"
                );
                // A sleeper stopped when quit removes the queue is not in
                // msgrcv to be woken with EIDRM: continued, it calls again,
                // and the kernel no longer knows the id (EINVAL). True, and
                // the only line that may differ.
                let got: Vec<String> = ended
                    .lines
                    .iter()
                    .map(|l| {
                        normalized(l).replace(
                            "failed with EINVAL (Invalid argument)",
                            "failed with EIDRM (Identifier removed)",
                        )
                    })
                    .collect();
                assert_eq!(got, expected, "{who:?} stopped after line {n}");
                Started::from(&ended.lines).assert_gone(&ended);
                ended.assert_group_gone();
                stopped += 1;
            }
        }
    }
    assert!(stopped > 0);
}

#[test]
fn a_process_stopped_and_continued_after_any_line_changes_nothing() {
    stop_and_continue_sweep(1);
}

// ---- stdout that fails ----

/// Runs `script` in an IPC namespace of its own, so that what it leaves
/// behind is exactly what the namespace holds after it; `None` where the
/// machine does not permit one.
fn namespaced(script: &str) -> Option<(Script, tests::TestDir)> {
    let dir = tests::TestDir::new();
    let script = Script::new(cargo_bin!("msg-sim"), script)
        .in_own_ipc_namespace(&dir.path().join("left-behind"))?;
    Some((script, dir))
}

#[test]
fn stdout_on_a_full_device_is_one_line_and_nothing_is_left() {
    let Some((script, _dir)) = namespaced(EVERY_WAIT[0]) else {
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
    for text in EVERY_WAIT {
        let Some((script, _dir)) = namespaced(text) else {
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
                // Before: closed while B slept during compare, B also said
                // `msgrcv: Identifier removed`, woken by the removal of
                // compare's queue before the controller ended it.
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
}
