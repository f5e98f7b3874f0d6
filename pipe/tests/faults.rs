//! pipe when things go wrong: Ctrl-C, a child that dies, too few file
//! descriptors, `| head -1`, and many runs at once. A pipe has no name, so
//! there is no leftover, squatter or second run at the same name to test,
//! and no other user can reach it: only the two processes hold its ends.

use std::process::{Command, Stdio};
use std::thread;

use assert_cmd::cargo::cargo_bin;
use tests::faults::{Example, kill_child_at_each_line, limit_descriptors, stop_at_each_line};
use tests::{TestDir, lines, signal_name};

fn example(dir: &TestDir) -> Example {
    Example::new(cargo_bin!("pipe"), dir.path())
}

#[test]
fn ctrl_c_or_sigterm_at_any_line_stops_both_processes() {
    let dir = TestDir::new();
    let stopped = stop_at_each_line(&example(&dir), |signal, status, ended| {
        let notice = format!("interrupted by {}; nothing to remove", signal_name(signal));
        ended.assert_stopped("pipe", status, &notice);
    });
    assert!(stopped > 0);
}

#[test]
fn a_killed_child_makes_the_parent_say_so() {
    let dir = TestDir::new();
    let killed = kill_child_at_each_line(&example(&dir), |ended| {
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert_eq!(ended.stderr, "child was killed by SIGKILL\n", "{ended:#?}");
        ended.assert_group_gone();
    });
    assert!(killed > 0);
}

#[test]
fn too_few_file_descriptors_is_one_clear_line() {
    // One descriptor beyond stdio (the loader needs it to start the
    // program): pipe(2) needs two.
    let dir = TestDir::new();
    let mut command = example(&dir).command();
    limit_descriptors(&mut command, 4);
    let output = command.stdin(Stdio::null()).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "pipe: Too many open files\n"
    );
}

#[test]
fn twenty_runs_at_once_all_succeed() {
    let dir = TestDir::new();
    let runs: Vec<_> = (0..20)
        .map(|_| {
            let example = example(&dir);
            thread::spawn(move || example.run())
        })
        .collect();
    for run in runs {
        let ended = run.join().unwrap();
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        assert_eq!(ended.stderr, "");
        assert_eq!(ended.lines.len(), 2, "{ended:#?}");
    }
}

#[test]
fn head_1_stops_it_cleanly() {
    let dir = TestDir::new();
    let mut program = example(&dir)
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
    assert_eq!(lines(&head.wait_with_output().unwrap().stdout).len(), 1);
    let output = program.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    match output.status.code() {
        // Both lines were written before head closed the pipe.
        Some(0) => assert_eq!(stderr, ""),
        code => {
            assert_eq!(code, Some(1), "{stderr}");
            // The parent's own write failed, or the child's did: one line.
            assert_eq!(stderr, "write stdout: Broken pipe\n");
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}
