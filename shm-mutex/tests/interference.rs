//! Issue 14: shm-mutex while another program or the user acts on the same
//! shared memory object mid-run. The rule: the run either completes with
//! its whole transcript (ten lines, counting to 55), or ends within a few
//! seconds with one line on stderr that says what happened and exit 1; it
//! never hangs, never panics, never exits 0 with a wrong count, and leaves
//! nothing behind.
//!
//! Each kind of interference is driven at each line of a run, either
//! between two lines (neither process holds the mutex) or with the run held
//! at its stdout (one process blocked printing inside the mutex, the other
//! waiting on it): the tutorial's C listing run at the same name (its calls
//! made from the test: `shm_open` without `O_EXCL`, `pthread_mutex_init`
//! over the run's mutex, `counter = 0`, its first increment); a program
//! that takes the mutex and writes the counter; one that writes over the
//! object (`echo x >`) or truncates it; the object removed (`rm`) or
//! replaced; job control (SIGSTOP and SIGCONT of either process, also while
//! the other waits on the mutex; Ctrl-Z of the whole job); a stdout that
//! fails (`/dev/full`, closed). The runs of one test go in parallel, as
//! each takes the five seconds of the tutorial's pacing.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::ffi::CString;
use std::fs::{self, OpenOptions};
use std::mem::MaybeUninit;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::ptr::NonNull;
use std::thread;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use libc::c_int;
use tests::faults::{Ended, Example, Held, Pace, children, kill, state, syscall};
use tests::{FullPipe, dev_shm, exists};

#[allow(dead_code)]
mod support;
use support::{assert_counts_to_55, counts, shm_name};

fn example(name: &str) -> Example {
    // Paced (a tenth of the tutorial's second): the tests act between two
    // lines, while both processes are in their pacing sleep, or while one
    // holds the mutex.
    Example::new(cargo_bin!("shm-mutex"), &std::env::temp_dir())
        .arg(name)
        .at(Pace::Scaled("0.1"))
}

/// Whatever a test left at `/dev/shm/NAME` (an object made in place of the
/// run's, or a leftover after a failed assertion) is removed when dropped.
struct Cleanup(PathBuf);

