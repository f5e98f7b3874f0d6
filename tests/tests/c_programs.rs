//! The tutorial's C programs (`c/NAME.c`) through the checker: what each
//! passes and fails is asserted, so that the table in docs/checker.md stays
//! true. The listing level runs in the suite; the robust level's sweeps are
//! opt-in (`cargo test -p tests --test c_programs -- --ignored`), as they
//! take about two minutes for the eight programs.
//!
//! The programs are built from `c/` at the workspace's root (or from the
//! folder `CHECK_C_DIR` names) with `cc`; without either, each test says so
//! in one line and passes.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use tests::TestDir;
use tests::check::{self, Level};

/// Each example, and the checks its C program fails: at the listing level
/// (where the run into a pipe prints the lines from before the fork twice),
/// and those the robust level adds.
const EXPECTED: [(&str, &[&str], &[&str]); 8] = [
    ("shm-sysv", &["L6"], &["R1", "R2", "R3", "R5"]),
    ("pipe", &[], &["R1", "R2", "R3", "R5"]),
    ("msgqueue", &["L6"], &["R1", "R2", "R3", "R5"]),
    ("uds", &[], &["R1", "R2", "R3", "R5"]),
    ("shm-mutex", &[], &["R1", "R2", "R3", "R5"]),
    ("signals", &["L6"], &["R1", "R2", "R3", "R5"]),
    ("semaphore", &["L6"], &["R1", "R2", "R3", "R5"]),
    ("mmap-file", &["L6"], &["R1", "R2", "R3", "R5"]),
];

/// The C program of `name`, built into `dir`; `None` (said in one line)
/// when there is no `c/` or no `cc`.
fn build(name: &str, dir: &TestDir) -> Option<PathBuf> {
    let sources = std::env::var_os("CHECK_C_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../c"));
    let source = sources.join(format!("{name}.c"));
    if !source.exists() {
        eprintln!("skipped: no {}", source.display());
        return None;
    }
    let program = dir.join(name);
    // The tutorial's listings call wait() without <sys/wait.h>.
    let built = Command::new("cc")
        .args(["-O2", "-w", "-include", "sys/wait.h", "-o"])
        .arg(&program)
        .arg(&source)
        .arg("-lpthread")
        .status();
    match built {
        Ok(status) if status.success() => Some(program),
        Ok(status) => panic!("cc {}: {status}", source.display()),
        Err(e) => {
            eprintln!("skipped: cc: {e}");
            None
        }
    }
}

/// Checks the C program of `name` at `level`, asserts which checks it
/// fails, and returns the report (`None` if it could not be built).
fn assert_fails_exactly(name: &str, level: Level) -> Option<check::Report> {
    let dir = TestDir::new();
    let program = build(name, &dir)?;
    let (_, listing, robust) = EXPECTED.iter().find(|(n, _, _)| *n == name).unwrap();
    let mut expected: Vec<&str> = listing.to_vec();
    if level == Level::Robust {
        expected.extend(robust.iter());
    }

    let report = check::check_example(name, &program, level);

    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.number)
        .collect();
    assert_eq!(failed, expected, "{}", report.text(false));
    Some(report)
}

#[test]
#[ignore = "opt-in, the C program sleeps 2 s a run: cargo test -- --ignored (CI runs it)"]
fn shm_sysv_prints_its_first_lines_twice_into_a_pipe() {
    // The line it repeats is named.
    if let Some(report) = assert_fails_exactly("shm-sysv", Level::Listing) {
        let once = report.result("L6").unwrap();
        assert!(
            once.output.starts_with("\"Shared memory "),
            "{}",
            once.output
        );
        assert!(
            once.output.contains("\" printed twice, expected once"),
            "{}",
            once.output
        );
    }
}

#[test]
fn pipe_passes_the_listing_level() {
    assert_fails_exactly("pipe", Level::Listing);
}

#[test]
fn msgqueue_prints_its_first_line_twice_into_a_pipe() {
    assert_fails_exactly("msgqueue", Level::Listing);
}

#[test]
fn uds_passes_the_listing_level() {
    assert_fails_exactly("uds", Level::Listing);
}

#[test]
#[ignore = "opt-in, the C program sleeps 5 s a run: cargo test -- --ignored (CI runs it)"]
fn shm_mutex_passes_the_listing_level() {
    assert_fails_exactly("shm-mutex", Level::Listing);
}

#[test]
fn signals_prints_its_first_line_twice_into_a_pipe() {
    assert_fails_exactly("signals", Level::Listing);
}

#[test]
#[ignore = "opt-in, the C program sleeps 2 s a run: cargo test -- --ignored (CI runs it)"]
fn semaphore_prints_its_first_line_twice_into_a_pipe() {
    assert_fails_exactly("semaphore", Level::Listing);
}

#[test]
fn mmap_file_prints_its_first_lines_twice_into_a_pipe() {
    assert_fails_exactly("mmap-file", Level::Listing);
}

#[test]
#[ignore = "opt-in, about 2 minutes: cargo test -p tests --test c_programs -- --ignored"]
fn the_robust_level_shows_what_each_c_program_leaves_to_luck() {
    let threads: Vec<_> = EXPECTED
        .iter()
        .map(|(name, _, _)| {
            std::thread::spawn(move || {
                assert_fails_exactly(name, Level::Robust);
            })
        })
        .collect();
    let failed: Vec<_> = threads.into_iter().filter_map(|t| t.join().err()).collect();
    assert!(
        failed.is_empty(),
        "{} C programs did not fail as expected",
        failed.len()
    );
}
