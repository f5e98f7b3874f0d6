//! `uds` beside `c/uds.c`, under strace: the same IPC calls in each
//! process, in the same order, and the same lines (see `tests::c_compare`
//! for what counts and how).

use tests::c_compare::{Addition, CHILD_WATCH, CLAIM, Comparison, OTHER_SIGNALS, Own};

/// What `uds` adds to the calls of `c/uds.c`, and why.
const UDS: &[Addition] = &[
    Addition {
        call: "umask",
        args: "",
        process: "parent",
        only_first: false,
        why: "umask(0177) before bind and back after: the socket file is created owner-only (0600)",
    },
    Addition {
        call: "rt_sigprocmask(SIG_BLOCK)",
        args: "~[RTMIN RT_1]",
        process: "parent",
        only_first: false,
        why: "the C library, as the thread ends that watches the socket file while the server \
              waits in accept (robust.rs: a file removed from outside ends the wait)",
    },
];

/// What `uds` leaves out.
const NOT_IN_UDS: &[Addition] = &[Addition {
    call: "unlink",
    args: "ENOENT",
    process: "parent",
    only_first: false,
    why: "the C removes whatever is at the path before bind; the port looks first, and removes \
          a socket file only after a probe connect is refused (robust.rs): with nothing there, \
          it has nothing to remove",
}];

#[test]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "uds",
        port: env!("CARGO_BIN_EXE_uds").as_ref(),
        own: Own::File("sock"),
        c_path: Some("/tmp/ipc_socket"),
        c_claim: Some("uds /tmp/ipc_socket"),
        additions: &[OTHER_SIGNALS, CLAIM, CHILD_WATCH, UDS],
        omissions: NOT_IN_UDS,
        varying: &[],
    }
    .run();
}
