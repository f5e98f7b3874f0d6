//! A run in a changed world: a System V limit reached (in an IPC namespace
//! of its own), too few file descriptors (`ulimit -n`), and a probe made as
//! another user (`nobody`).

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use super::run::Example;

/// The command for `example` in an IPC namespace of its own, where the
/// System V limit `/proc/sys/kernel/{sysctl}` is `value` ("msgmni", "0"):
/// a limit reached without touching the machine's own. `None`, after
/// saying why, where this machine does not permit namespaces.
pub fn in_ipc_namespace(example: &Example, sysctl: &str, value: &str) -> Option<Command> {
    let unshare = |probe: bool| {
        let mut command = Command::new("unshare");
        command.arg("--ipc");
        if crate::uid() != 0 {
            command.arg("--map-root-user");
        }
        if probe {
            command.arg("true");
        }
        command
    };
    let permitted = unshare(true)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !permitted {
        eprintln!("skipped: this machine does not permit an IPC namespace (unshare --ipc)");
        return None;
    }
    let mut command = unshare(false);
    // The example's environment (its pace) passes through unshare and sh.
    for (name, value) in example.command().get_envs() {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    command
        .current_dir(&example.dir)
        .args([
            "sh",
            "-c",
            r#"echo "$1" > "/proc/sys/kernel/$0" && shift && exec "$@""#,
        ])
        .arg(sysctl)
        .arg(value)
        .arg(&example.bin)
        .args(&example.args);
    Some(command)
}

/// Runs `call` in a forked process as user `nobody` (65534) and returns
/// the errno it returns (0 for success). `None`, after saying why, when the
/// tests do not run as root and so cannot become another user.
///
/// `call` runs between `fork` and `_exit` in a copy of a test process that
/// has other threads: it must only make system calls (libc functions that
/// are async-signal-safe), no allocation, no locks.
pub fn as_nobody(call: impl FnOnce() -> i32) -> Option<i32> {
    if crate::uid() != 0 {
        eprintln!("skipped: the tests do not run as root, so they cannot act as another user");
        return None;
    }
    // SAFETY: the child makes only system calls before _exit (see above).
    match unsafe { libc::fork() } {
        -1 => panic!("fork failed"),
        0 => {
            // SAFETY: raw system calls: they take integers, and change only
            // this process (glibc's setuid would signal other threads, which
            // a forked child does not have).
            let dropped = unsafe {
                libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) == 0
            };
            // SAFETY: as above.
            let dropped =
                dropped && unsafe { libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534) == 0 };
            // SAFETY: as above.
            let dropped =
                dropped && unsafe { libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534) == 0 };
            let errno = if dropped { call() } else { 255 };
            // SAFETY: _exit ends this copy at once, running nothing of the test's.
            unsafe { libc::_exit(errno) }
        }
        pid => {
            let mut status = 0;
            // SAFETY: `status` is a valid int for waitpid to write.
            assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
            assert!(libc::WIFEXITED(status), "the probe as nobody ended");
            let errno = libc::WEXITSTATUS(status);
            assert_ne!(errno, 255, "could not become nobody");
            Some(errno)
        }
    }
}

/// The errno of the last failed libc call, in a process forked by
/// [`as_nobody`]: 0 if `result` is not -1.
pub fn errno_of(result: libc::c_long) -> i32 {
    if result == -1 {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(254)
    } else {
        0
    }
}

/// Makes `command` start with at most `limit` file descriptors
/// (`ulimit -n`): with 3, stdin, stdout and stderr, and nothing more.
pub fn limit_descriptors(command: &mut Command, limit: libc::rlim_t) {
    let set_limit = move || {
        let limit = libc::rlimit {
            rlim_cur: limit,
            rlim_max: limit,
        };
        // SAFETY: `limit` is a valid rlimit for the call to read.
        match unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    };
    // SAFETY: the closure makes one system call, safe between fork and exec.
    unsafe { command.pre_exec(set_limit) };
}
