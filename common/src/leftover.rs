//! What to do with an object found where an example wants to create its own:
//! reclaim it if a crashed run provably left it, refuse to touch it otherwise.
//!
//! Two runs of one example that meet at the same key, name or path must not
//! disturb each other, so an example first [claims](claim) the name: it binds
//! an abstract Unix socket named after it. The kernel lets one process at a
//! time bind a name, and frees it when that process ends, even by `kill -9`.
//! Once the claim is ours, no live run of this workspace uses the name, and
//! an object found there is either a crashed run's leftover or somebody
//! else's. [`judge`] tells them apart from what the kernel says about the
//! object; each example gathers those facts itself (`IPC_STAT`, `fstat`,
//! `connect`) into a [`Found`], since those are its IPC calls.
//!
//! The rule, the same for every example: an object is reclaimed only if it
//! belongs to this user, has mode 0600 (the mode the examples create, so not
//! the 0666 of the C listings), has the size the example creates, no process
//! is attached to it or waiting on it, and every process the kernel names as
//! its creator or last user is gone. Anything else is left alone, with an
//! error that names the object and what to do.

use std::fmt;
use std::os::fd::OwnedFd;

use anyhow::bail;
use nix::errno::Errno;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, bind, socket};
use nix::unistd::{Pid, geteuid};

use crate::error::Perror;

/// Holds `name` for this run, and for its forked child, until both end.
#[derive(Debug)]
pub struct Claim {
    _socket: OwnedFd,
}

/// Claims `name` ("msgqueue key 0x62012345") for this run, or fails if
/// another live run holds it. `object` names it in the error, and `advice`
/// says what to do: "choose another FTOK_PATH".
pub fn claim(name: &str, object: &dyn fmt::Display, advice: &str) -> anyhow::Result<Claim> {
    let socket = socket(
        AddressFamily::Unix,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .perror("socket")?;
    let address = UnixAddr::new_abstract(abstract_name(name).as_bytes()).perror("bind")?;
    match bind(std::os::fd::AsRawFd::as_raw_fd(&socket), &address) {
        Ok(()) => Ok(Claim { _socket: socket }),
        Err(Errno::EADDRINUSE) => {
            bail!("{object}: another run is using it now; wait for it to end, or {advice}")
        }
        Err(errno) => Err(errno).perror("bind")?,
    }
}

/// An abstract socket name holds at most 107 bytes: a long name is hashed.
fn abstract_name(name: &str) -> String {
    const PREFIX: &str = "ipc-tutorial/";
    if PREFIX.len() + name.len() <= 100 {
        return format!("{PREFIX}{name}");
    }
    // FNV-1a, 64 bits: stable, and collisions are not a concern for names.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    let start = name.char_indices().nth(40).map_or(0, |(i, _)| i);
    format!("{PREFIX}{hash:016x}-{}", &name[..start])
}

/// What an example found at its key, name or path, for [`judge`].
#[derive(Debug)]
pub struct Found<'a> {
    /// The object, as the user sees it: `message queue 0x62012345 (id 7)`.
    pub object: String,
    /// Its owner's user id.
    pub owner: libc::uid_t,
    /// Its permission bits.
    pub mode: u32,
    /// Its size, and the size the example creates, in the same unit.
    pub size: Option<(u64, u64, &'a str)>,
    /// How many processes use it now: attached, waiting, listening.
    pub users: u64,
    /// The processes the kernel names as its creator or last users.
    pub pids: Vec<libc::pid_t>,
    /// What the user can do about it: "choose another FTOK_PATH".
    pub advice: &'a str,
}

/// Whether `found` is a crashed run's leftover, which the caller may then
/// remove, or something to leave alone (the error says why).
pub fn judge(found: &Found<'_>) -> anyhow::Result<()> {
    let Found { object, advice, .. } = found;
    let me = geteuid().as_raw();
    if found.owner != me {
        bail!(
            "{object} belongs to user {}, not to you (user {me}): left alone; {advice}",
            found.owner
        );
    }
    if found.mode & 0o777 != 0o600 {
        bail!(
            "{object} has mode {:04o}, not the 0600 that this program creates, so another \
             program made it: left alone; {advice}",
            found.mode & 0o777
        );
    }
    if let Some((size, wanted, unit)) = found.size
        && size != wanted
    {
        bail!(
            "{object} holds {size} {unit}, not the {wanted} that this program creates, so \
             another program made it: left alone; {advice}"
        );
    }
    if found.users > 0 {
        bail!(
            "{object} is in use by {} process(es) now: left alone; {advice}",
            found.users
        );
    }
    if let Some(pid) = found.pids.iter().copied().find(|&pid| alive(pid)) {
        bail!(
            "{object} was last used by process {pid}, which is still running: left alone; {advice}"
        );
    }
    Ok(())
}

/// The error for an object whose owner and mode this user may not even read
/// (`IPC_STAT` fails with `EACCES`): another user's.
pub fn unreadable(object: &str, advice: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{object} belongs to another user, who did not let you read it: left alone; {advice}"
    )
}

