//! `pipe` beside `c/pipe.c`, under strace: the same IPC calls in each
//! process, in the same order, and the same lines (see `tests::c_compare`
//! for what counts and how).

use tests::c_compare::{CHILD_WATCH, Comparison, OTHER_SIGNALS, Own};

#[test]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "pipe",
        port: env!("CARGO_BIN_EXE_pipe").as_ref(),
        own: Own::Nothing,
        c_path: None,
        c_claim: None,
        additions: &[OTHER_SIGNALS, CHILD_WATCH],
        omissions: &[],
        varying: &[],
    }
    .run();
}
