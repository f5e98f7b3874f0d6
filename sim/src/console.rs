//! The controller's side of the session: reading commands from a person at a
//! terminal or from a script, and stopping cleanly on Ctrl-C or SIGTERM.
//!
//! - On a terminal (stdin is a tty) the controller prints a prompt and lets
//!   the terminal's own line editing (canonical mode: Backspace, Ctrl-W,
//!   Ctrl-U) do the rest; colour only if stdout is a terminal too, `NO_COLOR`
//!   is unset or empty and `TERM` is not `dumb`.
//! - From a script, it prints each command after the prompt itself, so the
//!   output is the same transcript a person would see, without escape codes.
//! - On a terminal, a line wider than the terminal is wrapped at spaces
//!   ([`say`], [`wrap`]) rather than broken by the terminal mid-word; off a
//!   terminal every line goes out as it is.
//! - SIGINT and SIGTERM are blocked in the controller except while it waits
//!   in `ppoll(2)`, so a signal can only arrive there: the handler stores the
//!   signal in an atomic, `ppoll` fails with `EINTR`, and the wait returns
//!   [`Interrupted`] for the controller to clean up and exit 128 + signal.

use std::fmt;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use common::{Perror, SysError};
use libc::c_int;
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

/// The signal that ended the session, as an error that `?` carries up to
/// `run`, which removes the IPC object and exits 128 + the signal's number.
#[derive(Debug, Clone, Copy)]
pub struct Interrupted(pub Signal);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "interrupted by {}", self.0)
    }
}

impl std::error::Error for Interrupted {}

/// The signal the handler saw, 0 for none.
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn note_signal(signal: c_int) {
    // Only an atomic store: nothing else is safe in a signal handler.
    CAUGHT.store(signal, Ordering::Relaxed);
}

fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

