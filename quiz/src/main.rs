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
//! | `--score-file PATH` | at the end, also writes the score to `PATH` as one JSON object (below) |
//! | `-h`, `--help` | prints the usage |
//!
//! The score file, for a teacher's script (`to_reread` names each section of
//! a missed question once, as the quiz prints it):
//!
//! ```text
//! {"answered":21,"questions":21,"score":17,"to_reread":["Common IPC Mechanisms: Pipes"]}
//! ```
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
//! and ends with `Score: 17/21` and a `To re-read:` list of sections
//! (`Score: 3/3 (3 of 21 questions answered)` when the input ended early).
//! On a terminal, long lines wrap at words to its width; anywhere else each
//! line stays one line.
//!
//! The questions are a table in `questions.rs`; `order.rs` shuffles them.

mod order;
mod questions;

use std::env;
use std::ffi::{OsStr, OsString};
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use common::{Perror, say, shown};
use order::{Asked, arrange};
use questions::Letter;

const HELP: &str = "\
Usage: quiz [--list] [--shuffle SEED] [--score-file PATH]
A quiz on the IPC tutorial: one question at a time, each answered with a
letter (A-D) on a line of stdin; at the end, the score and the sections to
re-read. The end of input stops the quiz with the score so far.
  --list          print every question with its answer, section and
                  explanation (for a teacher), in the order the quiz asks them
  --shuffle SEED  shuffle the questions and their options, the same way for
                  the same SEED (0 to 18446744073709551615); default: the
                  tutorial's order
  --score-file PATH
                  at the end, also write the score to PATH as one JSON
                  object: score, answered, questions, to_reread (sections)
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
    score_file: Option<PathBuf>,
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
        width: terminal_size::terminal_size_of(io::stdout())
            .map(|(terminal_size::Width(columns), _)| usize::from(columns)),
    };
    if options.list {
        list(&quiz, options.seed, &look)
    } else {
        let outcome = take(&quiz, &mut io::stdin().lock(), &look)?;
        match &options.score_file {
            Some(path) => outcome.write(path),
            None => Ok(()),
        }
    }
}

/// Runs the quiz: each question, the answer read from `input`, the verdict;
/// then the score.
fn take(quiz: &[Asked], input: &mut impl BufRead, look: &Look) -> anyhow::Result<Outcome> {
    let total = quiz.len();
    look.say(
        None,
        "",
        "",
        &format!("IPC quiz: {total} questions on the tutorial. Answer each with a letter, A to D."),
    )?;

    let mut answered = 0;
    let mut missed = Vec::new();
    for (number, asked) in (1..).zip(quiz) {
        say!("")?;
        show(number, total, asked, look)?;
        let Some(answer) = read_answer(number, total, asked, input, look)? else {
            look.say(
                None,
                "",
                "",
                &format!("End of input after {answered} of {total} questions."),
            )?;
            break;
        };
        answered += 1;

        let right = format!(
            "{}. {}",
            asked.answer.as_char(),
            asked.options[asked.answer.index()]
        );
        if answer == asked.answer {
            look.say(
                None,
                "",
                "",
                &format!("{} The answer is {right}.", look.paint(GREEN, "Right!")),
            )?;
        } else {
            let wrong = look.paint(RED, "Wrong.");
            let verdict = format!(
                "{wrong} You answered {}. The answer is {right}.",
                answer.as_char()
            );
            look.say(None, "", "", &verdict)?;
            missed.push(asked.question.section);
        }
        look.say(None, "", "", asked.question.explanation)?;
        look.say(None, "Section: ", "  ", asked.question.section.heading())?;
    }

    say!("")?;
    let score = answered - missed.len();
    let mut line = format!("Score: {score}/{answered}");
    if answered < total {
        line += &format!(" ({answered} of {total} questions answered)");
    }
    look.say(Some(BOLD), "", "", &line)?;
    // Each section once, in the tutorial's order.
    missed.sort();
    missed.dedup();
    if !missed.is_empty() {
        say!("To re-read:")?;
        for section in &missed {
            look.say(None, "  ", "    ", section.heading())?;
        }
    } else if answered == total {
        say!("Every answer was right.")?;
    } else if answered > 0 {
        say!("Every answer given was right.")?;
    }
    Ok(Outcome {
        score,
        answered,
        questions: total,
        to_reread: missed
            .iter()
            .map(|section| section.heading().to_owned())
            .collect(),
    })
}

