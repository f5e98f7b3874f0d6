//! The checker's command: runs a program as one of the examples and prints
//! a checklist, one line per check, then a score.
//!
//!     cargo run -p tests -- NAME PROGRAM [--level listing|robust] [--json]
//!
//! e.g. `cargo run -p tests -- pipe ./a.out`. Exit 0 if every check passed,
//! 1 if one failed, 2 on bad usage. See `docs/checker.md`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use tests::check::{self, Level, report, spec};

const USAGE: &str = "Usage: tests NAME PROGRAM [--level listing|robust] [--json]";

fn help() -> String {
    let names: Vec<&str> = spec::names().collect();
    format!(
        "{USAGE}

Runs PROGRAM as the example NAME and checks what the example must do:
one line per check, passed or failed, then a score.

  NAME             one of: {}
  PROGRAM          the program to check, e.g. ./a.out (run with no argument,
                   in a fresh directory, as the tutorial's listing runs)
  --level listing  what the tutorial's listing promises (the default)
  --level robust   the listing's checks, and what the ports add: Ctrl-C,
                   SIGTERM, a killed child, a crashed run, a closed stdout
  --json           print the result as Gradescope's results.json

Exit status: 0 if every check passed, 1 if one failed, 2 on bad usage.
Documented in docs/checker.md.",
        names.join(", ")
    )
}

struct Options {
    name: String,
    program: PathBuf,
    level: Level,
    json: bool,
}

fn parse(args: Vec<String>) -> Result<Option<Options>, String> {
    let mut positional = Vec::new();
    let mut level = Level::Listing;
    let mut json = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--json" => json = true,
            "--level" => {
                let value = args
                    .next()
                    .ok_or("--level needs a value: listing or robust")?;
                level = Level::parse(&value)
                    .ok_or(format!("unknown level {value}: listing or robust"))?;
            }
            other if other.starts_with("--level=") => {
                let value = &other["--level=".len()..];
                level = Level::parse(value)
                    .ok_or(format!("unknown level {value}: listing or robust"))?;
            }
            other if other.starts_with('-') && other.len() > 1 => {
                return Err(format!("unknown option {other}"));
            }
            _ => positional.push(arg),
        }
    }
    let [name, program] = <[String; 2]>::try_from(positional).map_err(|given| {
        if given.len() < 2 {
            "NAME and PROGRAM are needed".to_owned()
        } else {
            format!("unexpected argument {}", given[2])
        }
    })?;
    Ok(Some(Options {
        name,
        program: PathBuf::from(program),
        level,
        json,
    }))
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1).collect()) {
        Ok(Some(options)) => options,
        Ok(None) => {
            println!("{}", help());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tests: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let spec = match spec::find(&options.name) {
        Some(Ok(spec)) => spec,
        Some(Err(e)) => {
            eprintln!("tests: {e}");
            return ExitCode::from(1);
        }
        None => {
            let names: Vec<&str> = spec::names().collect();
            eprintln!(
                "tests: no example {}: one of {}\n{USAGE}",
                options.name,
                names.join(", ")
            );
            return ExitCode::from(2);
        }
    };
    // A helper of the tests crate that gives up panics; the checklist says
    // so in the check's own line, so the default message is not printed.
    check::quiet_guarded_panics();
    let report = check::check(&spec, &options.program, options.level, &mut |name| {
        eprintln!(
            "tests: waiting for another check that is using {}",
            name.display()
        );
    });
    let text = if options.json {
        report.json() + "\n"
    } else {
        report.text(report::colour_wanted())
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        eprintln!("write stdout: {e}");
        return ExitCode::from(1);
    }
    if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
