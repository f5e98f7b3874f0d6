//! # shm-mutex: POSIX shared memory with a process-shared mutex
//!
//! The tutorial's "Simple Mutex Example with Shared Memory" (section
//! "Synchronization Issues"), ported line for line from
//! `shared/reference/c/shm-mutex.c`. The parent creates a POSIX shared
//! memory object, maps it, and puts a counter and a `pthread_mutex_t` in it,
//! marked `PTHREAD_PROCESS_SHARED` so that it works across processes. Then
//! both processes add to the counter five times each, the parent 10 at a
//! time and the child 1, each under the mutex: no update is lost, and the
//! last value is always 55.
//!
//! ```text
//! cargo run -p shm-mutex [SHM_NAME]     # default /my_shared_memory
//! ```
//!
//! prints ten lines in about five seconds; which process goes first at each
//! step is up to the scheduler, but each process's values only grow and the
//! last line says 55:
//!
//! ```text
//! Parent: Incremented counter to 10
//! Child: Incremented counter to 11
//! Child: Incremented counter to 12
//! Parent: Incremented counter to 22
//! ...
//! Child: Incremented counter to 55
//! ```
//!
//! Ctrl-C (or SIGTERM) stops both processes at their next step; the parent
//! removes the object and says so in one line on stderr
//! (`shm-mutex: interrupted by SIGINT; removed shared memory object
//! /my_shared_memory`), exit status 130 (143). If the child dies while it
//! holds the mutex, the parent recovers the mutex, says so, and stops at
//! its next pacing sleep with `sleep: interrupted: the child process was
//! killed by SIGKILL`, exit status 1.
//!
//! | C | Rust | what changes |
//! |---|---|---|
//! | `shm_name = "/my_shared_memory"` | the optional argument, this by default | a name that is not `/` and a file name is refused; one run at a time per name ([`common::leftover::claim`]) |
//! | `shm_open(name, O_CREAT \| O_RDWR, 0666)` | `nix::sys::mman::shm_open(name, O_CREAT \| O_EXCL \| O_RDWR, 0600)` in `ShmObject::create` | owner-only; an object already at the name is never shared: a crashed run's leftover (ours, 0600, our size) is removed with a notice, anything else is an error and left alone |
//! | `ftruncate(shm_fd, sizeof(struct shared_data))` | `nix::unistd::ftruncate` | checked (the listing ignores its result) |
//! | `mmap(..., MAP_SHARED, shm_fd, 0)` | `nix::sys::mman::mmap` in `Mapping::map` | |
//! | `struct shared_data` | `#[repr(C)] struct SharedData` | the same layout |
//! | `pthread_mutexattr_*`, `pthread_mutex_init` | the same, through `libc`, in `SharedData::init` | the mutex is also robust (`pthread_mutexattr_setrobust`); the attribute is destroyed as soon as the mutex is made |
//! | `pthread_mutex_lock` / `unlock` | `SharedData::lock`, unlocked when the guard drops | an error or a panic in the critical section unlocks too; `EOWNERDEAD` (the other process died holding it) is recovered with `pthread_mutex_consistent`, and said |
//! | `fork()` | `nix::unistd::fork`; the child's part is `child`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `sleep(1)` | [`common::sleep`] | Ctrl-C ends it at once, and so does the end of a child that failed |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed or was killed makes the parent fail |
//! | `pthread_mutex_destroy`, `munmap`, `close`, `shm_unlink` | `SharedData::destroy`, `Mapping::unmap`, `drop(shm_fd)`, `ShmObject::unlink`; `Drop` on every other path | the name is removed even after an error, a panic or Ctrl-C |

use std::cell::UnsafeCell;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::ptr::NonNull;
use std::time::Duration;

use anyhow::bail;
use common::leftover::{self, Found};
use common::{Child, Perror, SysError, UsageError, note, run_child, say};
use libc::c_int;
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap, shm_open, shm_unlink};
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, fork, ftruncate};

const HELP: &str = "\
Usage: shm-mutex [SHM_NAME]
A parent and its forked child add to a counter in POSIX shared memory, under a process-shared mutex.
SHM_NAME names the shared memory object: a slash, then a file name (default: /my_shared_memory).
";

