//! shm-sysv when things go wrong: Ctrl-C, a child that dies, a crashed
//! run's leftover, squatters, a second run, a system limit, too few file
//! descriptors, `| head -1`, and another user. The checks are shared with
//! the other System V examples (`tests::SysvExample`).

use assert_cmd::cargo::cargo_bin;
use tests::SysvExample;
use tests::sysv::Kind;

fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("shm-sysv"),
        kind: Kind::Shm,
        proj: b'a',
        created: "Shared memory segment created: ",
    }
}

#[test]
fn ctrl_c_or_sigterm_at_any_line_removes_the_segment() {
    example().stops_cleanly_at_each_line();
}

#[test]
fn ctrl_c_while_the_child_sleeps_before_reading_removes_the_segment() {
    // Room for four lines: the parent has written and published, and the
    // child sleeps its two seconds (the listing's `sleep(2)`) before it
    // reads; its next line does not fit.
    example().stops_cleanly_while_asleep_in(4, libc::SYS_clock_nanosleep, "clock_nanosleep");
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
fn a_segment_it_did_not_leave_is_left_alone() {
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
fn the_system_limit_on_segments_is_one_clear_line() {
    example().reports_a_system_limit("shmmni", "0");
}

#[test]
fn one_spare_file_descriptor_is_enough() {
    example().needs_one_spare_descriptor();
}

#[test]
fn another_user_can_neither_use_nor_remove_the_segment() {
    example().keeps_other_users_out();
}

#[test]
fn head_1_stops_it_cleanly() {
    example().survives_head_1();
}
