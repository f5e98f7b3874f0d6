//! What the C listing leaves to luck, kept beside it so that `main.rs` reads
//! as the listing.
//!
//! The file stays on disk after every run: that is the point of this
//! mechanism. So a file already at the path is normally what an earlier run
//! left, and the C would truncate it, or anything else there, following a
//! symlink if need be. Here:
//!
//! - [`claim`]: one run per file at a time, since two runs on one file would
//!   overwrite each other's messages;
//! - [`reuse_leftover`]: what `open` does when `O_EXCL` finds something at
//!   the path: an earlier run's file is reused, emptied as `O_TRUNC` would;
//!   anything else is left alone, never written, and is an error;
//! - [`mmap`] and its guard [`Mapping`], which unmaps on every early exit;
//! - [`check`]: another program of the same user may write the file, or
//!   truncate it, while the run maps it: each process checks what it reads
//!   against what the run wrote, and stops with one line that says so,
//!   rather than print another program's words as the run's;
//! - [`on_signals`]: a mapping of a file truncated under it gives SIGBUS,
//!   which would kill the process: it ends with one line instead; and
//!   SIGHUP, SIGUSR1 and SIGUSR2 stop the parent as SIGTERM does;
//! - [`open`], [`ftruncate`], [`close`], [`strcpy`] and [`c_str`]: the
//!   listing's calls on Rust's own types: a `File` that closes when dropped,
//!   and copies and reads of the mapping that never go past its end, where C
//!   trusts its lengths and NULs.

use std::ffi::c_int;
use std::fs::{self, File, Metadata, OpenOptions};
use std::io::{self, ErrorKind};
use std::mem::ManuallyDrop;
use std::num::NonZeroUsize;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::slice;
use std::sync::OnceLock;

use anyhow::bail;
use common::leftover::{self, Claim, Found};
use common::{Perror, SysError};
use nix::errno::Errno;
use nix::libc::{MAP_SHARED, PROT_READ, PROT_WRITE};
use nix::libc::{O_ACCMODE, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY};
use nix::sys::mman::{MapFlags, MsFlags, ProtFlags};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

use crate::FILE_SIZE;

/// What to do about a FILE that is not this program's to write.
const ADVICE: &str = "choose another FILE";