const SHM_NAME: &str = "/my_shared_memory";

/// What to do about an object at our name that is not ours to remove.
const ADVICE: &str = "choose another SHM_NAME";

// Structure to be placed in shared memory
#[repr(C)]
struct SharedData {
    mutex: UnsafeCell<libc::pthread_mutex_t>, // Mutex for synchronization
    counter: UnsafeCell<c_int>,               // Shared counter
}

fn main() -> ExitCode {
    common::main(HELP, SHM_NAME, run)
}

fn run(shm_name: OsString) -> anyhow::Result<()> {
    check_shm_name(&shm_name)?;

    // (One run at a time per name: a second run stops here, and an old
    // object at the name can only be a crashed run's; see common::leftover.)
    let _claim = leftover::claim(
        &format!("shm-mutex {}", shm_name.display()),
        &format_args!("shared memory object {}", shm_name.display()),
        ADVICE,
    )?;

    // Open shared memory object
    let (shm_object, shm_fd) = ShmObject::create(&shm_name)?;

    // Set the size of the shared memory object
    ftruncate(&shm_fd, size_of::<SharedData>() as libc::off_t).perror("ftruncate")?;

    // Map shared memory
    let mapping = Mapping::map(&shm_fd)?;
    let shared = mapping.shared();

    // Initialize mutex with shared attribute
    // Initialize counter
    shared.init()?;

    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Nothing has been printed yet.
    let child = match unsafe { fork() }.perror("fork")? {
        ForkResult::Child => run_child(|| child(shared)),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

    // Parent process
    for _ in 0..ITERATIONS {
        // Lock mutex (if the child died holding it, take it over)
        let mut locked = shared.lock("child")?;

        // Critical section
        let counter = locked.add(10);
        say!("Parent: Incremented counter to {counter}")?;

        // Unlock mutex
        drop(locked);

        common::sleep(Duration::from_secs(1))?; // Sleep to make the interleaving visible
    }

    // Wait for child
    child.wait()?;

    // Clean up
    shared.destroy()?;

    // Unmap and close
    mapping.unmap().perror("munmap")?;
    drop(shm_fd);
    shm_object.unlink().perror("shm_unlink")?;

    Ok(())
}

const ITERATIONS: usize = 5;

/// The child's part: add 1 to the counter five times.
fn child(shared: &SharedData) -> anyhow::Result<()> {
    // Child process
    for _ in 0..ITERATIONS {
        // Lock mutex (if the parent died holding it, take it over)
        let mut locked = shared.lock("parent")?;

        // Critical section
        let counter = locked.add(1);
        say!("Child: Incremented counter to {counter}")?;

        // Unlock mutex
        drop(locked);

        common::sleep(Duration::from_secs(1))?; // Sleep to make the interleaving visible
    }
    Ok(())
}

/// A POSIX shared memory object name: a slash, then a file name of at most
/// NAME_MAX (255) bytes, as `shm_open(3)` requires (no other slash, no NUL).
fn check_shm_name(name: &OsStr) -> Result<(), UsageError> {
    let bytes = name.as_bytes();
    match bytes.split_first() {
        Some((b'/', rest))
            if !rest.is_empty()
                && rest.len() <= 255
                && !rest.contains(&b'/')
                && !rest.contains(&0) =>
        {
            Ok(())
        }
        _ => Err(UsageError(format!(
            "invalid shared memory name {}: it must be a slash followed by a file name \
             of 1 to 255 bytes, such as {SHM_NAME}",
            name.display()
        ))),
    }
}

impl SharedData {
    /// `pthread_mutexattr_init`, `pthread_mutexattr_setpshared`,
    /// `pthread_mutexattr_setrobust`, `pthread_mutex_init`, then
    /// `shared->counter = 0`. Called once, by the parent, before `fork`.
    fn init(&self) -> Result<(), SysError> {
        // The attribute stays where it is initialized: pthread objects are
        // not to be moved or copied.
        let mut mutex_attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        let attr = mutex_attr.as_mut_ptr();
        // SAFETY: pthread_mutexattr_init initializes the attribute at `attr`.
        pthread_result(unsafe { libc::pthread_mutexattr_init(attr) })
            .perror("pthread_mutexattr_init")?;

        let made = self.init_process_shared_mutex(attr);

        // The attribute is only read by pthread_mutex_init: done with it.
        // SAFETY: the attribute is initialized, and not used after this.
        unsafe { libc::pthread_mutexattr_destroy(attr) };
        made?;

        // SAFETY: no other process can see the counter yet.
        unsafe { *self.counter.get() = 0 };
        Ok(())
    }

    /// `pthread_mutexattr_setpshared(attr, PTHREAD_PROCESS_SHARED)`, then
    /// `pthread_mutexattr_setrobust(attr, PTHREAD_MUTEX_ROBUST)` (not in the
    /// listing), then `pthread_mutex_init(&shared->mutex, attr)`.
    fn init_process_shared_mutex(
        &self,
        attr: *mut libc::pthread_mutexattr_t,
    ) -> Result<(), SysError> {
        // SAFETY: `attr` points to an initialized attribute.
        let set = unsafe { libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED) };
        pthread_result(set).perror("pthread_mutexattr_setpshared")?;
        // Robust: if the process holding the mutex dies, the kernel marks the
        // mutex, and the next pthread_mutex_lock gets it with EOWNERDEAD
        // instead of waiting forever, as the listing's parent would.
        // SAFETY: `attr` points to an initialized attribute.
        let set = unsafe { libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST) };
        pthread_result(set).perror("pthread_mutexattr_setrobust")?;
        // SAFETY: `attr` points to an initialized attribute, and the mutex lies
        // in the mapping, where no other process can use it yet: the child does
        // not exist.
        let made = unsafe { libc::pthread_mutex_init(self.mutex.get(), attr) };
        pthread_result(made).perror("pthread_mutex_init")
    }

    /// `pthread_mutex_lock`: waits until this process holds the mutex. The
    /// returned guard gives access to the counter, and unlocks when dropped.
    ///
    /// If the other process (`peer`: "child" or "parent") died holding the
    /// mutex, this process gets it with `EOWNERDEAD`, marks it usable again
    /// (`pthread_mutex_consistent`) and says so on stderr. The counter is
    /// whole all the same: the critical section changes it with one store.
    fn lock(&self, peer: &str) -> Result<Locked<'_>, SysError> {
        // SAFETY: the mutex was made by `init` before `fork`, and is destroyed
        // only after both processes are done with it.
        let code = unsafe { libc::pthread_mutex_lock(self.mutex.get()) };
        if code != libc::EOWNERDEAD {
            pthread_result(code).perror("pthread_mutex_lock")?;
        }
        // This process holds the mutex: from here on, the guard unlocks it.
        let locked = Locked { shared: self };
        if code == libc::EOWNERDEAD {
            // SAFETY: this process holds the mutex, with EOWNERDEAD.
            let made = unsafe { libc::pthread_mutex_consistent(self.mutex.get()) };
            pthread_result(made).perror("pthread_mutex_consistent")?;
            note!("shm-mutex: the {peer} died holding the mutex; recovered it (EOWNERDEAD)");
        }
        // The wait for the mutex cannot be interrupted: Ctrl-C during it
        // stops the process here.
        common::interrupt::check("pthread_mutex_lock")?;
        Ok(locked)
    }

    /// `pthread_mutex_destroy`, once the child is done.
    fn destroy(&self) -> Result<(), SysError> {
        // SAFETY: the mutex is unlocked and the only other process that used
        // it has exited.
        pthread_result(unsafe { libc::pthread_mutex_destroy(self.mutex.get()) })
            .perror("pthread_mutex_destroy")
    }
}

