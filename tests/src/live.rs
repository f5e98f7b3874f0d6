//! A live session: a program with its stdin held open and its stdout read
//! line by line, for a test that types into it or signals it mid-way.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

/// A program running with its stdin held open and its stdout read line by
/// line, in a process group of its own as a shell starts a job: for a test
/// that acts on it mid-way (types a line, sends a signal) and then reads how
/// it ends.
#[derive(Debug)]
pub struct Live {
    program: std::process::Child,
    stdin: Option<ChildStdin>,
    stdout: io::Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Live {
    /// Starts `program` and reads its output up to the line `ready`.
    pub fn start(program: &Path, ready: &str) -> Self {
        let mut program = Command::new(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let stdin = program.stdin.take();
        let stdout = BufReader::new(program.stdout.take().unwrap()).lines();
        let mut live = Self {
            program,
            stdin,
            stdout,
            seen: Vec::new(),
        };
        live.read_until(ready);
        live
    }

    /// The lines read so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Reads the output up to the line `wanted`: the program has done
    /// everything before it.
    pub fn read_until(&mut self, wanted: &str) {
        for line in self.stdout.by_ref() {
            let line = line.unwrap();
            self.seen.push(line.clone());
            if line == wanted {
                return;
            }
        }
        panic!("no {wanted:?} in {:#?}", self.seen);
    }

    /// Writes `line` and a newline to the program's stdin.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
    }

    /// Sends `signal` to the program's whole process group, as a terminal
    /// does for Ctrl-C (`group`), or to the program alone.
    pub fn signal(&self, signal: libc::c_int, group: bool) {
        let pid = i32::try_from(self.program.id()).unwrap();
        let target = if group { -pid } else { pid };
        // SAFETY: kill takes no pointers.
        assert_eq!(unsafe { libc::kill(target, signal) }, 0);
    }

    /// Reads the rest of the output (with stdin still open: the program ends
    /// by itself) and returns its exit status, every line it printed, and
    /// its stderr.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        for line in self.stdout.by_ref() {
            self.seen.push(line.unwrap());
        }
        drop(self.stdin.take());
        let output = self.program.wait_with_output().unwrap();
        (
            output.status.code(),
            self.seen,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}
