//! `msgqueue` beside `c/msgqueue.c`, under strace: the same IPC calls in
//! each process, in the same order, and the same lines (see
//! `tests::c_compare` for what counts and how).

use tests::c_compare::{Addition, CHILD_WATCH, CLAIM, Comparison, Own, SYSV_TIMED_WAITS};

/// What `msgqueue` adds to the calls of `c/msgqueue.c`, and why.
const MSGQUEUE: &[Addition] = &[Addition {
    call: "msgctl",
    args: "IPC_STAT",
    process: "parent",
    only_first: false,
    why: "before it removes the queue, the parent checks that it is empty and that only this \
          run sent to it and received from it: another program's messages would be noticed \
          (robust.rs)",
}];

#[test]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "msgqueue",
        port: env!("CARGO_BIN_EXE_msgqueue").as_ref(),
        own: Own::Nothing,
        c_path: None,
        c_claim: None,
        additions: &[CLAIM, CHILD_WATCH, SYSV_TIMED_WAITS, MSGQUEUE],
        omissions: &[],
        varying: &["Message queue created: "],
    }
    .run();
}
