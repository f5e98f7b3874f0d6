//! # shm-mutex: POSIX shared memory with a process-shared mutex
//!
//! The tutorial's "Simple Mutex Example with Shared Memory" (section
//! "Synchronization Issues"), ported from `c/shm-mutex.c`. The parent creates
//! a POSIX shared memory object, maps it, and puts a counter and a
//! `pthread_mutex_t` in it, marked `PTHREAD_PROCESS_SHARED` so that it works
//! across processes. Then both processes add to the counter five times each,
//! the parent 10 at a time and the child 1, each under the mutex: no update
//! is lost, and the last value is always 55.
//!
//! ```text
//! cargo run -p shm-mutex [SHM_NAME]     # default /my_shared_memory
//! ```
//!
//! prints ten lines in about five seconds; which process goes first at each
//! step is up to the scheduler, but the values only grow and the last is 55:
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
//! | C | Rust |
//! |---|---|
//! | `shm_open(name, O_CREAT \| O_RDWR, 0666)` | `nix` `shm_open`, with `O_EXCL` and 0600 |
//! | `ftruncate`, `mmap` | `nix` `ftruncate` (checked), `mmap`, then a `Mapping` guard |
//! | `struct shared_data` | `#[repr(C)] struct SharedData`, its fields in `UnsafeCell`s |
//! | `pthread_mutexattr_*`, `pthread_mutex_*` | in robust.rs; `lock` (timed tries) gives a guard |
//! | `fork()` | `nix` `fork`; the child runs `child`, ended by `common::run_child` |
//! | `sleep(1)` | `common::sleep`: Ctrl-C, or a failed child, ends it at once |
//! | `wait(NULL)` | `Child::wait`: a child that failed or was killed makes the parent fail |
//! | `munmap(shared, ...)`, `close(shm_fd)` | `munmap(mapping)`, `drop(shm_fd)` |
//! | `shm_unlink(shm_name)` | `shm_unlink(shm_object)`, which the guard does on every other path |
//!
//! Beyond the listing (`robust.rs`): the name is checked, and one run at a
//! time holds it, so an object already at the name can only be a crashed
//! run's: judged by `lstat` of `/dev/shm/NAME`, it is removed with a notice
//! if it is ours, and refused otherwise. The mutex is robust: if a process
//! dies holding it, the other gets it with `EOWNERDEAD` and says so. Another
//! program at the same name (the C listing) that makes the mutex again,
//! changes the counter, or writes over or truncates the object is noticed at
//! the next step: one line, exit 1, no wrong value printed. A name removed
//! meanwhile (`rm`) is said at the end, and a new object there left alone.
//! A wait for the mutex gives up on a holder outside the run, but not on the
//! other process, even stopped (Ctrl-Z). Guards unlock, unmap and unlink on
//! every path, so an error, Ctrl-C or SIGTERM (exit status 130 or 143, with
//! a one-line notice) or a killed child (exit status 1) leaves nothing behind.

mod robust;

use std::cell::UnsafeCell;
use std::ffi::OsString;
use std::mem::MaybeUninit;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::time::Duration;

use common::{Child, Perror, run_child, say};
use libc::{PTHREAD_MUTEX_ROBUST, PTHREAD_PROCESS_SHARED, c_int};
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags, mmap, shm_open};
use nix::sys::stat::Mode;
use nix::unistd::{ForkResult, fork, ftruncate};
use robust::{Mapping, ShmObject, munmap, shm_unlink};
use robust::{pthread_mutex_destroy, pthread_mutex_init, pthread_mutex_lock, pthread_mutex_unlock};
use robust::{pthread_mutexattr_destroy, pthread_mutexattr_init};
use robust::{pthread_mutexattr_setpshared, pthread_mutexattr_setrobust};

const HELP: &str = "\
Usage: shm-mutex [SHM_NAME]
A parent and its forked child add to a counter in POSIX shared memory, under a process-shared mutex.
SHM_NAME names the shared memory object: a slash, then a file name (default: /my_shared_memory).
";

const SHM_NAME: &str = "/my_shared_memory";
const ITERATIONS: usize = 5;

// Structure to be placed in shared memory
#[repr(C)]
struct SharedData {
    mutex: UnsafeCell<libc::pthread_mutex_t>, // Mutex for synchronization
    counter: UnsafeCell<c_int>,               // Shared counter
}

/// `sizeof(struct shared_data)`
const SIZE: NonZeroUsize = NonZeroUsize::new(size_of::<SharedData>()).unwrap();

fn main() -> ExitCode {
    common::main(HELP, SHM_NAME, run)
}

