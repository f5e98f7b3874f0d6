//! Drives the `bench` binary with tiny counts (`--iterations`), in a fresh
//! `$TMPDIR` per test, and checks that every mechanism ran and had every
//! message checked, that `--json` parses and `--csv` has its columns, and
//! that no IPC object is left behind, after a normal run and after Ctrl-C
//! or SIGTERM. No test looks at how fast anything was: the numbers belong
//! to the machine, not to the code.
//!
//! The tests of this file run one at a time (`SERIAL`): each run loads
//! both CPUs, and the leak checks look for objects that any bench process
//! made, which a parallel run of another test would make too.

// The helpers below are test code too: a failed probe is a test failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};

use assert_cmd::cargo::{cargo_bin, cargo_bin_cmd};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use predicates::prelude::*;
use serde_json::Value;
use tests::{TIMEOUT, TestDir, wait_until};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

const ALL: [&str; 11] = [
    "sysv-shm-spin",
    "sysv-shm-futex",
    "posix-shm-spin",
    "posix-shm-futex",
    "pipe",
    "fifo",
    "msgqueue",
    "unix-socket",
    "tcp",
    "mmap-file",
    "signal",
];

/// A System V object as `/proc/sysvipc` lists it, with the pids that touched it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SysvObject {
    kind: &'static str,
    key: i64,
    id: i64,
    /// shm: the creator's pid; msg: the last sender's and receiver's.
    pids: Vec<u32>,
}

fn sysv_objects() -> Vec<SysvObject> {
    let mut found = Vec::new();
    for (kind, pid_columns) in [
        ("shm", &["cpid", "lpid"][..]),
        ("msg", &["lspid", "lrpid"][..]),
    ] {
        let text = fs::read_to_string(format!("/proc/sysvipc/{kind}")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        let column = |name: &str| header.iter().position(|&c| c == name).unwrap();
        for line in lines {
            let fields: Vec<&str> = line.split_whitespace().collect();
            found.push(SysvObject {
                kind,
                key: fields[column("key")].parse().unwrap(),
                id: fields[1].parse().unwrap(),
                pids: pid_columns
                    .iter()
                    .map(|c| fields[column(c)].parse().unwrap())
                    .collect(),
            });
        }
    }
    found
}

/// Objects that exist now, did not before, and that the bench run `pid`
/// could have made: `IPC_PRIVATE` (key 0) and created or last used by it
/// or by nobody yet (other members of the workspace use ftok keys).
fn sysv_left_by(pid: u32, before: &[SysvObject]) -> Vec<SysvObject> {
    sysv_objects()
        .into_iter()
        .filter(|object| {
            object.key == 0
                && !before
                    .iter()
                    .any(|b| b.kind == object.kind && b.id == object.id)
        })
        .filter(|object| object.pids.iter().all(|&p| p == 0) || object.pids.contains(&pid))
        .collect()
}

/// POSIX shm objects of the bench run `pid`: `/dev/shm/ipc-bench-<pid>-*`.
fn dev_shm_left_by(pid: u32) -> Vec<String> {
    let prefix = format!("ipc-bench-{pid}-");
    fs::read_dir("/dev/shm")
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix))
        .collect()
}

fn dir_entries(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Processes still running the bench binary (a child that outlived its parent).
fn bench_processes() -> Vec<u32> {
    let binary = fs::canonicalize(cargo_bin!("bench")).unwrap();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|exe| exe == binary))
        .collect()
}

