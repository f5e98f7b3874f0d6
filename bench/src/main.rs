//! # bench: the tutorial's comparison table, measured
//!
//! The tutorial rates each mechanism's speed in words (shared memory "Very
//! Fast", pipes "Fast", message queues and sockets "Medium", memory-mapped
//! files "Fast") and its quiz asks which is fastest. This program measures
//! it between a parent and a forked child on the machine it runs on, and
//! prints the tutorial's table with the words replaced by numbers:
//!
//! - **round-trip latency** (request there, reply back) of a 64 B and a
//!   4 KiB message: p50, p99 and mean over 100,000 round trips after a
//!   warm-up, each round trip timed alone;
//! - **one-way throughput** of 4 KiB and 1 MiB messages: the writer starts
//!   the clock, the reader stops it when it has checked the last byte;
//! - the **physical floor**: one cache line passed back and forth between
//!   two CPUs, three ways ([`floor`]), the lowest of which nothing between
//!   two processes can beat.
//!
//! Every message is checked, every byte of it ([`message`]), so a broken
//! transfer fails its row instead of reporting a fast number. How each
//! figure is measured is said in one place, [`report::method`], which the
//! report prints under "Method". How it is compared with the classic IPC
//! benchmarks, on the same work and placement: `bench/COMPARISON.md`.
//!
//! ```text
//! cargo run --release -p bench                       # about a minute
//! cargo run --release -p bench -- --quick            # at most 5 seconds
//! cargo run --release -p bench -- --no-throughput    # or --only latency|throughput
//! cargo run --release -p bench -- --placement same   # both ends on one CPU
//! cargo run --release -p bench -- --json > run.json  # or --csv, for plotting
//! ```
//!
//! It prints where each end ran, the floor, the table ranked by the 64 B
//! round trip, all the numbers, two bar charts and notes; a progress line
//! goes to stderr meanwhile.
//!
//! Mechanisms, one module each under `mechanisms/`: pipe, FIFO, Unix domain
//! stream socket, TCP over loopback, System V message queue, System V and
//! POSIX shared memory (each with a futex wake-up and with a spin on an
//! atomic), a memory-mapped file (futex), and signals (notification only).
//!
//! | step | call | why |
//! |---|---|---|
//! | pin each end to a CPU | `sched_setaffinity` ([`placement`]) | placement decides more than the mechanism |
//! | one child per row | `fork` while single-threaded ([`pair`]) | fresh objects, nothing shared by accident |
//! | the child dies with the parent | `prctl(PR_SET_PDEATHSIG)` | no spinning orphan |
//! | time a round trip | `clock_gettime(CLOCK_MONOTONIC)` ([`stats`]) | one clock for both processes |
//! | Ctrl-C, SIGTERM | a handler that stores to an atomic, no `SA_RESTART` ([`stop`]) | every wait ends; guards remove every object; exit 130 / 143 |
//! | a child that died | `SIGCHLD` + a 100 ms watchdog timer ([`stop`]) | no wait outlives the peer |
//!
//! Every IPC object is owner-only and unique to the run: System V objects
//! with `IPC_PRIVATE`, POSIX shm as `/ipc-bench-<pid>-<n>`, FIFOs, socket
//! and mapped file in a private directory (mode 0700, made by `mkdir`),
//! TCP on a port the kernel picks. Each is removed by a guard once its
//! child is reaped, on every path.

mod floor;
mod measure;
mod mechanisms;
mod message;
mod options;
mod pair;
mod placement;
mod progress;
mod report;
mod stats;
mod stop;

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use common::{Perror, report as print_error};

