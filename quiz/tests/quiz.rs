//! Drives the `quiz` binary as a student and a teacher would: answers on
//! stdin, the transcript on stdout.
//!
//! No answer is written in here by hand. Every test takes the questions and
//! their answers from the program's own listing (`quiz --list`, the
//! interface a teacher uses to make an answer file), parsed by `listing`.

// The helpers below are test code too: a panic there is a test failure with
// a message (as in the `tests` crate).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, Stdio};
use std::ptr;

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use predicates::prelude::*;
use tests::{TIMEOUT, lines};

/// One question of the listing.
#[derive(Debug, Clone, PartialEq)]
struct Listed {
    text: String,
    options: Vec<String>,
    answer: char,
    section: String,
    explanation: String,
}

impl Listed {
    /// The right option as the quiz names it: `B. Shared Memory`.
    fn right(&self) -> String {
        let index = letter_index(self.answer);
        format!("{}. {}", self.answer, self.options[index])
    }

    /// A wrong letter: the one after the answer, D wrapping round to A.
    fn wrong(&self) -> char {
        LETTERS[(letter_index(self.answer) + 1) % 4]
    }
}

const LETTERS: [char; 4] = ['A', 'B', 'C', 'D'];

fn letter_index(letter: char) -> usize {
    LETTERS.iter().position(|&l| l == letter).unwrap()
}

/// The questions in the order `quiz ARGS` asks them: `quiz --list ARGS`,
/// parsed. Each block is `N. question`, four options `   X. option`, then
/// `   Answer: X`, `   Section: ...` and `   Explanation: ...`.
fn listing(args: &[&str]) -> Vec<Listed> {
    let output = cargo_bin_cmd!("quiz")
        .arg("--list")
        .args(args)
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let lines = lines(&output.get_output().stdout);
    let blocks: Vec<&[String]> = lines[1..].split(String::is_empty).skip(1).collect();
    let listed: Vec<Listed> = (1..)
        .zip(blocks)
        .map(|(number, block)| {
            assert_eq!(block.len(), 8, "a question's block: {block:#?}");
            let after = |line: &str, prefix: String| {
                line.strip_prefix(&prefix)
                    .unwrap_or_else(|| panic!("{prefix:?} starts {line:?}"))
                    .to_owned()
            };
            let options = LETTERS
                .iter()
                .zip(&block[1..5])
                .map(|(letter, line)| after(line, format!("   {letter}. ")))
                .collect();
            let answer = after(&block[5], "   Answer: ".into());
            assert_eq!(answer.len(), 1, "one letter: {answer:?}");
            Listed {
                text: after(&block[0], format!("{number}. ")),
                options,
                answer: answer.chars().next().unwrap(),
                section: after(&block[6], "   Section: ".into()),
                explanation: after(&block[7], "   Explanation: ".into()),
            }
        })
        .collect();
    assert!(!listed.is_empty(), "a listing: {lines:#?}");
    listed
}

/// Runs the quiz with `args`, the lines of `input` on stdin; expects exit 0
/// and nothing on stderr, and returns stdout's lines.
fn quiz(args: &[&str], input: &str) -> Vec<String> {
    let output = cargo_bin_cmd!("quiz")
        .args(args)
        .write_stdin(input)
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("");
    let stdout = &output.get_output().stdout;
    assert!(!stdout.contains(&0x1b), "no colour in a pipe");
    lines(stdout)
}

/// One line per answer.
fn answers(letters: impl IntoIterator<Item = char>) -> String {
    letters.into_iter().map(|l| format!("{l}\n")).collect()
}

fn count(lines: &[String], line: &str) -> usize {
    lines.iter().filter(|l| *l == line).count()
}

/// The lines after "To re-read:".
fn to_reread(lines: &[String]) -> Vec<String> {
    match lines.iter().position(|l| l == "To re-read:") {
        Some(at) => lines[at + 1..]
            .iter()
            .map(|l| l.trim().to_owned())
            .collect(),
        None => Vec::new(),
    }
}

