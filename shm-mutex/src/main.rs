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
//! | C | Rust | what changes |
//! |---|---|---|
//! | `shm_name = "/my_shared_memory"` | the optional argument, this by default | a name that is not `/` and a file name is refused |
//! | `shm_open(name, O_CREAT \| O_RDWR, 0666)` | `nix::sys::mman::shm_open(name, O_CREAT \| O_EXCL \| O_RDWR, 0600)` in `ShmObject::create` | owner-only; an object already at the name is an error, never silently shared |
//! | `ftruncate(shm_fd, sizeof(struct shared_data))` | `nix::unistd::ftruncate` | checked (the listing ignores its result) |
//! | `mmap(..., MAP_SHARED, shm_fd, 0)` | `nix::sys::mman::mmap` in `Mapping::map` | |
//! | `struct shared_data` | `#[repr(C)] struct SharedData` | the same layout |
//! | `pthread_mutexattr_*`, `pthread_mutex_init` | the same, through `libc`, in `SharedData::init` | the attribute is destroyed as soon as the mutex is made |
//! | `pthread_mutex_lock` / `unlock` | `SharedData::lock`, unlocked when the guard drops | an error or a panic in the critical section unlocks too |
//! | `fork()` | `nix::unistd::fork`; the child's part is `child`, ended by [`common::run_child`] | the child never returns into `main` |
//! | `wait(NULL)` | [`common::Child::wait`] | a child that failed makes the parent fail |
//! | `pthread_mutex_destroy`, `munmap`, `close`, `shm_unlink` | `SharedData::destroy`, `Mapping::unmap`, `drop(shm_fd)`, `ShmObject::unlink`; `Drop` on every other path | the name is removed even after an error or a panic |

use std::cell::UnsafeCell;
use std::ffi::{OsStr, OsString};
use std::mem::{self, ManuallyDrop, MaybeUninit};
use std::num::NonZeroUsize;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::process::ExitCode;
use std::ptr::NonNull;
use std::thread::sleep;
use std::time::Duration;

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
        // Lock mutex
        let mut locked = shared.lock()?;

        // Critical section
        let counter = locked.add(10);
        say!("Parent: Incremented counter to {counter}")?;

        // Unlock mutex
        drop(locked);

        sleep(Duration::from_secs(1)); // Sleep to make the interleaving visible
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
        // Lock mutex
        let mut locked = shared.lock()?;

        // Critical section
        let counter = locked.add(1);
        say!("Child: Incremented counter to {counter}")?;

        // Unlock mutex
        drop(locked);

        sleep(Duration::from_secs(1)); // Sleep to make the interleaving visible
    }
    Ok(())
}

/// A POSIX shared memory object name: a slash, then a file name of at most
/// NAME_MAX (255) bytes, as `shm_open(3)` requires.
fn check_shm_name(name: &OsStr) -> Result<(), UsageError> {
    let bytes = name.as_bytes();
    match bytes.split_first() {
        Some((b'/', rest)) if !rest.is_empty() && rest.len() <= 255 && !rest.contains(&b'/') => {
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
    /// `pthread_mutex_init`, then `shared->counter = 0`. Called once, by the
    /// parent, before `fork`.
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
    /// `pthread_mutex_init(&shared->mutex, attr)`.
    fn init_process_shared_mutex(
        &self,
        attr: *mut libc::pthread_mutexattr_t,
    ) -> Result<(), SysError> {
        // SAFETY: `attr` points to an initialized attribute.
        let set = unsafe { libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED) };
        pthread_result(set).perror("pthread_mutexattr_setpshared")?;
        // SAFETY: `attr` points to an initialized attribute, and the mutex lies
        // in the mapping, where no other process can use it yet: the child does
        // not exist.
        let made = unsafe { libc::pthread_mutex_init(self.mutex.get(), attr) };
        pthread_result(made).perror("pthread_mutex_init")
    }

    /// `pthread_mutex_lock`: waits until this process holds the mutex. The
    /// returned guard gives access to the counter, and unlocks when dropped.
    fn lock(&self) -> Result<Locked<'_>, SysError> {
        // SAFETY: the mutex was made by `init` before `fork`, and is destroyed
        // only after both processes are done with it.
        pthread_result(unsafe { libc::pthread_mutex_lock(self.mutex.get()) })
            .perror("pthread_mutex_lock")?;
        Ok(Locked { shared: self })
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
        // Unlocking a mutex this process holds cannot fail: it is not robust,
        // recursive or error-checking.
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
    /// an object already at the name is an error instead of being shared.
    fn create(name: &OsStr) -> Result<(Self, OwnedFd), SysError> {
        let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR;
        let fd = shm_open(name, flags, Mode::from_bits_truncate(0o600))
            .perror(format!("shm_open(\"{}\")", name.display()))
            .map_err(|e| {
                e.hint_for(Errno::EEXIST, || {
                    format!(
                        "a shared memory object with this name already exists \
                         (`ls -l /dev/shm{0}`); if no run is using it, remove it with `rm /dev/shm{0}`",
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
        shm_unlink(mem::take(&mut this.name).as_os_str())
    }
}

impl Drop for ShmObject {
    fn drop(&mut self) {
        if let Err(errno) = shm_unlink(self.name.as_os_str()) {
            note!(
                "shm_unlink(\"{0}\"): {1}; remove it with `rm /dev/shm{0}`",
                self.name.display(),
                errno.desc()
            );
        }
    }
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
