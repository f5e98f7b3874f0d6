//! # mmap-file: a memory-mapped file
//!
//! The tutorial describes memory-mapped files ("Common IPC Mechanisms:
//! Memory-Mapped Files") without a listing; this is a port of `c/mmap-file.c`,
//! written in the tutorial's style. The parent creates a file of 4096 bytes
//! and maps it shared, so that stores to the mapping go to the file; it writes
//! a message at offset 0 and flushes it with `msync`. The child maps the same
//! file by name, as an unrelated process would, reads the message and writes a
//! reply at offset 2048. The parent reads the reply through its own mapping,
//! unmaps, and reads the file back with plain `read`: the data persisted, and
//! the file stays on disk afterwards.
//!
//! ```text
//! cargo run -p mmap-file [FILE]     # default ipc_mmap.dat, in the current directory
//! ```
//!
//! prints, always in this order:
//!
//! ```text
//! Mapped ipc_mmap.dat (4096 bytes)
//! Parent wrote: Hello from the parent via a memory-mapped file!
//! Child read: Hello from the parent via a memory-mapped file!
//! Parent read reply: Hello from the child via the same file!
//! File ipc_mmap.dat still holds: Hello from the parent via a memory-mapped file!
//! ```
//!
//! | C | Rust | what changes |
//! |---|---|---|
//! | `FILE_PATH "ipc_mmap.dat"` | the optional argument, this by default | |
//! | `open`: `O_TRUNC`, mode 0644 | `O_EXCL \| O_NOFOLLOW`, mode 0600 | see below |
//! | `open` in the child, at the end | the same, with `O_NOFOLLOW` | no symlink followed |
//! | `ftruncate`, `read`, `close` | the same, on a `File` | `close` is dropping it |
//! | `mmap`, `msync`, `munmap` | the same; `map` unmaps when dropped | on every path |
//! | `strcpy(map, ...)`, `printf("%s")` | `strcpy`, `c_str` of `map.bytes()` | bounded |
//! | `fork()` | `fork`; `child`, ended by `run_child` | never returns into `main` |
//! | `wait(NULL)` | `Child::wait` | a failed child fails the parent |
//! | Ctrl-C ends both | `common::main` records it; each stops at its next step | exit 130 or 143 |
//!
//! Beyond the listing, `robust.rs` holds what the C leaves to luck. A file
//! already at the path is normally what an earlier run left: it is reused,
//! emptied, only if it is a regular file, yours, mode 0600, of 0 or 4096
//! bytes, reached without a symlink (`lstat`, then `fstat` of what `open`
//! opened); anything else is left alone, and the run stops with one line
//! naming the path. Two runs on one file would mix their messages, so a run
//! first claims the file, and a second one stops at once. The mapping's
//! guard unmaps on every early exit, and `strcpy` and `c_str` stay within it.
//! Another program that writes or truncates the file meanwhile is noticed
//! (a truncated mapping's SIGBUS included) and stops the run with one line.

mod robust;

use std::ffi::OsString;
use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use common::{Child, Perror, run_child, say};
use nix::libc::{MAP_SHARED, MS_SYNC, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_RDWR};
use nix::libc::{PROT_READ, PROT_WRITE};
use nix::unistd::{ForkResult, fork};
use robust::{c_str, close, ftruncate, mmap, open, strcpy};

const HELP: &str = "\
Usage: mmap-file [FILE]
A parent and its forked child exchange messages through a file that both map into memory.
FILE is created with 4096 bytes (or reused, emptied, if an earlier run left it) and stays
afterwards (default: ipc_mmap.dat).
";

const FILE_PATH: &str = "ipc_mmap.dat";
const FILE_SIZE: usize = 4096;
const REPLY_OFFSET: usize = 2048; // The child writes its reply in the second half
const MESSAGE: &str = "Hello from the parent via a memory-mapped file!";
const REPLY: &str = "Hello from the child via the same file!";

fn main() -> ExitCode {
    common::main(HELP, FILE_PATH, run)
}