/// Runs the bench with `args` in a fresh `$TMPDIR`, checks that it succeeded
/// and left nothing behind, and returns its stdout.
fn run_clean(args: &[&str]) -> String {
    let tmp = TestDir::new();
    let before = sysv_objects();
    let child = Command::new(cargo_bin!("bench"))
        .args(args)
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "bench {args:?} failed: {stderr}");
    assert_eq!(
        dir_entries(tmp.path()),
        Vec::<String>::new(),
        "the private directory is removed"
    );
    assert_eq!(
        dev_shm_left_by(pid),
        Vec::<String>::new(),
        "no POSIX shm object is left"
    );
    assert_eq!(
        sysv_left_by(pid, &before),
        Vec::new(),
        "no System V object is left"
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn every_mechanism_runs_every_message_is_checked_and_nothing_is_left() {
    let _serial = serial();
    let stdout = run_clean(&["--json", "--iterations", "20"]);
    let json: Value = serde_json::from_str(&stdout).expect("--json prints JSON");

    assert_eq!(json["round_trips_per_row"], 20);
    assert_eq!(json["warmup_round_trips"], 2);
    let placement = json["placement"].as_str().unwrap();
    assert!(
        ["same", "split"].contains(&placement),
        "default placement {placement}"
    );
    let spins_skipped = placement == "same";
    if spins_skipped {
        assert!(json["floor"].is_null() || json["cpus_online"].as_u64() >= Some(2));
    } else {
        let floor = &json["floor"];
        assert_eq!(floor["verified"], true, "{floor}");
        assert_eq!(floor["round_trips"], 20);
    }

    let mechanisms = json["mechanisms"].as_array().unwrap();
    let ids: Vec<&str> = mechanisms
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ALL);
    for mechanism in mechanisms {
        let id = mechanism["id"].as_str().unwrap();
        if mechanism["spins"] == true && spins_skipped {
            assert!(
                mechanism["skipped"].as_str().unwrap().contains("share CPU"),
                "{mechanism}"
            );
            continue;
        }
        assert!(mechanism["skipped"].is_null(), "{id} ran: {mechanism}");
        let sizes: Vec<u64> = if id == "signal" {
            vec![0]
        } else {
            vec![64, 4096]
        };
        let round_trips = mechanism["round_trip"].as_array().unwrap();
        assert_eq!(round_trips.len(), sizes.len(), "{id}: {mechanism}");
        for (row, size) in round_trips.iter().zip(&sizes) {
            assert_eq!(row["message_bytes"], *size, "{id}");
            let result = &row["result"];
            assert_eq!(result["verified"], true, "{id} round trip {size}: {result}");
            assert_eq!(result["round_trips"], 20, "{id} round trip {size}");
            // Warm-up included, both ways.
            assert_eq!(result["messages_checked"], 2 * 22, "{id} round trip {size}");
            let (p50, p99) = (
                result["p50_ns"].as_u64().unwrap(),
                result["p99_ns"].as_u64().unwrap(),
            );
            assert!(0 < p50 && p50 <= p99, "{id}: p50 {p50} p99 {p99}");
        }
        let throughputs = mechanism["throughput"].as_array().unwrap();
        let sizes: Vec<u64> = if id == "signal" {
            vec![]
        } else {
            vec![4096, 1 << 20]
        };
        assert_eq!(throughputs.len(), sizes.len(), "{id}: {mechanism}");
        for (row, size) in throughputs.iter().zip(&sizes) {
            assert_eq!(row["message_bytes"], *size, "{id}");
            let result = &row["result"];
            assert_eq!(result["verified"], true, "{id} throughput {size}: {result}");
            assert_eq!(result["messages"], 20, "{id} throughput {size}");
            assert_eq!(result["messages_checked"], 22, "{id} throughput {size}");
            assert_eq!(result["bytes"], 20 * size, "{id} throughput {size}");
            assert!(result["bytes_per_second"].as_f64().unwrap() > 0.0);
        }
    }
}

#[test]
fn csv_has_one_line_per_measurement_with_the_columns() {
    let _serial = serial();
    let stdout = run_clean(&["--csv", "--iterations", "10", "--only", "pipe,signal"]);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(
            "mechanism,name,measurement,message_bytes,count,p50_ns,p99_ns,mean_ns,\
             bytes_per_second,verified,parent_cpu,child_cpu,note"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|line| line.split(',').collect()).collect();
    for row in &rows {
        assert_eq!(row.len(), 13, "{row:?}");
        assert_eq!(row[9], "true", "verified: {row:?}");
    }
    let kinds: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[0], r[2], r[3])).collect();
    let mut expected = vec![
        ("pipe", "round_trip", "64"),
        ("pipe", "round_trip", "4096"),
        ("pipe", "throughput", "4096"),
        ("pipe", "throughput", "1048576"),
        ("signal", "round_trip", "0"),
    ];
    if kinds.first().is_some_and(|k| k.0 == "cache-line") {
        expected.insert(0, ("cache-line", "round_trip", "0"));
    }
    assert_eq!(kinds, expected);
    for row in rows.iter().filter(|r| r[2] == "round_trip") {
        assert_eq!(row[4], "10", "count: {row:?}");
        assert!(
            row[5].parse::<u64>().unwrap() <= row[6].parse::<u64>().unwrap(),
            "p50 <= p99: {row:?}"
        );
    }
    for row in rows.iter().filter(|r| r[2] == "throughput") {
        assert!(
            row[8].parse::<f64>().unwrap() > 0.0,
            "bytes per second: {row:?}"
        );
    }
}

