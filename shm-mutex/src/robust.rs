//! What the C listing leaves to luck, beside it: the name check and the
//! claim; judging, and reclaiming, an object a crashed run left at the name;
//! the robust mutex's recovery after `EOWNERDEAD`; the guards that unlock,
//! unmap and unlink on every path; and what another program can do to the
//! object meanwhile (remove it, make the mutex again, write the counter,
//! write over or truncate the object, hold the mutex), noticed where it
//! shows, so that the run ends with one line: the parent's (see
//! [`parent_reports`]). Also the safe wrappers of the pthread calls, named
//! after them, whose `unsafe` lives here.

use std::cell::UnsafeCell;
use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::fs;
use std::io;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::ptr::{self, NonNull};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};
use std::time::Duration;

use anyhow::bail;
use common::leftover::{self, Claim, Found};
use common::{Perror, SysError, UsageError, note};
use libc::{c_int, c_void, pthread_mutex_t, pthread_mutexattr_t};
use nix::errno::Errno;
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
use nix::sys::time::TimeSpec;
use nix::time::{ClockId, clock_gettime};
use nix::unistd::{Pid, getpgid};

use crate::{ITERATIONS, SHM_NAME, SIZE, SharedData};

/// What to do about an object at our name that is not ours to remove.
const ADVICE: &str = "choose another SHM_NAME";

/// A POSIX shared memory object name: a slash, then a file name of at most
/// NAME_MAX (255) bytes, as `shm_open(3)` requires (no other slash, no NUL).
pub fn check_shm_name(name: &OsStr) -> Result<(), UsageError> {
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

/// One run at a time per name: a second run stops here, and an old object
/// at the name can only be a crashed run's (see [`common::leftover`]).
pub fn claim(name: &OsStr) -> anyhow::Result<Claim> {
    leftover::claim(
        &format!("shm-mutex {}", name.display()),
        &format_args!("shared memory object {}", name.display()),
        ADVICE,
    )
}

/// `open` is the listing's `shm_open`, with `O_EXCL`: an object already at
/// the name is never shared. If a crashed run left it, it is removed and
/// `open` tried again; anything else is an error, and is left alone.
pub fn reclaim_and_retry(
    name: &OsStr,
    open: impl Fn() -> Result<OwnedFd, Errno>,
) -> anyhow::Result<OwnedFd> {
    let mut created = open();
    if matches!(created, Err(Errno::EEXIST)) {
        reclaim_leftover(name)?;
        created = open();
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
    Ok(fd)
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
        size: Some((metadata.size(), SIZE.get() as u64, "bytes")),
        users: 0,
        pids: vec![],
        advice: ADVICE,
    })?;
    // Not recorded with common::removed: the object made next gets this name.
    nix::sys::mman::shm_unlink(name).perror(format!("shm_unlink(\"{}\")", name.display()))?;
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

/// The shared memory object this process created, by its name: if the
/// parent leaves before the listing's `shm_unlink` (an error, a panic,
/// Ctrl-C), dropping it unlinks the name. Only the parent owns one.
///
/// Another program may remove the name meanwhile (`rm /dev/shm/NAME`, its
/// own `shm_unlink`): the run goes on, as the mapping keeps the memory, and
/// the name may even be taken by a new object. So the guard also notes
/// which object it created (`fstat`: device and inode), and unlinks the name
/// only while the name still leads there.
#[derive(Debug)]
pub struct ShmObject {
    name: OsString,
    /// The object's device and inode, if `fstat` could tell.
    identity: Option<(u64, u64)>,
}

impl ShmObject {
    /// Takes charge of the object `shm_open` just created at `name`, open as
    /// `fd`; and, from here on, of a `SIGBUS` from its memory (see
    /// [`on_sigbus`]).
    pub fn adopt(name: OsString, fd: &OwnedFd) -> Self {
        let identity = nix::sys::stat::fstat(fd)
            .ok()
            .map(|stat| (stat.st_dev, stat.st_ino));
        if let Some(identity) = identity {
            on_sigbus(&name, identity);
        }
        Self { name, identity }
    }

    /// What is at the name now: this object, nothing, or another object.
    fn at_name(&self) -> AtName {
        match fs::symlink_metadata(dev_shm_path(&self.name)) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => AtName::Nothing,
            Ok(found)
                if self
                    .identity
                    .is_some_and(|ours| ours != (found.dev(), found.ino())) =>
            {
                AtName::Another
            }
            // Ours, or unknown: shm_unlink says which.
            _ => AtName::Ours,
        }
    }
}

