//! A progress indicator on stderr: one line redrawn in place when stderr is
//! a terminal, one plain line per measurement otherwise (a log, a pipe).

use std::io::{self, IsTerminal, Write};

use crate::stats::now_ns;

#[derive(Debug)]
pub struct Progress {
    redraw: bool,
    total: usize,
    done: usize,
    label: String,
    /// When the line was last drawn (ns), to redraw at most 10 times a second.
    drawn_at: u64,
}

impl Progress {
    /// A progress indicator for `total` measurements.
    pub fn new(total: usize) -> Self {
        Self {
            redraw: io::stderr().is_terminal(),
            total,
            done: 0,
            label: String::new(),
            drawn_at: 0,
        }
    }

    /// A measurement begins.
    pub fn start(&mut self, label: String) {
        self.done += 1;
        self.label = label;
        if self.redraw {
            self.draw(None);
        } else {
            let _ = writeln!(
                io::stderr(),
                "bench: [{}/{}] {}",
                self.done,
                self.total,
                self.label
            );
        }
    }

    /// How far the current measurement is, from 0 to 1.
    /// The steps not finished yet, the current one included.
    pub fn remaining(&self) -> usize {
        self.total.saturating_sub(self.done) + 1
    }

    pub fn fraction(&mut self, done: f64) {
        if self.redraw && now_ns() - self.drawn_at > 100_000_000 {
            self.draw(Some(done));
        }
    }

    fn draw(&mut self, fraction: Option<f64>) {
        let percent = fraction.map_or(String::new(), |f| format!(" {:3.0}%", f * 100.0));
        // \r: back to the start of the line; \x1b[K: erase to its end.
        let _ = write!(
            io::stderr(),
            "\r\x1b[K[{}/{}] {}{percent}",
            self.done,
            self.total,
            self.label
        );
        self.drawn_at = now_ns();
    }

    /// Erases the line before the report is printed.
    pub fn clear(&mut self) {
        if self.redraw {
            let _ = write!(io::stderr(), "\r\x1b[K");
        }
    }
}
