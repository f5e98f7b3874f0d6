//! Errors as `perror(3)` prints them, and the exit status that goes with them.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::OnceLock;

use nix::errno::Errno;
use nix::unistd::{Pid, getpid};

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
    /// The error of `call`, which failed with `errno`. A call that
    /// [`blocking`](crate::blocking) gave up because the watched child ended
    /// says so instead of "Interrupted system call", or, if the child left
    /// because stdout is closed, becomes `write stdout: Broken pipe`.
    pub fn new(call: impl fmt::Display, errno: Errno) -> Self {
        let interrupted = errno == Errno::EINTR && crate::interrupt::received().is_none();
        if interrupted && crate::child::left_with_stdout_closed() {
            // The child left because stdout is closed (`| head -1`): the
            // parent's call was interrupted for that same reason, which is
            // the one to tell, once.
            return Self::new("write stdout", Errno::EPIPE);
        }
        let reason = match (crate::interrupt::received(), crate::child::ended()) {
            (Some(signal), _) if errno == Errno::EINTR => format!("interrupted by {signal}"),
            (None, Some(how)) if errno == Errno::EINTR => {
                format!("interrupted: the child process {how}")
            }
            _ => errno.desc().to_owned(),
        };
        Self {
            call: call.to_string(),
            errno: Some(errno),
            reason,
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

/// A bad command line: [`main`] prints it with the usage line and exits 2.
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
    crate::note!("{error:#}");
}

/// The `main` of an example that takes a name: parses the command line
/// `[NAME]`, runs the example with `NAME` (or `default`), and turns the
/// outcome into the exit status.
///
/// - `-h` or `--help` prints `help` on stdout and exits 0;
/// - a second argument or an unknown option prints the problem and the usage
///   line (the first line of `help`) on stderr and exits 2, and so does a
///   [`UsageError`] that `run` returns (a name it cannot use);
/// - any other error is printed as `<call>: <reason>` on stderr, exit 1.
///
/// `--` ends the options, for a name that starts with `-`.
pub fn main(
    help: &str,
    default: &str,
    run: impl FnOnce(OsString) -> anyhow::Result<()>,
) -> ExitCode {
    start(help, true, |name| {
        run(name.unwrap_or_else(|| default.into()))
    })
}

/// The `main` of an example that takes no argument but `--help`; otherwise
/// as [`main`].
pub fn main_no_args(help: &str, run: impl FnOnce() -> anyhow::Result<()>) -> ExitCode {
    start(help, false, |_| run())
}

fn start(
    help: &str,
    takes_name: bool,
    run: impl FnOnce(Option<OsString>) -> anyhow::Result<()>,
) -> ExitCode {
    let program = std::env::args().next().unwrap_or_default();
    let program = program.rsplit('/').next().unwrap_or_default().to_owned();
    let usage = help.lines().next().unwrap_or_default();
    let bad_usage = |problem: &dyn fmt::Display| {
        crate::note!("{program}: {problem}\n{usage}");
        ExitCode::from(2)
    };

    let name = match parse_args(std::env::args_os().skip(1), takes_name) {
        Ok(Args::Help) => {
            return match io::stdout().write_all(help.as_bytes()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
        Ok(Args::Name(name)) => name,
        Err(problem) => return bad_usage(&problem),
    };

    // From here on, Ctrl-C stops the example at its next step, and the
    // guards clean up on the way out (see `interrupt`).
    if let Err(error) = crate::interrupt::install() {
        crate::note!("{program}: {error}");
        return ExitCode::FAILURE;
    }
    let _ = MAIN_PID.set(getpid());

    let result = run(name);
    if let Some(signal) = crate::interrupt::received() {
        // Whatever the example was doing, the signal is why it stopped.
        crate::note!("{program}: {}", crate::interrupt::notice(signal));
        return ExitCode::from(crate::interrupt::exit_status(signal));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if error.is::<crate::ChildFailed>() => ExitCode::FAILURE,
        Err(error) => match error.downcast_ref::<UsageError>() {
            Some(problem) => bad_usage(problem),
            None => {
                report(&error);
                ExitCode::FAILURE
            }
        },
    }
}

/// The process that [`main`] runs in: the parent, once it forks.
static MAIN_PID: OnceLock<Pid> = OnceLock::new();

pub(crate) fn main_pid() -> Option<Pid> {
    MAIN_PID.get().copied()
}

#[derive(Debug, PartialEq)]
enum Args {
    Help,
    Name(Option<OsString>),
}

fn parse_args(args: impl IntoIterator<Item = OsString>, takes_name: bool) -> Result<Args, String> {
    let mut name = None;
    let mut options_ended = false;
    for arg in args {
        let is_option = !options_ended && arg.len() > 1 && arg.as_encoded_bytes()[0] == b'-';
        if is_option {
            match arg.to_str() {
                Some("-h" | "--help") => return Ok(Args::Help),
                Some("--") => options_ended = true,
                _ => return Err(format!("unknown option {}", arg.display())),
            }
        } else if arg.is_empty() {
            return Err("the name must not be empty".to_owned());
        } else if name.is_some() || !takes_name {
            return Err(format!("unexpected argument {}", arg.display()));
        } else {
            name = Some(arg);
        }
    }
    Ok(Args::Name(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(OsString::from), true)
    }

    #[test]
    fn no_argument_means_the_default() {
        assert_eq!(parse(&[]), Ok(Args::Name(None)));
    }

    #[test]
    fn one_argument_is_the_name() {
        assert_eq!(parse(&["/tmp"]), Ok(Args::Name(Some("/tmp".into()))));
        assert_eq!(parse(&["-"]), Ok(Args::Name(Some("-".into()))));
        assert_eq!(parse(&["--", "-x"]), Ok(Args::Name(Some("-x".into()))));
    }

    #[test]
    fn help_wins_over_everything_before_it() {
        assert_eq!(parse(&["--help"]), Ok(Args::Help));
        assert_eq!(parse(&["a", "-h"]), Ok(Args::Help));
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        assert_eq!(parse(&["-x"]), Err("unknown option -x".to_owned()));
        assert_eq!(parse(&["a", "b"]), Err("unexpected argument b".to_owned()));
        assert_eq!(parse(&[""]), Err("the name must not be empty".to_owned()));
    }

    #[test]
    fn a_program_without_a_name_takes_no_argument() {
        let parse = |args: &[&str]| parse_args(args.iter().map(OsString::from), false);
        assert_eq!(parse(&[]), Ok(Args::Name(None)));
        assert_eq!(parse(&["--help"]), Ok(Args::Help));
        assert_eq!(parse(&["x"]), Err("unexpected argument x".to_owned()));
    }

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
}
