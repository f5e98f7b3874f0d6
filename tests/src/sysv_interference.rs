//! What other programs and the user do to a running System V example
//! (`shm-sysv`, `msgqueue`, `semaphore`), at each of its lines: `ipcrm` of
//! its object, another program of the same user opening the object and
//! meddling with it (as the tutorial's C listing, run at the same key,
//! would), Ctrl-Z or SIGSTOP of either process and then SIGCONT, and a
//! stdout that fails. Each check runs the example once per line at once
//! (one thread per run, each at a key of its own), so that a sweep takes
//! about as long as one run.
//!
//! The rule each check asserts: the run either completes with its whole
//! transcript (exit 0), or ends with exactly one line on stderr that says
//! what happened and exit 1; it never hangs (every run has a watchdog), and
//! leaves no process and no object behind.

use std::process::{Command, Stdio};
use std::thread;

use crate::faults::{Ended, Example, children, state, stopping_points, syscall};
use crate::sysv::{self, Kind, Object};
use crate::{FullPipe, SysvExample, TestDir, wait_until};

/// What a meddling program does to the object: it gets the object, as
/// `/proc/sysvipc` lists it (a program of the same user that opens the same
/// key gets the same id).
pub type Meddle = fn(&Object);

impl SysvExample {
    fn example_in(&self, dir: &TestDir) -> Example {
        Example::new(self.bin, dir.path())
    }

    /// The start of the one line a disturbed run ends with: its object,
    /// "message queue 0x62012345 (id ".
    fn named(&self, key: i32) -> String {
        format!("{} {key:#010x} (id ", self.kind.what())
    }

    /// Asserts that a run that another process disturbed ended with exit 1
    /// and one line on stderr, which names the object and contains `says`,
    /// and that nothing of the run is left: no process, no object.
    fn assert_told(&self, key: i32, ended: &Ended, says: &str) {
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert_eq!(ended.stderr.lines().count(), 1, "one line: {ended:#?}");
        assert!(
            ended.stderr.starts_with(&self.named(key)),
            "names the object: {ended:#?}"
        );
        assert!(ended.stderr.contains(says), "says {says:?}: {ended:#?}");
        ended.assert_group_gone();
        assert!(
            sysv::find(self.kind, key).is_none(),
            "nothing left at {key:#x}: {ended:#?}"
        );
    }

    /// Runs `act` on a run held after each of its lines (one run per line,
    /// all at once, each in a directory of its own), and checks each end
    /// with `check(line, object, ended)`, where `object` is the run's
    /// object if it still existed when `act` came, and `act` returned true.
    fn at_each_line(
        &self,
        act: impl Fn(&SysvExample, &Object, usize) -> bool + Send + Copy + 'static,
        check: impl Fn(usize, Option<&Object>, &Ended),
    ) {
        let points = stopping_points(&self.example_in(&TestDir::new()));
        let this = *self;
        let runs: Vec<_> = points[..points.len() - 1]
            .iter()
            .enumerate()
            .map(|(line, &room)| {
                thread::spawn(move || {
                    let dir = TestDir::new();
                    let key = dir.ftok_key(this.proj);
                    let held = this.example_in(&dir).start_held(room);
                    let acted =
                        sysv::find(this.kind, key).filter(|object| act(&this, object, line));
                    let ended = held.finish();
                    // The directory goes with the checks: until then, its
                    // key is this run's, and no other test's.
                    (line, dir, acted, ended)
                })
            })
            .collect();
        // Every run ends before any is checked: a failed check leaves none.
        let results: Vec<_> = runs.into_iter().map(thread::JoinHandle::join).collect();
        for result in results {
            let (line, dir, acted, ended) = result.unwrap();
            let key = dir.ftok_key(self.proj);
            check(line, acted.as_ref(), &ended);
            ended.assert_group_gone();
            assert!(
                sysv::find(self.kind, key).is_none(),
                "after line {line}, nothing left at {key:#x}: {ended:#?}"
            );
        }
    }

    /// `ipcrm` of the object after each line, by id after even lines and by
    /// key after odd ones: the run ends with exit 1 and the one line
    /// `<object>: another process removed it while the run was using it`.
    pub fn removed_by_ipcrm_at_each_line(&self) {
        let points = stopping_points(&self.example_in(&TestDir::new())).len() - 1;
        self.at_each_line(
            |this, object, line| {
                ipcrm(this.kind, object, line % 2 == 0);
                true
            },
            |line, object, ended| {
                let Some(object) = object else {
                    // The run had removed its object already: it is done.
                    assert_eq!(ended.code, Some(0), "after line {line}: {ended:#?}");
                    assert_eq!(ended.lines.len(), points, "{ended:#?}");
                    return;
                };
                self.assert_told(object.key, ended, "another program removed it");
            },
        );
    }

