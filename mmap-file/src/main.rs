//! # mmap-file: a memory-mapped file
//!
//! The tutorial describes memory-mapped files ("Common IPC Mechanisms:
//! Memory-Mapped Files") without a listing; this is a port of
//! `shared/reference/c/mmap-file.c`, written in the tutorial's style. The
//! parent creates a file of 4096 bytes and maps it shared, so that stores to
//! the mapping go to the file; it writes a message at offset 0 and flushes it
//! with `msync`. The child maps the same file by name, as an unrelated
//! process would, reads the message and writes a reply at offset 2048. The
//! parent reads the reply through its own mapping, unmaps, and reads the
//! file back with plain `read` to show that the data persisted.
//!
//! The file stays on disk afterwards: that is the point of this mechanism.
//! The mappings and descriptors are released.
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
//! | `open(FILE_PATH, O_RDWR \| O_CREAT \| O_TRUNC, 0644)` | `std::fs::OpenOptions`, mode 0600 | a file it creates is owner-only; an existing one is emptied and keeps its mode |
//! | `ftruncate(fd, FILE_SIZE)` | `File::set_len` | |
//! | `mmap(NULL, FILE_SIZE, PROT_READ \| PROT_WRITE, MAP_SHARED, fd, 0)` | `nix::sys::mman::mmap` in `Mapping::map` | |
//! | `strcpy(map, ...)`, `printf("%s", map)` | `strcpy` and `c_str` on the bytes of the mapping | each access says why no other process writes meanwhile |
//! | `msync(map, FILE_SIZE, MS_SYNC)` | `Mapping::msync` | |
//! | `fork()` | `nix::unistd::fork`; the child's part is `child`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `munmap`, `close` | `Mapping::unmap`, `drop(file)`; `Drop` on every other path | |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed makes the parent fail |
//! | `read(fd, buffer, sizeof(buffer))` | `File::read` | |

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::mem::ManuallyDrop;
use std::num::NonZeroUsize;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::ptr::NonNull;
use std::slice;

use common::{Child, Perror, SysError, run_child, say};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MsFlags, ProtFlags, mmap, msync, munmap};
use nix::unistd::{ForkResult, fork};

const HELP: &str = "\
Usage: mmap-file [FILE]
A parent and its forked child exchange messages through a file that both map into memory.
FILE is created (or emptied) with 4096 bytes and stays afterwards (default: ipc_mmap.dat).
";

const FILE_PATH: &str = "ipc_mmap.dat";
const FILE_SIZE: usize = 4096;
const REPLY_OFFSET: usize = 2048; // The child writes its reply in the second half

fn main() -> ExitCode {
    common::main(HELP, FILE_PATH, run)
}

fn run(file_path: OsString) -> anyhow::Result<()> {
    let path = PathBuf::from(file_path);
    let shown = path.display();

    // Create (or truncate) the backing file and give it its size
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .perror(format!("open(\"{shown}\")"))?;

    file.set_len(FILE_SIZE as u64).perror("ftruncate")?;

    // Map the whole file, shared: stores go to the file's page cache
    let mut map = Mapping::map(&file)?;

    say!("Mapped {shown} ({FILE_SIZE} bytes)")?;

    // Write a message into the mapping and flush it to the file
    // SAFETY: the child does not exist yet, and no other process is told
    // about the file: nothing else writes it while this slice lives.
    let bytes = unsafe { map.bytes() };
    strcpy(bytes, "Hello from the parent via a memory-mapped file!");
    map.msync().perror("msync")?;

    // SAFETY: as above.
    let bytes = unsafe { map.bytes() };
    say!("Parent wrote: {}", c_str(bytes))?;

    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Each line printed so far is
    // already written out (see `say!`), so the child cannot print it again.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(&path)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

    // Parent process: wait for the child, then read its reply
    child.wait()?;

    // SAFETY: the child, the only other process that wrote the file, has
    // exited.
    let bytes = unsafe { map.bytes() };
    say!("Parent read reply: {}", c_str(&bytes[REPLY_OFFSET..]))?;

    // Unmap and close; the data stays in the file
    map.unmap().perror("munmap")?;
    drop(file);

    // Show persistence: read the file back with plain read()
    let mut buffer = [0; 100];
    let mut file = File::open(&path).perror(format!("open(\"{shown}\")"))?;
    let bytes_read = file.read(&mut buffer).perror("read")?;
    drop(file);

    say!("File {shown} still holds: {}", c_str(&buffer[..bytes_read]))?;
    Ok(())
}