#[test]
fn the_table_says_round_trip_and_one_way_and_ranks_the_mechanisms() {
    let _serial = serial();
    let stdout = run_clean(&["--iterations", "10", "--only", "pipe,unix-socket"]);
    for text in [
        "IPC bench: the tutorial's comparison table, measured on this machine",
        "ROUND TRIP (request there + reply back), 10 round trips per row after 1 of warm-up",
        "ONE WAY, 10 messages per row after 1 of warm-up; the clock stops when the reader has checked the last byte",
        // Per mechanism: 2 sizes x 11 round trips x 2 ways, and 2 x 11 one way.
        "every message, every byte (sequence number and contents): 132 messages, none damaged",
        "The tutorial's table, measured (ranked by the 64 B round trip p50; shorter is faster)",
        "Round trip, 64 B, p50 (shorter is faster)",
        "One-way throughput, 1 MiB messages (longer is faster)",
    ] {
        assert!(stdout.contains(text), "{text:?} in\n{stdout}");
    }
    // The tests run a debug build, whose numbers mean little: the notes say so.
    assert!(
        stdout.contains("built without --release") == cfg!(debug_assertions),
        "{stdout}"
    );
    // The two rows, ranked 1 and 2, with the tutorial's words.
    let row = |name: &str| {
        stdout
            .lines()
            .find(|line| line.get(4..).is_some_and(|l| l.starts_with(name)))
            .unwrap_or_else(|| panic!("a row for {name} in\n{stdout}"))
            .to_owned()
    };
    let (pipe, socket) = (row("pipe "), row("Unix domain socket"));
    assert!(pipe.contains("Fast") && pipe.contains("Low"), "{pipe}");
    assert!(
        socket.contains("Medium") && socket.contains("High") && socket.ends_with("no"),
        "{socket}"
    );
    let mut ranks = [&pipe[..2], &socket[..2]];
    ranks.sort_unstable();
    assert_eq!(ranks, [" 1", " 2"]);
}

#[test]
fn placement_same_pins_both_ends_to_one_cpu_and_skips_the_spin_waits() {
    let _serial = serial();
    let stdout = run_clean(&[
        "--json",
        "--placement",
        "same",
        "--iterations",
        "10",
        "--only",
        "posix-shm-spin,pipe",
    ]);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["placement"], "same");
    assert_eq!(json["parent_cpu"], json["child_cpu"]);
    let spin = &json["mechanisms"][0];
    assert_eq!(spin["id"], "posix-shm-spin");
    assert!(
        spin["skipped"]
            .as_str()
            .unwrap()
            .contains("both ends share CPU"),
        "{spin}"
    );
    assert_eq!(spin["round_trip"], serde_json::json!([]));
    let pipe = &json["mechanisms"][1];
    let cpu = &json["parent_cpu"];
    for row in pipe["round_trip"].as_array().unwrap() {
        assert_eq!(&row["result"]["parent_cpu"], cpu, "{row}");
        assert_eq!(&row["result"]["child_cpu"], cpu, "{row}");
    }
}

#[test]
fn ctrl_c_or_sigterm_stops_the_run_removes_everything_and_exits_128_plus_the_signal() {
    let _serial = serial();
    for (signal, code, name) in [
        (Signal::SIGINT, 130, "SIGINT"),
        (Signal::SIGTERM, 143, "SIGTERM"),
    ] {
        let tmp = TestDir::new();
        let before = sysv_objects();
        // Full counts: the run is still going when the signal comes.
        let mut child = Command::new(cargo_bin!("bench"))
            .args([
                "--only",
                "msgqueue,sysv-shm-futex,posix-shm-futex,fifo,unix-socket,mmap-file",
            ])
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        // Wait until it is measuring its first mechanism, with its objects made.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        wait_until("the first mechanism starts", || {
            let mut line = String::new();
            stderr.read_line(&mut line).unwrap();
            seen.push_str(&line);
            line.contains("[2/")
        });
        wait_until("its objects exist", || {
            !sysv_left_by(pid, &before).is_empty()
        });
        kill(Pid::from_raw(pid as i32), signal).unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
        let status = child.wait().unwrap();

        assert_eq!(status.code(), Some(code), "{name}: {seen}{rest}");
        assert!(
            rest.ends_with(&format!(
                "bench: interrupted by {name}; every IPC object it made is removed\n"
            )),
            "{name}: {rest}"
        );
        assert_eq!(
            dir_entries(tmp.path()),
            Vec::<String>::new(),
            "{name}: private directory removed"
        );
        assert_eq!(
            dev_shm_left_by(pid),
            Vec::<String>::new(),
            "{name}: no POSIX shm left"
        );
        assert_eq!(
            sysv_left_by(pid, &before),
            Vec::new(),
            "{name}: no System V object left"
        );
        assert_eq!(
            bench_processes(),
            Vec::<u32>::new(),
            "{name}: no child left running"
        );
    }
}

