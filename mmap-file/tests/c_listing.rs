//! `mmap-file` beside `c/mmap-file.c`, under strace: the same IPC calls in each
//! process, in the same order, and the same lines (see `tests::c_compare`
//! for what counts and how).

use tests::c_compare::{Addition, CHILD_WATCH, CLAIM, Comparison, OTHER_SIGNALS, Own};

/// What `mmap-file` adds to the calls of `c/mmap-file.c`, and why.
const MMAP_FILE: &[Addition] = &[Addition {
    call: "close",
    args: "",
    process: "child",
    only_first: true,
    why: "the child first closes the parent's descriptor, which it inherited: it needs no more \
          descriptors than the parent",
}];

#[test]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "mmap-file",
        port: env!("CARGO_BIN_EXE_mmap-file").as_ref(),
        own: Own::Nothing,
        c_path: Some("ipc_mmap.dat"),
        c_claim: None,
        additions: &[OTHER_SIGNALS, CLAIM, CHILD_WATCH, MMAP_FILE],
        omissions: &[],
        varying: &[],
    }
    .run();
}