/// The child's part: map the file by name, read the parent's message, reply.
fn child(path: &Path) -> anyhow::Result<()> {
    // Child process: map the same file by name, as an unrelated process would
    let child_file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .perror(format!("open(\"{}\")", path.display()))?;

    let mut child_map = Mapping::map(&child_file)?;

    // SAFETY: the parent does not touch the file until this process has
    // exited, so nothing else writes it while this slice lives.
    let bytes = unsafe { child_map.bytes() };
    say!("Child read: {}", c_str(bytes))?;

    // Reply in the second half of the file
    strcpy(
        &mut bytes[REPLY_OFFSET..],
        "Hello from the child via the same file!",
    );
    child_map.msync().perror("msync")?;

    child_map.unmap().perror("munmap")?;
    drop(child_file);
    Ok(())
}

/// `strcpy(dst, text)`: the text and its NUL at the start of `dst`.
fn strcpy(dst: &mut [u8], text: &str) {
    let len = text.len();
    assert!(len < dst.len(), "the text and its NUL fit");
    dst[..len].copy_from_slice(text.as_bytes());
    dst[len] = 0;
}

/// The string at the start of `bytes`, up to its NUL, as `printf("%s")`
/// prints it.
fn c_str(bytes: &[u8]) -> String {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..len]).into_owned()
}

/// The whole file, mapped shared into this process: `unmap` is the
/// listing's `munmap`, and dropping it unmaps on every other path.
struct Mapping {
    address: NonNull<u8>,
}

impl Mapping {
    /// `mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)`.
    fn map(file: &File) -> Result<Self, SysError> {
        let length = NonZeroUsize::new(FILE_SIZE).ok_or(SysError::new("mmap", Errno::EINVAL))?;
        let protection = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: with no address the kernel picks a free range, so nothing
        // this process uses is mapped over; the file is FILE_SIZE bytes long,
        // so every mapped byte is backed.
        let address = unsafe { mmap(None, length, protection, MapFlags::MAP_SHARED, file, 0) }
            .perror("mmap")?;
        Ok(Self {
            address: address.cast(),
        })
    }

    /// The mapped bytes, to read and write like memory.
    ///
    /// # Safety
    ///
    /// No other process may write the file while the slice lives.
    unsafe fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is FILE_SIZE bytes, readable and writable, and
        // stays mapped while `self` lives; this process reaches it only
        // through this `&mut self`, and the caller rules out other writers.
        unsafe { slice::from_raw_parts_mut(self.address.as_ptr(), FILE_SIZE) }
    }

    /// `msync(map, FILE_SIZE, MS_SYNC)`: writes the mapped pages to the file
    /// and waits until they are written.
    fn msync(&self) -> Result<(), Errno> {
        // SAFETY: the range is this whole mapping, which is mapped.
        unsafe { msync(self.address.cast(), FILE_SIZE, MsFlags::MS_SYNC) }
    }

    /// Unmaps, once: the guard is not dropped afterwards.
    fn unmap(self) -> Result<(), Errno> {
        unmap(ManuallyDrop::new(self).address)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Leaving early: the mapping goes away with the process anyway.
        let _ = unmap(self.address);
    }
}

fn unmap(address: NonNull<u8>) -> Result<(), Errno> {
    // SAFETY: the range came from mmap with this length, and no slice into
    // it outlives the `Mapping` that is consumed or dropped with this call.
    unsafe { munmap(address.cast(), FILE_SIZE) }
}