impl Cleanup {
    fn new(name: &str) -> Self {
        Self(dev_shm(name))
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

// ---------------------------------------------------------------------------
// Waiting for a state, and saying what was seen when it does not come.

/// Waits until `look` returns `Ok`; after 30 s fails with what `look` last
/// said it saw.
fn poll(what: &str, mut look: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match look() {
            Ok(()) => return,
            Err(seen) if Instant::now() > deadline => {
                panic!("timed out waiting until {what}; last seen: {seen}")
            }
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// What a process of the run is doing, from /proc: `None` once it is gone
/// or a zombie.
fn doing(pid: i32) -> Option<(char, Option<i64>)> {
    match state(pid) {
        None | Some('Z' | 'X') => None,
        Some(letter) => Some((letter, syscall(pid))),
    }
}

/// Whether a process is gone, or asleep in one of `calls`.
fn asleep_in_one_of(pid: i32, calls: &[libc::c_long]) -> bool {
    match doing(pid) {
        None => true,
        Some(('S', Some(call))) => calls.contains(&call),
        Some(_) => false,
    }
}

/// The run's child, if it has forked one that has not ended.
fn live_child(parent: i32) -> Option<i32> {
    children(parent).into_iter().find(|&c| doing(c).is_some())
}

/// Waits until no process of the run holds the mutex: each is gone, asleep
/// in its pacing sleep, or (the parent) in `waitpid`.
fn wait_until_nobody_holds_the_mutex(parent: i32) {
    poll("no process of the run holds the mutex", || {
        let child = live_child(parent);
        let quiet = [libc::SYS_clock_nanosleep, libc::SYS_wait4];
        let parent_quiet = asleep_in_one_of(parent, &quiet);
        let child_quiet = child.is_none_or(|c| asleep_in_one_of(c, &quiet));
        if parent_quiet && child_quiet {
            Ok(())
        } else {
            Err(format!(
                "parent {parent}: {:?}, child {child:?}: {:?}",
                doing(parent),
                child.and_then(doing)
            ))
        }
    });
}

/// In a run held at its stdout: the process blocked writing its line (it
/// holds the mutex), and the other one, once it too waits (on the mutex, in
/// its pacing sleep, or for the child) or is gone. `None` if the run ended
/// before it could be held.
fn holder_and_other(held: &Held) -> Option<(i32, Option<i32>)> {
    let parent = held.pid();
    let writing = |pid: i32| doing(pid) == Some(('S', Some(libc::SYS_write)));
    let child = live_child(parent);
    let holder = if writing(parent) {
        parent
    } else {
        child.filter(|&c| writing(c))?
    };
    let other = if holder == parent {
        child
    } else {
        Some(parent)
    };
    if let Some(other) = other {
        let waits = [
            libc::SYS_futex,
            libc::SYS_clock_nanosleep,
            libc::SYS_wait4,
            libc::SYS_write,
        ];
        poll("the other process of the run waits too", || {
            if asleep_in_one_of(other, &waits) {
                Ok(())
            } else {
                Err(format!("process {other}: {:?}", doing(other)))
            }
        });
    }
    Some((holder, other))
}

// ---------------------------------------------------------------------------
// The other program: the tutorial's C listing, its calls made from the test.

/// `struct shared_data` of the C listing.
#[repr(C)]
struct Shared {
    mutex: libc::pthread_mutex_t,
    counter: c_int,
}

/// The C listing started at the same name, as far as its first increment:
/// it maps the object the run made, since it opens without `O_EXCL`.
#[derive(Debug)]
struct CListing {
    shared: NonNull<Shared>,
}

impl CListing {
    /// `shm_open(name, O_RDWR)`, `ftruncate`, `mmap`: the C listing's
    /// start on the run's object. Without its `O_CREAT`: should the run have
    /// ended and removed its object already, `None`, rather than an object
    /// of the test's own.
    fn open(name: &str) -> Option<Self> {
        let name = CString::new(name).unwrap();
        // SAFETY: `name` is a NUL-terminated string that outlives the call.
        let fd = unsafe { libc::shm_open(name.as_ptr(), libc::O_RDWR, 0o666) };
        if fd == -1 {
            let error = std::io::Error::last_os_error();
            assert_eq!(
                error.kind(),
                std::io::ErrorKind::NotFound,
                "shm_open: {error}"
            );
            return None;
        }
        let size = size_of::<Shared>();
        // SAFETY: ftruncate takes integers.
        assert_eq!(unsafe { libc::ftruncate(fd, size as libc::off_t) }, 0);
        let protection = libc::PROT_READ | libc::PROT_WRITE;
        // SAFETY: a new shared mapping of the object, where the kernel likes.
        let address = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                protection,
                libc::MAP_SHARED,
                fd,
                0,
            )
        };
        assert_ne!(address, libc::MAP_FAILED, "mmap");
        // SAFETY: the mapping keeps the object; the descriptor is not needed.
        unsafe { libc::close(fd) };
        Some(Self {
            shared: NonNull::new(address.cast()).unwrap(),
        })
    }

    fn mutex(&self) -> *mut libc::pthread_mutex_t {
        // SAFETY: the mapping holds a `Shared`; this only takes an address.
        unsafe { &raw mut (*self.shared.as_ptr()).mutex }
    }

    fn counter(&self) -> *mut c_int {
        // SAFETY: as above.
        unsafe { &raw mut (*self.shared.as_ptr()).counter }
    }

    /// `pthread_mutexattr_init`, `..._setpshared`, `pthread_mutex_init`:
    /// the run's mutex, whatever state it is in, becomes a fresh one.
    fn init_mutex(&self) {
        let mut attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: initializes the attribute in place.
        let made = unsafe { libc::pthread_mutexattr_init(attr.as_mut_ptr()) };
        assert_eq!(made, 0);
        let shared = libc::PTHREAD_PROCESS_SHARED;
        // SAFETY: the attribute is initialized.
        let set = unsafe { libc::pthread_mutexattr_setpshared(attr.as_mut_ptr(), shared) };
        assert_eq!(set, 0);
        // SAFETY: the mutex lies in the mapping; the C listing does not care
        // who else uses it, which is the point.
        let made = unsafe { libc::pthread_mutex_init(self.mutex(), attr.as_ptr()) };
        assert_eq!(made, 0);
        // SAFETY: the attribute is initialized and not used again.
        unsafe { libc::pthread_mutexattr_destroy(attr.as_mut_ptr()) };
    }

    /// `shared->counter = value`.
    fn set_counter(&self, value: c_int) {
        // SAFETY: the counter lies in the mapping; a plain store, as in C.
        unsafe { self.counter().write_volatile(value) };
    }

    /// `pthread_mutex_lock`, `shared->counter += step`, `pthread_mutex_unlock`.
    fn increment(&self, step: c_int) {
        // SAFETY: the mutex is initialized (by the run, or by init_mutex).
        let locked = unsafe { libc::pthread_mutex_lock(self.mutex()) };
        assert!(locked == 0 || locked == libc::EOWNERDEAD, "lock: {locked}");
        // SAFETY: the counter lies in the mapping, and the mutex is held.
        let value = unsafe { self.counter().read_volatile() };
        self.set_counter(value + step);
        // SAFETY: this thread holds the mutex.
        assert_eq!(unsafe { libc::pthread_mutex_unlock(self.mutex()) }, 0);
    }

    /// What the C listing does before its loops: the mutex made again, the
    /// counter set to 0; then its child's first step.
    fn start_over(&self) {
        self.init_mutex();
        self.set_counter(0);
        self.increment(1);
    }
}

impl Drop for CListing {
    fn drop(&mut self) {
        // SAFETY: the mapping came from mmap with this size, and no
        // reference into it outlives `self`.
        unsafe { libc::munmap(self.shared.as_ptr().cast(), size_of::<Shared>()) };
    }
}

// ---------------------------------------------------------------------------
// How a run may end.

/// The values of `lines` in order, each the one before plus the step of the
/// process that printed it: what this run can print, whoever went first.
fn assert_each_value_is_a_step(lines: &[String]) {
    let mut counter = 0;
    for (who, value) in counts(lines) {
        counter += if who == "Parent" { 10 } else { 1 };
        assert_eq!(value, counter, "{who} {value} in {lines:#?}");
    }
}

/// The lines a run stopped by interference may end with, all starting so.
/// (`echo x >` empties the object before it writes: a process of the run
/// that looks in between finds it truncated.)
const NOTICED: [&str; 7] = [
    "shm-mutex: shared memory object /shm-mutex-test-",
    "shm-mutex: the mutex is no longer the one this run made: another program made it again",
    "shm-mutex: the mutex is held by no process of this run",
    "shm-mutex: the parent found the counter at ",
    "shm-mutex: the counter ended at ",
    "pthread_mutex_unlock: Operation not permitted; another program made the mutex again",
    "pthread_mutex_destroy: Device or resource busy; another program made the mutex again",
];

/// After another program changed the object: either the whole transcript,
/// right, with exit 0 and nothing on stderr, or exit 1 with one line that
/// says so, and only right values printed before it (the first `right`
/// lines at least). Nothing is left, and no process of the run. Returns
/// whether the run was stopped.
fn assert_whole_or_noticed(name: &str, ended: &Ended, right: usize) -> bool {
    assert!(!exists(&dev_shm(name)), "{name} removed: {ended:#?}");
    assert_run_gone(ended);
    if ended.code == Some(0) {
        assert_eq!(ended.stderr, "", "{ended:#?}");
        assert_counts_to_55(&ended.lines);
        return false;
    }
    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert_eq!(ended.stderr.lines().count(), 1, "{ended:#?}");
    assert!(
        NOTICED.iter().any(|start| ended.stderr.starts_with(start)),
        "{ended:#?}"
    );
    assert_each_value_is_a_step(&ended.lines[..right.min(ended.lines.len())]);
    true
}

/// Waits until no process of the run is left. After a SIGBUS the parent
/// ends at once, and its child dies with it (`PR_SET_PDEATHSIG`): the
/// kernel takes a moment to end and reap it.
fn assert_run_gone(ended: &Ended) {
    poll("no process of the run is left", || {
        // SAFETY: kill with signal 0 only checks; it takes no pointers.
        match unsafe { libc::kill(-ended.pid, 0) } {
            0 => Err(format!("the group of {} is still there", ended.pid)),
            _ => Ok(()),
        }
    });
}

/// Runs `each(point)` for every point in parallel, one run each, and
/// returns their results in order.
fn in_parallel<P: Send + 'static, T: Send + 'static>(
    points: Vec<P>,
    each: impl Fn(P) -> T + Send + Sync + Clone + 'static,
) -> Vec<T> {
    let runs: Vec<_> = points
        .into_iter()
        .map(|point| {
            let each = each.clone();
            thread::spawn(move || each(point))
        })
        .collect();
    runs.into_iter().map(|run| run.join().unwrap()).collect()
}

/// Rooms, in bytes of stdout, where a run is held with work left to do:
/// before its first line, then after about each line. A write to a pipe of
/// less than a page goes whole or waits, so a held run stops after the last
/// whole line that fits; the lines are 32 to 34 bytes long.
fn points_with_work_left() -> Vec<usize> {
    (0..10).map(|lines| lines * 33).collect()
}

/// Runs each check on a thread of its own, all at once (each takes the
/// five seconds of a run), and fails with the names of those that failed.
fn all_at_once(checks: &[(&str, fn())]) {
    let running: Vec<_> = checks
        .iter()
        .map(|&(name, check)| {
            let thread = thread::Builder::new().name(name.to_owned());
            (name, thread.spawn(check).unwrap())
        })
        .collect();
    let failed: Vec<&str> = running
        .into_iter()
        .filter_map(|(name, thread)| thread.join().is_err().then_some(name))
        .collect();
    assert!(failed.is_empty(), "failed: {failed:#?}");
}

macro_rules! all_at_once {
    ($($check:ident),* $(,)?) => {
        all_at_once(&[$((stringify!($check), $check as fn())),*])
    };
}

// ---------------------------------------------------------------------------
// Another program of the same user on the same object.

fn the_c_listing_started_at_the_same_name_between_two_lines_is_noticed() {
    // The C listing starts while neither process holds the mutex, after
    // each line: it makes the mutex again, sets the counter to 0 and adds 1.
    let stopped = in_parallel((1..=9).collect(), |lines| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let mut running = example(&name).start();
        assert!(running.read_lines(lines));
        wait_until_nobody_holds_the_mutex(running.pid());
        CListing::open(&name).inspect(CListing::start_over);
        assert_whole_or_noticed(&name, &running.finish(), usize::MAX)
    });
    // Each process checks the mutex and the counter at each step, and the
    // parent the counter at the end: a run finishes whole only if the C
    // listing came after all that (on a slow machine, after the last line).
    assert!(stopped.iter().filter(|&&s| s).count() >= 5, "{stopped:?}");
}

fn the_c_listing_started_while_one_process_holds_the_mutex_is_noticed() {
    // The run is held with one process blocked printing its line, inside
    // the mutex, and the other waiting on it (or asleep): the C listing's
    // pthread_mutex_init takes the mutex from under both.
    let stopped = in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        if holder_and_other(&held).is_some() {
            CListing::open(&name).unwrap().start_over();
        }
        assert_whole_or_noticed(&name, &held.finish(), usize::MAX)
    });
    assert!(stopped.iter().filter(|&&s| s).count() >= 5, "{stopped:?}");
}

