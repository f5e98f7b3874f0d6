//! Drives `msg-sim` with scripted sessions, as a person would type them, and
//! checks the transcript, the exit status, and that the queue (and the
//! comparison's queue and segment) and the two processes are gone
//! afterwards.

// Helpers outside #[test] functions may unwrap too: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use tests::sysv::{self, Kind};
use tests::{Live, TIMEOUT, assert_in_order, lines, position};

/// What the first lines of every session say.
#[derive(Debug)]
struct Started {
    queue: i32,
    a: u32,
    b: u32,
}

impl Started {
    fn from(lines: &[String]) -> Self {
        let queue = lines[1]
            .strip_prefix("queue ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("the second line names the queue: {lines:#?}"));
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
            queue,
            a: pid("A"),
            b: pid("B"),
        }
    }

    fn opening(&self) -> Vec<String> {
        let Started { queue, a, b } = self;
        vec![
            "msg-sim: Process A and Process B talk through one System V message queue.".into(),
            format!("queue {queue} created: private to this run (IPC_PRIVATE), owner only (0600)"),
            format!("A (pid {a}) is ready; it knows the queue by its id, {queue}"),
            format!("B (pid {b}) is ready; it knows the queue by its id, {queue}"),
            "Type help for the commands.".into(),
        ]
    }

    /// The end after `quit` or the end of the input, with A and B awake.
    fn closing(&self) -> Vec<String> {
        let Started { queue, a, b } = self;
        vec![
            format!("A (pid {a}) exits"),
            format!("B (pid {b}) exits"),
            format!("queue {queue} removed (msgctl IPC_RMID)"),
        ]
    }

    /// Nothing is left: the queue and both processes are gone.
    fn assert_gone(&self) {
        assert!(
            !sysv::exists(Kind::Msg, self.queue, libc::IPC_PRIVATE),
            "queue {} is removed",
            self.queue
        );
        for pid in [self.a, self.b] {
            assert!(
                !std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "process {pid} is gone"
            );
        }
    }

    /// What the controller prints once `who` (pid `pid`) sleeps in `call`.
    fn asleep(who: &str, pid: u32, call: &str) -> String {
        format!(
            "{who} (pid {pid}) is asleep in {call} (state S, as /proc/{pid}/stat shows); \
             the controller takes commands meanwhile"
        )
    }
}

/// Clock times vary from run to run: " at 12:34:56 UTC" reads as " at TIME".
fn normalized(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|line| match line.split_once(" at ") {
            Some((before, after)) if after.get(8..12) == Some(" UTC") => {
                format!("{before} at TIME{}", &after[12..])
            }
            _ => line,
        })
        .collect()
}

/// Runs a whole scripted session; returns its transcript and what it started.
fn session(script: &str) -> (Vec<String>, Started) {
    let assert = cargo_bin_cmd!("msg-sim")
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

/// The lines that follow the command `command` up to the next prompt.
fn answer<'a>(lines: &'a [String], command: &str) -> &'a [String] {
    let at = position(lines, &format!("msg-sim> {command}")) + 1;
    let end = lines[at..]
        .iter()
        .position(|l| l.starts_with("msg-sim> "))
        .map_or(lines.len(), |n| at + n);
    &lines[at..end]
}