enum AtName {
    Ours,
    Nothing,
    Another,
}

/// What the `SIGBUS` handler needs, made before it is installed: a handler
/// may not allocate.
#[derive(Debug)]
struct Truncated {
    /// The parent's pid: the child stops quietly.
    parent: libc::pid_t,
    /// The object's path in /dev/shm, and its device and inode.
    path: CString,
    identity: (u64, u64),
    /// The one line the run ends with.
    line: String,
}

static TRUNCATED: OnceLock<Truncated> = OnceLock::new();

/// Another program that truncates the object (`truncate -s 0
/// /dev/shm/NAME`, `: > /dev/shm/NAME`) takes its memory from under the
/// mapping: the next access to the mutex or the counter raises `SIGBUS`,
/// whose default action kills the process and leaves the name behind. The
/// access cannot go on, so the handler ends the process at once, with what
/// an async-signal-safe handler can do: the parent writes its one line,
/// unlinks the name if it still leads to this object, and exits 1 (its
/// child dies with it, see `common::run_child`); the child exits quietly,
/// and the parent meets the same `SIGBUS` at its next step.
fn on_sigbus(name: &OsStr, identity: (u64, u64)) {
    let Ok(path) = CString::new(dev_shm_path(name).into_os_string().into_vec()) else {
        return;
    };
    let line = format!(
        "shm-mutex: shared memory object {} was truncated during the run by another program: \
         its memory is gone (SIGBUS)\n",
        name.display()
    );
    let parent = nix::unistd::getpid().as_raw();
    if TRUNCATED
        .set(Truncated {
            parent,
            path,
            identity,
            line,
        })
        .is_err()
    {
        return;
    }
    let action = SigAction::new(
        SigHandler::Handler(truncated),
        SaFlags::empty(),
        SigSet::empty(),
    );
    // SAFETY: the handler makes only async-signal-safe calls (getpid,
    // write, lstat, unlink, _exit) on data made before it was installed.
    let _ = unsafe { sigaction(Signal::SIGBUS, &action) };
}

extern "C" fn truncated(_: c_int) {
    let Some(truncated) = TRUNCATED.get() else {
        // SAFETY: _exit ends the process at once; it is async-signal-safe.
        unsafe { libc::_exit(1) }
    };
    // SAFETY: getpid takes nothing and is async-signal-safe.
    if unsafe { libc::getpid() } != truncated.parent {
        // SAFETY: as above.
        unsafe { libc::_exit(0) }
    }
    let line = truncated.line.as_bytes();
    // SAFETY: the line lives in a static; write reads that many bytes of it.
    unsafe { libc::write(libc::STDERR_FILENO, line.as_ptr().cast(), line.len()) };
    let mut stat = MaybeUninit::<libc::stat>::uninit();
    // SAFETY: the path is NUL-terminated, and lstat writes a whole stat.
    let found = unsafe { libc::lstat(truncated.path.as_ptr(), stat.as_mut_ptr()) } == 0;
    let ours = found && {
        // SAFETY: read only if lstat succeeded, and so filled it in.
        let stat = unsafe { stat.assume_init() };
        (stat.st_dev, stat.st_ino) == truncated.identity
    };
    if ours {
        // SAFETY: the path is NUL-terminated; unlink is async-signal-safe.
        unsafe { libc::unlink(truncated.path.as_ptr()) };
    }
    // SAFETY: _exit ends the process at once; it is async-signal-safe.
    unsafe { libc::_exit(1) }
}

