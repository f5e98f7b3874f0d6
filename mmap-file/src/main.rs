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
//! The mappings and descriptors are released, and a Ctrl-C has nothing to
//! remove either. So a file already at the path is normally what an earlier
//! run left: it is used again if it is one (a regular file, yours, mode
//! 0600, of 0 or 4096 bytes, reached without following a symlink) and
//! emptied first, as the listing's `O_TRUNC` empties it. Anything else at
//! the path (a symlink, a directory, another user's file, a file of another
//! mode or size) is left alone, never written, and the run stops
//! with one line naming the path. Two runs on the same file at once would
//! overwrite each other's messages, so a run first claims the file
//! ([`common::leftover::claim`]): a second run on it stops at once, and the
//! first goes on undisturbed.
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
//! | | `leftover::claim` | one run at a time per file: a second run on the same file exits 1 |
//! | `open(FILE_PATH, O_RDWR \| O_CREAT \| O_TRUNC, 0644)` | `open_file`: `O_CREAT \| O_EXCL \| O_NOFOLLOW`, mode 0600; or, if the path exists, `lstat` and `leftover::judge`, then `O_NOFOLLOW`, `fstat` and `judge` again, then `ftruncate(fd, 0)` | a file it creates is owner-only; an existing one is used (and emptied) only if an earlier run left it; anything else is left alone, and is an error |
//! | `ftruncate(fd, FILE_SIZE)` | `File::set_len` | |
//! | `mmap(NULL, FILE_SIZE, PROT_READ \| PROT_WRITE, MAP_SHARED, fd, 0)` | `nix::sys::mman::mmap` in `Mapping::map` | |
//! | `strcpy(map, ...)`, `printf("%s", map)` | `strcpy` and `c_str` on the bytes of the mapping | each access says why no other process writes meanwhile |
//! | `msync(map, FILE_SIZE, MS_SYNC)` | `Mapping::msync` | |
//! | `fork()` | `nix::unistd::fork`; the child's part is `child`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `munmap`, `close` | `Mapping::unmap`, `drop(file)`; `Drop` on every other path | |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed makes the parent fail, with how it ended ("was killed by SIGKILL") |
//! | `open(FILE_PATH, O_RDWR)` in the child, `O_RDONLY` at the end | `OpenOptions` with `O_NOFOLLOW` | a symlink put at the path meanwhile is not followed; the child first closes the parent's descriptor, which it inherited, so it needs no more descriptors than the parent |
//! | `read(fd, buffer, sizeof(buffer))` | `File::read` | |
//! | Ctrl-C: the default action ends both processes at once | the handler of [`common::main`] records it; each process stops at its next step | both exit 130 (SIGINT) or 143 (SIGTERM); the parent says `interrupted by SIGINT; nothing to remove`: the file stays, as after every run |

use std::ffi::OsString;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, ErrorKind, Read};
use std::mem::ManuallyDrop;
use std::num::NonZeroUsize;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::ptr::NonNull;
use std::slice;

use anyhow::bail;
use common::leftover::{self, Found};
use common::{Child, Perror, SysError, run_child, say};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, MsFlags, ProtFlags, mmap, msync, munmap};
use nix::unistd::{ForkResult, fork};

const HELP: &str = "\
Usage: mmap-file [FILE]
A parent and its forked child exchange messages through a file that both map into memory.
FILE is created with 4096 bytes (or reused, emptied, if an earlier run left it) and stays
afterwards (default: ipc_mmap.dat).
";

/// What to do about a FILE that is not this program's to write.
const ADVICE: &str = "choose another FILE";

/// No open of FILE follows a symlink: `O_NOFOLLOW`.
const NOFOLLOW: i32 = OFlag::O_NOFOLLOW.bits();

const FILE_PATH: &str = "ipc_mmap.dat";
const FILE_SIZE: usize = 4096;
const REPLY_OFFSET: usize = 2048; // The child writes its reply in the second half

fn main() -> ExitCode {
    common::main(HELP, FILE_PATH, run)
}

fn run(file_path: OsString) -> anyhow::Result<()> {
    let path = PathBuf::from(file_path);
    let shown = path.display();

    // (One run at a time per file: a second run stops here, and a file at
    // the path can only be a finished run's, or not ours; see open_file.)
    let _claim = leftover::claim(
        &format!("mmap-file {}", real_path(&path).display()),
        &format_args!("file {shown}"),
        ADVICE,
    )?;

    // Create (or truncate) the backing file and give it its size
    let file = open_file(&path)?;

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
        ForkResult::Child => run_child(|| child(file, &path)),
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
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(NOFOLLOW)
        .open(&path)
        .perror(format!("open(\"{shown}\")"))?;
    let bytes_read = file.read(&mut buffer).perror("read")?;
    drop(file);

    say!("File {shown} still holds: {}", c_str(&buffer[..bytes_read]))?;
    Ok(())
}