/// The mutex, held by this process: the critical section.
struct Locked<'a> {
    shared: &'a SharedData,
}

impl Locked<'_> {
    /// Adds `n` to the counter and returns its new value.
    fn add(&mut self, n: c_int) -> c_int {
        // SAFETY: this process holds the mutex, so no other process touches
        // the counter until it is unlocked, after this reference is gone.
        let counter = unsafe { &mut *self.shared.counter.get() };
        *counter += n;
        *counter
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: this process holds the mutex, which it locked in `lock`.
        let unlocked = unsafe { libc::pthread_mutex_unlock(self.shared.mutex.get()) };
        // Unlocking a mutex this process holds, and has made consistent if
        // it had to, cannot fail.
        debug_assert_eq!(unlocked, 0);
    }
}

/// The pthread functions return an error number instead of setting `errno`.
fn pthread_result(code: c_int) -> Result<(), Errno> {
    match code {
        0 => Ok(()),
        code => Err(Errno::from_raw(code)),
    }
}

/// The shared memory object this process created: `unlink` is the
/// listing's `shm_unlink(shm_name)`. If the parent leaves before that (an
/// error or a panic), dropping it unlinks the name. Only the parent owns a
/// `ShmObject`.
struct ShmObject {
    name: OsString,
}

impl ShmObject {
    /// `shm_open(name, O_CREAT | O_EXCL | O_RDWR, 0600)`: a new, empty object
    /// that only its owner can open, and a descriptor for it. With `O_EXCL`,
    /// an object already at the name is never shared: if a crashed run left
    /// it, it is removed and the object made again; anything else is an
    /// error, and the object is left alone.
    fn create(name: &OsStr) -> anyhow::Result<(Self, OwnedFd)> {
        let mut created = shm_open_new(name);
        if matches!(created, Err(Errno::EEXIST)) {
            reclaim_leftover(name)?;
            created = shm_open_new(name);
        }
        let fd = created
            .perror(format!("shm_open(\"{}\")", name.display()))
            .map_err(|e| {
                e.hint_for(Errno::EEXIST, || {
                    format!(
                        "a shared memory object with this name was made again just now \
                         (`ls -l /dev/shm{}`); {ADVICE}",
                        name.display()
                    )
                })
            })?;
        Ok((
            Self {
                name: name.to_owned(),
            },
            fd,
        ))
    }

