//! signals when things go wrong: Ctrl-C or a SIGTERM from outside at any
//! line, a child that dies, and many runs at once. The example creates no
//! IPC object, so there is no leftover, squatter or name to collide on.

use std::thread;

use assert_cmd::cargo::cargo_bin;
use tests::faults::{
    Example, forked_child, kill_child_at_each_line, stop_at_each_line, stopping_points,
    wait_asleep_in,
};
use tests::{TestDir, signal_name};

fn example(dir: &TestDir) -> Example {
    Example::new(cargo_bin!("signals"), dir.path())
}

#[test]
fn ctrl_c_or_sigterm_at_any_line_stops_both_processes() {
    // The child tells its parent's SIGTERM from one sent to the whole group:
    // only the parent's makes it "exit cleanly".
    let dir = TestDir::new();
    let stopped = stop_at_each_line(&example(&dir), |signal, status, ended| {
        let notice = format!("interrupted by {}; nothing to remove", signal_name(signal));
        ended.assert_stopped("signals", status, &notice);
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
        assert_eq!(ended.lines.len(), 6, "{ended:#?}");
    }
}

#[test]
fn a_sigterm_from_outside_is_not_mistaken_for_the_parents() {
    // Held after two lines: the child has sent its signals and waits in
    // sigsuspend for its parent's SIGTERM. A SIGTERM to the whole group
    // comes from elsewhere: the child stops, it does not "exit cleanly".
    let dir = TestDir::new();
    let example = example(&dir);
    let room = stopping_points(&example)[2];
    let held = example.spawn_held(room);
    let child = forked_child(held.pid());
    wait_asleep_in(child, libc::SYS_rt_sigsuspend, "sigsuspend");
    held.signal_group(libc::SIGTERM);
    let ended = held.finish();

    ended.assert_stopped("signals", 143, "interrupted by SIGTERM; nothing to remove");
    assert!(
        !ended
            .lines
            .contains(&"Child received SIGTERM, exiting cleanly".to_owned()),
        "{ended:#?}"
    );
}

#[test]
fn head_1_stops_it_with_one_line() {
    let dir = TestDir::new();
    tests::faults::assert_head_1_is_one_clean_line(&example(&dir));
}