#[test]
fn the_listing_shows_every_question_with_one_answer_the_tutorials_first() {
    let listed = listing(&[]);
    assert!(listed.len() >= 15, "{} questions", listed.len());
    for q in &listed {
        let mut options = q.options.clone();
        options.sort();
        options.dedup();
        assert_eq!(options.len(), 4, "four different options: {q:#?}");
        assert!(LETTERS.contains(&q.answer), "{q:#?}");
        assert!(!q.section.is_empty() && !q.explanation.is_empty(), "{q:#?}");
    }
    let mut texts: Vec<_> = listed.iter().map(|q| &q.text).collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), listed.len(), "no question twice");

    // The tutorial's own quiz question, as issue 4 quotes it.
    let first = &listed[0];
    assert_eq!(
        first.text,
        "Which IPC mechanism typically provides the fastest data transfer for large amounts of data?"
    );
    assert_eq!(
        first.options,
        ["Pipes", "Shared Memory", "Message Queues", "Sockets"]
    );
    assert_eq!(first.answer, 'B');
}

#[test]
fn all_answers_right_scores_n_of_n() {
    let listed = listing(&[]);
    let n = listed.len();
    let lines = quiz(&[], &answers(listed.iter().map(|q| q.answer)));

    assert_eq!(
        lines[0],
        format!("IPC quiz: {n} questions on the tutorial. Answer each with a letter, A to D.")
    );
    let mut expected = Vec::new();
    for (number, q) in (1..).zip(&listed) {
        expected.push(format!("Question {number} of {n}"));
        expected.push(q.text.clone());
        expected.push(format!("Right! The answer is {}.", q.right()));
        expected.push(q.explanation.clone());
        expected.push(format!("Section: {}", q.section));
    }
    assert_subsequence(&lines, &expected);
    assert_eq!(count(&lines, "Your answer (A-D):"), n, "one prompt each");
    assert!(!lines.iter().any(|l| l.starts_with("Wrong.")));
    let end = &lines[lines.len() - 2..];
    assert_eq!(
        end,
        [format!("Score: {n}/{n}"), "Every answer was right.".into()]
    );
}

#[test]
fn all_answers_wrong_scores_zero_and_lists_the_sections_to_reread() {
    let listed = listing(&[]);
    let n = listed.len();
    let lines = quiz(&[], &answers(listed.iter().map(Listed::wrong)));

    let verdicts: Vec<String> = listed
        .iter()
        .map(|q| {
            format!(
                "Wrong. You answered {}. The answer is {}.",
                q.wrong(),
                q.right()
            )
        })
        .collect();
    assert_subsequence(&lines, &verdicts);
    assert!(!lines.iter().any(|l| l.starts_with("Right!")));
    assert!(lines.contains(&format!("Score: 0/{n}")));

    // Every section of the quiz, once.
    let reread = to_reread(&lines);
    let mut sections: Vec<String> = listed.iter().map(|q| q.section.clone()).collect();
    sections.sort();
    sections.dedup();
    let mut listed_once = reread.clone();
    listed_once.sort();
    assert_eq!(listed_once, sections, "re-read: {reread:#?}");
}

#[test]
fn a_wrong_answer_lists_only_its_own_section() {
    // Right, wrong, right, then the end of input.
    let listed = listing(&[]);
    let input = answers([listed[0].answer, listed[1].wrong(), listed[2].answer]);
    let lines = quiz(&[], &input);
    let score = format!("Score: 2/3 (3 of {} questions answered)", listed.len());
    assert!(lines.contains(&score), "{score} in {lines:#?}");
    assert_eq!(to_reread(&lines), [listed[1].section.clone()]);
}

