//! semaphore while other programs and the user act on its set: `ipcrm` at
//! each line and while a process waits in semop, another program of the
//! same user re-initialising the semaphore (`c/semaphore.c` run at the same
//! key does `SETVAL 1`) or taking it, Ctrl-Z or SIGSTOP then SIGCONT of
//! either process, and a stdout that fails. The sweeps are in
//! `tests::sysv_interference`.

use assert_cmd::cargo::cargo_bin;
use tests::SysvExample;
use tests::sysv::{Kind, Object};

fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("semaphore"),
        kind: Kind::Sem,
        proj: b'c',
        created: "Semaphore set created: ",
    }
}

/// `semctl(id, 0, SETVAL, value)`, as `c/semaphore.c` initialises its set.
fn setval(set: &Object, value: libc::c_int) {
    // SAFETY: SETVAL reads the int passed as the fourth argument.
    let done = unsafe { libc::semctl(set.id, 0, libc::SETVAL, value) };
    assert_eq!(done, 0, "SETVAL: {}", std::io::Error::last_os_error());
}

#[test]
fn ipcrm_at_any_line_is_one_line_and_exit_1() {
    example().removed_by_ipcrm_at_each_line();
}

#[test]
fn ipcrm_while_a_process_waits_in_semop_is_one_line_and_exit_1() {
    // Room for two lines: whoever entered first holds the semaphore, blocked
    // printing "leaving", and the other waits in semop (semtimedop(2)).
    example().removed_while_asleep_in(2, libc::SYS_semtimedop, "semop");
}

#[test]
fn the_c_listing_setting_it_to_1_is_noticed() {
    // While one process is inside, SETVAL 1 lets the other in too.
    example().notices_meddling_at_each_line(|set| setval(set, 1), "another program");
}

#[test]
fn another_program_setting_it_to_0_is_noticed() {
    // Nobody of the run can ever enter again: both would wait for ever.
    example().notices_meddling_at_each_line(|set| setval(set, 0), "another program");
}

#[test]
fn stop_and_continue_at_any_line_changes_nothing() {
    example().survives_stop_and_continue_at_each_line();
}

#[test]
fn dev_full_is_one_line() {
    example().fails_cleanly_on_dev_full();
}

#[test]
fn stdout_closed_at_any_line_is_one_line() {
    example().stdout_closed_at_each_line();
}
