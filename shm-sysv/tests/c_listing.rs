//! `shm-sysv` beside `c/shm-sysv.c`, under strace: the same IPC calls in each
//! process, in the same order, and the same lines (see `tests::c_compare`
//! for what counts and how).

use tests::c_compare::{CHILD_WATCH, CLAIM, Comparison, Own};

#[test]
#[ignore = "opt-in, the C program sleeps 2 s: cargo test -- --ignored (CI runs it)"]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "shm-sysv",
        port: env!("CARGO_BIN_EXE_shm-sysv").as_ref(),
        own: Own::Nothing,
        c_path: None,
        c_claim: None,
        additions: &[CLAIM, CHILD_WATCH],
        omissions: &[],
        varying: &[
            "Shared memory segment created: ",
            "Shared memory attached at address: ",
        ],
    }
    .run();
}