/// Says, in one line on stderr, that `object` was a crashed run's leftover
/// and has been removed.
pub fn reclaimed(object: &str) {
    let program = std::env::args().next().unwrap_or_default();
    let program = program.rsplit('/').next().unwrap_or_default().to_owned();
    crate::note!("{program}: removed {object}, left behind by an earlier run that did not finish");
}

/// Whether process `pid` exists and is not a zombie (an ended process that
/// its parent has not reaped yet). Pid 0 means "none".
pub fn alive(pid: libc::pid_t) -> bool {
    if pid <= 0 {
        return false;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name, which is in parentheses.
        Ok(stat) => stat
            .rsplit_once(')')
            .is_none_or(|(_, rest)| !rest.trim_start().starts_with(['Z', 'X'])),
        // No /proc entry: ask the kernel directly; EPERM still means alive.
        Err(_) => !matches!(
            nix::sys::signal::kill(Pid::from_raw(pid), None),
            Err(Errno::ESRCH)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found() -> Found<'static> {
        Found {
            object: "message queue 0x00000001 (id 1)".to_owned(),
            owner: geteuid().as_raw(),
            mode: 0o600,
            size: Some((1, 1, "semaphores")),
            users: 0,
            pids: vec![],
            advice: "choose another FTOK_PATH",
        }
    }

    #[test]
    fn an_abandoned_object_is_reclaimed() {
        judge(&found()).unwrap();
    }

    #[test]
    fn anything_else_is_left_alone_with_the_reason() {
        type Change = fn(&mut Found<'static>);
        let cases: [(Change, &str); 5] = [
            (|f| f.owner += 1, "not to you"),
            (|f| f.mode = 0o666, "mode 0666"),
            (
                |f| f.size = Some((2, 1, "semaphores")),
                "holds 2 semaphores",
            ),
            (|f| f.users = 1, "in use by 1 process"),
            (
                |f| f.pids = vec![std::process::id() as i32],
                "still running",
            ),
        ];
        for (change, reason) in cases {
            let mut found = found();
            change(&mut found);
            let error = judge(&found).unwrap_err().to_string();
            assert!(error.contains(reason), "{error}");
            assert!(error.contains("0x00000001 (id 1)"), "{error}");
            assert!(error.ends_with("choose another FTOK_PATH"), "{error}");
        }
    }

    #[test]
    fn a_second_claim_of_a_name_fails_until_the_first_is_dropped() {
        let name = format!("test-{}", std::process::id());
        let first = claim(&name, &"the thing", "choose another").unwrap();
        let error = claim(&name, &"the thing", "choose another").unwrap_err();
        assert!(
            error.to_string().contains("another run is using it"),
            "{error}"
        );
        drop(first);
        claim(&name, &"the thing", "choose another").unwrap();
    }

    #[test]
    fn long_names_fit_in_an_abstract_address() {
        let long = "x".repeat(300);
        assert!(abstract_name(&long).len() < 108);
        assert_ne!(abstract_name(&long), abstract_name(&"y".repeat(300)));
    }

    #[test]
    fn this_process_is_alive_and_pid_zero_is_nobody() {
        assert!(alive(std::process::id() as i32));
        assert!(!alive(0));
    }
}
