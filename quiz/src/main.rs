//! # quiz: the tutorial's quiz, in a terminal
//!
//! The tutorial ends with one quiz question ("IPC Quiz"). This program asks
//! it first, word for word, then 20 more written from the tutorial's own
//! sections: what IPC is, the two communication models, each of the seven
//! mechanisms, the comparison table, the common challenges, synchronization,
//! and client-server applications. It asks one question at a time and reads
//! the answer, a letter, from stdin; after each answer it says right or
//! wrong, gives the right answer and a short explanation with the tutorial
//! section it comes from. At the end it prints the score and the sections of
//! the questions missed, to re-read.
//!
//! ```text
//! cargo run -p quiz                        # take the quiz
//! cargo run -p quiz -- --shuffle 7         # questions and options shuffled, the same way for seed 7
//! cargo run -p quiz -- --list              # every question with its answer, for a teacher
//! cargo run -p quiz < answers.txt          # one answer a line, from a file or a pipe
//! ```
//!
//! A teacher can turn the listing into an answer file, and see the whole
//! transcript of a run: `--list` prints, for each question in the order the
//! quiz asks it with the same options, a line `   Answer: B`.
//!
//! ```text
//! cargo run -q -p quiz -- --list | sed -n 's/^ *Answer: //p' > answers.txt
//! cargo run -q -p quiz < answers.txt
//! ```
//!
//! | option | what it does |
//! |---|---|
//! | `--list` | prints every question with its options, answer, section and explanation; asks nothing |
//! | `--shuffle SEED` | shuffles the questions and the options of each, the same way for the same `SEED` (0 to 2^64-1); with `--list`, lists them in that order |
//! | `-h`, `--help` | prints the usage |
//!
//! An answer is one letter, A to D, in either case, with spaces around it
//! ignored; anything else gets a hint and the same question again. The end
//! of input stops the quiz with the score so far. Every line is a plain line,
//! so a transcript from a pipe or a file reads like the terminal session;
//! colour is used only when stdout is a terminal and `NO_COLOR` is unset or
//! empty. Exit status: 0 when the quiz ran (whatever the score), 1 if stdin
//! or stdout fails (`write stdout: Broken pipe` after `quiz | head -1`), 2
//! on bad usage. A session starts:
//!
//! ```text
//! IPC quiz: 21 questions on the tutorial. Answer each with a letter, A to D.
//!
//! Question 1 of 21
//! Which IPC mechanism typically provides the fastest data transfer for large amounts of data?
//!   A. Pipes
//!   B. Shared Memory
//!   C. Message Queues
//!   D. Sockets
//! Your answer (A-D): b
//! Right! The answer is B. Shared Memory.
//! Shared memory is typically the fastest IPC method: ...
//! Section: Common IPC Mechanisms: Shared Memory
//! ```
//!
//! and ends with `Score: 17/21` and a `To re-read:` list of sections.
//!
//! The questions are a table in `questions.rs`; `order.rs` shuffles them.

mod order;
mod questions;

use std::env;
use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use common::{Perror, say};
use order::{Asked, arrange};
use questions::Letter;

const HELP: &str = "\
Usage: quiz [--list] [--shuffle SEED]
A quiz on the IPC tutorial: one question at a time, each answered with a
letter (A-D) on a line of stdin; at the end, the score and the sections to
re-read. The end of input stops the quiz with the score so far.
  --list          print every question with its answer, section and
                  explanation (for a teacher), in the order the quiz asks them
  --shuffle SEED  shuffle the questions and their options, the same way for
                  the same SEED (0 to 18446744073709551615); default: the
                  tutorial's order
  -h, --help      print this help
Colour only on a terminal, and never when NO_COLOR is set.
Exit status: 0 when the quiz ran, whatever the score; 2 on bad usage.
";

/// What the command line asks for.
#[derive(Debug, Default, PartialEq)]
struct Options {
    help: bool,
    list: bool,
    seed: Option<u64>,
}

