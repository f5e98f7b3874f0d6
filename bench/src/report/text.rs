//! The report for people: where the ends ran, the floor, the tutorial's
//! table with numbers, all the numbers, two bar charts and notes.

use std::fmt::Write as _;

use super::method::METHOD;
use super::{LATENCY_SIZES, Outcome, Report, THROUGHPUT_SIZES, size_name};
use crate::measure::Stream;
use crate::placement::Placement;
use crate::stats::{gigabytes_per_second, micros, seconds};

fn bytes_name(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} B")
    }
}

impl Report {
    fn where_line(&self) -> String {
        let plan = &self.plan;
        match (plan.placement, plan.parent, plan.child) {
            (Placement::Any, _, _) => format!(
                "any: not pinned, the scheduler chose among CPUs {:?} (each row's JSON/CSV says where each end was last seen)",
                plan.allowed
            ),
            (placement, Some(parent), Some(child)) => format!(
                "{}: parent pinned to CPU {parent}, child pinned to CPU {child} (sched_setaffinity)",
                placement.name()
            ),
            (placement, _, _) => placement.name().to_owned(),
        }
    }

    /// The report for people: header, the tutorial's table, all numbers,
    /// two bar charts, notes.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let c = &self.counts;
        let m = &self.machine;
        let _ = writeln!(
            out,
            "IPC bench: the tutorial's comparison table, measured on this machine"
        );
        let _ = writeln!(out);
        let _ = writeln!(out, "  placement   {}", self.where_line());
        let load = m
            .load_before
            .map_or("unknown".to_owned(), |l| format!("{l:.2}"));
        let others = m
            .others_cpus
            .map_or("unknown".to_owned(), |o| format!("{o:.2} CPUs"));
        let _ = writeln!(
            out,
            "  machine     {} CPUs online; load average {load} before the run; other processes used {others} during it; the run took {} s",
            m.cpus_online,
            seconds(m.elapsed)
        );
        if self.measure.latency {
            let _ = writeln!(
                out,
                "  latency     ROUND TRIP (request there + reply back), {} round trips per row after {} of warm-up,",
                c.round_trips, c.warmup_round_trips
            );
            let _ = writeln!(
                out,
                "              each timed alone with CLOCK_MONOTONIC (a clock read costs {} ns; included once in each sample)",
                self.clock_cost_ns
            );
        } else {
            let _ = writeln!(out, "  latency     not measured (--only throughput)");
        }
        let stream = match c.stream {
            Stream::Bytes { timed, warmup } => {
                format!(
                    "{} per row after {} of warm-up",
                    bytes_name(timed),
                    bytes_name(warmup)
                )
            }
            Stream::Messages { timed, warmup } => {
                format!("{timed} messages per row after {warmup} of warm-up")
            }
        };
        if self.measure.throughput {
            let _ = writeln!(
                out,
                "  throughput  ONE WAY, {stream}; the clock stops when the reader has checked the last byte"
            );
        } else {
            let _ = writeln!(
                out,
                "  throughput  not measured (--no-throughput or --only latency)"
            );
        }
        let verdict = if self.all_measured() {
            "none damaged"
        } else {
            "in the rows with numbers; a row without one says why under Notes"
        };
        let _ = writeln!(
            out,
            "  checked     every message, every byte (sequence number and contents): {} messages, {verdict}; how: see Method",
            self.checked()
        );
        let _ = writeln!(out);

        self.floor_lines(&mut out);
        let _ = writeln!(out);