    /// `ipcrm` while the parent or its child is asleep in system call
    /// `number` (`msgrcv`, `semop`), with stdout held after `lines` lines:
    /// the sleeper wakes with `EIDRM`, and the run ends with the one line.
    pub fn removed_while_asleep_in(&self, lines: usize, number: libc::c_long, call: &str) {
        let dir = TestDir::new();
        let key = dir.ftok_key(self.proj);
        let example = self.example_in(&dir);
        let room = stopping_points(&example)[lines] + 4;
        let held = example.spawn_held(room);
        crate::faults::wait_one_asleep_in(held.pid(), number, call);
        let object = sysv::find(self.kind, key).expect("the object, while the run waits");
        ipcrm(self.kind, &object, true);
        let ended = held.finish();
        self.assert_told(key, &ended, "another program removed it");
    }

    /// Another program of the same user opens the object after each line
    /// and does `meddle` to it: the run notices, and ends with exit 1 and
    /// one line that names the object and says `says`; or, where `meddle`
    /// came too late to matter (the run had done its last use of the
    /// object), it completes.
    pub fn notices_meddling_at_each_line(&self, meddle: Meddle, says: &'static str) {
        let reference = sorted(&self.example_in(&TestDir::new()).run().lines);
        let told = std::cell::Cell::new(0);
        self.at_each_line(
            move |_, object, _| {
                meddle(object);
                true
            },
            |line, object, ended| {
                if let Some(object) = object
                    && ended.code != Some(0)
                {
                    self.assert_told(object.key, ended, says);
                    told.set(told.get() + 1);
                } else {
                    // Too late to matter: the run had done with its object.
                    assert_eq!(ended.code, Some(0), "after line {line}: {ended:#?}");
                    assert_eq!(ended.stderr, "", "after line {line}: {ended:#?}");
                    assert_eq!(sorted(&ended.lines), reference, "after line {line}");
                }
            },
        );
        assert!(told.get() > 0, "the meddling was noticed after some line");
    }

    /// SIGSTOP of the parent, of the child, or Ctrl-Z (SIGTSTP to the
    /// group) after each line, until the other process sleeps (waiting for
    /// the stopped one, or in its pacing sleep) or has ended; then SIGCONT:
    /// the run completes with its whole transcript, as if nothing happened.
    pub fn survives_stop_and_continue_at_each_line(&self) {
        let reference = sorted(&self.example_in(&TestDir::new()).run().lines);
        let points = reference.len();
        let this = *self;
        let runs: Vec<_> = (0..points)
            .flat_map(|line| [Stop::Parent, Stop::Child, Stop::Group].map(|stop| (line, stop)))
            .map(|(line, stop)| {
                thread::spawn(move || {
                    let dir = TestDir::new();
                    let mut running = this.example_in(&dir).start();
                    running.read_lines(line);
                    let parent = running.pid();
                    // SIGCONT however this thread ends, so that nothing of
                    // the run stays stopped.
                    let _continue = Continue(parent);
                    let child = children(parent).first().copied();
                    let (stopped, other) = match stop {
                        Stop::Parent => (Some(parent), child),
                        Stop::Child => (child, Some(parent)),
                        Stop::Group => (None, None),
                    };
                    match stop {
                        Stop::Group => {
                            // As a shell does `fg` only once the job is
                            // stopped: every process of it.
                            running.signal_group(libc::SIGTSTP);
                            wait_until("the whole run is stopped, or has ended", || {
                                let mut processes = children(parent);
                                processes.push(parent);
                                processes
                                    .iter()
                                    .all(|&p| matches!(state(p), Some('T' | 'Z') | None))
                            });
                        }
                        _ => {
                            if let Some(pid) = stopped {
                                crate::faults::kill(pid, libc::SIGSTOP);
                            }
                        }
                    }
                    if let (Some(stopped), Some(other)) = (stopped, other) {
                        wait_until(
                            &format!(
                                "process {stopped} is stopped and {other} sleeps or has ended"
                            ),
                            || {
                                matches!(state(stopped), Some('T') | Some('Z') | None)
                                    && matches!(state(other), Some('S') | Some('Z') | None)
                            },
                        );
                    }
                    running.signal_group(libc::SIGCONT);
                    (line, stop, running.finish())
                })
            })
            .collect();
        // Every run ends before any is checked: a failed check leaves none.
        let results: Vec<_> = runs.into_iter().map(thread::JoinHandle::join).collect();
        for result in results {
            let (line, stop, ended) = result.unwrap();
            assert_eq!(
                ended.code,
                Some(0),
                "{stop:?} after line {line}: {ended:#?}"
            );
            assert_eq!(ended.stderr, "", "{stop:?} after line {line}: {ended:#?}");
            assert_eq!(
                sorted(&ended.lines),
                reference,
                "{stop:?} after line {line}"
            );
            ended.assert_group_gone();
        }
    }

