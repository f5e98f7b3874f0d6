//! The `main` of every example: the command line, the stop signals, and the
//! exit status that goes with the outcome.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use nix::unistd::getpid;

use crate::child::ChildFailed;
use crate::error::{UsageError, report};
use crate::{interrupt, state};

/// The `main` of an example that takes a name: parses the command line
/// `[NAME]`, runs the example with `NAME` (or `default`), and turns the
/// outcome into the exit status.
///
/// - `-h` or `--help` prints `help` on stdout and exits 0;
/// - a second argument or an unknown option prints the problem and the usage
///   line (the first line of `help`) on stderr and exits 2, and so does a
///   [`UsageError`] that `run` returns (a name it cannot use);
/// - an error that another program's interference with the System V object
///   explains is the one line that says so ([`crate::sysv::told_interference`]),
///   exit 1;
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
    if let Err(error) = interrupt::install() {
        crate::note!("{program}: {error}");
        return ExitCode::FAILURE;
    }
    state::set_main_pid(getpid());

    let result = run(name);
    if let Some(signal) = state::received() {
        // Whatever the example was doing, the signal is why it stopped.
        crate::note!("{program}: {}", interrupt::notice(signal));
        return ExitCode::from(interrupt::exit_status(signal));
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Another process removed or changed the object: one line says so.
        Err(_) if crate::sysv::told_interference() => ExitCode::FAILURE,
        Err(error) if error.is::<ChildFailed>() => ExitCode::FAILURE,
        Err(error) => match error.downcast_ref::<UsageError>() {
            Some(problem) => bad_usage(problem),
            None => {
                report(&error);
                ExitCode::FAILURE
            }
        },
    }
}

#[derive(Debug, PartialEq)]
enum Args {
    Help,
    Name(Option<OsString>),
}

/// An argument as a usage message shows it: as typed, or quoted with its
/// escapes (`""`, `"a b"`, `"\t"`) when it is empty or holds a character a
/// terminal would not show plainly, so that no argument is invisible.
pub fn shown(arg: &OsStr) -> String {
    let text = arg.to_string_lossy();
    let plain = !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"');
    if plain {
        text.into_owned()
    } else {
        format!("{text:?}")
    }
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
                _ => return Err(format!("unknown option {}", shown(&arg))),
            }
        } else if name.is_some() || !takes_name {
            return Err(format!("unexpected argument {}", shown(&arg)));
        } else if arg.is_empty() {
            return Err("the name must not be empty".to_owned());
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
        // Not "the name must not be empty": there is no name to give.
        assert_eq!(parse(&[""]), Err("unexpected argument \"\"".to_owned()));
    }

    #[test]
    fn no_argument_in_a_message_is_invisible() {
        assert_eq!(shown(OsStr::new("b")), "b");
        assert_eq!(shown(OsStr::new("--bogus")), "--bogus");
        assert_eq!(shown(OsStr::new("")), "\"\"");
        assert_eq!(shown(OsStr::new("a b")), "\"a b\"");
        assert_eq!(shown(OsStr::new("\t")), "\"\\t\"");
        assert_eq!(
            parse(&["a", ""]),
            Err("unexpected argument \"\"".to_owned())
        );
        assert_eq!(parse(&["-x y"]), Err("unknown option \"-x y\"".to_owned()));
    }
}