#[test]
fn anything_but_a_letter_gets_a_hint_and_the_same_question_again() {
    let listed = listing(&[]);
    let n = listed.len();
    let first = &listed[0];
    // Not answers: an empty line, spaces, a letter past D, two letters, a
    // letter with a dot, a digit. Then the answer in lower case, with spaces
    // and a carriage return around it.
    let not_answers = ["", "   ", "E", "AB", "b.", "2"];
    let answer = first.answer.to_ascii_lowercase();
    let mut input: String = not_answers.iter().map(|l| format!("{l}\n")).collect();
    input.push_str(&format!("  {answer} \r\n"));
    let lines = quiz(&[], &input);

    // Each one named in its hint, trimmed: the empty line and the spaces alike.
    for typed in not_answers {
        let typed = typed.trim();
        let hint = format!("{typed:?} is not an answer: type one letter, A, B, C or D.");
        let times = not_answers.iter().filter(|t| t.trim() == typed).count();
        assert_eq!(count(&lines, &hint), times, "{hint} in {lines:#?}");
    }
    let asked = not_answers.len() + 1;
    assert_eq!(count(&lines, &format!("Question 1 of {n}")), asked);
    assert_eq!(count(&lines, &first.text), asked);
    for option in LETTERS.iter().zip(&first.options) {
        assert_eq!(
            count(&lines, &format!("  {}. {}", option.0, option.1)),
            asked
        );
    }
    assert_eq!(
        count(&lines, "Your answer (A-D):"),
        asked + 1,
        "and the next question's"
    );
    assert!(lines.contains(&format!("Right! The answer is {}.", first.right())));
    // One of all the questions answered: the score says so.
    let score = format!("Score: 1/1 (1 of {n} questions answered)");
    assert!(lines.contains(&score), "{score} in {lines:#?}");
    assert!(lines.contains(&"Every answer given was right.".to_owned()));
}

#[test]
fn the_end_of_input_stops_the_quiz_with_the_score_so_far() {
    let listed = listing(&[]);
    let n = listed.len();
    // Three answers, the last without its newline.
    let mut input = answers(listed[..3].iter().map(|q| q.answer));
    input.pop();
    let lines = quiz(&[], &input);

    assert!(
        lines.contains(&listed[3].text),
        "the fourth question is asked"
    );
    assert!(!lines.contains(&listed[4].text), "and no question after it");
    let end = &lines[lines.len() - 5..];
    assert_eq!(
        end,
        [
            "Your answer (A-D):".to_owned(),
            format!("End of input after 3 of {n} questions."),
            String::new(),
            format!("Score: 3/3 (3 of {n} questions answered)"),
            "Every answer given was right.".into(),
        ]
    );
}

#[test]
fn no_input_at_all_scores_nothing_and_exits_0() {
    let n = listing(&[]).len();
    let lines = quiz(&[], "");
    let end = &lines[lines.len() - 3..];
    assert_eq!(
        end,
        [
            format!("End of input after 0 of {n} questions."),
            String::new(),
            format!("Score: 0/0 (0 of {n} questions answered)"),
        ]
    );
}

#[test]
fn a_seeded_shuffle_is_the_same_twice_and_differs_from_the_default_order() {
    let default = listing(&[]);
    let shuffled = listing(&["--shuffle", "42"]);
    assert_eq!(
        listing(&["--shuffle", "42"]),
        shuffled,
        "the same seed, the same listing"
    );
    assert_eq!(listing(&["--shuffle=42"]), shuffled);
    assert_ne!(
        listing(&["--shuffle", "43"]),
        shuffled,
        "another seed, another order"
    );

    // The same questions with the same options and the same right option,
    // in another order, and options moved within the questions.
    let texts = |listed: &[Listed]| listed.iter().map(|q| q.text.clone()).collect::<Vec<_>>();
    assert_ne!(texts(&shuffled), texts(&default), "another question order");
    let mut moved = 0;
    for q in &default {
        let s = shuffled.iter().find(|s| s.text == q.text).unwrap();
        let mut options = s.options.clone();
        options.sort();
        let mut written = q.options.clone();
        written.sort();
        assert_eq!(options, written, "{:?}", q.text);
        assert_eq!(
            s.options[letter_index(s.answer)],
            q.options[letter_index(q.answer)],
            "the right option stays right: {:?}",
            q.text
        );
        assert_eq!((&s.section, &s.explanation), (&q.section, &q.explanation));
        moved += usize::from(s.options != q.options);
    }
    assert!(moved > 0, "some options are shown in another order");

    // The quiz asks in the order listed: the listing's answers are all right.
    let n = shuffled.len();
    let input = answers(shuffled.iter().map(|q| q.answer));
    let lines = quiz(&["--shuffle", "42"], &input);
    let expected: Vec<String> = shuffled.iter().map(|q| q.text.clone()).collect();
    assert_subsequence(&lines, &expected);
    assert!(lines.contains(&format!("Score: {n}/{n}")));
    assert_eq!(
        quiz(&["--shuffle", "42"], &input),
        lines,
        "the same run twice"
    );
}