fn main() -> ExitCode {
    let options = match parse_args(env::args_os().skip(1)) {
        Ok(options) => options,
        Err(problem) => {
            let usage = HELP.lines().next().unwrap_or_default();
            // Nothing is left to tell if stderr itself is gone.
            let _ = writeln!(io::stderr(), "quiz: {problem}\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            common::report(&error);
            ExitCode::FAILURE
        }
    }
}

fn run(options: &Options) -> anyhow::Result<()> {
    if options.help {
        say!("{}", HELP.trim_end())?;
        return Ok(());
    }
    let quiz = arrange(options.seed);
    let look = Look {
        colour: colour_wanted(
            io::stdout().is_terminal(),
            env::var_os("NO_COLOR").as_deref(),
            env::var_os("TERM").as_deref(),
        ),
        // The prompt ends its line only where the terminal will end it: when
        // the student types at it and sees it. Anywhere else it is a line of
        // its own, so that the transcript is made of whole lines.
        prompt_inline: io::stdin().is_terminal() && io::stdout().is_terminal(),
    };
    if options.list {
        list(&quiz, options.seed, &look)
    } else {
        take(&quiz, &mut io::stdin().lock(), &look)
    }
}

/// Runs the quiz: each question, the answer read from `input`, the verdict;
/// then the score.
fn take(quiz: &[Asked], input: &mut impl BufRead, look: &Look) -> anyhow::Result<()> {
    let total = quiz.len();
    say!("IPC quiz: {total} questions on the tutorial. Answer each with a letter, A to D.")?;

    let mut answered = 0;
    let mut missed = Vec::new();
    for (number, asked) in (1..).zip(quiz) {
        say!("")?;
        show(number, total, asked, look)?;
        let Some(answer) = read_answer(number, total, asked, input, look)? else {
            say!("End of input after {answered} of {total} questions.")?;
            break;
        };
        answered += 1;

        let right = format!(
            "{}. {}",
            asked.answer.as_char(),
            asked.options[asked.answer.index()]
        );
        if answer == asked.answer {
            say!("{} The answer is {right}.", look.paint(GREEN, "Right!"))?;
        } else {
            let wrong = look.paint(RED, "Wrong.");
            say!(
                "{wrong} You answered {}. The answer is {right}.",
                answer.as_char()
            )?;
            missed.push(asked.question.section);
        }
        say!("{}", asked.question.explanation)?;
        say!("Section: {}", asked.question.section.heading())?;
    }

    say!("")?;
    let score = answered - missed.len();
    say!(
        "{}",
        look.paint(BOLD, &format!("Score: {score}/{answered}"))
    )?;
    if !missed.is_empty() {
        // Each section once, in the tutorial's order.
        missed.sort();
        missed.dedup();
        say!("To re-read:")?;
        for section in missed {
            say!("  {}", section.heading())?;
        }
    } else if answered > 0 {
        say!("Every answer was right.")?;
    }
    Ok(())
}

/// Prints question `number` of `total`, with its options.
fn show(number: usize, total: usize, asked: &Asked, look: &Look) -> anyhow::Result<()> {
    say!("Question {number} of {total}")?;
    say!("{}", look.paint(BOLD, asked.question.text))?;
    for (letter, option) in Letter::ALL.iter().zip(asked.options) {
        say!("  {}. {option}", letter.as_char())?;
    }
    Ok(())
}

/// Prompts until a line of `input` is an answer; `None` at the end of input.
/// A line that is not an answer gets a hint, and the question again.
fn read_answer(
    number: usize,
    total: usize,
    asked: &Asked,
    input: &mut impl BufRead,
    look: &Look,
) -> anyhow::Result<Option<Letter>> {
    loop {
        look.prompt()?;
        let mut line = Vec::new();
        if input.read_until(b'\n', &mut line).perror("read stdin")? == 0 {
            if look.prompt_inline {
                // End the prompt's line, which the student's Enter did not.
                say!("")?;
            }
            return Ok(None);
        }
        let typed = String::from_utf8_lossy(&line);
        if let Some(letter) = Letter::parse(&typed) {
            return Ok(Some(letter));
        }
        // What was typed, for the transcript: quoted, control characters
        // escaped, and cut short.
        let typed: String = typed.trim().chars().take(20).collect();
        let hint = format!("{typed:?} is not an answer: type one letter, A, B, C or D.");
        say!("{}", look.paint(YELLOW, &hint))?;
        show(number, total, asked, look)?;
    }
}

/// Prints every question with its answer, in the order the quiz asks them.
fn list(quiz: &[Asked], seed: Option<u64>, look: &Look) -> anyhow::Result<()> {
    let order = match seed {
        Some(seed) => format!("shuffled with seed {seed}"),
        None => "in the default order".to_owned(),
    };
    say!(
        "IPC quiz: {} questions with their answers, {order}.",
        quiz.len()
    )?;
    for (number, asked) in (1..).zip(quiz) {
        say!("")?;
        say!("{number}. {}", look.paint(BOLD, asked.question.text))?;
        for (letter, option) in Letter::ALL.iter().zip(asked.options) {
            say!("   {}. {option}", letter.as_char())?;
        }
        let answer = format!("Answer: {}", asked.answer.as_char());
        say!("   {}", look.paint(GREEN, &answer))?;
        say!("   Section: {}", asked.question.section.heading())?;
        say!("   Explanation: {}", asked.question.explanation)?;
    }
    Ok(())
}

/// How the output looks: with colour or without, and whether the prompt
/// waits on its own line for the answer.
#[derive(Debug)]
struct Look {
    colour: bool,
    prompt_inline: bool,
}

// ANSI SGR codes: they change the colour of what follows, nothing else.
const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

impl Look {
    /// `text` in `colour`, if colour is on.
    fn paint(&self, colour: &str, text: &str) -> String {
        if self.colour {
            format!("{colour}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// Asks for the answer: at the end of the line on a terminal, where the
    /// student's Enter ends it; as a line of its own anywhere else.
    fn prompt(&self) -> anyhow::Result<()> {
        const PROMPT: &str = "Your answer (A-D):";
        if self.prompt_inline {
            let mut out = io::stdout().lock();
            write!(out, "{PROMPT} ")
                .and_then(|()| out.flush())
                .perror("write stdout")?;
        } else {
            say!("{PROMPT}")?;
        }
        Ok(())
    }
}

/// Colour only on a terminal that can show it, and never when `NO_COLOR` is
/// set to a value (<https://no-color.org>: an empty value counts as unset).
fn colour_wanted(stdout_is_terminal: bool, no_color: Option<&OsStr>, term: Option<&OsStr>) -> bool {
    stdout_is_terminal
        && no_color.is_none_or(OsStr::is_empty)
        && term.is_none_or(|term| term != "dumb")
}

fn parse_args(args: impl IntoIterator<Item = OsString>) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-h" | "--help") => {
                return Ok(Options {
                    help: true,
                    ..options
                });
            }
            Some("--list") => options.list = true,
            Some("--shuffle") => {
                let seed = args.next().ok_or("--shuffle needs a SEED")?;
                options.seed = Some(parse_seed(&seed)?);
            }
            Some(arg) if arg.starts_with("--shuffle=") => {
                options.seed = Some(parse_seed(OsStr::new(&arg["--shuffle=".len()..]))?);
            }
            _ if arg.as_encoded_bytes().starts_with(b"-") => {
                return Err(format!("unknown option {}", arg.display()));
            }
            _ => return Err(format!("unexpected argument {}", arg.display())),
        }
    }
    Ok(options)
}