/// `shm_unlink(shm_name)`, once: the guard is not dropped afterwards. The
/// memory itself is freed when the last mapping and descriptor are gone.
/// If the name no longer leads to this object, there is nothing of this
/// run's to unlink: a notice says so, and the run ends as it is.
pub fn shm_unlink(object: ShmObject) -> Result<(), Errno> {
    let object = ManuallyDrop::new(object);
    let name = object.name.display();
    let at_name = match object.at_name() {
        AtName::Ours => match shm_unlink_recorded(&object.name) {
            Err(Errno::ENOENT) => AtName::Nothing,
            result => return result,
        },
        other => other,
    };
    if let AtName::Another = at_name {
        note!(
            "shm-mutex: shared memory object {name} was removed during the run, and another \
             program made a new one there; left alone"
        );
    } else {
        note!(
            "shm-mutex: shared memory object {name} was removed during the run by another \
             program; nothing left to remove"
        );
    }
    Ok(())
}

impl Drop for ShmObject {
    fn drop(&mut self) {
        // Leaving early: the error or the interruption is the one line to
        // print, so a name that is no longer ours is left without a word.
        if !matches!(self.at_name(), AtName::Ours) {
            return;
        }
        match shm_unlink_recorded(&self.name) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(errno) => note!(
                "shm_unlink(\"{0}\"): {1}; remove it with `rm /dev/shm{0}`",
                self.name.display(),
                errno.desc()
            ),
        }
    }
}

/// `shm_unlink`, and a note of it for the notice of an interrupted run.
fn shm_unlink_recorded(name: &OsStr) -> Result<(), Errno> {
    nix::sys::mman::shm_unlink(name)?;
    common::removed(format!("shared memory object {}", name.display()));
    Ok(())
}

/// The object mapped into this process: the listing's `munmap` takes it,
/// and dropping it unmaps on every other path. The child inherits the
/// mapping across `fork`, as in C.
#[derive(Debug)]
pub struct Mapping {
    shared: NonNull<SharedData>,
}

impl Mapping {
    /// Takes charge of the range `mmap` returned.
    ///
    /// # Safety
    ///
    /// `address` is a shared mapping of `SIZE` bytes that nothing else
    /// unmaps, backed by an object of that size.
    pub unsafe fn adopt(address: NonNull<c_void>) -> Self {
        Self {
            shared: address.cast(),
        }
    }

    /// The shared data in the mapping.
    pub fn shared(&self) -> &SharedData {
        // SAFETY: the mapping is page-aligned, as long as `SharedData`, and
        // stays mapped while `self` lives; a new object is zero-filled, which
        // is a valid `SharedData` (its fields are plain data in cells). The
        // mutex is only used after `pthread_mutex_init`, and the counter only
        // under it.
        unsafe { self.shared.as_ref() }
    }
}

/// `munmap(shared, sizeof(struct shared_data))`, once: the guard is not
/// dropped afterwards.
pub fn munmap(mapping: Mapping) -> Result<(), Errno> {
    munmap_shared(ManuallyDrop::new(mapping).shared)
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
    unsafe { nix::sys::mman::munmap(shared.cast(), SIZE.get()) }
}

/// A mutex attribute, initialized where `pthread_mutexattr_init` was given
/// it (pthread objects are not to be moved or copied), and destroyed when
/// dropped: the listing's `pthread_mutexattr_destroy`, or any early return.
#[derive(Debug)]
pub struct MutexAttr<'a>(&'a mut pthread_mutexattr_t);

pub fn pthread_mutexattr_init(
    attr: &mut MaybeUninit<pthread_mutexattr_t>,
) -> Result<MutexAttr<'_>, Errno> {
    // SAFETY: pthread_mutexattr_init initializes the attribute at `attr`.
    pthread_result(unsafe { libc::pthread_mutexattr_init(attr.as_mut_ptr()) })?;
    // SAFETY: initialized just now.
    Ok(MutexAttr(unsafe { attr.assume_init_mut() }))
}