        self.main_table(&mut out);
        let _ = writeln!(out);
        self.all_numbers(&mut out);
        let _ = writeln!(out);
        self.charts(&mut out);
        self.notes(&mut out);
        method(&mut out);
        out
    }

    /// The floor, each way it was measured, the lowest marked.
    fn floor_lines(&self, out: &mut String) {
        if !self.measure.latency {
            let _ = writeln!(out, "Physical floor: not measured (--only throughput)");
            return;
        }
        let (Some(floor), Some(way)) = (self.floor(), self.floor_way()) else {
            match &self.floor {
                Some(Outcome::Failed(error)) => {
                    let _ = writeln!(out, "Physical floor: FAILED: {error}");
                }
                Some(Outcome::Stopped(reason)) => {
                    let _ = writeln!(out, "Physical floor: {reason}");
                }
                _ => {
                    let _ = writeln!(out, "Physical floor: not measured (it needs two CPUs)");
                }
            }
            return;
        };
        let _ = writeln!(
            out,
            "Physical floor: one cache line bouncing between CPU {} and CPU {}: round trip p50 {} µs, p99 {} µs, mean {} µs ({})",
            floor.parent.cpu,
            floor.child.cpu,
            micros(floor.summary.p50_ns),
            micros(floor.summary.p99_ns),
            micros(floor.summary.mean_ns),
            way.name()
        );
        for (way, outcome) in &self.floor_ways {
            let cells = match outcome {
                Outcome::Measured(l) => format!(
                    "p50 {:>6} µs  p99 {:>6} µs  mean {:>6} µs",
                    micros(l.summary.p50_ns),
                    micros(l.summary.p99_ns),
                    micros(l.summary.mean_ns)
                ),
                Outcome::Failed(error) => format!("FAILED: {error}"),
                Outcome::Stopped(reason) => reason.clone(),
            };
            let lowest = if Some(*way) == self.floor_way() {
                "  <- the floor"
            } else {
                ""
            };
            let _ = writeln!(out, "  {:<38} {cells}{lowest}", way.name());
        }
    }

    fn main_table(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "The tutorial's table, measured (ranked by the 64 B round trip p50; shorter is faster)"
        );
        let _ = writeln!(
            out,
            " #  {:<28} {:<10} {:>19}  {:>10}  {:<11} {:<12} Network",
            "Mechanism", "Tutorial", "round trip 64 B", "throughput", "Complexity", "Persistence"
        );
        let _ = writeln!(
            out,
            "    {:<28} {:<10} {:>9} {:>9}  {:>10}",
            "", "(Speed)", "p50 µs", "p99 µs", "1 MiB GB/s"
        );
        for (rank, row) in self.ranked().into_iter().enumerate() {
            let t = row.mechanism.tutorial;
            let number = if row.small().is_some() {
                format!("{:>2}", rank + 1)
            } else {
                " -".to_owned()
            };
            // A skipped row's reason is under Notes.
            let cells = if row.skipped.is_some() {
                format!("{:>9} {:>9}  {:>10}  skipped: see Notes", "-", "-", "-")
            } else {
                let size = if row.mechanism.carries_data { 64 } else { 0 };
                let (p50, p99) = match row.latency_at(size) {
                    Some(Outcome::Measured(l)) => (
                        format!(
                            "{}{}",
                            micros(l.summary.p50_ns),
                            if row.mechanism.carries_data { "" } else { "*" }
                        ),
                        micros(l.summary.p99_ns),
                    ),
                    Some(Outcome::Failed(_)) => ("FAILED".to_owned(), "FAILED".to_owned()),
                    Some(Outcome::Stopped(_)) => ("stopped".to_owned(), "-".to_owned()),
                    None => ("-".to_owned(), "-".to_owned()),
                };
                let throughput = match row.throughput_at(1 << 20) {
                    Some(Outcome::Measured(t)) => gigabytes_per_second(t.bytes_per_second),
                    Some(Outcome::Failed(_)) => "FAILED".to_owned(),
                    Some(Outcome::Stopped(_)) => "stopped".to_owned(),
                    None => "-".to_owned(),
                };
                format!("{p50:>9} {p99:>9}  {throughput:>10}")
            };
            let tail = if row.skipped.is_some() {
                String::new()
            } else {
                format!("  {:<11} {:<12} {}", t.complexity, t.persistence, t.network)
            };
            let _ = writeln!(
                out,
                "{number}  {:<28} {:<10} {cells}{tail}",
                row.mechanism.name, t.speed
            );
        }
        if self.rows.iter().any(|row| !row.mechanism.carries_data) {
            let _ = writeln!(
                out,
                "    * signals carry no data: their round trip is a bare notification there and back (0 B)"
            );
        }
    }

    fn all_numbers(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "All numbers (round trip in µs; one-way throughput in GB/s)"
        );
        let _ = writeln!(
            out,
            "    {:<28} {:>24}  {:>24}  {:>9} {:>9}",
            "", "round trip 64 B", "round trip 4 KiB", "4 KiB", "1 MiB"
        );
        let _ = writeln!(
            out,
            "    {:<28} {:>8}{:>8}{:>8}  {:>8}{:>8}{:>8}  {:>9} {:>9}",
            "Mechanism", "p50", "p99", "mean", "p50", "p99", "mean", "GB/s", "GB/s"
        );
        for row in self.ranked() {
            let mut line = format!("    {:<28} ", row.mechanism.name);
            if row.skipped.is_some() {
                let _ = writeln!(out, "{line}skipped: see Notes");
                continue;
            }
            let sizes: Vec<usize> = if row.mechanism.carries_data {
                LATENCY_SIZES.to_vec()
            } else {
                vec![0]
            };
            for (i, size) in sizes.iter().enumerate() {
                let cells = match row.latency_at(*size) {
                    Some(Outcome::Measured(l)) => {
                        let mark = if l.stopped_early() { "†" } else { "" };
                        format!(
                            "{:>8}{:>8}{:>8}",
                            format!("{}{mark}", micros(l.summary.p50_ns)),
                            micros(l.summary.p99_ns),
                            micros(l.summary.mean_ns)
                        )
                    }
                    Some(Outcome::Failed(_)) => format!("{:>24}", "FAILED"),
                    Some(Outcome::Stopped(_)) => format!("{:>24}", "stopped"),
                    None => format!("{:>24}", "-"),
                };
                line.push_str(&cells);
                if i == 0 {
                    line.push_str("  ");
                }
            }
            if sizes.len() == 1 {
                line.push_str(&format!("{:>24}", "(0 B, no data)"));
            }
            line.push_str("  ");
            for size in THROUGHPUT_SIZES {
                let cell = match row.throughput_at(size) {
                    Some(Outcome::Measured(t)) => gigabytes_per_second(t.bytes_per_second),
                    Some(Outcome::Failed(_)) => "FAILED".to_owned(),
                    Some(Outcome::Stopped(_)) => "stopped".to_owned(),
                    None => "-".to_owned(),
                };
                line.push_str(&format!("{cell:>9} "));
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }

    fn charts(&self, out: &mut String) {
        const WIDTH: f64 = 48.0;
        // Round trip: the floor first, then every mechanism, fastest first.
        let mut bars: Vec<(String, u64)> = Vec::new();
        if let Some(floor) = self.floor() {
            bars.push(("cache line (the floor)".to_owned(), floor.summary.p50_ns));
        }
        for row in self.ranked() {
            if let Some(l) = row.small() {
                bars.push((row.mechanism.name.to_owned(), l.summary.p50_ns));
            }
        }
        let longest = bars.iter().map(|(_, ns)| *ns).max().unwrap_or(1).max(1);
        if !self.measure.latency {
            bars.clear();
        } else {
            let _ = writeln!(out, "Round trip, 64 B, p50 (shorter is faster)");
        }
        for (name, ns) in &bars {
            let length = ((*ns as f64 / longest as f64) * WIDTH).ceil() as usize;
            let _ = writeln!(
                out,
                "  {name:<28} {} {} µs",
                "█".repeat(length.max(1)),
                micros(*ns)
            );
        }
        if self.measure.latency && self.measure.throughput {
            let _ = writeln!(out);
        }
        if !self.measure.throughput {
            return;
        }

        let mut rows: Vec<(&str, f64)> = self
            .rows
            .iter()
            .filter_map(|row| {
                row.large_throughput()
                    .map(|t| (row.mechanism.name, t.bytes_per_second))
            })
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        let widest = rows.first().map_or(1.0, |(_, rate)| *rate).max(1.0);
        let _ = writeln!(out, "One-way throughput, 1 MiB messages (longer is faster)");
        for (name, rate) in &rows {
            let length = ((rate / widest) * WIDTH).ceil() as usize;
            let _ = writeln!(
                out,
                "  {name:<28} {} {} GB/s",
                "█".repeat(length.max(1)),
                gigabytes_per_second(*rate)
            );
        }
    }

    fn notes(&self, out: &mut String) {
        let mut notes = Vec::new();
        if cfg!(debug_assertions) {
            notes.push(DEBUG_BUILD.to_owned());
        }
        if let Some(floor) = self.floor() {
            for row in &self.rows {
                if !row.mechanism.spins {
                    continue;
                }
                if let Some(l) = row.small() {
                    let ratio = l.summary.p50_ns as f64 / floor.summary.p50_ns.max(1) as f64;
                    notes.push(format!(
                        "{}: 64 B round trip p50 is {ratio:.1}x the floor: the message and the word \
                         that says it is there each cross between the CPUs, both ways (Method: spin)",
                        row.mechanism.name,
                    ));
                }
            }
        }
        for row in &self.rows {
            let rate = |size| row.throughput_at(size).and_then(Outcome::measured);
            if row.mechanism.id == "pipe"
                && let (Some(small), Some(large)) = (rate(4096), rate(1 << 20))
                && large.bytes_per_second < small.bytes_per_second
            {
                notes.push(format!(
                    "pipe: 1 MiB messages {} GB/s, 4 KiB ones {} GB/s; the pipe is grown as far as allowed (F_SETPIPE_SZ), the rest is the kernel's and the cache's (Method: large messages)",
                    gigabytes_per_second(large.bytes_per_second),
                    gigabytes_per_second(small.bytes_per_second)
                ));
            }
            if let Some(why) = &row.skipped {
                notes.push(format!("{}: {why}", row.mechanism.name));
            }
            for (size, outcome) in &row.latency {
                match outcome {
                    Outcome::Measured(l) if l.stopped_early() => notes.push(format!(
                        "{} round trip {}: † stopped after {} s with {} of {} round trips (the machine is busy, or both ends shared a CPU)",
                        row.mechanism.name,
                        size_name(*size),
                        match self.counts.budget {
                            Some(budget) => format!(
                                "at most {} (its share of {} in all)",
                                seconds(self.counts.deadline),
                                seconds(budget)
                            ),
                            None => seconds(self.counts.deadline),
                        },
                        l.summary.count,
                        l.asked
                    )),
                    Outcome::Failed(error) => notes.push(format!(
                        "{} round trip {}: FAILED, no number: {error}",
                        row.mechanism.name,
                        size_name(*size)
                    )),
                    Outcome::Stopped(reason) => notes.push(format!(
                        "{} round trip {}: no number: {reason}",
                        row.mechanism.name,
                        size_name(*size)
                    )),
                    Outcome::Measured(_) => {}
                }
            }
            for (size, outcome) in &row.throughput {
                if let Outcome::Failed(error) = outcome {
                    notes.push(format!(
                        "{} throughput {}: FAILED, no number: {error}",
                        row.mechanism.name,
                        size_name(*size)
                    ));
                }
            }
        }
        if notes.is_empty() {
            return;
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "Notes");
        for note in notes {
            let _ = writeln!(out, "  - {note}");
        }
    }
}

/// The Method section: how each figure is measured ([`METHOD`]), wrapped.
fn method(out: &mut String) {
    const WIDTH: usize = 100;
    let _ = writeln!(out);
    let _ = writeln!(out, "Method");
    for (figure, how) in METHOD {
        let mut line = format!("  {figure:<15}");
        for word in how.split_whitespace() {
            if line.chars().count() + 1 + word.chars().count() > WIDTH {
                let _ = writeln!(out, "{}", line.trim_end());
                line = " ".repeat(17);
            } else if !line.ends_with(' ') {
                line.push(' ');
            }
            line.push_str(word);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// The note of a debug build, whose numbers are no measure of the mechanisms.
pub const DEBUG_BUILD: &str = "built without --release: the loops around every call run unoptimised, \
     so these numbers are several times what the mechanisms cost and mean little; \
     run `cargo run --release -p bench`";