    /// Run with stdout on `/dev/full`: its first line fails, the one line
    /// `write stdout: No space left on device`, exit 1, nothing left.
    pub fn fails_cleanly_on_dev_full(&self) {
        let dir = TestDir::new();
        let output = self
            .example_in(&dir)
            .command()
            .stdout(std::fs::File::create("/dev/full").unwrap())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "write stdout: No space left on device\n"
        );
        assert!(sysv::find(self.kind, dir.ftok_key(self.proj)).is_none());
    }

    /// The reader of stdout goes away after each line, while a process of
    /// the run is blocked writing the next one: exit 1, the one line `write
    /// stdout: Broken pipe`, no process and no object left.
    pub fn stdout_closed_at_each_line(&self) {
        let points = stopping_points(&self.example_in(&TestDir::new()));
        let this = *self;
        let runs: Vec<_> = points[..points.len() - 1]
            .iter()
            .map(|&room| {
                thread::spawn(move || {
                    let dir = TestDir::new();
                    let mut stdout = FullPipe::with_room(room);
                    let program = this
                        .example_in(&dir)
                        .command()
                        .stdout(stdout.stdout())
                        .stderr(Stdio::piped())
                        .spawn()
                        .unwrap();
                    let pid = i32::try_from(program.id()).unwrap();
                    wait_until("a process of the run blocks writing past the room", || {
                        let mut processes = children(pid);
                        processes.push(pid);
                        processes
                            .iter()
                            .any(|&p| syscall(p) == Some(libc::SYS_write) && state(p) == Some('S'))
                    });
                    drop(stdout);
                    let output = program.wait_with_output().unwrap();
                    (room, dir, pid, output)
                })
            })
            .collect();
        // Every run ends before any is checked: a failed check leaves none.
        let results: Vec<_> = runs.into_iter().map(thread::JoinHandle::join).collect();
        for result in results {
            let (room, dir, pid, output) = result.unwrap();
            let key = dir.ftok_key(self.proj);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "room {room}: {stderr}");
            assert_eq!(stderr, "write stdout: Broken pipe\n", "room {room}");
            assert!(children(pid).is_empty());
            let left = sysv::find(self.kind, key);
            assert!(left.is_none(), "room {room}: {left:?} left; {stderr}");
        }
    }
}

/// Sends SIGCONT to the run's process group (its pid) when dropped.
struct Continue(i32);

impl Drop for Continue {
    fn drop(&mut self) {
        // SAFETY: kill takes no pointers.
        unsafe { libc::kill(-self.0, libc::SIGCONT) };
    }
}

/// Which process a job-control test stops.
#[derive(Debug, Clone, Copy)]
enum Stop {
    Parent,
    Child,
    /// Ctrl-Z: SIGTSTP to the whole group.
    Group,
}

/// `ipcrm -q ID` (`by_id`) or `ipcrm -Q KEY`, as a user would type it.
pub fn ipcrm(kind: Kind, object: &Object, by_id: bool) {
    let (option, name) = if by_id {
        (
            format!("-{}", kind.ipcrm_key_option().to_ascii_lowercase()),
            object.id.to_string(),
        )
    } else {
        (
            format!("-{}", kind.ipcrm_key_option()),
            format!("{:#x}", object.key),
        )
    };
    let status = Command::new("ipcrm")
        .args([&option, &name])
        .status()
        .unwrap();
    assert!(status.success(), "ipcrm {option} {name}");
}

/// A run's lines, sorted, with every number in them (the id, the address)
/// as `#`: what two normal runs have in common, whatever the scheduler did.
fn sorted(lines: &[String]) -> Vec<String> {
    let mut lines: Vec<String> = lines
        .iter()
        .map(|line| {
            let mut masked = String::new();
            for word in line.split(' ') {
                if !masked.is_empty() {
                    masked.push(' ');
                }
                let number = word.starts_with("0x") || word.parse::<u64>().is_ok();
                masked.push_str(if number { "#" } else { word });
            }
            masked
        })
        .collect();
    lines.sort_unstable();
    lines
}