/// In the controller, before anything is created: SIGINT and SIGTERM are
/// blocked, and noted by [`note_signal`] when [`wait_readable`] lets them in.
pub fn catch_signals() -> Result<(), SysError> {
    stop_signals().thread_block().perror("sigprocmask")?;
    let action = SigAction::new(
        SigHandler::Handler(note_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic, which is
        // async-signal-safe.
        unsafe { sigaction(signal, &action) }.perror("sigaction")?;
    }
    Ok(())
}

/// The signal that stopped the controller, if one did.
pub fn caught() -> Option<Signal> {
    Signal::try_from(CAUGHT.load(Ordering::Relaxed)).ok()
}

/// In a forked worker: Ctrl-C reaches every process of the terminal's
/// foreground group, but ending the workers is the controller's job, so
/// they ignore SIGINT. SIGTERM ends a worker as it ends any process.
pub fn worker_signals() -> Result<(), SysError> {
    for (signal, handler) in [
        (Signal::SIGINT, SigHandler::SigIgn),
        (Signal::SIGTERM, SigHandler::SigDfl),
    ] {
        let action = SigAction::new(handler, SaFlags::empty(), SigSet::empty());
        // SAFETY: ignoring a signal or restoring its default installs no
        // handler of ours.
        unsafe { sigaction(signal, &action) }.perror("sigaction")?;
    }
    stop_signals().thread_unblock().perror("sigprocmask")
}

/// Waits until one of `fds` can be read (or is at its end), or `timeout`
/// has passed, with SIGINT and SIGTERM let in for the wait alone; returns
/// which are ready.
pub fn wait_readable(
    fds: &[BorrowedFd<'_>],
    timeout: Option<Duration>,
) -> anyhow::Result<Vec<bool>> {
    let mut polled: Vec<libc::pollfd> = fds
        .iter()
        .map(|fd| libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let nfds = libc::nfds_t::try_from(polled.len())?;
    let timeout = timeout.map(|t| libc::timespec {
        tv_sec: libc::time_t::try_from(t.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(t.subsec_nanos()),
    });
    let timeout = timeout.as_ref().map_or(ptr::null(), ptr::from_ref);
    let open = SigSet::empty();
    loop {
        // SAFETY: `polled` holds `nfds` pollfd structs that ppoll may
        // update; `timeout` is null (no limit) or points to a timespec that
        // outlives the call; `open` is a valid signal mask (nothing blocked)
        // for the duration of the wait.
        let ready = unsafe { libc::ppoll(polled.as_mut_ptr(), nfds, timeout, open.as_ref()) };
        if let Some(signal) = caught() {
            return Err(Interrupted(signal).into());
        }
        match Errno::result(ready) {
            Ok(_) => return Ok(polled.iter().map(|p| p.revents != 0).collect()),
            Err(Errno::EINTR) => continue,
            Err(errno) => return Err(SysError::new("ppoll", errno).into()),
        }
    }
}

/// Prints a line of the transcript (or several, separated by newlines) in
/// one `write(2)`, as `common::say!` does. On a terminal, each line longer
/// than the terminal is wide is first wrapped at spaces ([`wrap`]), so that
/// the terminal does not break it mid-word; anywhere else (a pipe, a file,
/// the tests) the text goes out unchanged.
pub fn say(line: fmt::Arguments<'_>) -> Result<(), SysError> {
    static ON_TERMINAL: OnceLock<bool> = OnceLock::new();
    if !*ON_TERMINAL.get_or_init(|| io::stdout().is_terminal()) {
        return common::say!("{line}");
    }
    // Asked at each line: the terminal may have been resized meanwhile.
    let width = terminal_size::terminal_size_of(io::stdout()).map(|(width, _)| width.0.into());
    common::say!("{}", wrap(&line.to_string(), width))
}

/// `say!("...", args)`: [`say`] with `format!`'s arguments.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::console::say(::std::format_args!($($arg)*))
    };
}

/// `text` with each of its lines that is wider than `width` columns broken
/// at spaces into lines that fit; a word longer than the width is split.
/// A continuation is indented so that it reads as part of its line
/// ([`hanging_indent`]). `None` (not a terminal, or no width known): `text`
/// unchanged.
pub fn wrap(text: &str, width: Option<usize>) -> String {
    let Some(width) = width.filter(|&width| width > 0) else {
        return text.to_owned();
    };
    let lines: Vec<String> = text
        .split('\n')
        .flat_map(|line| {
            if textwrap::core::display_width(line) <= width {
                return vec![line.to_owned()];
            }
            let indent = " ".repeat(hanging_indent(line, width));
            let options = textwrap::Options::new(width)
                .word_separator(textwrap::WordSeparator::AsciiSpace)
                .subsequent_indent(&indent);
            textwrap::wrap(line, options)
                .into_iter()
                .map(|piece| piece.trim_end().to_owned())
                .collect()
        })
        .collect();
    lines.join("\n")
}

/// Where the continuations of `line` start: under its second column if it
/// has one (`  show      the kernel's view`: a list of commands), under
/// its text if it is already deeply indented, else two columns in from it;
/// but where that leaves less than 20 columns of `width`, two columns in.
fn hanging_indent(line: &str, width: usize) -> usize {
    let text = line.trim_start();
    let indent = line.len() - text.len();
    let column = text
        .find("  ")
        .and_then(|gap| {
            let after = &text[gap..];
            let column = gap + (after.len() - after.trim_start().len());
            (column < text.len()).then_some(indent + column)
        })
        .unwrap_or(if indent >= 8 { indent } else { indent + 2 });
    match column {
        column if column + 20 <= width => column,
        _ if width >= 10 => 2,
        _ => 0,
    }
}

/// A line read from a pipe or stdin.
#[derive(Debug, PartialEq, Eq)]
pub enum Line {
    Text(String),
    End,
}

/// Lines from a file descriptor that the caller polls: nothing is read
/// until `ppoll` says it can be, and lines already read wait here.
#[derive(Debug)]
pub struct Lines<R> {
    source: R,
    buffer: Vec<u8>,
    ended: bool,
}

impl<R: Read + AsFd> Lines<R> {
    pub fn new(source: R) -> Self {
        Self {
            source,
            buffer: Vec::new(),
            ended: false,
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.source.as_fd()
    }

    /// A line already read, if there is one (or the end, once reached).
    pub fn buffered(&mut self) -> Option<Line> {
        if let Some(newline) = self.buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.buffer.drain(..=newline).collect();
            let text = String::from_utf8_lossy(&line[..newline]);
            return Some(Line::Text(text.trim_end_matches('\r').to_owned()));
        }
        if !self.ended {
            None
        } else if self.buffer.is_empty() {
            Some(Line::End)
        } else {
            // A last line without its newline.
            let line = std::mem::take(&mut self.buffer);
            Some(Line::Text(String::from_utf8_lossy(&line).into_owned()))
        }
    }

    /// One `read(2)`, once the descriptor is readable.
    pub fn fill(&mut self) -> Result<(), SysError> {
        let mut chunk = [0; 4096];
        let n = common::blocking(|| self.source.read(&mut chunk)).perror("read")?;
        self.ended = n == 0;
        self.buffer.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// The next line, waiting for it if needed.
    pub fn next_line(&mut self) -> anyhow::Result<Line> {
        loop {
            if let Some(line) = self.buffered() {
                return Ok(line);
            }
            wait_readable(&[self.fd()], None)?;
            self.fill()?;
        }
    }
}

/// What the controller gets while it waits for a command.
#[derive(Debug, PartialEq, Eq)]
pub enum Input {
    Command(String),
    /// The end of the input (Ctrl-D on a terminal): the same as `quit`.
    End,
    /// The `n`th of the watched descriptors has something to read.
    Event(usize),
}

/// The session's input and output.
#[derive(Debug)]
pub struct Console {
    prompt: &'static str,
    interactive: bool,
    colour: bool,
    stdin: Lines<File>,
}

impl Console {
    pub fn new(prompt: &'static str) -> Result<Self, SysError> {
        let stdin = io::stdin();
        let interactive = stdin.is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        let colour = io::stdout().is_terminal() && !no_color && !dumb;
        // A descriptor of our own for stdin, read with plain read(2) calls,
        // so no buffer inside std holds lines that ppoll cannot see.
        let stdin = File::from(stdin.as_fd().try_clone_to_owned().perror("dup stdin")?);
        Ok(Self {
            prompt,
            interactive,
            colour,
            stdin: Lines::new(stdin),
        })
    }

    pub fn interactive(&self) -> bool {
        self.interactive
    }

    /// `text` in the style of SGR `code` (`1` bold, `7` reverse, `33` yellow…)
    /// on a colour terminal; plain text otherwise.
    pub fn paint(&self, text: &str, code: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Prints one line of the transcript (see [`say`]).
    pub fn say(&self, line: impl fmt::Display) -> anyhow::Result<()> {
        say(format_args!("{line}"))?;
        Ok(())
    }

    /// Prompts (on a terminal) and waits for a command line, or for one of
    /// `watch` (a worker's report pipe) to have something to say.
    pub fn read_command(&mut self, watch: &[BorrowedFd<'_>]) -> anyhow::Result<Input> {
        if self.interactive {
            let prompt = self.paint(self.prompt, "1");
            let mut out = io::stdout().lock();
            write!(out, "{prompt}")
                .and_then(|()| out.flush())
                .perror("write stdout")?;
        }
        loop {
            match self.stdin.buffered() {
                Some(Line::Text(command)) => {
                    if !self.interactive {
                        // The transcript shows what a person would have typed.
                        self.say(format_args!("{}{command}", self.prompt))?;
                    }
                    return Ok(Input::Command(command));
                }
                Some(Line::End) => {
                    if self.interactive {
                        // Ctrl-D after the prompt: finish its line.
                        self.say("quit")?;
                    }
                    return Ok(Input::End);
                }
                None => {}
            }
            let mut fds = vec![self.stdin.fd()];
            fds.extend_from_slice(watch);
            let ready = wait_readable(&fds, None)?;
            if let Some(n) = ready[1..].iter().position(|&r| r) {
                if self.interactive {
                    // Leave the prompt's line before the event's lines.
                    self.say("")?;
                }
                return Ok(Input::Event(n));
            }
            self.stdin.fill()?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPORT: &str = "B (pid 19372): msgrcv(queue 622593, any type) with IPC_NOWAIT fails \
                          with ENOMSG: no such message is queued";

    #[test]
    fn off_a_terminal_the_text_is_unchanged() {
        let long = REPORT.repeat(3);
        assert_eq!(wrap(&long, None), long);
        assert_eq!(wrap(&long, Some(0)), long);
    }

    #[test]
    fn a_line_that_fits_is_unchanged() {
        assert_eq!(wrap(REPORT, Some(REPORT.len())), REPORT);
        assert_eq!(wrap("  a\n\nb", Some(3)), "  a\n\nb");
    }

    #[test]
    fn a_long_line_breaks_at_spaces_never_mid_word() {
        for width in [20, 40, 79] {
            let wrapped = wrap(REPORT, Some(width));
            let lines: Vec<&str> = wrapped.lines().collect();
            assert!(lines.len() > 1, "{width}: {wrapped}");
            for line in &lines {
                assert!(line.len() <= width, "{width}: {line:?} in {wrapped}");
                assert!(!line.ends_with(' '), "{line:?}");
            }
            // The continuations are indented two columns, and the words,
            // read in order, are the line's words, each whole.
            assert!(lines[1..].iter().all(|line| line.starts_with("  ")));
            let words: Vec<&str> = wrapped.split_whitespace().collect();
            assert_eq!(words, REPORT.split_whitespace().collect::<Vec<_>>());
        }
    }

    #[test]
    fn an_indented_line_keeps_its_indent_and_each_line_wraps_alone() {
        let text = "short\n    queued, oldest first (msgrcv with MSG_COPY copies a message)";
        assert_eq!(
            wrap(text, Some(30)),
            "short\n    queued, oldest first\n      (msgrcv with MSG_COPY\n      copies a message)"
        );
    }

    #[test]
    fn a_command_list_wraps_under_its_second_column() {
        let help = "  show         the kernel's view of the queue (msgctl IPC_STAT)\n\
                    \x20              and the queued messages";
        assert_eq!(
            wrap(help, Some(40)),
            "  show         the kernel's view of the\n\
             \x20              queue (msgctl IPC_STAT)\n\
             \x20              and the queued messages"
        );
        // Too narrow for that: two columns in.
        assert_eq!(
            wrap("  show         the kernel's view", Some(24)),
            "  show         the\n  kernel's view"
        );
    }

    #[test]
    fn colour_codes_take_no_room() {
        let painted = "\x1b[1;33m68\x1b[0m 65 6c 6c 6f";
        assert_eq!(wrap(painted, Some(14)), painted);
    }

    #[test]
    fn a_word_wider_than_the_terminal_is_split() {
        assert_eq!(wrap("abcdefgh", Some(4)), "abcd\nefgh");
    }
}
