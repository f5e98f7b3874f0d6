//! The command line of an example that takes no name: an argument, even an
//! empty one, is refused with the usage line, and shown so that it is seen.

use assert_cmd::cargo::cargo_bin_cmd;
use tests::TIMEOUT;

#[test]
fn an_empty_argument_is_an_unexpected_argument_shown_quoted() {
    // Not "the name must not be empty": pipe takes no name at all.
    cargo_bin_cmd!("pipe")
        .arg("")
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr("pipe: unexpected argument \"\"\nUsage: pipe\n");
}

#[test]
fn an_argument_with_a_space_is_shown_quoted() {
    cargo_bin_cmd!("pipe")
        .arg("a b")
        .timeout(TIMEOUT)
        .assert()
        .code(2)
        .stdout("")
        .stderr("pipe: unexpected argument \"a b\"\nUsage: pipe\n");
}
