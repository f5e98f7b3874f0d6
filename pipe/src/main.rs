//! # pipe: a pipe from parent to child
//!
//! The "Pipe Example" of the tutorial's "IPC Implementation Examples",
//! ported from `c/pipe.c`. The parent creates a pipe and forks; the child
//! inherits both ends. Each process closes the end it does not use, the
//! parent writes a message into the pipe, and the child reads it out. A pipe
//! has no name: only processes that inherit its descriptors can use it, and
//! it disappears when the last one is closed, so there is nothing to remove.
//!
//! ```text
//! cargo run -p pipe
//! ```
//!
//! prints (the two lines may come in either order):
//!
//! ```text
//! Parent sent: Hello from parent via pipe!
//! Child received: Hello from parent via pipe!
//! ```
//!
//! | C | Rust |
//! |---|---|
//! | `pipe(pipefd)` | `io::pipe()`: two owned ends, `PipeReader` and `PipeWriter` |
//! | `fork()` | `fork()` (nix); the child runs `child`, ended by `run_child` |
//! | `close(pipefd[1])` | `drop(writer)`: closing is dropping |
//! | `read(pipefd[0], buffer, sizeof(buffer))` | `robust::read(&mut reader, &mut buffer)` |
//! | `perror("read")` when nothing was read | an error, the child exits 1 |
//! | `write(pipefd[1], message, strlen(message))` | `writer.write_all(message)` |
//! | `wait(NULL)` | `child.wait()`, which fails if the child failed |
//!
//! ## Beyond the listing
//!
//! A pipe leaves little to luck: the kernel frees it with its last
//! descriptor. `robust.rs` holds the `read` that a signal does not cut
//! short, the check that the child read its parent's message (another
//! program can write into the pipe through `/proc`), and SIGUSR1 and SIGHUP
//! stopping the parent as SIGTERM does; the rest is shared by every example
//! (`common`): the parent's `Child` handle reaps, or kills, the child on
//! every path and reports how it died, and Ctrl-C stops both processes.

mod robust;

use std::io::{self, PipeReader, PipeWriter, Write};
use std::process::ExitCode;

use anyhow::bail;
use common::{Child, Perror, run_child, say};
use nix::unistd::{ForkResult, fork};

const HELP: &str = "\
Usage: pipe
A parent sends a message to its forked child through a pipe.
";

fn main() -> ExitCode {
    common::main_no_args(HELP, run)
}

fn run() -> anyhow::Result<()> {
    let message = "Hello from parent via pipe!";

    // Create the pipe
    let (reader, mut writer) = io::pipe().perror("pipe")?;

    // Create a child process
    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Each line printed so far is
    // already written out (see `say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(reader, writer, message)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };
    // SIGHUP, SIGUSR1 and SIGUSR2 stop the parent as SIGTERM does (robust.rs)
    robust::stop_on_other_signals()?;

    // Parent process

    // Close the read end as we only need to write
    drop(reader);

    // Write to pipe (if the child is gone already, say how it ended: robust.rs)
    let child = robust::child_still_reading(writer.write_all(message.as_bytes()), child)?;

    say!("Parent sent: {message}")?;

    // Close the write end
    drop(writer);

    // Wait for child to finish
    child.wait()
}

/// The child process: read what the parent wrote.
fn child(mut reader: PipeReader, writer: PipeWriter, message: &str) -> anyhow::Result<()> {
    // Close the write end as we only need to read
    drop(writer);

    // Read from pipe. One read gets the whole message: a write of at most
    // PIPE_BUF (4096) bytes goes into a pipe all at once.
    let mut buffer = [0; 100];
    let bytes_read = robust::read(&mut reader, &mut buffer).perror("read")?;

    if bytes_read > 0 {
        // Only the parent's message, not another program's (robust.rs)
        robust::from_the_parent(&buffer[..bytes_read], message)?;
        // No NUL needed: the slice knows its length
        let text = String::from_utf8_lossy(&buffer[..bytes_read]);
        say!("Child received: {text}")?;
    } else {
        // Every write end is closed and nothing was written
        bail!("read: end of file before any data");
    }

    // Close the read end
    drop(reader);

    Ok(())
}