fn the_mutex_made_again_under_its_holder_ends_the_run_or_lets_it_finish_right() {
    // Only pthread_mutex_init, the counter untouched. The parent, if it is
    // the holder, finds at its unlock that the mutex is not its own any
    // more, and stops. The child, if it is, goes on, and stops quietly at
    // its next step; the parent says so at its own next step, or at the
    // end. Made again before the last step, the run may finish right.
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        if holder_and_other(&held).is_some() {
            CListing::open(&name).unwrap().init_mutex();
        }
        assert_whole_or_noticed(&name, &held.finish(), usize::MAX)
    });
}

fn a_program_that_takes_the_mutex_and_changes_the_counter_is_noticed() {
    // A well-behaved writer: it locks the run's own mutex to add 100, or
    // to set the counter back to 0.
    let points: Vec<(usize, c_int)> = (1..=9).flat_map(|n| [(n, 100), (n, 0)]).collect();
    let stopped = in_parallel(points, |(lines, value)| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let mut running = example(&name).start();
        assert!(running.read_lines(lines));
        wait_until_nobody_holds_the_mutex(running.pid());
        let Some(other) = CListing::open(&name) else {
            // The run ended first: nothing to change.
            return assert_whole_or_noticed(&name, &running.finish(), usize::MAX);
        };
        if value == 0 {
            // SAFETY: the run's mutex is initialized; the test locks it as
            // a third process would.
            let locked = unsafe { libc::pthread_mutex_lock(other.mutex()) };
            assert_eq!(locked, 0);
            other.set_counter(0);
            // SAFETY: this thread holds the mutex.
            assert_eq!(unsafe { libc::pthread_mutex_unlock(other.mutex()) }, 0);
        } else {
            other.increment(value);
        }
        // A counter set to 0 can look, to a process that has not seen the
        // other's last step, like no step of the other yet: that process
        // may print one more line before the other one notices.
        assert_whole_or_noticed(&name, &running.finish(), lines)
    });
    // Whatever the last line, some process still reads the counter after it
    // is changed, or the parent at the end: only a change after that (on a
    // slow machine, after the last line) leaves the transcript whole.
    assert!(stopped.iter().filter(|&&s| s).count() >= 9, "{stopped:?}");
}

