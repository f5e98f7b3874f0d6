//! What `/proc` tells about A and B: whether a process is asleep in a given
//! system call (`/proc/<pid>/syscall`, `/proc/<pid>/stat`). The controller
//! waits for that before it says a process is asleep, so that the
//! transcript says it only once it is true.

use std::fs;
use std::time::{Duration, Instant};

use libc::c_long;
use sim::console::wait_readable;
use sim::link::Link;

/// Waits until `link`'s process sleeps in system call `syscall`, as
/// `/proc/<pid>/syscall` and `/proc/<pid>/stat` show it. False if they
/// cannot tell (a kernel without them), if the process reports instead
/// (it did not need to sleep after all), or after 10 s.
pub fn wait_asleep(link: &Link, syscall: c_long) -> anyhow::Result<bool> {
    let pid = link.pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match asleep_in(pid.as_raw(), syscall) {
            Some(true) => return Ok(true),
            None => return Ok(false),
            Some(false) if Instant::now() > deadline => return Ok(false),
            Some(false) => {}
        }
        // Give it a moment to get there, and stop if it reports instead.
        if wait_readable(&[link.reports_fd()], Some(Duration::from_millis(1)))?[0] {
            return Ok(false);
        }
    }
}

/// Whether process `pid` is asleep (state S) in system call `syscall`;
/// `None` if /proc does not say.
fn asleep_in(pid: libc::pid_t, syscall: c_long) -> Option<bool> {
    let call = fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    // "running", or the call's number and its arguments.
    let in_call = call.split_whitespace().next() == Some(syscall.to_string().as_str());
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state follows the command name, which is in parentheses.
    let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
    Some(in_call && state == "S")
}
