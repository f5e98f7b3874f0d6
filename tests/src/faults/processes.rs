//! Probes and blows for the processes of a run, through `/proc` and
//! signals: its children, the system call a process is asleep in, its
//! state; `kill`; becoming the reaper of the orphans a test makes.

use crate::wait::wait_for;
use crate::wait_until;

/// The child that process `pid` forks, once it has forked it.
pub fn forked_child(pid: i32) -> i32 {
    let mut found = None;
    wait_until("the example has forked", || {
        found = children(pid).first().copied();
        found.is_some()
    });
    found.unwrap()
}

/// The pids of `pid`'s children.
pub fn children(pid: i32) -> Vec<i32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .collect()
}

/// The number of the system call that process `pid` is asleep in, if it is
/// asleep in one (`/proc/PID/syscall`).
pub fn syscall(pid: i32) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Waits until process `pid` is asleep in system call `number`
/// (`libc::SYS_msgrcv`).
pub fn wait_asleep_in(pid: i32, number: libc::c_long, name: &str) {
    wait_for(&format!("process {pid} is asleep in {name}"), || {
        if syscall(pid) == Some(number) && state(pid) == Some('S') {
            Ok(())
        } else {
            Err(describe(&[pid]))
        }
    });
}

/// Waits until process `pid` or one of its children is asleep in system
/// call `number`, and returns which.
pub fn wait_one_asleep_in(pid: i32, number: libc::c_long, name: &str) -> i32 {
    let mut found = 0;
    wait_for(
        &format!("process {pid} or its child is asleep in {name}"),
        || {
            let mut processes = children(pid);
            processes.push(pid);
            match processes
                .iter()
                .find(|&&p| syscall(p) == Some(number) && state(p) == Some('S'))
            {
                Some(&p) => {
                    found = p;
                    Ok(())
                }
                None => Err(describe(&processes)),
            }
        },
    );
    found
}

/// What processes `pids` are doing, for a test that gives up waiting:
/// "process 4242 in state S, in system call 1" (its number, as in
/// `/proc/PID/syscall`).
pub(crate) fn describe(pids: &[i32]) -> String {
    let each: Vec<String> = pids
        .iter()
        .map(|&pid| match (state(pid), syscall(pid)) {
            (None, _) => format!("process {pid} gone"),
            (Some(state), Some(number)) => {
                format!("process {pid} in state {state}, in system call {number}")
            }
            (Some(state), None) => format!("process {pid} in state {state}, running"),
        })
        .collect();
    each.join("; ")
}

/// The state letter of process `pid`: R, S, Z...
pub fn state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.trim_start().chars().next()
}

/// Sends `signal` to process `pid`; false if it is already gone.
pub fn kill(pid: i32, signal: libc::c_int) -> bool {
    // SAFETY: kill takes no pointers.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Makes the test process the reaper of orphans it causes (`kill -9` of an
/// example leaves its child to be reaped by someone), so that no zombie of
/// a test outlives it.
pub fn become_subreaper() {
    // SAFETY: PR_SET_CHILD_SUBREAPER takes an integer flag.
    let set = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1) };
    assert_eq!(set, 0, "prctl PR_SET_CHILD_SUBREAPER");
}

/// Waits for, and reaps, the orphan `pid` that the test adopted as its
/// subreaper.
pub fn reap(pid: i32) {
    let mut status = 0;
    // SAFETY: `status` is a valid int for waitpid to write.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

/// "SIGINT" for `libc::SIGINT`.
pub fn signal_name(signal: libc::c_int) -> &'static str {
    match signal {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGKILL => "SIGKILL",
        _ => "another signal",
    }
}
