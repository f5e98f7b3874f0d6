//! What Process A and Process B do, each in its own forked process: attach
//! the segment, then carry out the commands the controller forwards with
//! plain loads and stores in their own mapping of it.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use common::{Perror, SysError, futex};
use libc::c_int;
use nix::errno::Errno;

use crate::segment::{Mapping, RaceArea};
use sim::link::Worker;

/// The worker's loop: one command at a time, until the controller closes
/// the command pipe.
pub fn work(mut link: Worker, segment: c_int) -> anyhow::Result<()> {
    // Attach the segment: a system call, once. From here on the segment is
    // memory at `addr` in this process, like any other.
    let mapping = Mapping::attach(segment)?;
    link.say(format!(
        "{} attached segment {segment} at {:p} (shmat)",
        link.tag(),
        mapping.addr()
    ))?;
    link.done()?;

    while let Some(command) = link.next_command()? {
        let words: Vec<&str> = command.splitn(3, ' ').collect();
        match words[..] {
            ["write", offset, text] => write(&mut link, &mapping, offset.parse()?, text)?,
            ["read", offset, len] => read(&mut link, &mapping, offset.parse()?, len.parse()?)?,
            ["race", count, mode] => race(&mut link, mapping.race(), count.parse()?, mode)?,
            _ => bail!("unknown command {command:?}"),
        }
        link.done()?;
    }

    // The controller closed the pipe: detach and exit.
    mapping.detach()?;
    link.say(format!(
        "{} detached the segment (shmdt) and exits",
        link.tag()
    ))
}

/// Stores `text` at `offset`: one store instruction per byte.
fn write(link: &mut Worker, mapping: &Mapping, offset: usize, text: &str) -> anyhow::Result<()> {
    let region = mapping
        .data()
        .get(offset..offset + text.len())
        .context("write outside the data region")?;
    for (byte, &value) in region.iter().zip(text.as_bytes()) {
        byte.store(value, Ordering::Relaxed);
    }
    link.say(format!(
        "{} wrote {} at offset {offset}: \"{}\" (plain stores into its mapping: no system call)",
        link.tag(),
        bytes(text.len()),
        text.as_bytes().escape_ascii()
    ))
}

/// Loads `len` bytes from `offset`: one load instruction per byte.
fn read(link: &mut Worker, mapping: &Mapping, offset: usize, len: usize) -> anyhow::Result<()> {
    let region = mapping
        .data()
        .get(offset..offset + len)
        .context("read outside the data region")?;
    let seen: Vec<u8> = region.iter().map(|b| b.load(Ordering::Relaxed)).collect();
    link.say(format!(
        "{} read {} at offset {offset}: \"{}\" (plain loads from its mapping: no system call)",
        link.tag(),
        bytes(len),
        seen.escape_ascii()
    ))
}

/// Adds 1 to the shared counter `count` times, with or without the lock,
/// starting together with the other process.
fn race(link: &mut Worker, area: &RaceArea, count: u64, mode: &str) -> anyhow::Result<()> {
    let locked = match mode {
        "lock" => true,
        "nolock" => false,
        _ => bail!("unknown race mode {mode:?}"),
    };
    start_together(&area.ready)?;

    let started = Instant::now();
    let mut calls = Calls::default();
    for _ in 0..count {
        if locked {
            lock(&area.lock, &mut calls)?;
        }
        // The increment a compiler emits for `counter += 1`: load, add,
        // store. Between this process's load and its store, the other one
        // may store its own result, which this store then overwrites.
        let value = area.counter.load(Ordering::Relaxed);
        area.counter.store(value + 1, Ordering::Relaxed);
        if locked {
            unlock(&area.lock, &mut calls)?;
        }
    }
    let took = started.elapsed();

    let what = if locked {
        format!(
            "system calls: {} (asleep while the other held the lock), {}",
            times(calls.waits, "futex wait"),
            times(calls.wakes, "futex wake")
        )
    } else {
        "no system call".to_owned()
    };
    link.say(format!(
        "{} added 1 {count} times in {:.1} ms; {what}",
        link.tag(),
        took.as_secs_f64() * 1000.0
    ))
}

/// A start line in shared memory, so both loops start at the same moment:
/// the first process to arrive spins on the word (on another core, it sees
/// the second arrive within a fraction of a microsecond); if the second is
/// slow to come (a busy machine), it sleeps on the futex word instead, and
/// the second wakes it.
fn start_together(ready: &AtomicU32) -> Result<(), SysError> {
    if ready.fetch_add(1, Ordering::AcqRel) + 1 == 2 {
        return futex::wake_all(ready).perror("futex(FUTEX_WAKE)");
    }
    let spinning = Instant::now();
    while ready.load(Ordering::Acquire) < 2 {
        if spinning.elapsed() < Duration::from_millis(50) {
            std::hint::spin_loop();
        } else {
            sleep_on(ready, 1)?;
        }
    }
    Ok(())
}

/// The system calls a locked race made.
#[derive(Debug, Default)]
struct Calls {
    waits: u64,
    wakes: u64,
}

/// Takes the lock: a compare-and-swap in shared memory when it is free (no
/// system call); when the other process holds it, mark it contended (2) and
/// sleep in the kernel until woken. (Ulrich Drepper's "Futexes Are
/// Tricky", mutex 2.)
fn lock(word: &AtomicU32, calls: &mut Calls) -> Result<(), SysError> {
    if word
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_ok()
    {
        return Ok(());
    }
    while word.swap(2, Ordering::Acquire) != 0 {
        calls.waits += 1;
        sleep_on(word, 2)?;
    }
    Ok(())
}

/// Releases the lock, and wakes the other process if it may be asleep.
fn unlock(word: &AtomicU32, calls: &mut Calls) -> Result<(), SysError> {
    if word.swap(0, Ordering::Release) == 2 {
        calls.wakes += 1;
        futex::wake_all(word).perror("futex(FUTEX_WAKE)")?;
    }
    Ok(())
}

/// `futex(FUTEX_WAIT)`: sleeps while `word` holds `expected`. Waking
/// early (a signal, a spurious wake-up) is fine: the caller looks again.
fn sleep_on(word: &AtomicU32, expected: u32) -> Result<(), SysError> {
    match futex::wait(word, expected) {
        Ok(()) | Err(Errno::EINTR) => Ok(()),
        Err(errno) => Err(SysError::new("futex(FUTEX_WAIT)", errno)),
    }
}

/// "1 futex wait", "2 futex waits".
fn times(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// "1 byte", "5 bytes".
pub fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}
