//! `signals` beside `c/signals.c`, under strace: the same IPC calls in each
//! process, in the same order, and the same lines (see `tests::c_compare`
//! for what counts and how).

use tests::c_compare::{Addition, Comparison, Own};

/// What `signals` adds to the calls of `c/signals.c`, and why.
const SIGNALS: &[Addition] = &[
    Addition {
        call: "rt_sigaction(SIGUSR2)",
        args: "",
        process: "parent",
        only_first: false,
        why: "the child's SIGUSR2 says \"all three sent\", where the C's parent sleeps 1 s and hopes",
    },
    Addition {
        call: "kill(SIGUSR2)",
        args: "",
        process: "child",
        only_first: false,
        why: "the child's \"all three sent\", after its three SIGUSR1",
    },
    Addition {
        call: "rt_sigsuspend",
        args: "[USR1]",
        process: "parent",
        only_first: false,
        why: "the parent waits for that SIGUSR2 with SIGUSR1 still blocked",
    },
    Addition {
        call: "rt_sigaction(SIGCHLD)",
        args: "",
        process: "parent",
        only_first: false,
        why: "a child that dies wakes the parent from sigsuspend, which then says how it ended",
    },
    Addition {
        call: "rt_sigprocmask(SIG_UNBLOCK)",
        args: "[TERM]",
        process: "parent",
        only_first: false,
        why: "SIGTERM is blocked only for the child to inherit; a SIGTERM to the parent stops it",
    },
];

#[test]
fn makes_the_ipc_calls_of_its_c_program_and_prints_its_lines() {
    Comparison {
        name: "signals",
        port: env!("CARGO_BIN_EXE_signals").as_ref(),
        own: Own::Nothing,
        c_path: None,
        c_claim: None,
        additions: &[SIGNALS],
        omissions: &[],
        varying: &[],
    }
    .run();
}