#[test]
fn a_receive_on_an_empty_queue_sleeps_until_a_sends() {
    let (lines, s) = session("b recv\nshow\na send hello\nshow\nquit\n");
    let Started { queue, a, b } = s;
    let mut expected = s.opening();
    let text = [
        "msg-sim> b recv",
        &format!(
            "B (pid {b}): msgrcv(queue {queue}, any type) with IPC_NOWAIT fails with ENOMSG: no such message is queued"
        ),
        &format!(
            "B (pid {b}) calls msgrcv again without IPC_NOWAIT, and sleeps in the kernel until one arrives"
        ),
        &Started::asleep("B", b, "msgrcv"),
        // The kernel's view while B sleeps: nothing queued, nothing sent yet.
        "msg-sim> show",
        &format!("queue {queue}, as msgctl(IPC_STAT) reports it:"),
        "  msg_qnum 0, msg_cbytes 0: 0 messages and 0 bytes of text queued in the kernel",
        "  msg_qbytes 16384: the limit; a msgsnd that would pass it sleeps",
        "  last msgsnd: nobody yet (msg_lspid, msg_stime)",
        "  last msgrcv: nobody yet (msg_lrpid, msg_rtime)",
        "  created or last changed by IPC_SET at TIME (msg_ctime)",
        &format!("A (pid {a}): awake, waiting for the controller's next command"),
        &format!("B (pid {b}): asleep in msgrcv, waiting for any type"),
        // A sends: the kernel hands the message to B, which wakes.
        "msg-sim> a send hello",
        &format!(
            "A (pid {a}): msgsnd(queue {queue}, type 1, \"hello\"): 1 system call; \
             the kernel copied 13 bytes (8-byte type + 5-byte text) into the kernel"
        ),
        &format!("B (pid {b}) waits for any type: the kernel hands it A's message and wakes it"),
        &format!(
            "B (pid {b}) woke: msgrcv returned type 1, \"hello\"; \
             the kernel copied 13 bytes (8-byte type + 5-byte text) out of the kernel"
        ),
        // The message passed through the kernel: A sent it, B received it.
        "msg-sim> show",
        &format!("queue {queue}, as msgctl(IPC_STAT) reports it:"),
        "  msg_qnum 0, msg_cbytes 0: 0 messages and 0 bytes of text queued in the kernel",
        "  msg_qbytes 16384: the limit; a msgsnd that would pass it sleeps",
        &format!("  last msgsnd: pid {a} (A) at TIME (msg_lspid, msg_stime)"),
        &format!("  last msgrcv: pid {b} (B) at TIME (msg_lrpid, msg_rtime)"),
        "  created or last changed by IPC_SET at TIME (msg_ctime)",
        &format!("A (pid {a}): awake, waiting for the controller's next command"),
        &format!("B (pid {b}): awake, waiting for the controller's next command"),
        "msg-sim> quit",
    ];
    expected.extend(text.iter().map(|&l| l.to_owned()));
    expected.extend(s.closing());
    assert_eq!(lines, expected);
}

#[test]
fn show_counts_and_lists_the_queued_messages_after_each_step() {
    let (lines, s) = session(
        "a send hello\nshow\na send 2 big world\nb send 3 !\nshow\nb recv 2\nshow\nb recv -5\nb recv\nshow\n",
    );
    let Started { queue, a, b } = s;
    let header = format!("queue {queue}, as msgctl(IPC_STAT) reports it:");
    let counts = |n: u64, bytes: u64| {
        let messages = if n == 1 { "message" } else { "messages" };
        format!(
            "  msg_qnum {n}, msg_cbytes {bytes}: {n} {messages} and {bytes} bytes of text queued in the kernel"
        )
    };

    let shows: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == "msg-sim> show")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(shows.len(), 4);
    let show = |n: usize| {
        let end = lines[shows[n] + 1..]
            .iter()
            .position(|l| {
                l.starts_with("msg-sim> ") || l.starts_with("A (pid") && l.ends_with("exits")
            })
            .map_or(lines.len(), |k| shows[n] + 1 + k);
        &lines[shows[n] + 1..end]
    };

    // One message queued.
    let first = show(0);
    assert_eq!(first[0], header);
    assert_eq!(first[1], counts(1, 5));
    assert_eq!(
        first[3],
        format!("  last msgsnd: pid {a} (A) at TIME (msg_lspid, msg_stime)")
    );
    assert_eq!(first[4], "  last msgrcv: nobody yet (msg_lrpid, msg_rtime)");
    assert_eq!(
        first[6..8],
        [
            "  queued, oldest first (msgrcv with MSG_COPY copies a message and leaves it queued):",
            "    1. type 1, 5 bytes: \"hello\"",
        ]
    );

    // Three, oldest first; the last sent by B.
    let second = show(1);
    assert_eq!(second[1], counts(3, 15));
    assert_eq!(
        second[3],
        format!("  last msgsnd: pid {b} (B) at TIME (msg_lspid, msg_stime)")
    );
    assert_eq!(
        second[7..10],
        [
            "    1. type 1, 5 bytes: \"hello\"",
            "    2. type 2, 9 bytes: \"big world\"",
            "    3. type 3, 1 byte: \"!\"",
        ]
    );

    // B took type 2 out of the middle; the others keep their order.
    assert_eq!(
        answer(&lines, "b recv 2"),
        [format!(
            "B (pid {b}): msgrcv(queue {queue}, type 2): 1 system call; got type 2, \"big world\"; \
             the kernel copied 17 bytes (8-byte type + 9-byte text) out of the kernel"
        )]
    );
    let third = show(2);
    assert_eq!(third[1], counts(2, 6));
    assert_eq!(
        third[4],
        format!("  last msgrcv: pid {b} (B) at TIME (msg_lrpid, msg_rtime)")
    );
    assert_eq!(
        third[7..9],
        [
            "    1. type 1, 5 bytes: \"hello\"",
            "    2. type 3, 1 byte: \"!\""
        ]
    );

    // -5 takes the lowest type up to 5 (type 1); then any type: type 3.
    assert!(
        answer(&lines, "b recv -5")[0]
            .contains("the lowest type up to 5): 1 system call; got type 1, \"hello\"")
    );
    assert!(answer(&lines, "b recv")[0].contains("any type): 1 system call; got type 3, \"!\""));
    let fourth = show(3);
    assert_eq!(fourth[1], counts(0, 0));
    assert!(
        !fourth.iter().any(|l| l.contains("queued, oldest first")),
        "{fourth:#?}"
    );
}

