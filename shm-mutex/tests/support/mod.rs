//! What both test files of shm-mutex check the same way.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use tests::unique_name;

/// A shared memory name no other test uses.
pub fn shm_name() -> String {
    format!("/{}", unique_name("shm-mutex-test"))
}

/// The values printed, in order, with who printed each: `("Parent", 10)`.
/// Fails on a line that is not one of the two kinds the example prints.
pub fn counts(lines: &[String]) -> Vec<(String, i32)> {
    lines
        .iter()
        .map(|line| {
            let (who, value) = line
                .split_once(": Incremented counter to ")
                .unwrap_or_else(|| panic!("unexpected line {line:?}"));
            assert!(
                matches!(who, "Parent" | "Child"),
                "unexpected line {line:?}"
            );
            (who.to_owned(), value.parse().unwrap())
        })
        .collect()
}

/// Checks the ten lines: five per process, and each line's value is the one
/// before plus that process's step (10 for the parent, 1 for the child). The
/// lines are printed under the mutex, so this holds in whatever order the
/// processes took turns; it fails if an update was lost or a line repeated.
pub fn assert_counts_to_55(lines: &[String]) {
    let mut counter = 0;
    let (mut parent, mut child) = (0, 0);
    for (who, value) in counts(lines) {
        let step = if who == "Parent" {
            parent += 1;
            10
        } else {
            child += 1;
            1
        };
        counter += step;
        assert_eq!(value, counter, "{who} {value} in {lines:#?}");
    }
    assert_eq!((parent, child), (5, 5), "{lines:#?}");
    assert_eq!(counter, 55);
}

/// Checks the stderr of a run whose stdout was closed: exactly one line.
/// A child whose write fails leaves its critical section through its guard,
/// unlocking, and exits quietly (status 141); the parent's own write fails,
/// or its `wait` learns why the child ended: it alone prints the line.
pub fn assert_stdout_closed_error(stderr: &str) {
    assert_eq!(stderr, "write stdout: Broken pipe\n");
}
