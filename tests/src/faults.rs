//! Running an example and hurting it on purpose: a signal to its process
//! group after a given line (what Ctrl-C does), SIGKILL to its child or to
//! itself, a process asleep in a given system call, a limit reached, another
//! user. Every run has a watchdog, so an example that hangs fails its test
//! instead of hanging it; and every run skips the pacing sleeps unless the
//! test asks for a [`Pace`].

mod drivers;
mod environment;
mod pace;
mod processes;
mod run;

pub use drivers::{
    STOP_SIGNALS, assert_head_1_is_one_clean_line, assert_reports_its_killed_child,
    assert_stdout_closed_after, assert_stops_with_nothing_to_remove,
    assert_twenty_runs_at_once_succeed, kill_child_at_each_line, stop_at_each_line,
    stopping_points,
};
pub use environment::{as_nobody, errno_of, in_ipc_namespace, limit_descriptors};
pub use pace::{PACE_VAR, Pace, test_pace};
pub use processes::{
    become_subreaper, children, forked_child, kill, reap, signal_name, state, syscall,
    wait_asleep_in, wait_one_asleep_in,
};
pub use run::{Ended, Example, Held, Running};