/// How a quiz ended, for `--score-file`.
#[derive(Debug)]
struct Outcome {
    score: usize,
    answered: usize,
    questions: usize,
    to_reread: Vec<String>,
}

impl Outcome {
    /// Writes the outcome to `path` as one JSON object, for a teacher's script.
    fn write(&self, path: &std::path::Path) -> anyhow::Result<()> {
        let json = serde_json::json!({
            "score": self.score,
            "answered": self.answered,
            "questions": self.questions,
            "to_reread": self.to_reread,
        });
        std::fs::write(path, format!("{json}\n")).perror(format!("write {}", path.display()))?;
        Ok(())
    }
}

/// Prints question `number` of `total`, with its options.
fn show(number: usize, total: usize, asked: &Asked, look: &Look) -> anyhow::Result<()> {
    say!("Question {number} of {total}")?;
    look.say(Some(BOLD), "", "", asked.question.text)?;
    for (letter, option) in Letter::ALL.iter().zip(asked.options) {
        look.say(None, &format!("  {}. ", letter.as_char()), "     ", option)?;
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
        look.say(Some(YELLOW), "", "", &hint)?;
        show(number, total, asked, look)?;
    }
}

/// Prints every question with its answer, in the order the quiz asks them.
fn list(quiz: &[Asked], seed: Option<u64>, look: &Look) -> anyhow::Result<()> {
    let order = match seed {
        Some(seed) => format!("shuffled with seed {seed}"),
        None => "in the default order".to_owned(),
    };
    let heading = format!(
        "IPC quiz: {} questions with their answers, {order}.",
        quiz.len()
    );
    look.say(None, "", "", &heading)?;
    for (number, asked) in (1..).zip(quiz) {
        say!("")?;
        look.say(
            Some(BOLD),
            &format!("{number}. "),
            "    ",
            asked.question.text,
        )?;
        for (letter, option) in Letter::ALL.iter().zip(asked.options) {
            look.say(
                None,
                &format!("   {}. ", letter.as_char()),
                "      ",
                option,
            )?;
        }
        let answer = format!("Answer: {}", asked.answer.as_char());
        say!("   {}", look.paint(GREEN, &answer))?;
        look.say(
            None,
            "   Section: ",
            "   ",
            asked.question.section.heading(),
        )?;
        look.say(None, "   Explanation: ", "   ", asked.question.explanation)?;
    }
    Ok(())
}

/// How the output looks: with colour or without, and whether the prompt
/// waits on its own line for the answer.
#[derive(Debug)]
struct Look {
    colour: bool,
    prompt_inline: bool,
    /// The terminal's width, when stdout is one: long lines wrap there, at
    /// word boundaries. Elsewhere a line stays one line.
    width: Option<usize>,
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