fn run(file_path: OsString) -> anyhow::Result<()> {
    let path = PathBuf::from(file_path);
    let shown = path.display();
    // SIGBUS (the file truncated under the mapping) is one line; SIGUSR1 stops (robust.rs)
    robust::on_signals(&path)?;

    // One run per file at a time (robust.rs)
    let _claim = robust::claim(&path)?;

    // Create (or truncate) the backing file and give it its size
    let fd = match open(&path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600) {
        // A file already there (O_EXCL): used only if an earlier run left it (robust.rs)
        Err(error) if error.kind() == ErrorKind::AlreadyExists => robust::reuse_leftover(&path)?,
        opened => opened.perror(format!("open(\"{shown}\")"))?,
    };

    ftruncate(&fd, FILE_SIZE).perror("ftruncate")?;

    // Map the whole file, shared: stores go to the file's page cache
    let mut map = mmap(FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, &fd).perror("mmap")?;

    say!("Mapped {shown} ({FILE_SIZE} bytes)")?;

    // Write a message into the mapping and flush it to the file
    // SAFETY: the child does not exist yet, and no other process is told
    // about the file: nothing else writes it while this slice lives.
    let bytes = unsafe { map.bytes() };
    strcpy(bytes, MESSAGE);
    map.msync(MS_SYNC).perror("msync")?;

    // SAFETY: as above.
    let bytes = unsafe { map.bytes() };
    say!("Parent wrote: {}", c_str(bytes))?;

    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Each line printed so far is
    // already written out (see `say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(fd, &path)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

    // Parent process: wait for the child, then read its reply
    child.wait()?;

    // SAFETY: the child, the only other process that wrote the file, has
    // exited.
    let bytes = unsafe { map.bytes() };
    // Both messages as written? Another program may have meddled (robust.rs)
    robust::check(&fd, bytes, &[(0, MESSAGE), (REPLY_OFFSET, REPLY)], &path)?;
    say!("Parent read reply: {}", c_str(&bytes[REPLY_OFFSET..]))?;

    // Unmap and close; the data stays in the file
    map.munmap().perror("munmap")?;
    close(fd);

    // Show persistence: read the file back with plain read()
    let mut buffer = [0; 100];
    let mut fd = open(&path, O_RDONLY | O_NOFOLLOW, 0).perror(format!("open(\"{shown}\")"))?;
    let bytes_read = fd.read(&mut buffer).perror("read")?;
    robust::check(&fd, &buffer[..bytes_read], &[(0, MESSAGE)], &path)?;
    close(fd);

    say!("File {shown} still holds: {}", c_str(&buffer[..bytes_read]))?;
    Ok(())
}

/// The child's part: map the file by name, read the parent's message, reply.
fn child(parent_fd: File, path: &Path) -> anyhow::Result<()> {
    // (Not in the C: close the descriptor inherited from the parent, so
    // that the child needs no more descriptors than the parent.)
    close(parent_fd);

    // Child process: map the same file by name, as an unrelated process would
    let child_fd =
        open(path, O_RDWR | O_NOFOLLOW, 0).perror(format!("open(\"{}\")", path.display()))?;

    let mut child_map =
        mmap(FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, &child_fd).perror("mmap")?;

    // SAFETY: the parent does not touch the file until this process has
    // exited, so nothing else writes it while this slice lives.
    let bytes = unsafe { child_map.bytes() };
    // The parent's message? Another program may have written it (robust.rs)
    robust::check(&child_fd, bytes, &[(0, MESSAGE)], path)?;
    say!("Child read: {}", c_str(bytes))?;

    // Reply in the second half of the file
    strcpy(&mut bytes[REPLY_OFFSET..], REPLY);
    child_map.msync(MS_SYNC).perror("msync")?;

    child_map.munmap().perror("munmap")?;
    close(child_fd);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// A command-line argument never holds a NUL byte, so only a test can
    /// pass one: the run stops at `open`, with one line, before it forks.
    #[test]
    fn a_name_with_a_nul_byte_is_a_one_line_error() {
        let error = run(OsString::from("ipc\0mmap.dat")).unwrap_err();
        let error = format!("{error:#}");
        assert!(error.starts_with("open(\"ipc\0mmap.dat\"): "), "{error}");
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(!Path::new("ipc").exists());
    }
}