fn a_program_that_writes_over_the_object_between_two_lines_is_noticed() {
    // `echo x > /dev/shm/NAME`: the object is emptied and gets two bytes,
    // which land on the mutex; its pages, mapped by both processes, now
    // read "x\n" and zeros.
    let stopped = in_parallel((1..=9).collect(), |lines| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let mut running = example(&name).start();
        assert!(running.read_lines(lines));
        wait_until_nobody_holds_the_mutex(running.pid());
        // Only on the run's own object: it may be gone already.
        if exists(&dev_shm(&name)) {
            fs::write(dev_shm(&name), "x\n").unwrap();
        }
        assert_whole_or_noticed(&name, &running.finish(), usize::MAX)
    });
    assert!(stopped.iter().filter(|&&s| s).count() >= 5, "{stopped:?}");
}

fn a_program_that_writes_over_the_object_under_a_holder_is_noticed() {
    let stopped = in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        if holder_and_other(&held).is_some() {
            fs::write(dev_shm(&name), "x\n").unwrap();
        }
        assert_whole_or_noticed(&name, &held.finish(), usize::MAX)
    });
    assert!(stopped.iter().filter(|&&s| s).count() >= 5, "{stopped:?}");
}

/// The end of a run whose object was truncated: its memory is gone, and
/// the next access to it raises SIGBUS. One line, exit 1, the right values
/// before it, the name removed, and no process left (the child dies with
/// its parent: polled, as the kernel takes a moment to reap it).
fn assert_truncation_noticed(name: &str, ended: &Ended) {
    assert_eq!(
        (ended.code, ended.stderr.as_str()),
        (
            Some(1),
            format!(
                "shm-mutex: shared memory object {name} was truncated during the run by another \
                 program: its memory is gone (SIGBUS)\n"
            )
            .as_str()
        ),
        "{ended:#?}"
    );
    assert_each_value_is_a_step(&ended.lines);
    assert!(!exists(&dev_shm(name)), "{name} removed: {ended:#?}");
    assert_run_gone(ended);
}

