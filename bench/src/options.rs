//! The command line.

use std::ffi::OsString;
use std::time::Duration;

use crate::measure::{Counts, Stream};
use crate::mechanisms;
use crate::placement::Placement;

pub const HELP: &str = "\
Usage: bench [--quick] [--placement same|split|any] [--json | --csv] [--iterations N] [--only ID,...] [--no-throughput]
Measures the tutorial's comparison table between a parent and a forked child:
round-trip latency (64 B and 4 KiB: p50, p99, mean) and one-way throughput
(4 KiB and 1 MiB messages) of every IPC mechanism, next to the round trip of
one cache line between two CPUs (the physical floor). Build with --release.

  --quick            2,000 round trips and 4 MiB per row: at most 5 seconds
                     (default: 100,000 round trips and 256 MiB: about a minute)
  --placement WHERE  same: both ends pinned to one CPU (spin waits are skipped);
                     split: pinned to two CPUs (default when there are two);
                     any: not pinned, the scheduler decides
  --json, --csv      print the results for plotting instead of the table
  --iterations N     N round trips and N messages per row (and N/10 of
                     warm-up), for tests and quick looks
  --only ID,...      only these mechanisms: sysv-shm-spin, sysv-shm-futex,
                     posix-shm-spin, posix-shm-futex, pipe, fifo, msgqueue,
                     unix-socket, tcp, mmap-file, signal; and/or only these
                     measurements: latency (the round trips and the floor),
                     throughput; e.g. --only pipe,throughput (given
                     again, the lists add up)
  --no-throughput    the round trips and the floor only (--only latency)

Exit status: 0; 1 if a row failed (the report says why, and shows no number
for it); 2 for a bad command line; 130 or 143 after Ctrl-C or SIGTERM, with
every IPC object removed.
";

pub fn usage() -> &'static str {
    HELP.lines().next().unwrap_or_default()
}

/// The measurements `--only` can name, beside the mechanisms.
const MEASUREMENTS: [&str; 2] = ["latency", "throughput"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// `None`: split when there are two CPUs, same otherwise.
    pub placement: Option<Placement>,
    pub format: Format,
    pub counts: Counts,
    /// Only these mechanism ids, if given.
    pub only: Option<Vec<String>>,
    /// Which measurements to make.
    pub measure: Measure,
}

/// Which measurements a run makes (`--only latency|throughput`,
/// `--no-throughput`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measure {
    /// The floor and the round trips.
    pub latency: bool,
    /// The one-way streams.
    pub throughput: bool,
}

const DEFAULT: Counts = Counts {
    round_trips: 100_000,
    warmup_round_trips: 10_000,
    stream: Stream::Bytes {
        timed: 256 << 20,
        warmup: 32 << 20,
    },
    deadline: Duration::from_secs(20),
    budget: None,
};

/// At most 5 s in all, even where waking the other CPU takes 50 µs or the
/// machine is busy: 2,200 round trips per row, each row stopped after
/// 0.2 s or its share of what is left of 4 s, whichever comes first.
const QUICK: Counts = Counts {
    round_trips: 2_000,
    warmup_round_trips: 200,
    stream: Stream::Bytes {
        timed: 4 << 20,
        warmup: 1 << 20,
    },
    deadline: Duration::from_millis(200),
    budget: Some(Duration::from_secs(4)),
};

impl Options {
    /// The options, or `None` for `--help`, or what is wrong.
    pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Self>, String> {
        let mut placement = None;
        let mut format = Format::Table;
        let mut quick = false;
        let mut iterations = None;
        let mut only = None;
        let mut kinds: Option<Vec<String>> = None;
        let mut no_throughput = false;
        let mut given: Vec<String> = Vec::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let arg = arg.into_string().map_err(|arg| {
                let kind = if arg.as_encoded_bytes().starts_with(b"-") {
                    "unknown option"
                } else {
                    "unexpected argument"
                };
                format!("{kind} {}", common::shown(&arg))
            })?;
            let (name, inline) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => {
                    (name.to_owned(), Some(value.to_owned()))
                }
                _ => (arg.clone(), None),
            };
            let mut value = || -> Result<String, String> {
                match inline.clone() {
                    Some(value) => Ok(value),
                    None => args
                        .next()
                        .and_then(|v| v.into_string().ok())
                        .ok_or_else(|| format!("{name} needs a value")),
                }
            };
            // Each option once: a second one would silently win.
            let option = match name.as_str() {
                "--json" | "--csv" => "--json or --csv",
                other => other,
            };
            // (--only may come more than once: its lists add up.)
            if option.starts_with("--") && option != "--help" && option != "--only" {
                if given.iter().any(|g| g == option) {
                    return Err(match option {
                        "--json or --csv" => "--json and --csv: choose one".to_owned(),
                        _ => format!("{option} given twice"),
                    });
                }
                given.push(option.to_owned());
            }
            match name.as_str() {
                "-h" | "--help" => return Ok(None),
                "--quick" => quick = true,
                "--no-throughput" => no_throughput = true,
                "--json" => format = Format::Json,
                "--csv" => format = Format::Csv,
                "--placement" => {
                    let word = value()?;
                    placement = Some(Placement::parse(&word).ok_or_else(|| {
                        format!("--placement {word}: expected same, split or any")
                    })?);
                }
                "--iterations" => {
                    let word = value()?;
                    let n: u64 = word.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                        format!("--iterations {word}: expected a positive number")
                    })?;
                    iterations = Some(n);
                }
                "--only" => {
                    let list = value()?;
                    let (measurements, ids): (Vec<String>, Vec<String>) = list
                        .split(',')
                        .map(str::to_owned)
                        .partition(|word| MEASUREMENTS.contains(&word.as_str()));
                    if let Some(unknown) = ids
                        .iter()
                        .find(|id| !mechanisms::ALL.iter().any(|m| m.id == *id))
                    {
                        return Err(format!(
                            "--only: unknown mechanism or measurement {unknown}"
                        ));
                    }
                    if !ids.is_empty() {
                        only.get_or_insert_with(Vec::new).extend(ids);
                    }
                    if !measurements.is_empty() {
                        kinds.get_or_insert_with(Vec::new).extend(measurements);
                    }
                }
                _ if arg.starts_with('-') && arg.len() > 1 => {
                    return Err(format!("unknown option {}", common::shown(arg.as_ref())));
                }
                _ => {
                    return Err(format!(
                        "unexpected argument {}",
                        common::shown(arg.as_ref())
                    ));
                }
            }
        }
        let mut counts = if quick { QUICK } else { DEFAULT };
        if let Some(n) = iterations {
            counts.round_trips = n;
            counts.warmup_round_trips = (n / 10).max(1);
            counts.stream = Stream::Messages {
                timed: n,
                warmup: (n / 10).max(1),
            };
        }
        let asked = |kind: &str| kinds.as_ref().is_none_or(|k| k.iter().any(|w| w == kind));
        let measure = Measure {
            latency: asked("latency"),
            throughput: asked("throughput") && !no_throughput,
        };
        if !measure.latency && !measure.throughput {
            return Err(
                "--no-throughput with --only throughput leaves nothing to measure".to_owned(),
            );
        }
        Ok(Some(Self {
            placement,
            format,
            counts,
            only,
            measure,
        }))
    }
}
