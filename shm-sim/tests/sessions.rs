//! The sample sessions shipped in `shm-sim/sessions/` (run as
//! `cargo run -p shm-sim < shm-sim/sessions/tour.txt`) stay valid: each line is a
//! command that shm-sim accepts, the session ends normally, and the segment is
//! removed.

use std::fs;

use assert_cmd::cargo::cargo_bin_cmd;
use tests::{TIMEOUT, lines};

#[test]
fn every_sample_session_runs_to_its_end_without_a_hint() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sessions");
    let mut sessions: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    sessions.sort();
    assert!(!sessions.is_empty(), "no session in {}", dir.display());
    for session in sessions {
        let commands = fs::read_to_string(&session).unwrap();
        let output = cargo_bin_cmd!("shm-sim")
            .pipe_stdin(&session)
            .unwrap()
            .timeout(TIMEOUT)
            .assert()
            .success()
            .stderr("");
        let transcript = lines(&output.get_output().stdout);
        let name = session.display();
        // Each command is echoed after the prompt, in the file's order.
        let echoed: Vec<&str> = transcript
            .iter()
            .filter_map(|line| line.strip_prefix("shm-sim> "))
            .collect();
        let commands: Vec<&str> = commands.lines().collect();
        assert_eq!(
            echoed, commands,
            "{name}: the commands, as shm-sim echoed them"
        );
        // None of them got a hint instead of running.
        for line in &transcript {
            assert!(
                !line.contains("type help"),
                "{name}: a command was not accepted: {line:?}\n{transcript:#?}"
            );
        }
        let last = transcript.last().unwrap();
        assert!(
            last.starts_with("segment ") && last.contains(" removed ("),
            "{name}: the run should end by removing its segment: {transcript:#?}"
        );
    }
}
