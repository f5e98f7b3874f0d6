//! `shm-mutex` beside `c/shm-mutex.c`, under strace: the same IPC calls in each
//! process, in the same order, and the same lines (see `tests::c_compare`
//! for what counts and how).

use tests::c_compare::{CHILD_WATCH, CLAIM, Comparison, Own};

#[test]
#[ignore = "opt-in, the C program sleeps 5 s: cargo test -- --ignored (CI runs it)"]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "shm-mutex",
        port: env!("CARGO_BIN_EXE_shm-mutex").as_ref(),
        own: Own::ShmName,
        c_path: Some("/dev/shm/my_shared_memory"),
        c_claim: Some("shm-mutex /my_shared_memory"),
        additions: &[CLAIM, CHILD_WATCH],
        omissions: &[],
        varying: &[
            "Parent: Incremented counter to ",
            "Child: Incremented counter to ",
        ],
    }
    .run();
}