/// The child's part: map the file by name, read the parent's message, reply.
/// It closes the parent's descriptor first, which it inherited and does not
/// use, so that it needs no more descriptors than the parent (`ulimit -n`).
fn child(parent_file: File, path: &Path) -> anyhow::Result<()> {
    drop(parent_file);

    // Child process: map the same file by name, as an unrelated process would
    let child_file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(NOFOLLOW)
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

/// `open(path, O_RDWR | O_CREAT | O_TRUNC)`, without ever writing a file
/// that is not this program's: a new file is created for its owner only
/// (`O_EXCL`: not an existing one, and not through a symlink); a file
/// already at the path is opened without following a symlink and used, once
/// emptied, only if a run of this program left it there.
fn open_file(path: &Path) -> anyhow::Result<File> {
    let shown = path.display();
    let created = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(NOFOLLOW)
        .open(path);
    match created {
        Ok(file) => return Ok(file),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
        Err(error) => Err(error).perror(format!("open(\"{shown}\")"))?,
    }

    // Something is at the path already: what is it? (lstat, not stat: a
    // symlink is not followed.) Only an earlier run's file is opened.
    let found = fs::symlink_metadata(path).perror(format!("lstat(\"{shown}\")"))?;
    check_ours(path, &found)?;

    // O_NOFOLLOW, O_NONBLOCK and O_NOCTTY: if something else was put at the
    // path meanwhile, a symlink is not followed, and a FIFO or a device
    // does not make open wait; fstat then tells it is not that file.
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(NOFOLLOW | (OFlag::O_NONBLOCK | OFlag::O_NOCTTY).bits())
        .open(path)
        .perror(format!("open(\"{shown}\")"))?;
    let found = file.metadata().perror("fstat")?;
    check_ours(path, &found)?;

    // An earlier run's file: empty it, as O_TRUNC does.
    file.set_len(0).perror("ftruncate")?;
    Ok(file)
}

/// Whether `found`, at `path`, is a file that a run of this program left:
/// a regular file that [`leftover::judge`] finds is this user's, of mode
/// 0600 and of the size a run gives it. Not `FILE_SIZE` only: a run stopped
/// between `open` and `ftruncate` leaves it empty.
fn check_ours(path: &Path, found: &Metadata) -> anyhow::Result<()> {
    let object = format!("file {}", path.display());
    let kind = found.file_type();
    let not_regular = [
        (kind.is_symlink(), "a symlink"),
        (kind.is_dir(), "a directory"),
        (kind.is_fifo(), "a FIFO"),
        (kind.is_socket(), "a socket"),
        (kind.is_block_device() || kind.is_char_device(), "a device"),
    ];
    if let Some((_, what)) = not_regular.iter().find(|(is, _)| *is) {
        bail!("{object} is {what}, not a regular file: left alone; {ADVICE}");
    }
    let size = found.len();
    leftover::judge(&Found {
        object,
        owner: found.uid(),
        mode: found.mode(),
        size: (size != 0).then_some((size, FILE_SIZE as u64, "bytes")),
        users: 0,
        pids: Vec::new(),
        advice: ADVICE,
    })
}

/// `path` with its directory's symlinks, `.` and `..` resolved: the name
/// that every run on the same file claims, however each one spells it.
fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let real = match (absolute.parent(), absolute.file_name()) {
        (Some(dir), Some(name)) => fs::canonicalize(dir).map(|dir| dir.join(name)),
        _ => Err(io::Error::from(ErrorKind::NotFound)),
    };
    real.unwrap_or(absolute)
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

    #[test]
    fn the_claimed_name_is_the_same_however_the_path_is_spelled() {
        let here = std::env::current_dir().unwrap();
        let plain = real_path(Path::new("ipc_mmap.dat"));
        assert_eq!(plain, fs::canonicalize(&here).unwrap().join("ipc_mmap.dat"));
        assert_eq!(real_path(Path::new("./ipc_mmap.dat")), plain);
        assert_eq!(real_path(&here.join("src/../ipc_mmap.dat")), plain);
    }
}