pub fn pthread_mutexattr_setpshared(attr: &mut MutexAttr<'_>, pshared: c_int) -> Result<(), Errno> {
    // SAFETY: the attribute is initialized.
    pthread_result(unsafe { libc::pthread_mutexattr_setpshared(attr.0, pshared) })
}

/// Robust: if the process holding the mutex dies, the kernel marks the
/// mutex, and the next `pthread_mutex_lock` gets it with `EOWNERDEAD`
/// instead of waiting forever, as the listing's parent would ([`recover`]).
pub fn pthread_mutexattr_setrobust(attr: &mut MutexAttr<'_>, robust: c_int) -> Result<(), Errno> {
    // SAFETY: the attribute is initialized.
    pthread_result(unsafe { libc::pthread_mutexattr_setrobust(attr.0, robust) })
}

pub fn pthread_mutexattr_destroy(attr: MutexAttr<'_>) {
    drop(attr);
}

impl Drop for MutexAttr<'_> {
    fn drop(&mut self) {
        // SAFETY: the attribute is initialized, and not used after this.
        unsafe { libc::pthread_mutexattr_destroy(self.0) };
    }
}

/// # Safety
///
/// No process uses the mutex: it is not initialized, or destroyed.
pub unsafe fn pthread_mutex_init(
    mutex: &UnsafeCell<pthread_mutex_t>,
    attr: &MutexAttr<'_>,
) -> Result<(), Errno> {
    // SAFETY: the attribute is initialized, and the caller says that nothing
    // else uses the mutex.
    pthread_result(unsafe { libc::pthread_mutex_init(mutex.get(), &*attr.0) })
}

/// The mutex, held by this process: the critical section. Dropping it
/// unlocks on every path; [`pthread_mutex_unlock`] is the listing's call.
#[derive(Debug)]
pub struct Locked<'a> {
    mutex: &'a UnsafeCell<pthread_mutex_t>,
    /// The mutex came with `EOWNERDEAD`: its last holder died holding it.
    owner_died: bool,
    /// The mutex was the run's own when this process locked it: it held
    /// this process's thread id (see [`held_here`]). If not, another
    /// program made it again before, as a plain mutex, and this process
    /// holds that one.
    ours: bool,
}

/// Waits until this process holds the mutex, and returns the guard that
/// unlocks it. `EOWNERDEAD` means this process holds it too: [`recover`].
///
/// The wait is `pthread_mutex_timedlock`, again and again, a tenth of a
/// second at a time, so that between two tries the process can look at
/// what it waits for. Ctrl-C stops it there. A mutex that a process of
/// this run holds (the other one, even stopped with Ctrl-Z) is waited for,
/// however long; one that another program holds, or wrote over (`echo x >
/// /dev/shm/NAME`), would be waited for forever: that is an [`Interference`].
/// And a waiter that no unlock would wake (another program made the mutex
/// again under it) finds the new mutex free at its next try.
pub fn pthread_mutex_lock(mutex: &UnsafeCell<pthread_mutex_t>) -> anyhow::Result<Locked<'_>> {
    let code = loop {
        let deadline = clock_gettime(ClockId::CLOCK_REALTIME).perror("clock_gettime")?
            + TimeSpec::from_duration(LOCK_TRY);
        // SAFETY: the mutex was made by pthread_mutex_init before fork, and
        // is destroyed only after both processes are done with it; the
        // deadline is a valid timespec for the call to read.
        let code = unsafe { libc::pthread_mutex_timedlock(mutex.get(), deadline.as_ref()) };
        if code != libc::ETIMEDOUT {
            break code;
        }
        common::interrupt::check("pthread_mutex_lock")?;
        if let Some(holder) = holder_outside_this_run(mutex) {
            return Err(Interference(format!(
                "shm-mutex: the mutex is held by no process of this run (its owner reads \
                 {holder}): another program changed the shared memory"
            ))
            .into());
        }
    };
    if code != libc::EOWNERDEAD {
        pthread_result(code).perror("pthread_mutex_lock")?;
    }
    Ok(Locked {
        mutex,
        owner_died: code == libc::EOWNERDEAD,
        ours: held_here(mutex),
    })
}