/// `truncate -s 0 /dev/shm/NAME`, on the run's object only.
fn truncate(name: &str) {
    if let Ok(file) = OpenOptions::new().write(true).open(dev_shm(name)) {
        file.set_len(0).unwrap();
    }
}

fn a_program_that_truncates_the_object_between_two_lines_is_noticed() {
    in_parallel((1..=9).collect(), |lines| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let mut running = example(&name).start();
        assert!(running.read_lines(lines));
        wait_until_nobody_holds_the_mutex(running.pid());
        truncate(&name);
        assert_truncation_noticed(&name, &running.finish());
    });
}

fn a_program_that_truncates_the_object_under_a_holder_is_noticed() {
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        truncate(&name);
        assert_truncation_noticed(&name, &held.finish());
    });
}

#[test]
fn another_program_that_changes_the_object_is_noticed_at_any_line() {
    all_at_once!(
        the_c_listing_started_at_the_same_name_between_two_lines_is_noticed,
        the_c_listing_started_while_one_process_holds_the_mutex_is_noticed,
        the_mutex_made_again_under_its_holder_ends_the_run_or_lets_it_finish_right,
        a_program_that_takes_the_mutex_and_changes_the_counter_is_noticed,
        a_program_that_writes_over_the_object_between_two_lines_is_noticed,
        a_program_that_writes_over_the_object_under_a_holder_is_noticed,
        a_program_that_truncates_the_object_between_two_lines_is_noticed,
        a_program_that_truncates_the_object_under_a_holder_is_noticed,
    );
}