use floor::Way;
use measure::{Bench, TimeUp};
use mechanisms::Mechanism;
use options::{Format, Options};
use placement::Plan;
use progress::Progress;
use report::{LATENCY_SIZES, Machine, Outcome, Report, Row, THROUGHPUT_SIZES, size_name};
use stop::Stopped;

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args_os().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            return match io::stdout().write_all(options::HELP.as_bytes()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
        Err(problem) => {
            let _ = writeln!(io::stderr(), "bench: {problem}\n{}", options::usage());
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(true) => ExitCode::SUCCESS,
        // Some row failed: the report says which and why.
        Ok(false) => ExitCode::FAILURE,
        Err(error) => match error.downcast_ref::<Stopped>() {
            Some(Stopped(signal)) => {
                let _ = writeln!(
                    io::stderr(),
                    "bench: {error}; every IPC object it made is removed"
                );
                ExitCode::from(128 + *signal as u8)
            }
            None => {
                print_error(&error);
                ExitCode::FAILURE
            }
        },
    }
}

/// Runs every measurement and prints the report; false if a row failed.
fn run(options: &Options) -> anyhow::Result<bool> {
    if cfg!(debug_assertions) {
        // Said first, on stderr, whatever the format: then again in the notes.
        let _ = writeln!(io::stderr(), "bench: {}", report::text::DEBUG_BUILD);
    }
    let plan = Plan::new(options.placement)?;
    stop::install()?;
    let dir = PrivateDir::create()?;
    let started = Instant::now();
    let load_before = load_average();
    let busy_before = BusyTime::now();

    let mechanisms: Vec<&'static Mechanism> = mechanisms::ALL
        .iter()
        .filter(|m| {
            options
                .only
                .as_ref()
                .is_none_or(|only| only.iter().any(|id| id == m.id))
        })
        .collect();
    let runs_spin = plan.why_no_spin().is_none();
    let measure = options.measure;
    let steps = Way::ALL.len() * usize::from(measure.latency)
        + mechanisms
            .iter()
            .filter(|m| runs_spin || !m.spins)
            .map(
                |m| match (m.carries_data, measure.latency, measure.throughput) {
                    (true, latency, throughput) => {
                        2 * usize::from(latency) + 2 * usize::from(throughput)
                    }
                    (false, latency, _) => usize::from(latency),
                },
            )
            .sum::<usize>();
    let mut progress = Progress::new(steps);
    let clock_cost_ns = stats::clock_cost_ns();
    let mut bench = Bench::new(&plan, options.counts, dir.path(), &mut progress);

    let mut floor_ways = Vec::new();
    for way in Way::ALL.into_iter().filter(|_| measure.latency) {
        bench.progress.start(format!(
            "cache line between two CPUs (the floor): {}",
            way.name()
        ));
        match bench.floor(way) {
            Ok(Some(floor)) => floor_ways.push((way, Outcome::Measured(floor))),
            Ok(None) => {}
            Err(error) => floor_ways.push((way, Outcome::Failed(failure(error)?))),
        }
    }

    let mut rows = Vec::new();
    for &mechanism in &mechanisms {
        let mut row = Row {
            mechanism,
            skipped: None,
            latency: Vec::new(),
            throughput: Vec::new(),
        };
        if mechanism.spins
            && let Some(why) = plan.why_no_spin()
        {
            row.skipped = Some(why);
            rows.push(row);
            continue;
        }
        let latency_sizes: &[usize] = match (measure.latency, mechanism.carries_data) {
            (false, _) => &[],
            (true, true) => &LATENCY_SIZES,
            (true, false) => &[0],
        };
        for &size in latency_sizes {
            bench.progress.start(format!(
                "{}: round trip, {}",
                mechanism.name,
                size_name(size)
            ));
            let outcome = match bench.latency(mechanism, size) {
                Ok(latency) => Outcome::Measured(latency),
                Err(error) if error.is::<TimeUp>() => Outcome::Stopped(error.to_string()),
                Err(error) => Outcome::Failed(failure(error)?),
            };
            row.latency.push((size, outcome));
        }
        if mechanism.carries_data && measure.throughput {
            for size in THROUGHPUT_SIZES {
                bench.progress.start(format!(
                    "{}: one-way throughput, {} B messages",
                    mechanism.name, size
                ));
                let outcome = match bench.throughput(mechanism, size) {
                    Ok(throughput) => Outcome::Measured(throughput),
                    Err(error) => Outcome::Failed(failure(error)?),
                };
                row.throughput.push((size, outcome));
            }
        }
        rows.push(row);
    }
    progress.clear();

    let elapsed = started.elapsed();
    let report = Report {
        counts: options.counts,
        measure,
        clock_cost_ns,
        floor: report::lowest(&floor_ways),
        floor_ways,
        rows,
        machine: Machine {
            cpus_online: cpus_online(),
            load_before,
            others_cpus: busy_before.and_then(|before| before.others_since(elapsed.as_secs_f64())),
            elapsed,
        },
        plan,
    };
    let text = match options.format {
        Format::Table => report.text(),
        Format::Json => report::json::render(&report)?,
        Format::Csv => report::csv::render(&report)?,
    };
    io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .and_then(|()| io::stdout().flush())
        .perror("write stdout")?;
    Ok(report.all_measured())
}