/// How long one try of [`pthread_mutex_lock`] waits.
const LOCK_TRY: Duration = Duration::from_millis(100);

/// After `pthread_mutex_lock`: if the other process (`peer`: "child" or
/// "parent") died holding the mutex, marks it usable again
/// (`pthread_mutex_consistent`) and says so on stderr. The counter is whole
/// all the same: the critical section changes it with one store. Then
/// Ctrl-C that came during the last try of the wait stops the process here.
pub fn recover(locked: &Locked<'_>, peer: &str) -> Result<(), SysError> {
    if locked.owner_died {
        // SAFETY: this process holds the mutex, with EOWNERDEAD.
        let made = unsafe { libc::pthread_mutex_consistent(locked.mutex.get()) };
        pthread_result(made).perror("pthread_mutex_consistent")?;
        note!("shm-mutex: the {peer} died holding the mutex; recovered it (EOWNERDEAD)");
    }
    common::interrupt::check("pthread_mutex_lock")
}

/// `pthread_mutex_unlock`, once: the guard is not dropped afterwards.
///
/// If another program made the mutex again (`pthread_mutex_init`, as the C
/// listing does at start) while this process held it, the mutex is not
/// this process's to unlock: unlocking it would release whoever holds the
/// new one. So it is left as it is, with an error (`EPERM`, what a robust
/// mutex answers a thread that does not hold it). glibc would not say so
/// itself: it unlocks as the mutex's current, plain kind says.
pub fn pthread_mutex_unlock(locked: Locked<'_>) -> anyhow::Result<()> {
    let locked = ManuallyDrop::new(locked);
    if locked.made_again() {
        return Err(Interference(
            "pthread_mutex_unlock: Operation not permitted; another program made the mutex \
             again (pthread_mutex_init) while this process held it"
                .to_owned(),
        )
        .into());
    }
    Ok(unlock(locked.mutex).perror("pthread_mutex_unlock")?)
}

impl Locked<'_> {
    /// Whether another program made the mutex again while this process
    /// held it: it was the run's own when locked, and no longer says so.
    fn made_again(&self) -> bool {
        self.ours && !held_here(self.mutex)
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // Leaving early, with the error to report; see pthread_mutex_unlock.
        if !self.made_again() {
            let _ = unlock(self.mutex);
        }
    }
}

fn unlock(mutex: &UnsafeCell<pthread_mutex_t>) -> Result<(), Errno> {
    // SAFETY: this process holds the mutex, which it locked in
    // pthread_mutex_lock (the run's own, or the one made in its place).
    pthread_result(unsafe { libc::pthread_mutex_unlock(mutex.get()) })
}

/// # Safety
///
/// The mutex is unlocked, and no other process of this run uses it any more.
///
/// glibc refuses to destroy a plain (not robust) mutex that it counts as
/// still in use (`EBUSY`). The run's robust mutex is never refused: so
/// `EBUSY` means that another program made it again meanwhile, as a plain
/// one, which this run then used.
pub unsafe fn pthread_mutex_destroy(mutex: &UnsafeCell<pthread_mutex_t>) -> Result<(), SysError> {
    // SAFETY: the caller says that the mutex is unlocked and unused.
    pthread_result(unsafe { libc::pthread_mutex_destroy(mutex.get()) })
        .perror("pthread_mutex_destroy")
        .map_err(|error| {
            error.hint_for(Errno::EBUSY, || {
                "another program made the mutex again (pthread_mutex_init) during the run"
                    .to_owned()
            })
        })
}

