//! Helpers shared by the integration tests of every member (a dev-dependency
//! of each): a fresh temporary directory and unique names per test, probes
//! that tell whether an IPC object still exists, and checks on the lines a
//! program printed.
//!
//! Tests run in parallel, in one process per test binary and possibly in
//! several binaries at once, so nothing here depends on global state: each
//! test finds its own objects by the key, name or path it chose.
//!
//! A helper that cannot do its job panics: in a test, that is a failure with
//! a message, which is what the caller wants.
//!
//! One file per concern: `names` ([`TestDir`], unique names, `ftok` keys,
//! where POSIX objects live), [`sysv`] (System V probes and squatters),
//! `users` (the tests' uid, an unprivileged command), `wait` (deadlines),
//! `output` (checks on the lines printed), `pipes` ([`FullPipe`],
//! [`closed_pipe`]), `live` (a [`Live`] session), [`faults`] (running an
//! example and hurting it) and `sysv_example` ([`SysvExample`], the checks
//! the System V examples share). Their items are re-exported here, so a test
//! writes `tests::TestDir`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod c_compare;
pub mod check;
pub mod faults;
pub mod interference;
mod live;
mod names;
mod output;
mod pipes;
pub mod sims;
pub mod sysv;
mod sysv_example;
pub mod sysv_interference;
mod users;
mod wait;

pub use faults::signal_name;
pub use live::Live;
pub use names::{TestDir, dev_shm, exists, ftok, unique_name};
pub use output::{assert_each_line_once, assert_in_order, assert_same_lines, lines, position};
pub use pipes::{FullPipe, closed_pipe};
pub use sysv_example::SysvExample;
pub use users::{uid, unprivileged};
pub use wait::{TIMEOUT, wait_until};