// ---------------------------------------------------------------------------
// The object removed, or replaced, from outside.

fn the_object_removed_at_any_line_the_run_finishes_and_says_so() {
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        // rm /dev/shm/NAME: the name goes, the memory stays mapped.
        fs::remove_file(dev_shm(&name)).unwrap();
        let ended = held.finish();
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        assert_counts_to_55(&ended.lines);
        assert_eq!(
            ended.stderr,
            format!(
                "shm-mutex: shared memory object {name} was removed during the run by \
                 another program; nothing left to remove\n"
            ),
            "{ended:#?}"
        );
        ended.assert_group_gone();
        assert!(!exists(&dev_shm(&name)), "{ended:#?}");
    });
}

fn an_object_made_at_the_name_after_a_removal_is_left_alone() {
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        fs::remove_file(dev_shm(&name)).unwrap();
        // Another program makes its own object at the name.
        fs::write(dev_shm(&name), "someone else's").unwrap();
        let ended = held.finish();
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        assert_counts_to_55(&ended.lines);
        assert_eq!(
            ended.stderr,
            format!(
                "shm-mutex: shared memory object {name} was removed during the run, and \
                 another program made a new one there; left alone\n"
            ),
            "{ended:#?}"
        );
        ended.assert_group_gone();
        assert_eq!(
            fs::read_to_string(dev_shm(&name)).unwrap(),
            "someone else's"
        );
    });
}

fn the_object_removed_then_ctrl_c_is_one_line_with_nothing_to_remove() {
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        fs::remove_file(dev_shm(&name)).unwrap();
        held.signal_group(libc::SIGINT);
        let ended = held.finish();
        ended.assert_stopped("shm-mutex", 130, "interrupted by SIGINT; nothing to remove");
    });
}

#[test]
fn the_object_removed_from_outside_at_any_line_is_said_once() {
    all_at_once!(
        the_object_removed_at_any_line_the_run_finishes_and_says_so,
        an_object_made_at_the_name_after_a_removal_is_left_alone,
        the_object_removed_then_ctrl_c_is_one_line_with_nothing_to_remove,
    );
}

// ---------------------------------------------------------------------------
// Job control.

/// Stops `pid` with `signal` and waits until it is stopped.
fn stop(pid: i32, signal: c_int) {
    assert!(kill(pid, signal), "process {pid} is there to stop");
    poll(&format!("process {pid} is stopped"), || match doing(pid) {
        None | Some(('T' | 't', _)) => Ok(()),
        seen => Err(format!("{seen:?}")),
    });
}

/// Waits until every process of the run but `stopped` waits (on the mutex,
/// in its pacing sleep, for the child, on stdout) or is gone.
fn wait_until_the_rest_waits(parent: i32, stopped: i32) {
    let waits = [
        libc::SYS_futex,
        libc::SYS_clock_nanosleep,
        libc::SYS_wait4,
        libc::SYS_write,
    ];
    poll("the rest of the run waits for the stopped one", || {
        let mut others = children(parent);
        others.push(parent);
        let seen: Vec<_> = others
            .iter()
            .filter(|&&other| other != stopped)
            .map(|&other| (other, doing(other)))
            .collect();
        if seen
            .iter()
            .all(|&(other, _)| asleep_in_one_of(other, &waits))
        {
            Ok(())
        } else {
            Err(format!("{seen:?}"))
        }
    });
}

/// The whole transcript, right, exit 0, nothing on stderr, nothing left.
fn assert_whole(name: &str, ended: &Ended) {
    assert_eq!(
        (ended.code, ended.stderr.as_str()),
        (Some(0), ""),
        "{ended:#?}"
    );
    assert_counts_to_55(&ended.lines);
    ended.assert_group_gone();
    assert!(!exists(&dev_shm(name)), "{ended:#?}");
}

