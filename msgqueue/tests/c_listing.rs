//! `msgqueue` beside `c/msgqueue.c`, under strace: the same IPC calls in
//! each process, in the same order, and the same lines (see
//! `tests::c_compare` for what counts and how).

use tests::c_compare::{CHILD_WATCH, CLAIM, Comparison, Own};

#[test]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "msgqueue",
        port: env!("CARGO_BIN_EXE_msgqueue").as_ref(),
        own: Own::Nothing,
        c_path: None,
        c_claim: None,
        additions: &[CLAIM, CHILD_WATCH],
        omissions: &[],
        varying: &["Message queue created: "],
    }
    .run();
}