fn run(shm_name: OsString) -> anyhow::Result<()> {
    // A name that shm_open takes (robust.rs)
    robust::check_shm_name(&shm_name)?;
    // One run at a time per name (robust.rs)
    let _claim = robust::claim(&shm_name)?;

    // Open shared memory object
    // (O_EXCL, owner-only: an object found there is reclaimed or refused, robust.rs)
    let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR;
    let open = || shm_open(shm_name.as_os_str(), flags, Mode::S_IRUSR | Mode::S_IWUSR);
    let shm_fd = robust::reclaim_and_retry(&shm_name, open)?;
    let shm_object = ShmObject::adopt(shm_name, &shm_fd); // unlinks the name on every path

    // Set the size of the shared memory object
    ftruncate(&shm_fd, SIZE.get() as libc::off_t).perror("ftruncate")?;

    // Map shared memory
    let protection = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: with no address given, the kernel picks a range this process does not use.
    let address =
        unsafe { mmap(None, SIZE, protection, MapFlags::MAP_SHARED, &shm_fd, 0) }.perror("mmap")?;
    // SAFETY: mmap returned a shared mapping of SIZE bytes, backed by the object (ftruncate).
    let mapping = unsafe { Mapping::adopt(address) }; // unmaps on every path
    let shared = mapping.shared();

    // Initialize mutex with shared attribute
    let mut mutex_attr = MaybeUninit::uninit();
    let mut attr = pthread_mutexattr_init(&mut mutex_attr).perror("pthread_mutexattr_init")?;
    pthread_mutexattr_setpshared(&mut attr, PTHREAD_PROCESS_SHARED)
        .perror("pthread_mutexattr_setpshared")?;
    // Robust too, which the listing is not: see robust::recover
    pthread_mutexattr_setrobust(&mut attr, PTHREAD_MUTEX_ROBUST)
        .perror("pthread_mutexattr_setrobust")?;
    // SAFETY: the mutex lies in the mapping, which no other process uses yet.
    unsafe { pthread_mutex_init(&shared.mutex, &attr) }.perror("pthread_mutex_init")?;

    // Initialize counter
    // SAFETY: no other process sees the counter yet: the child does not exist.
    unsafe { *shared.counter.get() = 0 };

    // SAFETY: the process is single-threaded, so the child's copy of it holds
    // no lock that another thread was holding. Nothing has been printed yet.
    let child = match unsafe { fork() }.perror("fork")? {
        // What another program did, or a failed stdout, the parent says: one line (robust.rs)
        ForkResult::Child => run_child(|| robust::parent_reports(child(shared))),
        ForkResult::Parent { child } => Child::watch(child)?,
    };

    // Parent process
    for _ in 0..ITERATIONS {
        // Lock mutex
        let locked = pthread_mutex_lock(&shared.mutex)?;
        // If the child died holding it, recover it; on Ctrl-C stop here (robust.rs)
        robust::recover(&locked, "child")?;

        // Critical section
        // SAFETY: this process holds the mutex, so the child keeps off the counter.
        let counter = unsafe { &mut *shared.counter.get() };
        // A mutex or counter that another program changed ends the run here (robust.rs)
        robust::check_counter(&locked, *counter, 10)?;
        *counter += 10;
        say!("Parent: Incremented counter to {counter}")?;

        // Unlock mutex
        pthread_mutex_unlock(locked)?;

        common::sleep(Duration::from_secs(1))?; // Sleep to make the interleaving visible
    }

    // Wait for child
    child.wait()?;
    // 55, unless another program changed the counter (robust.rs)
    robust::check_total(shared)?;

    // Clean up
    // SAFETY: the mutex is unlocked, and the child, its only other user, has exited.
    unsafe { pthread_mutex_destroy(&shared.mutex) }?;
    pthread_mutexattr_destroy(attr);

    // Unmap and close
    munmap(mapping).perror("munmap")?;
    drop(shm_fd);
    shm_unlink(shm_object).perror("shm_unlink")?;

    Ok(())
}

/// The child's part: add 1 to the counter five times.
fn child(shared: &SharedData) -> anyhow::Result<()> {
    // Child process
    for _ in 0..ITERATIONS {
        // Lock mutex
        let locked = pthread_mutex_lock(&shared.mutex)?;
        // If the parent died holding it, recover it; on Ctrl-C stop here (robust.rs)
        robust::recover(&locked, "parent")?;

        // Critical section
        // SAFETY: this process holds the mutex, so the parent keeps off the counter.
        let counter = unsafe { &mut *shared.counter.get() };
        // A mutex or counter that another program changed ends the child here (robust.rs)
        robust::check_counter(&locked, *counter, 1)?;
        *counter += 1;
        say!("Child: Incremented counter to {counter}")?;

        // Unlock mutex
        pthread_mutex_unlock(locked)?;

        common::sleep(Duration::from_secs(1))?; // Sleep to make the interleaving visible
    }
    Ok(())
}