    /// Unlinks the name, once: the guard is not dropped afterwards. The
    /// memory itself is freed when the last mapping and descriptor are gone.
    fn unlink(self) -> Result<(), Errno> {
        let mut this = ManuallyDrop::new(self);
        shm_unlink_recorded(&mem::take(&mut this.name))
    }
}

impl Drop for ShmObject {
    fn drop(&mut self) {
        if let Err(errno) = shm_unlink_recorded(&self.name) {
            note!(
                "shm_unlink(\"{0}\"): {1}; remove it with `rm /dev/shm{0}`",
                self.name.display(),
                errno.desc()
            );
        }
    }
}

fn shm_open_new(name: &OsStr) -> Result<OwnedFd, Errno> {
    let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR;
    shm_open(name, flags, Mode::from_bits_truncate(0o600))
}

/// `shm_unlink`, and a note of it for the notice of an interrupted run.
fn shm_unlink_recorded(name: &OsStr) -> Result<(), Errno> {
    shm_unlink(name)?;
    common::removed(format!("shared memory object {}", name.display()));
    Ok(())
}

/// The object at `name` when this run holds the name's claim. Linux shows
/// each POSIX shared memory object as a file in /dev/shm, so `lstat` of that
/// file says whose the object is, its mode and its size. A crashed run's
/// object is unlinked, with a notice; anything else is an error. No run of
/// this program has it open: a crashed run's child died with its parent
/// (see [`common::run_child`]), and a live run would hold the claim. (Other
/// programs that might have it open are not looked for.)
fn reclaim_leftover(name: &OsStr) -> anyhow::Result<()> {
    let path = dev_shm_path(name);
    let object = format!(
        "shared memory object {} ({})",
        name.display(),
        path.display()
    );
    let metadata = match fs::symlink_metadata(&path) {
        // Gone since shm_open looked: nothing to reclaim.
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            return Err(leftover::unreadable(&object, ADVICE));
        }
        result => result.perror(format!("lstat {}", path.display()))?,
    };
    let kind = metadata.file_type();
    if !kind.is_file() {
        let what = if kind.is_symlink() {
            "a symbolic link"
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "a device file"
        };
        bail!("{object} is {what}, not a shared memory object: left alone; {ADVICE}");
    }
    leftover::judge(&Found {
        object: object.clone(),
        owner: metadata.uid(),
        mode: metadata.mode(),
        size: Some((metadata.size(), size_of::<SharedData>() as u64, "bytes")),
        users: 0,
        pids: vec![],
        advice: ADVICE,
    })?;
    // Not recorded with common::removed: the object made next gets this name.
    shm_unlink(name).perror(format!("shm_unlink(\"{}\")", name.display()))?;
    leftover::reclaimed(&object);
    Ok(())
}

