//! What the run found, and the three ways to print it: the tutorial's table
//! with bar charts (for people), JSON and CSV (for plotting).

use std::fmt::Write as _;
use std::time::Duration;

use crate::measure::{Counts, Latency, Stream, Throughput};
use crate::mechanisms::Mechanism;
use crate::placement::{Placement, Plan};
use crate::stats::{gigabytes_per_second, micros, seconds};

/// The message sizes of the round-trip rows, and of the throughput rows.
pub const LATENCY_SIZES: [usize; 2] = [64, 4096];
pub const THROUGHPUT_SIZES: [usize; 2] = [4096, 1 << 20];

/// A measurement, or why there is no number.
#[derive(Debug)]
pub enum Outcome<T> {
    Measured(T),
    /// Something went wrong (a damaged message, a failed call): an error.
    Failed(String),
    /// Ran out of time before the first timed round trip: not an error of
    /// the program, but no number either.
    Stopped(String),
}

impl<T> Outcome<T> {
    pub fn measured(&self) -> Option<&T> {
        match self {
            Outcome::Measured(value) => Some(value),
            Outcome::Failed(_) | Outcome::Stopped(_) => None,
        }
    }

    fn failed(&self) -> bool {
        matches!(self, Outcome::Failed(_))
    }
}

/// One mechanism's results.
#[derive(Debug)]
pub struct Row {
    pub mechanism: &'static Mechanism,
    /// Why it did not run (spin waits on one CPU).
    pub skipped: Option<String>,
    /// By message size (0 for signals).
    pub latency: Vec<(usize, Outcome<Latency>)>,
    pub throughput: Vec<(usize, Outcome<Throughput>)>,
}

impl Row {
    fn latency_at(&self, size: usize) -> Option<&Outcome<Latency>> {
        self.latency
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, o)| o)
    }

    fn throughput_at(&self, size: usize) -> Option<&Outcome<Throughput>> {
        self.throughput
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, o)| o)
    }

    /// The small-message round trip the table ranks by: 64 B, or the bare
    /// notification for signals.
    fn small(&self) -> Option<&Latency> {
        let size = if self.mechanism.carries_data { 64 } else { 0 };
        self.latency_at(size).and_then(Outcome::measured)
    }

    fn large_throughput(&self) -> Option<&Throughput> {
        self.throughput_at(1 << 20).and_then(Outcome::measured)
    }
}

/// What the machine was doing.
#[derive(Debug)]
pub struct Machine {
    pub cpus_online: usize,
    pub load_before: Option<f64>,
    /// CPUs' worth of time used by other processes during the run.
    pub others_cpus: Option<f64>,
    pub elapsed: Duration,
}

#[derive(Debug)]
pub struct Report {
    pub plan: Plan,
    pub counts: Counts,
    pub clock_cost_ns: u64,
    pub floor: Option<Outcome<Latency>>,
    pub rows: Vec<Row>,
    pub machine: Machine,
}

