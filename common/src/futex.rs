//! `futex(2)` on a 32-bit word in memory that processes share: the kernel's
//! primitive for "sleep until this word changes", under every mutex and
//! semaphore. The examples use it where the C listings rely on a `sleep` to
//! order two processes.
//!
//! These are the shared (not `FUTEX_PRIVATE_FLAG`) operations: the kernel
//! finds the waiters by the word's physical page, so they work across
//! processes that map the same memory at different addresses.

use std::ptr;
use std::sync::atomic::AtomicU32;

use nix::errno::Errno;

/// Sleeps while `word` holds `expected`.
///
/// Returns when woken, at once if `word` no longer holds `expected`, and
/// also spuriously: the caller checks the word again, in a loop. Fails with
/// `EINTR` if a signal interrupts the sleep.
pub fn wait(word: &AtomicU32, expected: u32) -> Result<(), Errno> {
    // SAFETY: FUTEX_WAIT reads the aligned u32 behind `word`, which the
    // reference keeps valid for the whole call; the null timeout means "no
    // timeout", and the remaining arguments are ignored by this operation.
    let result = unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            ptr::null::<libc::timespec>(),
        )
    };
    match Errno::result(result) {
        Ok(_) | Err(Errno::EAGAIN) => Ok(()),
        Err(errno) => Err(errno),
    }
}

/// Wakes every process sleeping in [`wait`] on `word`.
pub fn wake_all(word: &AtomicU32) -> Result<(), Errno> {
    // SAFETY: FUTEX_WAKE only uses the address of `word` to find the
    // waiters; it does not dereference it beyond what the reference allows.
    let result =
        unsafe { libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, i32::MAX) };
    Errno::result(result).map(drop)
}
