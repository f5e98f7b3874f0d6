//! The checklist: one result per check, then a score; as text for a person
//! (colour only on a terminal, `NO_COLOR` respected) or as one JSON document
//! in the shape of Gradescope's `results.json` (see `docs/checker.md`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Level;

/// One check's result.
#[derive(Debug, Clone)]
pub struct CheckResult {
    /// A stable id, such as `L3` or `R1`.
    pub number: &'static str,
    pub name: String,
    pub passed: bool,
    /// What was seen when it passed; what was expected and what was seen
    /// when it failed.
    pub output: String,
    pub level: Level,
}

/// The checklist of one program.
#[derive(Debug, Clone)]
pub struct Report {
    pub example: String,
    pub program: PathBuf,
    pub level: Level,
    pub results: Vec<CheckResult>,
    /// What the checker did besides checking (objects it removed, names it
    /// left alone), one line each.
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(example: &str, program: &Path, level: Level) -> Self {
        Self {
            example: example.to_owned(),
            program: program.to_owned(),
            level,
            results: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn push(
        &mut self,
        number: &'static str,
        level: Level,
        name: impl Into<String>,
        outcome: Result<String, String>,
    ) {
        let (passed, output) = match outcome {
            Ok(output) => (true, output),
            Err(output) => (false, output),
        };
        self.results.push(CheckResult {
            number,
            name: name.into(),
            passed,
            output,
            level,
        });
    }

    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !note.is_empty() && !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    pub fn passed(&self) -> usize {
        self.results.iter().filter(|r| r.passed).count()
    }

    pub fn all_passed(&self) -> bool {
        self.passed() == self.results.len()
    }

    /// The result of the check `number`, for tests.
    pub fn result(&self, number: &str) -> Option<&CheckResult> {
        self.results.iter().find(|r| r.number == number)
    }

    fn title(&self) -> String {
        format!(
            "{} checked as the {} example (level {})",
            self.program.display(),
            self.example,
            self.level.name()
        )
    }

    fn score_line(&self) -> String {
        format!(
            "Score: {}/{} checks passed",
            self.passed(),
            self.results.len()
        )
    }

    /// The checklist as text; `colour` for a terminal.
    pub fn text(&self, colour: bool) -> String {
        let paint = |code: &str, text: &str| {
            if colour {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let mut out = format!("{}\n", paint("1", &self.title()));
        for result in &self.results {
            let mark = if result.passed {
                paint("32", "PASS")
            } else {
                paint("1;31", "FAIL")
            };
            out += &format!("  {mark}  {} {}\n", result.number, result.name);
            if !result.passed {
                for line in result.output.lines() {
                    out += &format!("          {line}\n");
                }
            }
        }
        for note in &self.notes {
            out += &format!("  note: {note}\n");
        }
        out += &paint("1", &self.score_line());
        out.push('\n');
        out
    }

    /// The checklist as Gradescope's `results.json`.
    pub fn json(&self) -> String {
        let document = Results {
            score: self.passed(),
            output: format!("{}\n{}", self.title(), self.score_line())
                + &self
                    .notes
                    .iter()
                    .map(|n| format!("\nnote: {n}"))
                    .collect::<String>(),
            tests: self
                .results
                .iter()
                .map(|r| Test {
                    number: r.number,
                    name: r.name.clone(),
                    score: u32::from(r.passed),
                    max_score: 1,
                    status: if r.passed { "passed" } else { "failed" },
                    output: r.output.clone(),
                    tags: vec![r.level.name()],
                })
                .collect(),
        };
        serde_json::to_string_pretty(&document).unwrap_or_default()
    }
}

/// Gradescope's `results.json`, the fields the checker fills.
#[derive(Serialize)]
struct Results {
    score: usize,
    output: String,
    tests: Vec<Test>,
}

#[derive(Serialize)]
struct Test {
    number: &'static str,
    name: String,
    score: u32,
    max_score: u32,
    status: &'static str,
    output: String,
    tags: Vec<&'static str>,
}

/// Whether the checklist goes to a terminal that wants colour: stdout is a
/// terminal and `NO_COLOR` is not set to a non-empty value (no-color.org).
pub fn colour_wanted() -> bool {
    use std::io::IsTerminal;
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && std::io::stdout().is_terminal()
}