#[test]
fn help_prints_the_usage_and_the_options() {
    cargo_bin_cmd!("quiz")
        .arg("--help")
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stderr("")
        .stdout(predicate::str::starts_with(
            "Usage: quiz [--list] [--shuffle SEED] [--score-file PATH]\n",
        ))
        .stdout(predicate::str::contains("--list"))
        .stdout(predicate::str::contains("--shuffle SEED"));
}

#[test]
fn bad_usage_prints_the_problem_and_the_usage_line_and_exits_2() {
    let cases: [(&[&str], &str); 9] = [
        (&["--shuffle"], "quiz: --shuffle needs a SEED"),
        (
            &["--shuffle", "soon"],
            "quiz: --shuffle soon: the SEED is a whole number",
        ),
        (
            &["--shuffle=-1"],
            "quiz: --shuffle -1: the SEED is a whole number",
        ),
        (&["--verbose"], "quiz: unknown option --verbose"),
        (&["answers.txt"], "quiz: unexpected argument answers.txt"),
        // An empty argument is shown, not an invisible blank.
        (&[""], "quiz: unexpected argument \"\""),
        // An option given twice is refused, not silently overridden.
        (
            &["--shuffle", "1", "--shuffle", "2"],
            "quiz: --shuffle given twice",
        ),
        (&["--list", "--list"], "quiz: --list given twice"),
        (&["--score-file"], "quiz: --score-file needs a PATH"),
    ];
    for (args, problem) in cases {
        cargo_bin_cmd!("quiz")
            .args(args)
            .write_stdin("B\n")
            .timeout(TIMEOUT)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::starts_with(problem))
            .stderr(predicate::str::ends_with(
                "\nUsage: quiz [--list] [--shuffle SEED] [--score-file PATH]\n",
            ));
    }
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    // `quiz --list | head -1`, and a quiz whose reader has gone: the first
    // write fails with EPIPE.
    for args in [&["--list"][..], &[]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let output = Command::new(cargo_bin!("quiz"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "write stdout: Broken pipe\n"
        );
    }
}

#[test]
fn colour_on_a_terminal_unless_no_color_is_set() {
    let bold_first_question = "1. \x1b[1mWhich IPC mechanism";
    let coloured = on_a_terminal(&["--list"], &[]);
    assert!(coloured.contains(bold_first_question), "{coloured}");
    assert!(coloured.contains("\x1b[32mAnswer: B\x1b[0m"));

    let empty = on_a_terminal(&["--list"], &[("NO_COLOR", "")]);
    assert!(
        empty.contains(bold_first_question),
        "an empty NO_COLOR is unset"
    );

    for value in ["1", "0", "false"] {
        let plain = on_a_terminal(&["--list"], &[("NO_COLOR", value)]);
        assert!(!plain.contains('\x1b'), "NO_COLOR={value}: {plain}");
        assert!(plain.contains("\n1. Which IPC mechanism"));
    }
}

/// Runs `quiz ARGS` with stdout on a pseudo-terminal, as in a terminal
/// window, and returns what it wrote there.
fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> String {
    on_a_terminal_of(None, args, env)
}

