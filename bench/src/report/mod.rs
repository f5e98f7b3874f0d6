//! What the run found, and the three ways to print it, one file each: the
//! tutorial's table with bar charts for people ([`text`]), and JSON
//! ([`json`]) and CSV ([`csv`]) for plotting, both written by serde.

pub mod csv;
pub mod json;
pub mod method;
pub mod text;

use std::time::Duration;

use crate::floor::Way;
use crate::measure::{Counts, Latency, Throughput};
use crate::mechanisms::Mechanism;
use crate::options::Measure;
use crate::placement::Plan;

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

    pub fn failed(&self) -> bool {
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
    pub fn latency_at(&self, size: usize) -> Option<&Outcome<Latency>> {
        self.latency
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, o)| o)
    }

    pub fn throughput_at(&self, size: usize) -> Option<&Outcome<Throughput>> {
        self.throughput
            .iter()
            .find(|(s, _)| *s == size)
            .map(|(_, o)| o)
    }

    /// The small-message round trip the table ranks by: 64 B, or the bare
    /// notification for signals.
    pub fn small(&self) -> Option<&Latency> {
        let size = if self.mechanism.carries_data { 64 } else { 0 };
        self.latency_at(size).and_then(Outcome::measured)
    }

    pub fn large_throughput(&self) -> Option<&Throughput> {
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
    /// Which measurements were asked for.
    pub measure: Measure,
    pub clock_cost_ns: u64,
    /// The lowest of the floor's ways (`None` when not measured).
    pub floor: Option<Outcome<Latency>>,
    /// The floor, each way ([`crate::floor`]).
    pub floor_ways: Vec<(Way, Outcome<Latency>)>,
    pub rows: Vec<Row>,
    pub machine: Machine,
}

/// The floor: the way with the lowest p50, or when none has a number, the
/// first way's failure.
pub fn lowest(ways: &[(Way, Outcome<Latency>)]) -> Option<Outcome<Latency>> {
    let lowest = ways
        .iter()
        .filter_map(|(_, o)| o.measured())
        .min_by_key(|l| l.summary.p50_ns)
        .map(|l| Outcome::Measured(*l));
    lowest.or_else(|| {
        ways.first().map(|(_, o)| match o {
            Outcome::Failed(e) => Outcome::Failed(e.clone()),
            Outcome::Stopped(e) => Outcome::Stopped(e.clone()),
            Outcome::Measured(l) => Outcome::Measured(*l),
        })
    })
}

pub fn size_name(size: usize) -> String {
    match size {
        0 => "0 B".to_owned(),
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 => format!("{} KiB", s >> 10),
        s => format!("{s} B"),
    }
}

impl Report {
    /// Whether every row that ran measured what it should have.
    pub fn all_measured(&self) -> bool {
        let floor_ok = !matches!(self.floor, Some(Outcome::Failed(_)))
            && self.floor_ways.iter().all(|(_, o)| !o.failed());
        floor_ok
            && self.rows.iter().all(|row| {
                row.latency.iter().all(|(_, o)| !o.failed())
                    && row.throughput.iter().all(|(_, o)| !o.failed())
            })
    }

    pub fn floor(&self) -> Option<&Latency> {
        self.floor.as_ref().and_then(Outcome::measured)
    }

    /// The way that gave the floor.
    pub fn floor_way(&self) -> Option<Way> {
        let floor = self.floor()?;
        self.floor_ways
            .iter()
            .find(|(_, o)| {
                o.measured()
                    .is_some_and(|l| l.summary.p50_ns == floor.summary.p50_ns)
            })
            .map(|(way, _)| *way)
    }

    pub fn checked(&self) -> u64 {
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

    /// Rows in rank order: by small-message round trip p50, unmeasured last.
    pub fn ranked(&self) -> Vec<&Row> {
        let mut rows: Vec<&Row> = self.rows.iter().collect();
        rows.sort_by_key(|row| row.small().map_or(u64::MAX, |l| l.summary.p50_ns));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size_name(0), "0 B");
        assert_eq!(size_name(64), "64 B");
        assert_eq!(size_name(4096), "4 KiB");
        assert_eq!(size_name(1 << 20), "1 MiB");
    }
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A report with fixed numbers, every kind of outcome, and names that
    //! need quoting, for the output tests of each format.
    use super::*;
    use crate::measure::{Counts, Latency, Stream, Throughput};
    use crate::mechanisms::ALL;
    use crate::placement::{Placement, Plan, Ran};
    use crate::stats::Summary;

    fn ran(cpu: usize) -> Ran {
        Ran { cpu, pinned: true }
    }

    fn latency(p50: u64, asked: u64, count: usize) -> Outcome<Latency> {
        Outcome::Measured(Latency {
            summary: Summary {
                count,
                p50_ns: p50,
                p99_ns: p50 * 3,
                mean_ns: p50 + 17,
            },
            asked,
            checked: 2 * count as u64,
            parent: ran(0),
            child: ran(1),
        })
    }

    fn throughput(rate: f64) -> Outcome<Throughput> {
        Outcome::Measured(Throughput {
            bytes_per_second: rate,
            bytes: 1 << 24,
            messages: 4096,
            checked: 4506,
            parent: ran(0),
            child: ran(1),
        })
    }

    pub fn report() -> Report {
        let mut rows = Vec::new();
        for (i, mechanism) in ALL.iter().enumerate() {
            let mut row = Row {
                mechanism,
                skipped: None,
                latency: Vec::new(),
                throughput: Vec::new(),
            };
            let base = 300 + 997 * i as u64;
            match i {
                2 => {
                    row.skipped =
                        Some("skipped: both ends share CPU 0, \"where\"\na spin".to_owned())
                }
                10 => row.latency.push((0, latency(base, 1000, 1000))),
                _ => {
                    row.latency.push((
                        64,
                        match i {
                            4 => {
                                Outcome::Failed("read(pipe): the other end, \"closed\"".to_owned())
                            }
                            5 => {
                                Outcome::Stopped("stopped after 3.0 s, still warming up".to_owned())
                            }
                            _ => latency(base, 1000, if i == 1 { 500 } else { 1000 }),
                        },
                    ));
                    row.latency.push((4096, latency(base * 2 + 1, 1000, 1000)));
                    row.throughput
                        .push((4096, throughput(2.5e9 / (i + 1) as f64 + 0.4)));
                    row.throughput.push((
                        1 << 20,
                        match i {
                            6 => Outcome::Failed("msgsnd: damaged".to_owned()),
                            _ => throughput(4.0e9 / (i + 1) as f64 + 0.6),
                        },
                    ));
                }
            }
            rows.push(row);
        }
        Report {
            plan: Plan {
                placement: Placement::Split,
                allowed: vec![0, 1],
                parent: Some(0),
                child: Some(1),
            },
            measure: Measure {
                latency: true,
                throughput: true,
            },
            counts: Counts {
                round_trips: 1000,
                warmup_round_trips: 100,
                stream: Stream::Bytes {
                    timed: 16 << 20,
                    warmup: 2 << 20,
                },
                deadline: Duration::from_secs(3),
                budget: None,
            },
            clock_cost_ns: 21,
            floor: Some(latency(124, 1000, 1000)),
            floor_ways: vec![
                (Way::CompareAndSwap, latency(124, 1000, 1000)),
                (Way::StoreLoad, latency(228, 1000, 1000)),
                (Way::TwoLines, latency(290, 1000, 1000)),
            ],
            rows,
            machine: Machine {
                cpus_online: 2,
                load_before: Some(0.69),
                others_cpus: Some(0.1234),
                elapsed: Duration::from_millis(4321),
            },
        }
    }
}