fn either_process_stopped_and_continued_at_any_line_the_run_finishes() {
    // Held at each line: one process blocked inside the mutex, the other
    // waiting on it or asleep. The holder or the waiter is stopped; the
    // pipe is then emptied, the rest of the run comes to wait for the
    // stopped one, and it is continued (`kill -STOP`, then `kill -CONT`).
    let points: Vec<(usize, bool)> = points_with_work_left()
        .into_iter()
        .flat_map(|room| [(room, true), (room, false)])
        .collect();
    in_parallel(points, |(room, stop_holder)| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let held = example(&name).start_held(room);
        let parent = held.pid();
        let target = match holder_and_other(&held) {
            Some((holder, _)) if stop_holder => Some(holder),
            Some((_, other)) => other,
            None => None,
        };
        let Some(target) = target else {
            return assert_whole(&name, &held.finish());
        };
        stop(target, libc::SIGSTOP);
        let finishing = thread::spawn(move || held.finish());
        wait_until_the_rest_waits(parent, target);
        assert!(kill(target, libc::SIGCONT));
        assert_whole(&name, &finishing.join().unwrap());
    });
}

fn ctrl_z_then_fg_at_any_line_the_run_finishes() {
    // SIGTSTP to the job, as Ctrl-Z sends it: both processes stop; then
    // SIGCONT to the job, as `fg` sends it.
    in_parallel((1..=9).collect(), |lines| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let mut running = example(&name).start();
        assert!(running.read_lines(lines));
        let parent = running.pid();
        running.signal_group(libc::SIGTSTP);
        poll("every process of the job is stopped", || {
            let mut all = children(parent);
            all.push(parent);
            let seen: Vec<_> = all.iter().map(|&p| (p, doing(p))).collect();
            if seen
                .iter()
                .all(|(_, now)| matches!(now, None | Some(('T', _))))
            {
                Ok(())
            } else {
                Err(format!("{seen:?}"))
            }
        });
        running.signal_group(libc::SIGCONT);
        assert_whole(&name, &running.finish());
    });
}

#[test]
fn job_control_at_any_line_lets_the_run_finish() {
    all_at_once!(
        either_process_stopped_and_continued_at_any_line_the_run_finishes,
        ctrl_z_then_fg_at_any_line_the_run_finishes,
    );
}

// ---------------------------------------------------------------------------
// A stdout that fails.

fn stdout_on_dev_full_is_one_line_and_nothing_is_left() {
    in_parallel((0..10).collect(), |_| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let full = OpenOptions::new().write(true).open("/dev/full").unwrap();
        let output = example(&name)
            .command()
            .stdin(Stdio::null())
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).as_ref()
            ),
            (Some(1), "write stdout: No space left on device\n"),
        );
        assert!(!exists(&dev_shm(&name)), "{name} removed");
    });
}

fn stdout_closed_after_any_line_is_one_line_and_nothing_is_left() {
    // `| head -N` without its race: the reader goes away while a process
    // of the run (either one) is blocked writing the next line.
    in_parallel(points_with_work_left(), |room| {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        let mut stdout = FullPipe::with_room(room);
        let program = example(&name)
            .command()
            .stdout(stdout.stdout())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let parent = i32::try_from(program.id()).unwrap();
        poll("a process of the run blocks writing past the room", || {
            let mut all = children(parent);
            all.push(parent);
            let seen: Vec<_> = all.iter().map(|&p| (p, doing(p))).collect();
            if seen
                .iter()
                .any(|&(_, now)| now == Some(('S', Some(libc::SYS_write))))
            {
                Ok(())
            } else {
                Err(format!("{seen:?}"))
            }
        });
        drop(stdout);
        let output = program.wait_with_output().unwrap();
        assert_eq!(
            (
                output.status.code(),
                String::from_utf8_lossy(&output.stderr).as_ref()
            ),
            (Some(1), "write stdout: Broken pipe\n"),
        );
        // SAFETY: kill with signal 0 only checks; it takes no pointers.
        let alive = unsafe { libc::kill(-parent, 0) } == 0;
        assert!(!alive, "no process of the run left");
        assert!(!exists(&dev_shm(&name)), "{name} removed");
    });
}

#[test]
fn a_stdout_that_fails_at_any_line_is_one_line() {
    all_at_once!(
        stdout_on_dev_full_is_one_line_and_nothing_is_left,
        stdout_closed_after_any_line_is_one_line_and_nothing_is_left,
    );
}
