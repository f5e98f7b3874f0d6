//! What the C listing leaves to luck, beside it: the name check and the
//! claim; judging, and reclaiming, an object a crashed run left at the name;
//! the robust mutex's recovery after `EOWNERDEAD`; and the guards that
//! unlock, unmap and unlink on every path, the name only while it still
//! leads to this run's object. Also the safe wrappers of the pthread calls,
//! named after them, whose `unsafe` lives here.

use std::cell::UnsafeCell;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use anyhow::bail;
use common::leftover::{self, Claim, Found};
use common::{Perror, SysError, UsageError, note};
use libc::{c_int, c_void, pthread_mutex_t, pthread_mutexattr_t};
use nix::errno::Errno;

use crate::{SHM_NAME, SIZE, SharedData};

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
    /// Takes charge of the object `shm_open` just created at `name`, open as `fd`.
    pub fn adopt(name: OsString, fd: &OwnedFd) -> Self {
        let identity = nix::sys::stat::fstat(fd)
            .ok()
            .map(|stat| (stat.st_dev, stat.st_ino));
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

/// The mutex, held by this process: the critical section. Dropping it is
/// the listing's `pthread_mutex_unlock`, on every path.
#[derive(Debug)]
pub struct Locked<'a> {
    mutex: &'a UnsafeCell<pthread_mutex_t>,
    /// The mutex came with `EOWNERDEAD`: its last holder died holding it.
    owner_died: bool,
}

/// Waits until this process holds the mutex, and returns the guard that
/// unlocks it. `EOWNERDEAD` means this process holds it too: [`recover`].
pub fn pthread_mutex_lock(mutex: &UnsafeCell<pthread_mutex_t>) -> Result<Locked<'_>, Errno> {
    // SAFETY: the mutex was made by pthread_mutex_init before fork, and is
    // destroyed only after both processes are done with it.
    let code = unsafe { libc::pthread_mutex_lock(mutex.get()) };
    if code != libc::EOWNERDEAD {
        pthread_result(code)?;
    }
    Ok(Locked {
        mutex,
        owner_died: code == libc::EOWNERDEAD,
    })
}

/// After `pthread_mutex_lock`: if the other process (`peer`: "child" or
/// "parent") died holding the mutex, marks it usable again
/// (`pthread_mutex_consistent`) and says so on stderr. The counter is whole
/// all the same: the critical section changes it with one store. Then, as
/// the wait for the mutex cannot be interrupted, Ctrl-C during it stops the
/// process here.
pub fn recover(locked: &Locked<'_>, peer: &str) -> Result<(), SysError> {
    if locked.owner_died {
        // SAFETY: this process holds the mutex, with EOWNERDEAD.
        let made = unsafe { libc::pthread_mutex_consistent(locked.mutex.get()) };
        pthread_result(made).perror("pthread_mutex_consistent")?;
        note!("shm-mutex: the {peer} died holding the mutex; recovered it (EOWNERDEAD)");
    }
    common::interrupt::check("pthread_mutex_lock")
}

pub fn pthread_mutex_unlock(locked: Locked<'_>) {
    drop(locked);
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: this process holds the mutex, which it locked in
        // pthread_mutex_lock.
        let unlocked = unsafe { libc::pthread_mutex_unlock(self.mutex.get()) };
        // Unlocking a mutex this process holds, and has made consistent if
        // it had to, cannot fail.
        debug_assert_eq!(unlocked, 0);
    }
}

/// # Safety
///
/// The mutex is unlocked, and no other process uses it any more.
pub unsafe fn pthread_mutex_destroy(mutex: &UnsafeCell<pthread_mutex_t>) -> Result<(), Errno> {
    // SAFETY: the caller says that the mutex is unlocked and unused.
    pthread_result(unsafe { libc::pthread_mutex_destroy(mutex.get()) })
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
    fn the_object_shows_in_dev_shm() {
        assert_eq!(
            dev_shm_path(OsStr::new("/my_shared_memory")),
            Path::new("/dev/shm/my_shared_memory")
        );
    }
}