pub fn size_name(size: usize) -> String {
    match size {
        0 => "0 B".to_owned(),
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

fn bytes_name(bytes: u64) -> String {
    if bytes >= 1 << 20 {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} B")
    }
}

impl Report {
    /// Whether every row that ran measured what it should have.
    pub fn all_measured(&self) -> bool {
        let floor_ok = !matches!(self.floor, Some(Outcome::Failed(_)));
        floor_ok
            && self.rows.iter().all(|row| {
                row.latency.iter().all(|(_, o)| !o.failed())
                    && row.throughput.iter().all(|(_, o)| !o.failed())
            })
    }

    fn floor(&self) -> Option<&Latency> {
        self.floor.as_ref().and_then(Outcome::measured)
    }

    fn checked(&self) -> u64 {
        let rows: u64 = self
            .rows
            .iter()
            .map(|row| {
                let latency: u64 = row
                    .latency
                    .iter()
                    .filter_map(|(_, o)| o.measured())
                    .map(|l| l.checked)
                    .sum();
                let throughput: u64 = row
                    .throughput
                    .iter()
                    .filter_map(|(_, o)| o.measured())
                    .map(|t| t.checked)
                    .sum();
                latency + throughput
            })
            .sum();
        rows
    }

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
        let _ = writeln!(
            out,
            "  throughput  ONE WAY, {stream}; the clock stops when the reader has checked the last byte"
        );
        let verdict = if self.all_measured() {
            "none damaged"
        } else {
            "in the rows with numbers; a row without one says why under Notes"
        };
        let _ = writeln!(
            out,
            "  checked     every message, every byte (sequence number and contents): {} messages, {verdict}",
            self.checked()
        );
        let _ = writeln!(out);

        match &self.floor {
            Some(Outcome::Measured(floor)) => {
                let _ = writeln!(
                    out,
                    "Physical floor: one cache line bouncing between CPU {} and CPU {}: round trip p50 {} µs, p99 {} µs, mean {} µs",
                    floor.parent.cpu,
                    floor.child.cpu,
                    micros(floor.summary.p50_ns),
                    micros(floor.summary.p99_ns),
                    micros(floor.summary.mean_ns)
                );
            }
            Some(Outcome::Failed(error)) => {
                let _ = writeln!(out, "Physical floor: FAILED: {error}");
            }
            Some(Outcome::Stopped(reason)) => {
                let _ = writeln!(out, "Physical floor: {reason}");
            }
            None => {
                let _ = writeln!(out, "Physical floor: not measured (it needs two CPUs)");
            }
        }
        let _ = writeln!(out);

        self.main_table(&mut out);
        let _ = writeln!(out);
        self.all_numbers(&mut out);
        let _ = writeln!(out);
        self.charts(&mut out);
        self.notes(&mut out);
        out
    }

    /// Rows in rank order: by small-message round trip p50, unmeasured last.
    fn ranked(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|row| row.small().map_or(u64::MAX, |l| l.summary.p50_ns));
        rows
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
        let _ = writeln!(out, "Round trip, 64 B, p50 (shorter is faster)");
        for (name, ns) in &bars {
            let length = ((*ns as f64 / longest as f64) * WIDTH).ceil() as usize;
            let _ = writeln!(
                out,
                "  {name:<28} {} {} µs",
                "█".repeat(length.max(1)),
                micros(*ns)
            );
        }
        let _ = writeln!(out);

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
        if let Some(floor) = self.floor() {
            for row in &self.rows {
                if !row.mechanism.spins {
                    continue;
                }
                if let Some(l) = row.small() {
                    let ratio = l.summary.p50_ns as f64 / floor.summary.p50_ns.max(1) as f64;
                    notes.push(format!(
                        "{}: 64 B round trip p50 is {ratio:.1}x the cache-line round trip (the target is within 2x: {})",
                        row.mechanism.name,
                        if ratio <= 2.0 { "met" } else { "not met" }
                    ));
                }
            }
        }
        for row in &self.rows {
            if let Some(why) = &row.skipped {
                notes.push(format!("{}: {why}", row.mechanism.name));
            }
            for (size, outcome) in &row.latency {
                match outcome {
                    Outcome::Measured(l) if l.stopped_early() => notes.push(format!(
                        "{} round trip {}: † stopped after {} s with {} of {} round trips (the machine is busy, or both ends shared a CPU)",
                        row.mechanism.name,
                        size_name(*size),
                        seconds(self.counts.deadline),
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

    /// The whole report as one JSON object (times in nanoseconds, rates in
    /// bytes per second).
    pub fn json(&self) -> String {
        let plan = &self.plan;
        let mut out = String::from("{\n");
        let _ = writeln!(out, "  \"placement\": {},", json_str(plan.placement.name()));
        let _ = writeln!(out, "  \"parent_cpu\": {},", json_opt(plan.parent));
        let _ = writeln!(out, "  \"child_cpu\": {},", json_opt(plan.child));
        let _ = writeln!(out, "  \"cpus_online\": {},", self.machine.cpus_online);
        let _ = writeln!(
            out,
            "  \"load_average_before\": {},",
            json_f64(self.machine.load_before)
        );
        let _ = writeln!(
            out,
            "  \"other_processes_cpus\": {},",
            json_f64(self.machine.others_cpus)
        );
        let _ = writeln!(
            out,
            "  \"elapsed_seconds\": {:.3},",
            self.machine.elapsed.as_secs_f64()
        );
        let _ = writeln!(out, "  \"clock_cost_ns\": {},", self.clock_cost_ns);
        let _ = writeln!(
            out,
            "  \"round_trips_per_row\": {},",
            self.counts.round_trips
        );
        let _ = writeln!(
            out,
            "  \"warmup_round_trips\": {},",
            self.counts.warmup_round_trips
        );
        let floor = match &self.floor {
            Some(outcome) => latency_json(outcome),
            None => "null".to_owned(),
        };
        let _ = writeln!(out, "  \"floor\": {floor},");
        out.push_str("  \"mechanisms\": [\n");
        for (i, row) in self.rows.iter().enumerate() {
            let mech = row.mechanism;
            let t = mech.tutorial;
            out.push_str("    {\n");
            let _ = writeln!(out, "      \"id\": {},", json_str(mech.id));
            let _ = writeln!(out, "      \"name\": {},", json_str(mech.name));
            let _ = writeln!(
                out,
                "      \"tutorial\": {{\"row\": {}, \"speed\": {}, \"complexity\": {}, \"persistence\": {}, \"network\": {}}},",
                json_str(t.row),
                json_str(t.speed),
                json_str(t.complexity),
                json_str(t.persistence),
                json_str(t.network)
            );
            let _ = writeln!(out, "      \"spins\": {},", mech.spins);
            let skipped = row.skipped.as_deref().map_or("null".to_owned(), json_str);
            let _ = writeln!(out, "      \"skipped\": {skipped},");
            let latency: Vec<String> = row
                .latency
                .iter()
                .map(|(size, o)| {
                    format!(
                        "{{\"message_bytes\": {size}, \"result\": {}}}",
                        latency_json(o)
                    )
                })
                .collect();
            let _ = writeln!(out, "      \"round_trip\": [{}],", latency.join(", "));
            let throughput: Vec<String> = row
                .throughput
                .iter()
                .map(|(size, o)| {
                    format!(
                        "{{\"message_bytes\": {size}, \"result\": {}}}",
                        throughput_json(o)
                    )
                })
                .collect();
            let _ = writeln!(out, "      \"throughput\": [{}]", throughput.join(", "));
            out.push_str(if i + 1 < self.rows.len() {
                "    },\n"
            } else {
                "    }\n"
            });
        }
        out.push_str("  ]\n}\n");
        out
    }

    /// One line per measurement (times in nanoseconds, rates in bytes per second).
    pub fn csv(&self) -> String {
        let mut out = String::from(CSV_HEADER);
        out.push('\n');
        if let Some(floor) = &self.floor {
            csv_latency(&mut out, "cache-line", "cache line (the floor)", 0, floor);
        }
        for row in &self.rows {
            let mech = row.mechanism;
            if let Some(why) = &row.skipped {
                let _ = writeln!(
                    out,
                    "{},{},skipped,,,,,,,,,,{}",
                    mech.id,
                    csv_str(mech.name),
                    csv_str(why)
                );
                continue;
            }
            for (size, outcome) in &row.latency {
                csv_latency(&mut out, mech.id, mech.name, *size, outcome);
            }
            for (size, outcome) in &row.throughput {
                match outcome {
                    Outcome::Measured(t) => {
                        let _ = writeln!(
                            out,
                            "{},{},throughput,{size},{},,,,{:.0},true,{},{},",
                            mech.id,
                            csv_str(mech.name),
                            t.messages,
                            t.bytes_per_second,
                            t.parent.cpu,
                            t.child.cpu
                        );
                    }
                    Outcome::Failed(reason) | Outcome::Stopped(reason) => {
                        let _ = writeln!(
                            out,
                            "{},{},throughput,{size},,,,,,false,,,{}",
                            mech.id,
                            csv_str(mech.name),
                            csv_str(reason)
                        );
                    }
                }
            }
        }
        out
    }
}

/// The CSV columns.
pub const CSV_HEADER: &str = "mechanism,name,measurement,message_bytes,count,p50_ns,p99_ns,mean_ns,bytes_per_second,verified,parent_cpu,child_cpu,note";

fn csv_latency(out: &mut String, id: &str, name: &str, size: usize, outcome: &Outcome<Latency>) {
    match outcome {
        Outcome::Measured(l) => {
            let note = if l.stopped_early() {
                "stopped early"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "{id},{},round_trip,{size},{},{},{},{},,true,{},{},{note}",
                csv_str(name),
                l.summary.count,
                l.summary.p50_ns,
                l.summary.p99_ns,
                l.summary.mean_ns,
                l.parent.cpu,
                l.child.cpu
            );
        }
        Outcome::Failed(reason) | Outcome::Stopped(reason) => {
            let _ = writeln!(
                out,
                "{id},{},round_trip,{size},,,,,,false,,,{}",
                csv_str(name),
                csv_str(reason)
            );
        }
    }
}

fn csv_str(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn latency_json(outcome: &Outcome<Latency>) -> String {
    match outcome {
        Outcome::Measured(l) => format!(
            "{{\"verified\": true, \"round_trips\": {}, \"asked\": {}, \"messages_checked\": {}, \"p50_ns\": {}, \"p99_ns\": {}, \"mean_ns\": {}, \"parent_cpu\": {}, \"child_cpu\": {}, \"pinned\": {}}}",
            l.summary.count,
            l.asked,
            l.checked,
            l.summary.p50_ns,
            l.summary.p99_ns,
            l.summary.mean_ns,
            l.parent.cpu,
            l.child.cpu,
            l.parent.pinned && l.child.pinned
        ),
        Outcome::Failed(error) => {
            format!("{{\"verified\": false, \"error\": {}}}", json_str(error))
        }
        Outcome::Stopped(reason) => {
            format!("{{\"verified\": false, \"stopped\": {}}}", json_str(reason))
        }
    }
}

fn throughput_json(outcome: &Outcome<Throughput>) -> String {
    match outcome {
        Outcome::Measured(t) => format!(
            "{{\"verified\": true, \"messages\": {}, \"bytes\": {}, \"messages_checked\": {}, \"bytes_per_second\": {:.0}, \"parent_cpu\": {}, \"child_cpu\": {}, \"pinned\": {}}}",
            t.messages,
            t.bytes,
            t.checked,
            t.bytes_per_second,
            t.parent.cpu,
            t.child.cpu,
            t.parent.pinned && t.child.pinned
        ),
        Outcome::Failed(error) => {
            format!("{{\"verified\": false, \"error\": {}}}", json_str(error))
        }
        Outcome::Stopped(reason) => {
            format!("{{\"verified\": false, \"stopped\": {}}}", json_str(reason))
        }
    }
}

fn json_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_opt(value: Option<usize>) -> String {
    value.map_or("null".to_owned(), |v| v.to_string())
}

fn json_f64(value: Option<f64>) -> String {
    value.map_or("null".to_owned(), |v| format!("{v:.3}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\u0001\"");
        assert_eq!(csv_str("plain"), "plain");
        assert_eq!(csv_str("a, \"b\""), "\"a, \"\"b\"\"\"");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_name(0), "0 B");
        assert_eq!(size_name(64), "64 B");
        assert_eq!(size_name(4096), "4 KiB");
        assert_eq!(size_name(1 << 20), "1 MiB");
    }
}