/// The counter as this process last left it, right after its own step; 0
/// (as the parent set it before `fork`) until then. Each process has its own
/// copy after `fork`.
static LEFT: AtomicI32 = AtomicI32::new(0);

/// The counter's two parts, for the process that adds `step`: its own
/// steps, and the other's. The parent adds 10 and the child 1, five times
/// each, so a value this run can make is `10 * parent's + child's`, with
/// both at most 5.
fn parts(counter: c_int, step: c_int) -> Option<(c_int, c_int)> {
    let most = ITERATIONS as c_int;
    if !(0..=most * 11).contains(&counter) || counter % 10 > most {
        return None;
    }
    let (parent, child) = (counter / 10, counter % 10);
    Some(if step == 10 {
        (parent, child)
    } else {
        (child, parent)
    })
}

/// In the critical section, before this process adds `step` to `counter`:
/// an error unless the mutex is still the one this run made, and the
/// counter is one that this run can have made since this process last left
/// it, that is, with this process's own steps as it left them and the
/// other's as many or more. The C listing run at the same name makes the
/// mutex again and sets the counter to 0: that shows here, at the next step
/// of either process, before a wrong value is printed. (A program that
/// writes the counter under the run's own mutex shows only when the value
/// does not fit: one that sets it to 0 before this process saw the other's
/// steps is not noticed until later.)
pub fn check_counter(locked: &Locked<'_>, counter: c_int, step: c_int) -> Result<(), Interference> {
    if !locked.ours {
        return Err(Interference(
            "shm-mutex: the mutex is no longer the one this run made: another program made it \
             again (pthread_mutex_init) during the run"
                .to_owned(),
        ));
    }
    let left = LEFT.load(Ordering::Relaxed);
    let (own_left, other_left) = parts(left, step).unwrap_or_default();
    match parts(counter, step) {
        Some((own, other)) if own == own_left && other >= other_left => {
            LEFT.store(counter + step, Ordering::Relaxed);
            Ok(())
        }
        _ => {
            let (this, other) = if step == 10 {
                ("parent", "child")
            } else {
                ("child", "parent")
            };
            Err(Interference(format!(
                "shm-mutex: the {this} found the counter at {counter}, but left it at {left}, \
                 and the {other} only adds to it: another program changed the shared memory"
            )))
        }
    }
}

/// Whether the mutex, which this process has just locked, says so itself.
/// A robust mutex is a futex word that holds its owner's thread id (the
/// kernel's robust-futex protocol, `futex(2)`), and glibc keeps that word
/// first in `pthread_mutex_t`. A mutex that another program made again with
/// the listing's plain attributes holds 1 or 2 there instead.
#[cfg(target_env = "gnu")]
fn held_here(mutex: &UnsafeCell<pthread_mutex_t>) -> bool {
    futex_word(mutex) & FUTEX_TID_MASK == this_thread()
}

/// The bits of a robust mutex's futex word that hold its owner's thread id.
#[cfg(target_env = "gnu")]
const FUTEX_TID_MASK: u32 = 0x3fff_ffff;

/// The futex word of the mutex, as it is now.
#[cfg(target_env = "gnu")]
fn futex_word(mutex: &UnsafeCell<pthread_mutex_t>) -> u32 {
    // SAFETY: glibc's pthread_mutex_t begins with its futex word, an int,
    // and is aligned for it; the word is only read, atomically, as the
    // kernel and glibc read it.
    unsafe { &*mutex.get().cast::<AtomicU32>() }.load(Ordering::Relaxed)
}

/// The process that the mutex says holds it, if that is not a process of
/// this run (both are in one process group, the job's): another program's,
/// or none at all, if the word was written over. The holder is looked for
/// by its thread id, as the word holds it (see [`held_here`]).
#[cfg(target_env = "gnu")]
fn holder_outside_this_run(mutex: &UnsafeCell<pthread_mutex_t>) -> Option<u32> {
    let holder = futex_word(mutex) & FUTEX_TID_MASK;
    let ours = |tid: u32| {
        let tid = Pid::from_raw(i32::try_from(tid).unwrap_or(-1));
        getpgid(Some(tid)).is_ok_and(|group| getpgid(None).is_ok_and(|own| group == own))
    };
    (holder != 0 && !ours(holder)).then_some(holder)
}

