//! `semaphore` beside `c/semaphore.c`, under strace: the same IPC calls in each
//! process, in the same order, and the same lines (see `tests::c_compare`
//! for what counts and how).

use tests::c_compare::{Addition, CHILD_WATCH, CLAIM, Comparison, Own, SYSV_TIMED_WAITS};

/// What `semaphore` adds to the calls of `c/semaphore.c`, and why.
const SEMAPHORE: &[Addition] = &[Addition {
    call: "semctl",
    args: "GETVAL",
    process: "either",
    only_first: false,
    why: "the holder checks that the value is 0 before it gives the semaphore back, and the \
          parent that it is 1 at the end: a SETVAL from another program (the C listing at the \
          same key) would otherwise let both processes in at once (robust.rs)",
}];

#[test]
#[ignore = "opt-in, the C program sleeps 2 s: cargo test -- --ignored (CI runs it)"]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "semaphore",
        port: env!("CARGO_BIN_EXE_semaphore").as_ref(),
        own: Own::Nothing,
        c_path: None,
        c_claim: None,
        additions: &[CLAIM, CHILD_WATCH, SYSV_TIMED_WAITS, SEMAPHORE],
        omissions: &[],
        varying: &["Semaphore set created: "],
    }
    .run();
}