#[test]
fn a_full_queue_puts_the_sender_to_sleep_until_a_receive_makes_room() {
    let (lines, s) = session("limit 10\na send 0123456789\na send more\nshow\nb recv\nb recv\n");
    let Started { queue, a, b } = s;
    assert_eq!(
        answer(&lines, "limit 10"),
        [format!(
            "msgctl(queue {queue}, IPC_SET): msg_qbytes 16384 -> 10: the queue now holds at most 10 bytes of text"
        )]
    );
    assert_eq!(
        answer(&lines, "a send more"),
        [
            format!(
                "A (pid {a}): msgsnd(queue {queue}, type 1, \"more\") with IPC_NOWAIT fails with EAGAIN: \
                 the queue has no room for 4 more bytes"
            ),
            format!(
                "A (pid {a}) calls msgsnd again without IPC_NOWAIT, and sleeps in the kernel until there is room"
            ),
            Started::asleep("A", a, "msgsnd"),
        ]
    );
    let show = answer(&lines, "show");
    assert_eq!(
        show[1],
        "  msg_qnum 1, msg_cbytes 10: 1 message and 10 bytes of text queued in the kernel"
    );
    assert_eq!(
        show[2],
        "  msg_qbytes 10: the limit; a msgsnd that would pass it sleeps"
    );
    assert_eq!(
        show[show.len() - 2],
        format!("A (pid {a}): asleep in msgsnd, waiting for room for 4 bytes")
    );
    // B's receive makes room: A wakes and its message goes in.
    let receives: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == "msg-sim> b recv")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        lines[receives[0] + 1..receives[1]],
        [
            format!(
                "B (pid {b}): msgrcv(queue {queue}, any type): 1 system call; got type 1, \"0123456789\"; \
                 the kernel copied 18 bytes (8-byte type + 10-byte text) out of the kernel"
            ),
            format!(
                "the queue has room now for the 4 bytes that A (pid {a}) sends: the kernel wakes it"
            ),
            format!(
                "A (pid {a}) woke: msgsnd returned; the kernel copied 12 bytes (8-byte type + 4-byte text) into the kernel"
            ),
        ]
    );
    assert!(lines[receives[1] + 1].contains("got type 1, \"more\""));
}

#[test]
fn a_larger_limit_wakes_the_sender_whose_message_wakes_the_receiver() {
    // The queue is full of a type B does not want; A's message of the type
    // B waits for does not fit: both sleep, until the limit is raised.
    let (lines, s) = session("limit 5\na send 2 xxxxx\nb recv 1\na send 1 yy\nlimit 100\nshow\n");
    let Started { queue, a, b } = s;
    assert_eq!(
        answer(&lines, "a send 1 yy").last().unwrap(),
        "A and B are both asleep: neither can make the call that would wake the other \
         (a deadlock; a larger limit, or quit ends it)"
    );
    assert_eq!(
        answer(&lines, "limit 100"),
        [
            format!(
                "msgctl(queue {queue}, IPC_SET): msg_qbytes 5 -> 100: the queue now holds at most 100 bytes of text"
            ),
            format!(
                "the queue has room now for the 2 bytes that A (pid {a}) sends: the kernel wakes it"
            ),
            format!(
                "A (pid {a}) woke: msgsnd returned; the kernel copied 10 bytes (8-byte type + 2-byte text) into the kernel"
            ),
            format!("B (pid {b}) waits for type 1: the kernel hands it A's message and wakes it"),
            format!(
                "B (pid {b}) woke: msgrcv returned type 1, \"yy\"; \
                 the kernel copied 10 bytes (8-byte type + 2-byte text) out of the kernel"
            ),
        ]
    );
    // Only the type-2 message is still queued.
    let show = answer(&lines, "show");
    assert_eq!(
        show[1],
        "  msg_qnum 1, msg_cbytes 5: 1 message and 5 bytes of text queued in the kernel"
    );
    assert_eq!(show[7], "    1. type 2, 5 bytes: \"xxxxx\"");
}

