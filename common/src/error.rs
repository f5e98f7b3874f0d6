//! Errors as `perror(3)` prints them, and how they are reported.

use std::fmt;
use std::io::{self, Write};

use nix::errno::Errno;

use crate::state;

/// A failed call, shown as `<call>: <reason>` (`msgget: File exists`), the
/// way `perror(3)` shows it, with an optional hint on what to do about it.
#[derive(Debug)]
pub struct SysError {
    call: String,
    errno: Option<Errno>,
    reason: String,
    hint: Option<String>,
}

impl SysError {
    /// The error of `call`, which failed with `errno`.
    pub fn new(call: impl fmt::Display, errno: Errno) -> Self {
        Self {
            call: call.to_string(),
            errno: Some(errno),
            reason: errno.desc().to_owned(),
            hint: None,
        }
    }

    /// The call that failed: `msgget`.
    pub fn call(&self) -> &str {
        &self.call
    }

    /// The `errno` value the call failed with, if it was a system error.
    pub fn errno(&self) -> Option<Errno> {
        self.errno
    }

    /// Adds advice, printed after the reason, if the call failed with `errno`.
    pub fn hint_for(mut self, errno: Errno, hint: impl FnOnce() -> String) -> Self {
        if self.errno == Some(errno) {
            self.hint = Some(hint());
        }
        self
    }

    /// The error as [`report`] prints it. A call interrupted (`EINTR`)
    /// because SIGINT or SIGTERM came says so (`msgrcv: interrupted by
    /// SIGINT`); one that [`blocking`](crate::blocking) gave up because the
    /// watched child ended says how it ended (`msgrcv: interrupted: the child
    /// process exited with status 1`), or, if the child left because stdout
    /// is closed, becomes `write stdout: Broken pipe`, the reason to tell.
    fn reported(&self) -> String {
        if self.errno != Some(Errno::EINTR) {
            return self.to_string();
        }
        let reason = match (state::received(), state::ended()) {
            (Some(signal), _) => format!("interrupted by {signal}"),
            // The child left because stdout is closed (`| head -1`): the
            // parent's call was interrupted for that same reason, which is
            // the one to tell, once.
            (None, Some(_)) if state::left_with_stdout_failed().is_some() => {
                let errno = state::left_with_stdout_failed().unwrap_or(Errno::EPIPE);
                return SysError::new("write stdout", errno).to_string();
            }
            (None, Some(how)) => format!("interrupted: the child process {how}"),
            (None, None) => return self.to_string(),
        };
        let hint = self.hint.as_ref().map(|hint| format!("; {hint}"));
        format!("{}: {reason}{}", self.call, hint.unwrap_or_default())
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.call, self.reason)?;
        if let Some(hint) = &self.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SysError {}

/// Names the call that failed, as `perror("msgget")` does in C:
/// `msgget(...).perror("msgget")?` is the Rust for
/// `if (msgget(...) == -1) { perror("msgget"); exit(1); }`.
pub trait Perror<T> {
    /// Turns the failure into a [`SysError`] for `call`.
    fn perror(self, call: impl fmt::Display) -> Result<T, SysError>;
}

impl<T> Perror<T> for Result<T, Errno> {
    fn perror(self, call: impl fmt::Display) -> Result<T, SysError> {
        self.map_err(|errno| SysError::new(call, errno))
    }
}

impl<T> Perror<T> for io::Result<T> {
    fn perror(self, call: impl fmt::Display) -> Result<T, SysError> {
        self.map_err(|error| match error.raw_os_error() {
            Some(code) => SysError::new(call, Errno::from_raw(code)),
            // An error std made up itself (a path with a NUL byte, a short write).
            None => SysError {
                call: call.to_string(),
                errno: None,
                reason: error.to_string(),
                hint: None,
            },
        })
    }
}

/// A bad command line: [`main`](crate::main) prints it with the usage line
/// and exits 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Prints an error on stderr the way the examples report every failure: one
/// line, `<call>: <reason>`, with the context an example added in front.
pub fn report(error: &anyhow::Error) {
    crate::note!("{}", message(error));
}

/// The line [`report`] prints: each context, then the failed call, joined
/// by `: ` as `{error:#}` joins them. The reason of an interrupted call is
/// chosen here, when the error is reported, from what the process knows
/// then (see [`SysError`]).
pub fn message(error: &anyhow::Error) -> String {
    let parts: Vec<String> = error
        .chain()
        .map(|cause| match cause.downcast_ref::<SysError>() {
            Some(sys) => sys.reported(),
            None => cause.to_string(),
        })
        .collect();
    parts.join(": ")
}

/// The function behind [`note!`](crate::note!): one line on stderr, in a
/// single `write(2)`.
pub fn write_error_line(line: fmt::Arguments<'_>) {
    let line = format!("{line}\n");
    let _ = io::stderr().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_print_like_perror() {
        let error = Err::<(), _>(Errno::ENOENT).perror("ftok").unwrap_err();
        assert_eq!(error.to_string(), "ftok: No such file or directory");
        assert_eq!(error.errno(), Some(Errno::ENOENT));

        let error = Err::<(), _>(io::Error::from_raw_os_error(libc::EEXIST))
            .perror("msgget")
            .unwrap_err()
            .hint_for(Errno::EEXIST, || "remove it".to_owned());
        assert_eq!(error.to_string(), "msgget: File exists; remove it");

        let error = Err::<(), _>(io::Error::other("made up"))
            .perror("open")
            .unwrap_err()
            .hint_for(Errno::EEXIST, || "not shown".to_owned());
        assert_eq!(error.to_string(), "open: made up");
    }

    #[test]
    fn a_report_joins_the_context_and_the_call() {
        let error = anyhow::Error::from(SysError::new("msgget", Errno::EEXIST))
            .context("message queue 0x62012345");
        assert_eq!(
            message(&error),
            "message queue 0x62012345: msgget: File exists"
        );
        assert_eq!(message(&error), format!("{error:#}"));
    }
}