/// Elsewhere the layout is not known: nothing to look at.
#[cfg(not(target_env = "gnu"))]
fn held_here(_mutex: &UnsafeCell<pthread_mutex_t>) -> bool {
    true
}

#[cfg(not(target_env = "gnu"))]
fn holder_outside_this_run(_mutex: &UnsafeCell<pthread_mutex_t>) -> Option<u32> {
    None
}

/// This process's (single) thread id, asked once per process: the first
/// call comes after `fork`, in the parent and in the child each.
#[cfg(target_env = "gnu")]
fn this_thread() -> u32 {
    static TID: AtomicU32 = AtomicU32::new(0);
    match TID.load(Ordering::Relaxed) {
        0 => {
            let tid = nix::unistd::gettid().as_raw() as u32;
            TID.store(tid, Ordering::Relaxed);
            tid
        }
        tid => tid,
    }
}

/// After `wait`: an error unless the counter is 55, both processes' five
/// steps. A child that found the counter changed stops quietly, and leaves
/// it to the parent to say so, here or at the parent's next step, so that
/// the run ends with one line.
pub fn check_total(shared: &SharedData) -> anyhow::Result<()> {
    // SAFETY: the counter lies in the mapping; the child has exited, so no
    // process of this run writes it now (another program might: a volatile
    // read takes whatever is there).
    let counter = unsafe { ptr::read_volatile(shared.counter.get()) };
    let total = ITERATIONS as c_int * 11;
    if counter != total {
        bail!(
            "shm-mutex: the counter ended at {counter}, not {total}: another program changed \
             the shared memory"
        );
    }
    Ok(())
}

/// What another program did to the object, as one process of the run
/// found it: the line that the run ends with.
#[derive(Debug)]
pub struct Interference(String);

impl fmt::Display for Interference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interference {}

/// The child's result, for `run_child`, so that a run ends with one line,
/// not one per process: what the child finds, the parent finds too, and
/// says. If another program changed the object ([`Interference`]), the
/// child stops quietly (status 0): the parent finds the change at its own
/// next step, or at the end ([`check_total`]). If its stdout fails
/// (`/dev/full`, a closed pipe), it stops quietly as `common::run_child`
/// stops a child whose pipe is closed: the parent's next line fails the
/// same way.
pub fn parent_reports(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(error) if error.is::<Interference>() => Ok(()),
        Err(error)
            if error.downcast_ref::<SysError>().is_some_and(|error| {
                error.call() == "write stdout" && error.errno() != Some(Errno::EINTR)
            }) =>
        {
            Err(SysError::new("write stdout", Errno::EPIPE).into())
        }
        other => other,
    }
}

/// The pthread functions return an error number instead of setting `errno`.
fn pthread_result(code: c_int) -> Result<(), Errno> {
    match code {
        0 => Ok(()),
        code => Err(Errno::from_raw(code)),
    }
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
    fn a_counter_this_run_can_make_is_ten_parent_steps_and_child_steps() {
        // (own steps, the other's), for the parent (10) and the child (1)
        assert_eq!(parts(0, 10), Some((0, 0)));
        assert_eq!(parts(32, 10), Some((3, 2)));
        assert_eq!(parts(32, 1), Some((2, 3)));
        assert_eq!(parts(55, 1), Some((5, 5)));
        // The child adds at most 5, and nobody subtracts.
        for value in [6, 16, 56, 66, 100, -1] {
            assert_eq!(parts(value, 10), None, "{value}");
        }
    }

    #[test]
    fn the_object_shows_in_dev_shm() {
        assert_eq!(
            dev_shm_path(OsStr::new("/my_shared_memory")),
            Path::new("/dev/shm/my_shared_memory")
        );
    }
}
