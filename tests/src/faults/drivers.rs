//! The fault drivers: stop a run at each of its lines and signal it there,
//! kill its child there, close its stdout, run it into `| head -1`, run
//! twenty at once; each asserts how the run ends.

use std::process::{Command, Stdio};
use std::thread;

use super::processes::{children, kill, signal_name, state, syscall};
use super::run::{Ended, Example};
use crate::{FullPipe, wait_until};

/// SIGINT and SIGTERM, with the exit status an example must end with.
pub const STOP_SIGNALS: [(libc::c_int, i32); 2] = [(libc::SIGINT, 130), (libc::SIGTERM, 143)];

/// The lines of a normal run of `example`, and the byte offsets after each
/// one: where [`Example::start_held`] can stop a run.
pub fn stopping_points(example: &Example) -> Vec<usize> {
    let ended = example.run();
    assert_eq!(ended.code, Some(0), "a normal run: {ended:#?}");
    let mut points = vec![0];
    let mut offset = 0;
    for line in &ended.lines {
        offset += line.len() + 1;
        points.push(offset);
    }
    points
}

/// Stops `example` after each of its lines in turn (and before the first),
/// sends each stop signal to its group there, and checks the end with
/// `check(signal, status, &ended)`. Returns how many runs the signal
/// stopped; the others had printed everything and ended before it came.
pub fn stop_at_each_line(example: &Example, check: impl Fn(libc::c_int, i32, &Ended)) -> usize {
    let points = stopping_points(example);
    let total = points.len() - 1;
    let mut stopped = 0;
    for (signal, status) in STOP_SIGNALS {
        for &room in &points {
            let held = example.start_held(room);
            held.signal_group(signal);
            let ended = held.finish();
            if ended.code == Some(0) && ended.lines.len() == total {
                continue;
            }
            stopped += 1;
            check(signal, status, &ended);
        }
    }
    stopped
}

/// Stops `example` after each of its lines in turn, kills its child there
/// with SIGKILL if it has one still running, and checks with
/// `check(&ended)` how the parent ended. Returns how many runs it checked:
/// those where the child was killed before the run could end normally.
pub fn kill_child_at_each_line(example: &Example, check: impl Fn(&Ended)) -> usize {
    let points = stopping_points(example);
    let total = points.len() - 1;
    let mut checked = 0;
    for &room in &points {
        let held = example.start_held(room);
        let child = children(held.pid()).first().copied();
        let Some(child) = child.filter(|&c| state(c).is_some_and(|s| s != 'Z')) else {
            held.finish();
            continue;
        };
        kill(child, libc::SIGKILL);
        let ended = held.finish();
        if ended.code == Some(0) && ended.lines.len() == total {
            // The child had just finished its part when SIGKILL came.
            continue;
        }
        checked += 1;
        check(&ended);
    }
    checked
}

/// Runs `example` into `head -1`, which reads one line and exits: the
/// example either printed everything before the pipe closed (exit 0), or
/// stops with exactly one line, `write stdout: Broken pipe`, and exit 1,
/// whichever of its processes hit the closed pipe first.
pub fn assert_head_1_is_one_clean_line(example: &Example) {
    let mut program = example
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let head = Command::new("head")
        .arg("-1")
        .stdin(program.stdout.take().unwrap())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(
        crate::lines(&head.wait_with_output().unwrap().stdout).len(),
        1
    );
    let output = program.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        Some(0) => assert_eq!(stderr, ""),
        code => {
            assert_eq!(code, Some(1), "{stderr}");
            assert_eq!(stderr, "write stdout: Broken pipe\n");
        }
    }
}

/// For an example that creates no IPC object (`pipe`, `signals`): SIGINT
/// and SIGTERM to its group after each line stop it with `status` and the
/// one line `{program}: interrupted by SIGINT; nothing to remove`, and
/// leave no process of the run.
pub fn assert_stops_with_nothing_to_remove(example: &Example, program: &str) {
    let stopped = stop_at_each_line(example, |signal, status, ended| {
        let notice = format!("interrupted by {}; nothing to remove", signal_name(signal));
        ended.assert_stopped(program, status, &notice);
    });
    assert!(stopped > 0, "some runs were stopped");
}

/// SIGKILL of the child after each line: the parent says exactly how the
/// child ended, in one line, exits 1, and leaves no process of the run.
pub fn assert_reports_its_killed_child(example: &Example) {
    let checked = kill_child_at_each_line(example, |ended| {
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert_eq!(ended.stderr, "child was killed by SIGKILL\n", "{ended:#?}");
        ended.assert_group_gone();
    });
    assert!(checked > 0, "some children were killed");
}

/// Twenty runs of `example` at once: each succeeds, prints nothing on
/// stderr and its `lines` lines.
pub fn assert_twenty_runs_at_once_succeed(example: &Example, lines: usize) {
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let example = example.clone();
            thread::spawn(move || example.run())
        })
        .collect();
    for run in runs {
        let ended = run.join().unwrap();
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        assert_eq!(ended.stderr, "", "{ended:#?}");
        assert_eq!(ended.lines.len(), lines, "{ended:#?}");
    }
}

/// `| head -1` without its race: runs `example` with room for `room` bytes
/// of stdout, waits until the parent blocks writing past them, then closes
/// the pipe's read end. Asserts that the run ends with exit 1, the one line
/// `write stdout: Broken pipe`, and no process of the run left behind.
pub fn assert_stdout_closed_after(example: &Example, room: usize) {
    let mut stdout = FullPipe::with_room(room);
    let program = example
        .command()
        .stdout(stdout.stdout())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = i32::try_from(program.id()).unwrap();
    wait_until("the parent blocks writing past the room", || {
        syscall(pid) == Some(libc::SYS_write) && state(pid) == Some('S')
    });
    drop(stdout);
    let output = program.wait_with_output().unwrap();

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "write stdout: Broken pipe\n"
    );
    assert!(children(pid).is_empty());
}
