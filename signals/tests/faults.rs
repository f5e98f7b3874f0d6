//! signals when things go wrong: Ctrl-C or a SIGTERM from outside at any
//! line, a child that dies, `| head -1`, and many runs at once. The example creates no
//! IPC object, so there is no leftover, squatter or name to collide on.

use assert_cmd::cargo::cargo_bin;
use tests::TestDir;
use tests::faults::{
    Example, assert_head_1_is_one_clean_line, assert_reports_its_killed_child,
    assert_stops_with_nothing_to_remove, assert_twenty_runs_at_once_succeed, forked_child,
    stopping_points, wait_asleep_in,
};

fn example(dir: &TestDir) -> Example {
    Example::new(cargo_bin!("signals"), dir.path())
}

#[test]
fn ctrl_c_or_sigterm_at_any_line_stops_both_processes() {
    // The child tells its parent's SIGTERM from one sent to the whole group:
    // only the parent's makes it "exit cleanly".
    let dir = TestDir::new();
    assert_stops_with_nothing_to_remove(&example(&dir), "signals");
}

#[test]
fn a_killed_child_makes_the_parent_say_so() {
    let dir = TestDir::new();
    assert_reports_its_killed_child(&example(&dir));
}

#[test]
fn twenty_runs_at_once_all_succeed() {
    let dir = TestDir::new();
    assert_twenty_runs_at_once_succeed(&example(&dir), 6);
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
    assert_head_1_is_one_clean_line(&example(&dir));
}