#[test]
fn a_message_of_another_type_does_not_wake_the_receiver() {
    let (lines, s) = session("b recv 2\na send 1 one\nb send x\na send 2 two\n");
    let Started { b, .. } = s;
    // Type 1 stays queued; B sleeps on and takes no command.
    assert_eq!(answer(&lines, "a send 1 one").len(), 1);
    assert_eq!(
        answer(&lines, "b send x"),
        [format!(
            "B (pid {b}) is asleep in msgrcv, waiting for type 2; it takes commands again once it wakes \
             (try: a send <text>)"
        )]
    );
    let woke = answer(&lines, "a send 2 two");
    assert_eq!(
        woke[1],
        format!("B (pid {b}) waits for type 2: the kernel hands it A's message and wakes it")
    );
    assert!(woke[2].starts_with(&format!(
        "B (pid {b}) woke: msgrcv returned type 2, \"two\""
    )));
}

#[test]
fn quit_while_b_sleeps_removes_the_queue_which_wakes_b() {
    let (lines, s) = session("b recv\nquit\n");
    let Started { queue, a, b } = s;
    assert_eq!(
        answer(&lines, "quit"),
        [
            format!("B (pid {b}) is asleep on the queue: removing the queue wakes it"),
            format!("queue {queue} removed (msgctl IPC_RMID)"),
            format!("B (pid {b}) woke: msgrcv failed with EIDRM (Identifier removed)"),
            format!("A (pid {a}) exits"),
            format!("B (pid {b}) exits"),
        ]
    );
}

#[test]
fn both_asleep_is_a_deadlock_that_quit_ends() {
    let (lines, s) = session("a recv 7\nb recv 8\nshow\n");
    let Started { queue, a, b } = s;
    let answer_b = answer(&lines, "b recv 8");
    assert_eq!(
        answer_b.last().unwrap(),
        "A and B are both asleep: neither can make the call that would wake the other \
         (a deadlock; only quit ends it)"
    );
    // End of input: the same as quit.
    let end = &lines[lines.len() - 7..];
    assert_eq!(
        end,
        [
            format!("A (pid {a}) is asleep on the queue: removing the queue wakes it"),
            format!("B (pid {b}) is asleep on the queue: removing the queue wakes it"),
            format!("queue {queue} removed (msgctl IPC_RMID)"),
            format!("A (pid {a}) woke: msgrcv failed with EIDRM (Identifier removed)"),
            format!("B (pid {b}) woke: msgrcv failed with EIDRM (Identifier removed)"),
            format!("A (pid {a}) exits"),
            format!("B (pid {b}) exits"),
        ]
    );
}

