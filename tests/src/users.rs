//! Who the tests run as: the user id that owns what the examples create,
//! and a command that runs a program as a user without privileges.

use std::path::Path;
use std::process::Command;

/// A command that runs `program` as a user without privileges: as is when
/// the tests do not run as root, as `nobody` through `setpriv` when they do.
/// `None` when the tests run as root and `setpriv` is missing: the caller
/// skips, and says so.
pub fn unprivileged(program: &Path) -> Option<Command> {
    if uid() != 0 {
        return Some(Command::new(program));
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let mut command = Command::new(setpriv);
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    Some(command)
}

/// The real user id of the tests, which owns what the examples create.
pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail and touches no memory of ours.
    unsafe { libc::getuid() }
}
