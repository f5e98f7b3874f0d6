//! Issue 14: shm-mutex while another program or the user acts on the same
//! shared memory object mid-run. The rule: the run either completes with
//! its whole transcript (ten lines, counting to 55), or ends within a few
//! seconds with one line on stderr that says what happened and exit 1; it
//! never hangs, never panics, never exits 0 with a wrong count, and leaves
//! nothing behind.
//!
//! Each kind of interference is driven at each line of a run, held at its
//! stdout (one process blocked printing inside the mutex, the other waiting
//! on it): the object removed (`rm`) or replaced. The runs of one test go
//! in parallel, as each takes the five seconds of the tutorial's pacing.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::PathBuf;
use std::thread;

use assert_cmd::cargo::cargo_bin;
use tests::faults::Example;
use tests::{dev_shm, exists};

#[allow(dead_code)]
mod support;
use support::{assert_counts_to_55, shm_name};

fn example(name: &str) -> Example {
    Example::new(cargo_bin!("shm-mutex"), &std::env::temp_dir()).arg(name)
}

/// Whatever a test left at `/dev/shm/NAME` (an object made in place of the
/// run's, or a leftover after a failed assertion) is removed when dropped.
struct Cleanup(PathBuf);

impl Cleanup {
    fn new(name: &str) -> Self {
        Self(dev_shm(name))
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

// ---------------------------------------------------------------------------
// Running the points of a test.

/// Runs `each(point)` for every point in parallel, one run each, and
/// returns their results in order.
fn in_parallel<P: Send + 'static, T: Send + 'static>(
    points: Vec<P>,
    each: impl Fn(P) -> T + Send + Sync + Clone + 'static,
) -> Vec<T> {
    let runs: Vec<_> = points
        .into_iter()
        .map(|point| {
            let each = each.clone();
            thread::spawn(move || each(point))
        })
        .collect();
    runs.into_iter().map(|run| run.join().unwrap()).collect()
}

/// Rooms, in bytes of stdout, where a run is held with work left to do:
/// before its first line, then after about each line. A write to a pipe of
/// less than a page goes whole or waits, so a held run stops after the last
/// whole line that fits; the lines are 32 to 34 bytes long.
fn points_with_work_left() -> Vec<usize> {
    (0..10).map(|lines| lines * 33).collect()
}

/// Runs each check on a thread of its own, all at once (each takes the
/// five seconds of a run), and fails with the names of those that failed.
fn all_at_once(checks: &[(&str, fn())]) {
    let running: Vec<_> = checks
        .iter()
        .map(|&(name, check)| {
            let thread = thread::Builder::new().name(name.to_owned());
            (name, thread.spawn(check).unwrap())
        })
        .collect();
    let failed: Vec<&str> = running
        .into_iter()
        .filter_map(|(name, thread)| thread.join().is_err().then_some(name))
        .collect();
    assert!(failed.is_empty(), "failed: {failed:#?}");
}

macro_rules! all_at_once {
    ($($check:ident),* $(,)?) => {
        all_at_once(&[$((stringify!($check), $check as fn())),*])
    };
}

// ---------------------------------------------------------------------------
// The object removed, or replaced, from outside.

fn the_object_removed_at_any_line_the_run_finishes_and_says_so() {
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        // rm /dev/shm/NAME: the name goes, the memory stays mapped.
        fs::remove_file(dev_shm(&name)).unwrap();
        let ended = held.finish();
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        assert_counts_to_55(&ended.lines);
        assert_eq!(
            ended.stderr,
            format!(
                "shm-mutex: shared memory object {name} was removed during the run by \
                 another program; nothing left to remove\n"
            ),
            "{ended:#?}"
        );
        ended.assert_group_gone();
        assert!(!exists(&dev_shm(&name)), "{ended:#?}");
    });
}

fn an_object_made_at_the_name_after_a_removal_is_left_alone() {
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        fs::remove_file(dev_shm(&name)).unwrap();
        // Another program makes its own object at the name.
        fs::write(dev_shm(&name), "someone else's").unwrap();
        let ended = held.finish();
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        assert_counts_to_55(&ended.lines);
        assert_eq!(
            ended.stderr,
            format!(
                "shm-mutex: shared memory object {name} was removed during the run, and \
                 another program made a new one there; left alone\n"
            ),
            "{ended:#?}"
        );
        ended.assert_group_gone();
        assert_eq!(
            fs::read_to_string(dev_shm(&name)).unwrap(),
            "someone else's"
        );
    });
}

fn the_object_removed_then_ctrl_c_is_one_line_with_nothing_to_remove() {
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        fs::remove_file(dev_shm(&name)).unwrap();
        held.signal_group(libc::SIGINT);
        let ended = held.finish();
        ended.assert_stopped("shm-mutex", 130, "interrupted by SIGINT; nothing to remove");
    });
}

#[test]
fn the_object_removed_from_outside_at_any_line_is_said_once() {
    all_at_once!(
        the_object_removed_at_any_line_the_run_finishes_and_says_so,
        an_object_made_at_the_name_after_a_removal_is_left_alone,
        the_object_removed_then_ctrl_c_is_one_line_with_nothing_to_remove,
    );
}