#[test]
fn compare_runs_both_mechanisms_and_removes_what_it_made() {
    let (lines, s) = session("compare hi there\nquit\n");
    let Started { a, b, .. } = s;
    let out = answer(&lines, "compare hi there");
    let id_after = |line: &str, prefix: &str| -> i32 {
        line.strip_prefix(prefix)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("{prefix}: {line:?}"))
    };
    let queue = id_after(&out[1], "message queue ");
    let segment = id_after(&out[6], "shared memory segment ");
    let expected = [
        "compare: A hands B \"hi there\" (8 bytes), first through a message queue, then through shared memory".to_owned(),
        format!("message queue {queue} (msgget by the controller):"),
        format!("  B (pid {b}): msgrcv(queue {queue}, type 1): the queue is empty, so B sleeps in the kernel"),
        format!("  B (pid {b}) is asleep in msgrcv (state S, as /proc/{b}/stat shows)"),
        format!(
            "  A (pid {a}): msgsnd(queue {queue}, type 1, \"hi there\"): the kernel copied 16 bytes \
             (8-byte type + 8-byte text) from A's buffer into the kernel"
        ),
        format!(
            "  B (pid {b}) woke: msgrcv returned \"hi there\"; the kernel copied 16 bytes \
             (8-byte type + 8-byte text) out of the kernel into B's buffer"
        ),
        format!("shared memory segment {segment} (208 bytes, shmget by the controller):"),
        format!(
            "  B (pid {b}): shmat(segment {segment}); futex(FUTEX_WAIT) on the ready word: \
             B sleeps in the kernel until A sets it"
        ),
        format!("  B (pid {b}) is asleep in futex (state S, as /proc/{b}/stat shows)"),
        format!(
            "  A (pid {a}): shmat(segment {segment}); stored \"hi there\" into it (plain stores: no system call); \
             futex(FUTEX_WAKE) for B; shmdt"
        ),
        format!(
            "  B (pid {b}) woke: loaded \"hi there\" from the segment (plain loads: no system call, \
             nothing copied by the kernel); shmdt"
        ),
        "side by side:".to_owned(),
        "                            message queue                 shared memory".to_owned(),
        "  system calls by A         1 (msgsnd)                    3 (shmat, futex wake, shmdt)".to_owned(),
        "  system calls by B         1 (msgrcv)                    3 (shmat, 1 futex wait, shmdt)".to_owned(),
        "  bytes the kernel copied   32 (16 in, 16 out)            0".to_owned(),
        "  who moves the text        the kernel: A -> kernel -> B  A's stores; B loads it in place".to_owned(),
        "after the setup (msgget; shmget and shmat), each further message costs the queue 2 system calls \
         and 2 copies by the kernel; shared memory costs loads and stores, and futex calls only when B \
         has to sleep"
            .to_owned(),
        format!(
            "compare's queue {queue} and segment {segment} removed (msgctl and shmctl IPC_RMID)"
        ),
    ];
    assert_eq!(out, expected);
    assert!(
        !sysv::exists(Kind::Msg, queue, libc::IPC_PRIVATE),
        "compare's queue is gone"
    );
    assert!(
        !sysv::exists(Kind::Shm, segment, libc::IPC_PRIVATE),
        "compare's segment is gone"
    );
}

#[test]
fn compare_waits_for_both_processes_to_be_awake() {
    let (lines, s) = session("b recv\ncompare\nquit\n");
    assert_eq!(
        answer(&lines, "compare"),
        [format!(
            "compare needs A and B awake: B (pid {}) is asleep in msgrcv, waiting for any type; \
             it takes commands again once it wakes (try: a send <text>)",
            s.b
        )]
    );
}

#[test]
fn bad_commands_get_a_one_line_hint_and_the_session_goes_on() {
    let long = "x".repeat(201);
    let (lines, s) = session(&format!(
        "fly\nb\na send\na send 0 zero\nb recv soon\nlimit\nlimit 0\na send {long}\n\na send 5 ok\n"
    ));
    let hints = [
        (
            "fly",
            "unknown command \"fly\": type help for the list".to_owned(),
        ),
        (
            "b",
            "b what? b send [type] <text>, or b recv [type]".to_owned(),
        ),
        (
            "a send",
            "usage: a send [type] <text>, type 1 or more".to_owned(),
        ),
        (
            "a send 0 zero",
            "usage: a send [type] <text>, type 1 or more".to_owned(),
        ),
        (
            "b recv soon",
            "usage: b recv [type]: 0 any, n type n, -n the lowest up to n".to_owned(),
        ),
        ("limit", "usage: limit <bytes>, 1 or more".to_owned()),
        ("limit 0", "usage: limit <bytes>, 1 or more".to_owned()),
        (
            &format!("a send {long}"),
            "a message here holds at most 200 bytes; that one has 201".to_owned(),
        ),
    ];
    for (command, hint) in &hints {
        assert_eq!(answer(&lines, command), std::slice::from_ref(hint));
    }
    assert_in_order(
        &lines,
        &[
            "msg-sim> a send 5 ok",
            &format!(
                "A (pid {}): msgsnd(queue {}, type 5, \"ok\"): 1 system call; \
                 the kernel copied 10 bytes (8-byte type + 2-byte text) into the kernel",
                s.a, s.queue
            ),
        ],
    );
}

