//! Checks on the lines a program printed: each line once, an order the
//! protocol guarantees, the same lines in any order.

/// The lines of a program's stdout.
pub fn lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The position of the one line equal to `line`; fails if there is none or
/// more than one.
pub fn position(lines: &[String], line: &str) -> usize {
    let found: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == line)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected {line:?} exactly once in {lines:#?}"
    );
    found[0]
}

/// Asserts that each line of `chain` is printed exactly once, and each
/// before the next: an order the protocol guarantees.
pub fn assert_in_order(lines: &[String], chain: &[&str]) {
    for pair in chain.windows(2) {
        assert!(
            position(lines, pair[0]) < position(lines, pair[1]),
            "expected {:?} before {:?} in {lines:#?}",
            pair[0],
            pair[1]
        );
    }
}

/// Asserts that `lines` are exactly `expected` in some order, each as often
/// as there: nothing missing, nothing extra, nothing printed twice.
pub fn assert_same_lines(lines: &[String], expected: &[&str]) {
    let mut got: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut want = expected.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(
        got, want,
        "the lines printed, sorted, against the expected ones"
    );
}

/// Asserts that no line is printed twice: what a C program that forks after
/// `printf` does when its stdout is a pipe or a file.
pub fn assert_each_line_once(lines: &[String]) {
    for line in lines {
        let times = lines.iter().filter(|l| *l == line).count();
        assert_eq!(times, 1, "{line:?} printed {times} times in {lines:#?}");
    }
}