/// The children of process `pid` (from the fourth field of /proc/*/stat).
fn children_of(pid: u32) -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            fs::read_to_string(format!("/proc/{child}/stat")).is_ok_and(|stat| {
                // "pid (comm) state ppid ...": comm may hold spaces, not ')'.
                stat.rsplit_once(") ")
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok())
                    == Some(pid)
            })
        })
        .collect()
}

#[test]
fn a_killed_child_fails_its_row_and_does_not_hang_the_parent() {
    let _serial = serial();
    // The waits that only the peer could end: msgrcv, a futex, sigwaitinfo, a spin.
    let mut mechanisms = vec!["msgqueue", "posix-shm-futex", "signal"];
    if std::thread::available_parallelism().map_or(1, usize::from) >= 2 {
        mechanisms.push("posix-shm-spin");
    }
    for mechanism in mechanisms {
        let tmp = TestDir::new();
        let before = sysv_objects();
        // Rows of 20,000 round trips: long enough to kill the child in the
        // middle of one, short enough that the rest of the run is quick.
        let mut bench = Command::new(cargo_bin!("bench"))
            .args(["--only", mechanism, "--iterations", "20000"])
            .env("TMPDIR", tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = bench.id();
        let mut stderr = BufReader::new(bench.stderr.take().unwrap());
        let mut seen = String::new();
        // The first round trip of the mechanism (the rows before it are the
        // floor's, whose children are not the mechanism's).
        while !seen.contains(": round trip, ") {
            assert_ne!(
                stderr.read_line(&mut seen).unwrap(),
                0,
                "{mechanism}: {seen}"
            );
        }
        let mut child = Vec::new();
        wait_until("the child of the first round trip is forked", || {
            child = children_of(pid);
            !child.is_empty()
        });
        kill(Pid::from_raw(child[0] as i32), Signal::SIGKILL).unwrap();

        // The parent notices and reports the row as failed (then goes on).
        while !(seen.contains("the child process ended") || seen.contains("before it said")) {
            assert_ne!(
                stderr.read_line(&mut seen).unwrap(),
                0,
                "{mechanism}: {seen}"
            );
        }
        // Stop the rest of the run. (A zombie can be sent a signal too, if
        // that was its last row.)
        kill(Pid::from_raw(pid as i32), Signal::SIGINT).unwrap();
        let code = bench.wait().unwrap().code();
        // 130 if the signal stopped it, 1 (a row failed) if it had finished.
        assert!(
            code == Some(130) || code == Some(1),
            "{mechanism}: {code:?} {seen}"
        );
        assert_eq!(
            dir_entries(tmp.path()),
            Vec::<String>::new(),
            "{mechanism}: private directory removed"
        );
        assert_eq!(
            dev_shm_left_by(pid),
            Vec::<String>::new(),
            "{mechanism}: no POSIX shm left"
        );
        assert_eq!(
            sysv_left_by(pid, &before),
            Vec::new(),
            "{mechanism}: no System V object left"
        );
    }
}

#[test]
fn bad_usage_prints_the_usage_line_and_exits_2() {
    for args in [
        &["--placement", "sideways"][..],
        &["--iterations", "0"],
        &["--only", "carrier-pigeon"],
        &["--placement"],
        &["extra"],
        &["--only", "throughput", "--no-throughput"],
        &["--only", "pipe,speed"],
    ] {
        cargo_bin_cmd!("bench")
            .args(args)
            .timeout(TIMEOUT)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::starts_with("bench: "))
            .stderr(predicate::str::ends_with(
                "\nUsage: bench [--quick] [--placement same|split|any] [--json | --csv] [--iterations N] [--only ID,...] [--no-throughput]\n",
            ));
    }
}