/// Claims the file at `path` for this run, and its child, until both end: a
/// second run on the same file stops here at once, and the first goes on
/// undisturbed. So a file at the path is a finished run's, or not ours.
pub fn claim(path: &Path) -> anyhow::Result<Claim> {
    let name = format!("mmap-file {}", real_path(path).display());
    leftover::claim(&name, &format_args!("file {}", path.display()), ADVICE)
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

/// The rest of `open(path, O_RDWR | O_CREAT | O_TRUNC)` once `O_EXCL` found
/// something at `path`: it is opened without following a symlink and used,
/// once emptied, only if a run of this program left it there.
pub fn reuse_leftover(path: &Path) -> anyhow::Result<File> {
    let shown = path.display();
    // What is it? (lstat, not stat: a symlink is not followed.) Only an
    // earlier run's file is opened.
    let found = fs::symlink_metadata(path).perror(format!("lstat(\"{shown}\")"))?;
    check_ours(path, &found)?;

    // O_NOFOLLOW, O_NONBLOCK and O_NOCTTY: if something else was put at the
    // path meanwhile, a symlink is not followed, and a FIFO or a device
    // does not make open wait; fstat then tells it is not that file.
    let file = open(path, O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0)
        .perror(format!("open(\"{shown}\")"))?;
    let found = file.metadata().perror("fstat")?;
    check_ours(path, &found)?;

    // An earlier run's file: empty it, as O_TRUNC does.
    ftruncate(&file, 0).perror("ftruncate")?;
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

/// Checks that the file, `fd`, still has its 4096 bytes, and that each
/// `(offset, text)` of `expected` is what `bytes` (the mapping, or what
/// `read` got) holds there. Another program of the same user can open the
/// file and write or truncate it while the run maps it; the run cannot
/// prevent that, but it can notice it, and stop with one line instead of
/// printing another program's words as its own.
pub fn check(
    fd: &File,
    bytes: &[u8],
    expected: &[(usize, &str)],
    path: &Path,
) -> anyhow::Result<()> {
    let object = format!("file {}", path.display());
    let size = fd.metadata().perror("fstat")?.len();
    if size < FILE_SIZE as u64 {
        bail!(
            "{object} was truncated by another program during the run: {size} bytes, not {FILE_SIZE}"
        );
    }
    for &(offset, text) in expected {
        let found = c_str(bytes.get(offset..).unwrap_or_default());
        if found != text {
            bail!(
                "{object} was changed by another program during the run: offset {offset} \
                 holds {found:?}, not {text:?}"
            );
        }
    }
    Ok(())
}

/// The line that a SIGBUS ends the process with, made before it can come.
static SIGBUS_LINE: OnceLock<Vec<u8>> = OnceLock::new();

/// Installs the two signal handlers the listing needs beyond Ctrl-C.
///
/// SIGBUS: a store to, or a load from, a page of the mapping that is past
/// the end of the file (another program truncated it between [`check`]
/// and the access) raises SIGBUS, whose default action kills the process
/// without a word (C: "Bus error"). Its handler writes one line, made
/// beforehand, and ends the process with status 1, as an error does: in
/// the child, the parent then fails without a second line. (A handler
/// cannot return to the access, which would fault again.)
///
/// SIGHUP, SIGUSR1 and SIGUSR2 (`kill -USR1` from another program) stop the
/// parent as SIGTERM does (see `common::other_signals`); the child dies of
/// them, and the parent says so.
pub fn on_signals(path: &Path) -> Result<(), SysError> {
    let line = format!(
        "file {} was truncated by another program during the run (SIGBUS)\n",
        path.display()
    );
    let _ = SIGBUS_LINE.set(line.into_bytes());
    let action = SigAction::new(
        SigHandler::Handler(handle_sigbus),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler makes two system calls, write and _exit, both
    // async-signal-safe, and reads a OnceLock that is set before.
    unsafe { sigaction(Signal::SIGBUS, &action) }.perror("sigaction")?;
    common::other_signals::install()
}

extern "C" fn handle_sigbus(_: c_int) {
    if let Some(line) = SIGBUS_LINE.get() {
        // SAFETY: `line` is a live buffer of `line.len()` bytes.
        let _ =
            unsafe { nix::libc::write(nix::libc::STDERR_FILENO, line.as_ptr().cast(), line.len()) };
    }
    // SAFETY: _exit ends the process at once, running nothing of it.
    unsafe { nix::libc::_exit(1) };
}

/// `mmap(NULL, length, prot, flags, fd, 0)`, the file from its start,
/// adopted by its guard. Only the listing's `PROT_READ | PROT_WRITE` and
/// `MAP_SHARED` are taken (else `EINVAL`): [`Mapping::bytes`] relies on them.
pub fn mmap(length: usize, prot: c_int, flags: c_int, fd: &File) -> Result<Mapping, Errno> {
    if prot != PROT_READ | PROT_WRITE || flags != MAP_SHARED {
        return Err(Errno::EINVAL);
    }
    let length = NonZeroUsize::new(length).ok_or(Errno::EINVAL)?;
    let (prot, flags) = (
        ProtFlags::from_bits_retain(prot),
        MapFlags::from_bits_retain(flags),
    );
    // SAFETY: with no address the kernel picks a free range, so nothing
    // this process uses is mapped over; `run` gives the file `length` bytes
    // before it maps them, so every mapped byte is backed.
    let address = unsafe { nix::sys::mman::mmap(None, length, prot, flags, fd, 0) }?;
    Ok(Mapping {
        address: address.cast(),
        length: length.get(),
    })
}

/// A mapping of the file, shared: `munmap` is the listing's, and dropping
/// it unmaps on every other path.
#[derive(Debug)]
pub struct Mapping {
    address: NonNull<u8>,
    length: usize,
}

impl Mapping {
    /// The mapped bytes, to read and write like memory.
    ///
    /// # Safety
    ///
    /// No other process may write the file while the slice lives.
    pub unsafe fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: the mapping is `length` bytes, readable and writable, and
        // stays mapped while `self` lives; this process reaches it only
        // through this `&mut self`, and the caller rules out other writers.
        unsafe { slice::from_raw_parts_mut(self.address.as_ptr(), self.length) }
    }

    /// `msync(map, length, flags)`: with `MS_SYNC`, writes the mapped pages
    /// to the file and waits until they are written.
    pub fn msync(&self, flags: c_int) -> Result<(), Errno> {
        let flags = MsFlags::from_bits_retain(flags);
        // SAFETY: the range is this whole mapping, which is mapped.
        unsafe { nix::sys::mman::msync(self.address.cast(), self.length, flags) }
    }

    /// `munmap(map, length)`, once: the guard is not dropped afterwards.
    pub fn munmap(self) -> Result<(), Errno> {
        ManuallyDrop::new(self).unmap()
    }

    fn unmap(&self) -> Result<(), Errno> {
        // SAFETY: the range came from mmap with this length, and no slice
        // into it outlives the `Mapping` consumed or dropped with this call.
        unsafe { nix::sys::mman::munmap(self.address.cast(), self.length) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Leaving early: the mapping goes away with the process anyway.
        let _ = self.unmap();
    }
}

/// `open(path, flags, mode)`, giving a `File` that closes when dropped (std
/// adds `O_CLOEXEC`, and retries the call if a signal interrupts it). As in
/// C, `mode` counts only with `O_CREAT`.
pub fn open(path: &Path, flags: c_int, mode: u32) -> io::Result<File> {
    let access = flags & O_ACCMODE;
    OpenOptions::new()
        .read(access != O_WRONLY)
        .write(access != O_RDONLY)
        .custom_flags(flags & !O_ACCMODE)
        .mode(mode)
        .open(path)
}

/// `ftruncate(fd, length)`: the file gets `length` bytes, zeros at its end.
pub fn ftruncate(fd: &File, length: usize) -> io::Result<()> {
    fd.set_len(length as u64)
}

/// `close(fd)`: a `File` closes when it is dropped.
pub fn close(fd: File) {
    drop(fd);
}

/// `strcpy(dst, text)`: the text and its NUL at the start of `dst`; a text
/// too long for `dst` is a bug of this program, so it panics.
pub fn strcpy(dst: &mut [u8], text: &str) {
    let len = text.len();
    assert!(len < dst.len(), "the text and its NUL fit");
    dst[..len].copy_from_slice(text.as_bytes());
    dst[len] = 0;
}

/// The string at the start of `bytes`, up to its NUL, as `printf("%s")`
/// prints it; but never past the end of `bytes`, if no NUL is there.
pub fn c_str(bytes: &[u8]) -> String {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..len]).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_claimed_name_is_the_same_however_the_path_is_spelled() {
        let here = std::env::current_dir().unwrap();
        let plain = real_path(Path::new("ipc_mmap.dat"));
        assert_eq!(plain, fs::canonicalize(&here).unwrap().join("ipc_mmap.dat"));
        assert_eq!(real_path(Path::new("./ipc_mmap.dat")), plain);
        assert_eq!(real_path(&here.join("src/../ipc_mmap.dat")), plain);
    }
}