/// Where Linux shows the shared memory object `name` (`/something`).
fn dev_shm_path(name: &OsStr) -> PathBuf {
    let file = name
        .as_bytes()
        .strip_prefix(b"/")
        .unwrap_or(name.as_bytes());
    Path::new("/dev/shm").join(OsStr::from_bytes(file))
}

/// The object mapped into this process, shared: `unmap` is the listing's
/// `munmap`, and dropping it unmaps on every other path. The child inherits
/// the mapping across `fork`, as in C.
struct Mapping {
    shared: NonNull<SharedData>,
}

impl Mapping {
    /// `mmap(NULL, sizeof(struct shared_data), PROT_READ | PROT_WRITE,
    /// MAP_SHARED, shm_fd, 0)`.
    fn map(shm_fd: &OwnedFd) -> Result<Self, SysError> {
        let length = NonZeroUsize::new(size_of::<SharedData>())
            .ok_or(SysError::new("mmap", Errno::EINVAL))?;
        let protection = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        // SAFETY: with no address the kernel picks a free range, so nothing
        // this process uses is mapped over; the object is `length` bytes long
        // (ftruncate above), so every mapped byte is backed.
        let address = unsafe { mmap(None, length, protection, MapFlags::MAP_SHARED, shm_fd, 0) }
            .perror("mmap")?;
        Ok(Self {
            shared: address.cast(),
        })
    }

    fn shared(&self) -> &SharedData {
        // SAFETY: the mapping is page-aligned, as long as `SharedData`, and
        // stays mapped while `self` lives; a new object is zero-filled, which
        // is a valid `SharedData` (its fields are plain data in cells). The
        // mutex is only used after `init`, and the counter only under it.
        unsafe { self.shared.as_ref() }
    }

    /// Unmaps, once: the guard is not dropped afterwards.
    fn unmap(self) -> Result<(), Errno> {
        munmap_shared(ManuallyDrop::new(self).shared)
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // Leaving early: the mapping goes away with the process anyway.
        let _ = munmap_shared(self.shared);
    }
}

fn munmap_shared(shared: NonNull<SharedData>) -> Result<(), Errno> {
    // SAFETY: the range came from mmap with this length, and no reference
    // into it outlives the `Mapping` that is consumed or dropped with this call.
    unsafe { munmap(shared.cast(), size_of::<SharedData>()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_a_slash_and_a_file_name() {
        check_shm_name(OsStr::new(SHM_NAME)).unwrap();
        check_shm_name(OsStr::new(&format!("/{}", "x".repeat(255)))).unwrap();
    }

    #[test]
    fn other_names_are_bad_usage() {
        let long = format!("/{}", "x".repeat(256));
        for name in ["", "x", "/", "/a/b", "//", &long] {
            let error = check_shm_name(OsStr::new(name)).unwrap_err();
            assert!(error.0.starts_with("invalid shared memory name"), "{error}");
        }
    }

    #[test]
    fn a_name_with_a_nul_byte_is_bad_usage() {
        let error = check_shm_name(OsStr::from_bytes(b"/a\0b")).unwrap_err();
        assert!(error.0.starts_with("invalid shared memory name"), "{error}");
    }

    #[test]
    fn the_object_shows_in_dev_shm() {
        assert_eq!(
            dev_shm_path(OsStr::new("/my_shared_memory")),
            Path::new("/dev/shm/my_shared_memory")
        );
    }
}