#[test]
fn each_problem_is_named_and_no_argument_is_invisible() {
    let usage = "Usage: bench [--quick] [--placement same|split|any] [--json | --csv] \
                 [--iterations N] [--only ID,...] [--no-throughput]\n";
    for (args, problem) in [
        (&[""][..], "bench: unexpected argument \"\"\n"),
        (&["--bogus"], "bench: unknown option --bogus\n"),
        (&["extra"], "bench: unexpected argument extra\n"),
        (
            &["--json", "--csv"],
            "bench: --json and --csv: choose one\n",
        ),
        (&["--csv", "--csv"], "bench: --json and --csv: choose one\n"),
        (&["--quick", "--quick"], "bench: --quick given twice\n"),
        (
            &["--placement", "same", "--placement=split"],
            "bench: --placement given twice\n",
        ),
    ] {
        cargo_bin_cmd!("bench")
            .args(args)
            .timeout(TIMEOUT)
            .assert()
            .code(2)
            .stdout("")
            .stderr(format!("{problem}{usage}"));
    }
}

#[test]
fn help_prints_the_usage_and_the_options() {
    cargo_bin_cmd!("bench")
        .arg("--help")
        .timeout(TIMEOUT)
        .assert()
        .success()
        .stdout(predicate::str::starts_with("Usage: bench [--quick]"))
        .stdout(predicate::str::contains("--placement WHERE"))
        .stdout(predicate::str::contains("--iterations N"))
        .stdout(predicate::str::contains("--no-throughput"))
        .stdout(predicate::str::contains(
            "latency (the round trips and the floor)",
        ));
}

/// The kinds of measurement in a `--json` report: (floor ways, round-trip
/// rows, throughput rows), and the `measured` flags.
fn measured(json: &Value) -> (usize, usize, usize, &Value) {
    let mechanisms = json["mechanisms"].as_array().unwrap();
    let count = |key: &str| {
        mechanisms
            .iter()
            .map(|m| m[key].as_array().unwrap().len())
            .sum::<usize>()
    };
    (
        json["floor_ways"].as_array().unwrap().len(),
        count("round_trip"),
        count("throughput"),
        &json["measured"],
    )
}

#[test]
fn no_throughput_and_only_latency_measure_the_round_trips_and_the_floor_only() {
    let _serial = serial();
    for args in [
        &["--no-throughput"][..],
        &["--only", "latency"],
        &["--only", "throughput,latency", "--no-throughput"],
    ] {
        let mut all = vec!["--json", "--iterations", "10", "--only", "pipe,signal"];
        all.extend_from_slice(args);
        let json: Value = serde_json::from_str(&run_clean(&all)).unwrap();
        let (ways, round_trips, throughputs, flags) = measured(&json);
        assert_eq!((round_trips, throughputs), (3, 0), "{args:?}: {json}");
        assert_eq!(flags["throughput"], false, "{args:?}");
        if json["cpus_online"].as_u64() >= Some(2) && json["floor"] != Value::Null {
            // Every way of passing the line, the lowest of them the floor.
            assert_eq!(ways, 3, "{args:?}");
            let lowest = json["floor_ways"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| w["result"]["p50_ns"].as_u64().unwrap())
                .min();
            assert_eq!(json["floor"]["p50_ns"].as_u64(), lowest, "{json}");
        }
    }
}

#[test]
fn only_throughput_measures_the_one_way_streams_only_and_the_table_says_so() {
    let _serial = serial();
    let json: Value = serde_json::from_str(&run_clean(&[
        "--json",
        "--iterations",
        "10",
        "--only",
        "throughput,pipe,unix-socket",
    ]))
    .unwrap();
    let (ways, round_trips, throughputs, flags) = measured(&json);
    assert_eq!((ways, round_trips, throughputs), (0, 0, 4), "{json}");
    assert!(json["floor"].is_null(), "{json}");
    assert_eq!(flags["latency"], false);
    let ids: Vec<&str> = json["mechanisms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["pipe", "unix-socket"]);

    let text = run_clean(&["--iterations", "10", "--only", "throughput,pipe"]);
    for line in [
        "  latency     not measured (--only throughput)",
        "Physical floor: not measured (--only throughput)",
        "One-way throughput, 1 MiB messages (longer is faster)",
    ] {
        assert!(text.contains(line), "{line:?} in\n{text}");
    }
    assert!(!text.contains("Round trip, 64 B, p50"), "{text}");
}

#[test]
fn quick_runs_2000_round_trips_per_row() {
    // How long --quick takes (at most 5 s: each row stops at its share of a
    // 4 s budget) is measured on a quiet machine with a release build, not
    // asserted here, in a debug build beside other tests.
    let _serial = serial();
    let json: Value =
        serde_json::from_str(&run_clean(&["--json", "--quick", "--only", "pipe"])).unwrap();
    assert_eq!(json["round_trips_per_row"], 2000, "{json}");
    assert_eq!(json["warmup_round_trips"], 200, "{json}");
}