/// As [`on_a_terminal`], on a terminal `columns` wide (none: no size set).
fn on_a_terminal_of(columns: Option<u16>, args: &[&str], env: &[(&str, &str)]) -> String {
    let (mut terminal, program_side) = openpty(columns);
    let mut command = Command::new(cargo_bin!("quiz"));
    command
        .args(args)
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(program_side.try_clone().unwrap())
        .stderr(program_side);
    // Dropping the command drops our copies of the program's side, so that
    // reading ends when the program does.
    let mut program = command.spawn().unwrap();
    drop(command);

    let mut shown = Vec::new();
    match terminal.read_to_end(&mut shown) {
        // Linux reports the other side closed as EIO.
        Err(error) if error.raw_os_error() == Some(libc::EIO) => {}
        Err(error) if error.kind() != ErrorKind::Interrupted => panic!("read: {error}"),
        _ => {}
    }
    assert!(program.wait().unwrap().success());
    String::from_utf8(shown).unwrap().replace("\r\n", "\n")
}

/// A new pseudo-terminal, `columns` wide if given: (the terminal's side,
/// the program's side).
fn openpty(columns: Option<u16>) -> (File, OwnedFd) {
    let mut terminal = -1;
    let mut program_side = -1;
    let size = columns.map(|columns| libc::winsize {
        ws_row: 24,
        ws_col: columns,
        ws_xpixel: 0,
        ws_ypixel: 0,
    });
    let size = size.as_ref().map_or(ptr::null(), ptr::from_ref);
    // SAFETY: openpty writes the two descriptors it opens into the two ints;
    // the null name and termios mean "none", and the window size is null or
    // points to a winsize that outlives the call.
    let opened = unsafe {
        libc::openpty(
            &mut terminal,
            &mut program_side,
            ptr::null_mut(),
            ptr::null(),
            size,
        )
    };
    assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: openpty opened `terminal` just now, and nothing else owns it.
    let terminal = unsafe { File::from_raw_fd(terminal) };
    // SAFETY: the same, for the program's side.
    let program_side = unsafe { OwnedFd::from_raw_fd(program_side) };
    (terminal, program_side)
}

/// `expected` appears in `lines` in this order, possibly with other lines
/// between.
fn assert_subsequence(lines: &[String], expected: &[String]) {
    let mut rest = lines.iter();
    for line in expected {
        assert!(
            rest.any(|l| l == line),
            "expected {line:?}, in order, in {lines:#?}"
        );
    }
}

#[test]
fn score_file_holds_the_score_as_json_for_a_script() {
    let listed = listing(&[]);
    let n = listed.len();
    let dir = tests::TestDir::new();
    let path = dir.path().join("score.json");
    // Two answers: the first right, the second wrong.
    let input = answers([listed[0].answer, listed[1].wrong()]);
    cargo_bin_cmd!("quiz")
        .arg("--score-file")
        .arg(&path)
        .write_stdin(input)
        .timeout(TIMEOUT)
        .assert()
        .success();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.ends_with("}\n"),
        "one JSON object and a newline: {text:?}"
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let expected = serde_json::json!({
        "score": 1,
        "answered": 2,
        "questions": n,
        "to_reread": [listed[1].section],
    });
    assert_eq!(json, expected);
}

#[test]
fn long_lines_wrap_at_words_to_the_terminals_width() {
    let listed = listing(&[]);
    let shown = on_a_terminal_of(Some(40), &["--list"], &[("NO_COLOR", "1")]);
    for line in shown.lines() {
        assert!(
            line.chars().count() <= 40,
            "wider than the terminal: {line:?}"
        );
    }
    // Each explanation is still all there, its words in order, none cut.
    let words: Vec<&str> = shown.split_whitespace().collect();
    for question in &listed {
        let explanation: Vec<&str> = question.explanation.split_whitespace().collect();
        assert!(
            words.windows(explanation.len()).any(|w| w == explanation),
            "{:?} is not whole in {shown}",
            question.explanation
        );
    }
}
