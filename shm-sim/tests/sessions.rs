//! The sample sessions shipped in `shm-sim/sessions/` (run as
//! `cargo run -p shm-sim < shm-sim/sessions/tour.txt`) stay valid: each line is a
//! command that shm-sim accepts, the session ends normally, and the segment is
//! removed.

use assert_cmd::cargo::cargo_bin;

#[test]
fn every_sample_session_runs_to_its_end_without_a_hint() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sessions");
    tests::sims::assert_sample_sessions_run(cargo_bin!("shm-sim"), &dir, "shm-sim", "segment");
}
