//! semaphore when things go wrong: Ctrl-C, a child that dies, a crashed
//! run's leftover, squatters, a second run, a system limit, too few file
//! descriptors, `| head -1`, and another user. The checks are shared with
//! the other System V examples (`tests::SysvExample`).

use assert_cmd::cargo::cargo_bin;
use tests::faults::{self, Example, Pace, children, state, syscall};
use tests::sysv::{self, Kind};
use tests::{SysvExample, TestDir, wait_until};

fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("semaphore"),
        kind: Kind::Sem,
        proj: b'c',
        created: "Semaphore set created: ",
    }
}

#[test]
fn ctrl_c_or_sigterm_at_any_line_removes_the_set() {
    example().stops_cleanly_at_each_line();
}

#[test]
fn ctrl_c_while_one_process_waits_in_semop_removes_the_set() {
    // Room for two lines: whoever entered first holds the semaphore, blocked
    // printing "leaving", and the other waits in semop (semtimedop(2), which
    // glibc's semop calls).
    example().stops_cleanly_while_asleep_in(2, libc::SYS_semtimedop, "semop");
}

#[test]
fn a_child_killed_holding_the_semaphore_releases_it_through_sem_undo() {
    let dir = TestDir::new();
    let key = dir.ftok_key(b'c');
    // At a tenth of the tutorial's pace, its rhythm: each process holds the
    // semaphore 30 ms, then leaves the other 10 ms to get in, so that they
    // take turns as in the tutorial.
    let example = Example::new(cargo_bin!("semaphore"), dir.path()).at(Pace::Scaled("0.1"));
    for _attempt in 0..20 {
        // Hold the run right after the child's first "entered" line of a
        // normal run: the child holds the semaphore, blocked printing
        // "leaving", and the parent waits in semop.
        let reference = example.run();
        assert_eq!(reference.code, Some(0), "a normal run: {reference:#?}");
        let Some(entered) = reference
            .lines
            .iter()
            .position(|line| line == "Child: entered critical section")
        else {
            continue;
        };
        let room = reference.lines[..=entered]
            .iter()
            .map(|line| line.len() + 1)
            .sum();
        let held = example.start_held(room);
        let id = sysv::find(Kind::Sem, key).unwrap().id;
        let child = children(held.pid())[0];
        let holder = sysv::semaphore_value(id) == 0 && semaphore_pid(id) == child;
        // With the child holding it, the parent waits for the semaphore
        // (semop calls semtimedop(2)), or has done its rounds and waits for
        // its child.
        let mut parent_waits_in = None;
        if holder {
            wait_until("the parent waits in semop, or for its child", || {
                parent_waits_in = syscall(held.pid())
                    .filter(|&call| call == libc::SYS_semtimedop || call == libc::SYS_wait4)
                    .filter(|_| state(held.pid()) == Some('S'));
                parent_waits_in.is_some()
            });
        }
        if parent_waits_in != Some(libc::SYS_semtimedop) {
            // The scheduler ordered this run differently: try again.
            held.finish();
            continue;
        }
        assert!(faults::kill(child, libc::SIGKILL));
        let ended = held.finish();

        // The parent got the semaphore back each time, and said how the
        // child ended.
        let entered = ended
            .lines
            .iter()
            .filter(|line| *line == "Parent: entered critical section")
            .count();
        assert_eq!(entered, 3, "{ended:#?}");
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert_eq!(ended.stderr, "child was killed by SIGKILL\n");
        assert!(sysv::find(Kind::Sem, key).is_none());
        return;
    }
    panic!("no run in twenty held the child with the semaphore, and the parent waiting for it");
}

/// `semctl(id, 0, GETPID)`: the last process that operated on semaphore 0.
fn semaphore_pid(id: i32) -> i32 {
    // SAFETY: GETPID takes no fourth argument.
    unsafe { libc::semctl(id, 0, libc::GETPID) }
}

#[test]
fn a_killed_child_makes_the_parent_say_so_and_clean_up() {
    example().survives_its_child_being_killed();
}

#[test]
fn the_leftover_of_a_killed_run_is_reclaimed() {
    example().reclaims_what_a_killed_run_left();
}

#[test]
fn a_set_it_did_not_leave_is_left_alone() {
    example().leaves_alone_what_it_did_not_leave();
}

#[test]
fn a_second_run_at_the_same_key_stops_and_leaves_the_first_alone() {
    example().runs_one_at_a_time_per_key();
}

#[test]
fn twenty_runs_at_twenty_keys_all_succeed() {
    example().runs_twenty_side_by_side();
}

#[test]
fn the_system_limit_on_sets_is_one_clear_line() {
    example().reports_a_system_limit("sem", "250 32000 32 0");
}

#[test]
fn one_spare_file_descriptor_is_enough() {
    example().needs_one_spare_descriptor();
}

#[test]
fn another_user_can_neither_use_nor_remove_the_set() {
    example().keeps_other_users_out();
}

#[test]
fn head_1_stops_it_cleanly() {
    example().survives_head_1();
}