#[test]
fn help_lists_the_commands() {
    let (lines, _) = session("help\n");
    let help = answer(&lines, "help");
    assert_eq!(help[0], "commands (either process can send or receive):");
    for command in [
        "a send [type] <text>",
        "b recv [type]",
        "show",
        "limit <bytes>",
        "compare [text]",
        "help",
        "quit",
    ] {
        assert!(
            help.iter().any(|l| l.starts_with(&format!("  {command}"))),
            "help lists {command}: {help:#?}"
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
fn ctrl_c_while_b_sleeps_ends_both_and_removes_the_queue() {
    let mut live = Live::start(cargo_bin!("msg-sim"), "Type help for the commands.");
    let s = Started::from(live.seen());
    let queue = sysv::objects(Kind::Msg)
        .into_iter()
        .find(|o| o.id == s.queue)
        .expect("the queue exists during the session");
    assert_eq!(queue.mode, 0o600, "owner only: {queue:?}");
    assert_eq!(queue.uid, tests::uid());
    assert_eq!(queue.key, libc::IPC_PRIVATE);

    live.type_line("b recv");
    live.read_until(&Started::asleep("B", s.b, "msgrcv"));
    // Ctrl-C reaches the whole foreground group: controller, A and B.
    live.signal(libc::SIGINT, true);
    let (status, lines, stderr) = live.finish();
    let lines = normalized(lines);
    assert_eq!((status, stderr.as_str()), (Some(130), ""));
    assert_eq!(
        lines.last().unwrap(),
        &format!(
            "interrupted by SIGINT: A and B ended, queue {} removed",
            s.queue
        )
    );
    s.assert_gone();
}

#[test]
fn sigterm_ends_both_processes_and_removes_the_queue() {
    let live = Live::start(cargo_bin!("msg-sim"), "Type help for the commands.");
    let s = Started::from(live.seen());
    live.signal(libc::SIGTERM, false);
    let (status, lines, stderr) = live.finish();
    let lines = normalized(lines);
    assert_eq!((status, stderr.as_str()), (Some(143), ""));
    assert_eq!(
        lines.last().unwrap(),
        &format!(
            "interrupted by SIGTERM: A and B ended, queue {} removed",
            s.queue
        )
    );
    s.assert_gone();
}

#[test]
fn another_sender_wakes_b_and_the_controller_shows_it() {
    let mut live = Live::start(cargo_bin!("msg-sim"), "Type help for the commands.");
    let s = Started::from(live.seen());
    live.type_line("b recv 4");
    live.read_until(&Started::asleep("B", s.b, "msgrcv"));
    // Another process of the same user sends to the queue: B wakes while
    // the controller waits for a command, and the controller says so.
    #[repr(C)]
    struct Message {
        mtype: libc::c_long,
        mtext: [u8; 5],
    }
    let message = Message {
        mtype: 4,
        mtext: *b"extra",
    };
    // SAFETY: `message` is a long type followed by 5 bytes of text.
    let sent = unsafe { libc::msgsnd(s.queue, std::ptr::from_ref(&message).cast(), 5, 0) };
    assert_eq!(sent, 0, "{}", std::io::Error::last_os_error());
    live.read_until(&format!(
        "B (pid {}) woke: msgrcv returned type 4, \"extra\"; \
         the kernel copied 13 bytes (8-byte type + 5-byte text) out of the kernel",
        s.b
    ));
    live.type_line("b recv");
    live.type_line("quit");
    let (status, lines, stderr) = live.finish();
    let lines = normalized(lines);
    assert_eq!((status, stderr.as_str()), (Some(0), ""));
    // B took a command again: it was awake.
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "B (pid {}): msgrcv(queue {}, any type) with IPC_NOWAIT",
            s.b, s.queue
        ))),
        "{lines:#?}"
    );
    s.assert_gone();
}

#[test]
fn help_and_bad_usage() {
    cargo_bin_cmd!("msg-sim")
        .arg("--help")
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Usage: msg-sim\n"));
    cargo_bin_cmd!("msg-sim")
        .arg("extra")
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::ends_with(
            "unexpected argument extra\nUsage: msg-sim\n",
        ));
}
