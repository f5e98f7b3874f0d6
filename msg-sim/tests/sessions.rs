//! The sample sessions shipped in `msg-sim/sessions/` (run as
//! `cargo run -p msg-sim < msg-sim/sessions/tour.txt`) stay valid: each line is a
//! command that msg-sim accepts, the session ends normally, and the queue is
//! removed.

use assert_cmd::cargo::cargo_bin;

#[test]
fn every_sample_session_runs_to_its_end_without_a_hint() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sessions");
    tests::sims::assert_sample_sessions_run(cargo_bin!("msg-sim"), &dir, "msg-sim", "queue");
}