fn parse_seed(seed: &OsStr) -> Result<u64, String> {
    seed.to_str()
        .and_then(|seed| seed.parse().ok())
        .ok_or_else(|| {
            format!(
                "--shuffle {}: the SEED is a whole number from 0 to {}",
                seed.display(),
                u64::MAX
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        parse_args(args.iter().map(OsString::from))
    }

    #[test]
    fn options_parse() {
        assert_eq!(parse(&[]), Ok(Options::default()));
        let list = Options {
            list: true,
            ..Options::default()
        };
        assert_eq!(parse(&["--list"]), Ok(list));
        let shuffled = Options {
            seed: Some(42),
            ..Options::default()
        };
        assert_eq!(parse(&["--shuffle", "42"]), Ok(shuffled));
        let both = Options {
            list: true,
            seed: Some(u64::MAX),
            help: false,
        };
        assert_eq!(
            parse(&["--shuffle=18446744073709551615", "--list"]),
            Ok(both)
        );
        assert!(parse(&["--list", "-h"]).is_ok_and(|o| o.help));
    }

    #[test]
    fn bad_command_lines_say_what_is_wrong() {
        assert_eq!(
            parse(&["--shuffle"]),
            Err("--shuffle needs a SEED".to_owned())
        );
        for seed in ["x", "-1", "", "18446744073709551616", "1.5"] {
            let problem = parse(&["--shuffle", seed]).unwrap_err();
            assert!(
                problem.starts_with(&format!("--shuffle {seed}: ")),
                "{problem}"
            );
        }
        assert_eq!(parse(&["-x"]), Err("unknown option -x".to_owned()));
        assert_eq!(parse(&["b"]), Err("unexpected argument b".to_owned()));
    }

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        let set = Some(OsStr::new("1"));
        let empty = Some(OsStr::new(""));
        let xterm = Some(OsStr::new("xterm-256color"));
        assert!(colour_wanted(true, None, xterm));
        assert!(colour_wanted(true, empty, xterm), "empty NO_COLOR is unset");
        assert!(colour_wanted(true, None, None));
        assert!(!colour_wanted(true, set, xterm));
        assert!(
            !colour_wanted(true, Some(OsStr::new("0")), xterm),
            "any value"
        );
        assert!(!colour_wanted(false, None, xterm));
        assert!(!colour_wanted(true, None, Some(OsStr::new("dumb"))));
    }

    #[test]
    fn paint_adds_nothing_without_colour() {
        let plain = Look {
            colour: false,
            prompt_inline: false,
        };
        assert_eq!(plain.paint(GREEN, "Right!"), "Right!");
        let coloured = Look {
            colour: true,
            prompt_inline: false,
        };
        assert_eq!(coloured.paint(GREEN, "Right!"), "\x1b[32mRight!\x1b[0m");
    }
}