/// A row's failure, as text for the report; a Ctrl-C stops the whole run.
fn failure(error: anyhow::Error) -> anyhow::Result<String> {
    if error.is::<Stopped>() {
        return Err(error);
    }
    let text = format!("{error:#}");
    let _ = writeln!(io::stderr(), "bench: {text}");
    Ok(text)
}

/// The run's private directory, `ipc-bench-<pid>-<n>` under `$TMPDIR` (or
/// /tmp), mode 0700, and removed with everything in it when dropped.
#[derive(Debug)]
struct PrivateDir(PathBuf);

impl PrivateDir {
    fn create() -> anyhow::Result<Self> {
        let mut n = 0;
        loop {
            n += 1;
            let path = std::env::temp_dir().join(format!("ipc-bench-{}-{n}", std::process::id()));
            // mkdir(2) makes a new directory or fails: never one that was there.
            match fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Self(path)),
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => Err(error).perror(format!("mkdir(\"{}\")", path.display()))?,
            }
        }
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The 1-minute load average (`/proc/loadavg`).
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn cpus_online() -> usize {
    // SAFETY: sysconf takes no pointers.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    usize::try_from(online).unwrap_or(1)
}

/// CPU time used by the whole machine and by this run, to tell how busy the
/// machine was with other work while the bench ran.
#[derive(Debug, Clone, Copy)]
struct BusyTime {
    /// Non-idle time of all CPUs, in seconds (`/proc/stat`).
    machine: f64,
    /// This process and its reaped children, in seconds (`getrusage`).
    ours: f64,
}

impl BusyTime {
    fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let ticks: Vec<f64> = stat
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|field| field.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal ...
        let idle = ticks.get(3)? + ticks.get(4)?;
        let total: f64 = ticks.iter().take(8).sum();
        // SAFETY: sysconf takes no pointers.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Some(Self {
            machine: (total - idle) / hz.max(1.0),
            ours: rusage(libc::RUSAGE_SELF) + rusage(libc::RUSAGE_CHILDREN),
        })
    }

    /// CPUs' worth of time that others used since `self`, over `elapsed` s.
    fn others_since(self, elapsed: f64) -> Option<f64> {
        let now = Self::now()?;
        let others = (now.machine - self.machine) - (now.ours - self.ours);
        Some((others / elapsed.max(1e-3)).max(0.0))
    }
}

/// User plus system time of `who`, in seconds.
fn rusage(who: libc::c_int) -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` has room for the rusage that getrusage fills in.
    let ok = unsafe { libc::getrusage(who, usage.as_mut_ptr()) } == 0;
    if !ok {
        return 0.0;
    }
    // SAFETY: getrusage succeeded, so it filled `usage` in (and it started zeroed).
    let usage = unsafe { usage.assume_init() };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