    /// Prints `text` in `colour` (or plain), starting with `indent`, wrapped
    /// at word boundaries to the terminal's width, the lines after the first
    /// indented by `hang` (`say!` of one line off a terminal).
    fn say(
        &self,
        colour: Option<&str>,
        indent: &str,
        hang: &str,
        text: &str,
    ) -> anyhow::Result<()> {
        for (n, line) in wrapped(text, self.width, indent, hang).iter().enumerate() {
            // Only the text is painted, not the indent before it.
            let lead = if n == 0 { indent } else { hang };
            let text = line.strip_prefix(lead).unwrap_or(line);
            match colour {
                Some(colour) => say!("{lead}{}", self.paint(colour, text))?,
                None => say!("{line}")?,
            }
        }
        Ok(())
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

/// `text` as lines of at most `width` columns (one line when `width` is
/// `None`), the first starting with `indent`, the others with `hang`.
fn wrapped(text: &str, width: Option<usize>, indent: &str, hang: &str) -> Vec<String> {
    let Some(width) = width else {
        return vec![format!("{indent}{text}")];
    };
    let options = textwrap::Options::new(width.max(20))
        .initial_indent(indent)
        .subsequent_indent(hang)
        // Break between words only: never inside one, nor at its hyphens.
        .word_splitter(textwrap::WordSplitter::NoHyphenation)
        .break_words(false);
    textwrap::wrap(text, options)
        .into_iter()
        .map(std::borrow::Cow::into_owned)
        .collect()
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
    let once = |given: bool, option: &str| {
        if given {
            Err(format!("{option} given twice"))
        } else {
            Ok(())
        }
    };
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("-h" | "--help") => {
                return Ok(Options {
                    help: true,
                    ..options
                });
            }
            Some("--list") => {
                once(options.list, "--list")?;
                options.list = true;
            }
            Some("--shuffle") => {
                once(options.seed.is_some(), "--shuffle")?;
                let seed = args.next().ok_or("--shuffle needs a SEED")?;
                options.seed = Some(parse_seed(&seed)?);
            }
            Some(arg) if arg.starts_with("--shuffle=") => {
                once(options.seed.is_some(), "--shuffle")?;
                options.seed = Some(parse_seed(OsStr::new(&arg["--shuffle=".len()..]))?);
            }
            Some("--score-file") => {
                once(options.score_file.is_some(), "--score-file")?;
                let path = args.next().ok_or("--score-file needs a PATH")?;
                options.score_file = Some(score_path(path)?);
            }
            Some(arg) if arg.starts_with("--score-file=") => {
                once(options.score_file.is_some(), "--score-file")?;
                let path = OsString::from(&arg["--score-file=".len()..]);
                options.score_file = Some(score_path(path)?);
            }
            _ if arg.as_encoded_bytes().starts_with(b"-") => {
                return Err(format!("unknown option {}", shown(&arg)));
            }
            _ => return Err(format!("unexpected argument {}", shown(&arg))),
        }
    }
    Ok(options)
}

fn score_path(path: OsString) -> Result<PathBuf, String> {
    if path.is_empty() {
        return Err("--score-file \"\": the PATH must not be empty".to_owned());
    }
    Ok(PathBuf::from(path))
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
            score_file: None,
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
        assert_eq!(parse(&[""]), Err("unexpected argument \"\"".to_owned()));
        assert_eq!(
            parse(&["--shuffle", "1", "--shuffle=2"]),
            Err("--shuffle given twice".to_owned())
        );
        assert_eq!(
            parse(&["--list", "--list"]),
            Err("--list given twice".to_owned())
        );
        assert_eq!(
            parse(&["--score-file", "a", "--score-file", "b"]),
            Err("--score-file given twice".to_owned())
        );
    }

    #[test]
    fn long_lines_wrap_at_words_on_a_terminal_only() {
        let text = "Shared memory is typically the fastest IPC method: no copy";
        assert_eq!(wrapped(text, None, "", ""), [text]);
        let lines = wrapped(text, Some(30), "   Explanation: ", "   ");
        assert!(lines.len() > 1, "{lines:?}");
        assert!(lines[0].starts_with("   Explanation: Shared"), "{lines:?}");
        for line in &lines {
            assert!(line.len() <= 30, "{line:?} is wider than 30");
            assert!(line.starts_with("   ") && !line.ends_with(' '), "{line:?}");
        }
        // The same words in the same order: none cut, none lost.
        let words: Vec<&str> = lines.iter().flat_map(|l| l.split_whitespace()).collect();
        let mut expected = vec!["Explanation:"];
        expected.extend(text.split_whitespace());
        assert_eq!(words, expected);
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
            width: None,
        };
        assert_eq!(plain.paint(GREEN, "Right!"), "Right!");
        let coloured = Look {
            colour: true,
            prompt_inline: false,
            width: None,
        };
        assert_eq!(coloured.paint(GREEN, "Right!"), "\x1b[32mRight!\x1b[0m");
    }
}
