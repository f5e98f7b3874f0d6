//! Issue 5: shm-mutex under Ctrl-C, a dying child (one holding the mutex
//! too), leftovers, squatters, a second run, limits and another user.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::ffi::CString;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use tests::faults::{
    Ended, Example, as_nobody, become_subreaper, children, errno_of, kill, kill_child_at_each_line,
    reap, state, stop_at_each_line, syscall, wait_asleep_in,
};
use tests::{TestDir, dev_shm, exists, uid, wait_until};

mod support;
use support::{assert_counts_to_55, assert_stdout_closed_error, counts, shm_name};

/// The advice of every refusal: the argument is what the user can change.
const ADVICE: &str = "choose another SHM_NAME";

/// Checks the lines of a run that was cut short: each is one of the two
/// kinds, and the values only grow (each is printed under the mutex, right
/// after the update it shows). A process stopped between its update and its
/// line leaves a gap, so the steps are not checked.
pub fn assert_counts_grow(lines: &[String]) {
    let values: Vec<i32> = counts(lines).into_iter().map(|(_, value)| value).collect();
    assert!(
        values.windows(2).all(|pair| pair[0] < pair[1]),
        "{lines:#?}"
    );
}

/// The example, run with the shared memory name `name`.
/// What the parent says when it finds the mutex held by its dead child.
const RECOVERED: &str = "shm-mutex: the child died holding the mutex; recovered it (EOWNERDEAD)";

fn example(name: &str) -> Example {
    Example::new(cargo_bin!("shm-mutex"), &std::env::temp_dir()).arg(name)
}

/// Whatever a test left at `/dev/shm/NAME` (a squatter, or a leftover after
/// a failed assertion) is removed when this is dropped.
struct Cleanup(PathBuf);

impl Cleanup {
    fn new(name: &str) -> Self {
        Self(dev_shm(name))
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0).or_else(|_| fs::remove_dir(&self.0));
    }
}

fn signal_name(signal: libc::c_int) -> &'static str {
    if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}

/// The end of a run that `signal` stopped: its status, the one-line notice
/// naming the object, nothing of the run left running, the object gone.
fn assert_stopped_and_removed(name: &str, signal: libc::c_int, status: i32, ended: &Ended) {
    ended.assert_stopped(
        "shm-mutex",
        status,
        &format!(
            "interrupted by {}; removed shared memory object {name}",
            signal_name(signal)
        ),
    );
    assert_counts_grow(&ended.lines);
    assert!(!exists(&dev_shm(name)), "{name} removed: {ended:#?}");
}

/// Whether process `pid` is asleep in system call `number`.
fn asleep_in(pid: i32, number: libc::c_long) -> bool {
    syscall(pid) == Some(number) && state(pid) == Some('S')
}

#[test]
fn ctrl_c_or_sigterm_at_any_line_removes_the_object() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    let stopped = stop_at_each_line(&example(&name), |signal, status, ended| {
        assert_stopped_and_removed(&name, signal, status, ended);
    });
    assert!(stopped > 0);
}

#[test]
fn ctrl_c_or_sigterm_during_the_pacing_sleeps_removes_the_object() {
    for (signal, status) in tests::faults::STOP_SIGNALS {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        // At the tutorial's pace: the pacing sleeps are what this test is about.
        let mut running = example(&name).at_real_pace().start();
        assert!(running.read_lines(1));
        let parent = running.pid();
        let child = running.child();
        wait_asleep_in(parent, libc::SYS_clock_nanosleep, "clock_nanosleep");
        // Each sleeps a second after each line: both are asleep at once.
        wait_until("parent and child both asleep in clock_nanosleep", || {
            asleep_in(parent, libc::SYS_clock_nanosleep)
                && asleep_in(child, libc::SYS_clock_nanosleep)
        });
        running.signal_group(signal);
        let ended = running.finish();
        assert_stopped_and_removed(&name, signal, status, &ended);
    }
}

/// The end of a run whose child SIGKILL ended: the parent said how, and,
/// if the child held the mutex, that it recovered it; exit 1; the object
/// gone; no process left.
fn assert_child_killed(name: &str, ended: &Ended) {
    assert_eq!(ended.code, Some(1), "{ended:#?}");
    let stderr: Vec<&str> = ended.stderr.lines().collect();
    // "child was killed by SIGKILL" from wait, or, with the parent in its
    // pacing sleep, "sleep: interrupted: the child process was killed by
    // SIGKILL".
    assert!(
        stderr
            .last()
            .is_some_and(|line| line.ends_with("was killed by SIGKILL")),
        "{ended:#?}"
    );
    for line in &stderr[..stderr.len() - 1] {
        assert_eq!(*line, RECOVERED, "{ended:#?}");
    }
    assert!(stderr.len() <= 2, "{ended:#?}");
    assert_counts_grow(&ended.lines);
    ended.assert_group_gone();
    assert!(!exists(&dev_shm(name)), "{name} removed: {ended:#?}");
}

#[test]
fn sigkill_of_the_child_at_any_line_ends_the_parent_with_exit_1() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    let killed = kill_child_at_each_line(&example(&name), |ended| {
        assert_child_killed(&name, ended);
    });
    assert!(killed > 0);
}

#[test]
fn a_child_killed_holding_the_mutex_does_not_deadlock_the_parent() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    // At the tutorial's pace: the parent, once it has recovered the mutex,
    // goes on for one round and is then in its pacing sleep, which the
    // child's end interrupts.
    let example = example(&name).at_real_pace();
    // The run is held where a line no longer fits in stdout: the process
    // printing it is blocked in write(2) inside its critical section. Which
    // process that is depends on who locked first: with no room, the first
    // printer; with room for one parent line, the child if the parent went
    // first. So the test tries both until the child is the one.
    let parent_line = "Parent: Incremented counter to 10\n".len();
    for room in [0, parent_line].into_iter().cycle().take(20) {
        let held = example.start_held(room);
        let child = children(held.pid()).first().copied();
        let Some(child) = child.filter(|&child| asleep_in(child, libc::SYS_write)) else {
            // The parent holds the mutex: stop this run, try again.
            held.signal_group(libc::SIGINT);
            let ended = held.finish();
            assert!(!exists(&dev_shm(&name)), "{ended:#?}");
            continue;
        };
        // The parent waits for the mutex that the child holds.
        wait_asleep_in(held.pid(), libc::SYS_futex, "pthread_mutex_lock");
        assert!(kill(child, libc::SIGKILL));
        let ended = held.finish();

        // The watchdog would have killed a deadlocked parent: status None.
        // The parent got the mutex back, went on with the counter where the
        // child left it for one more round, and stopped at its pacing sleep.
        assert_eq!(
            ended.stderr,
            format!("{RECOVERED}\nsleep: interrupted: the child process was killed by SIGKILL\n"),
            "{ended:#?}"
        );
        assert_child_killed(&name, &ended);
        assert_eq!(
            counts(&ended.lines).last().map(|(who, _)| who.as_str()),
            Some("Parent"),
            "{ended:#?}"
        );
        return;
    }
    panic!("in 20 runs, the child never was the process blocked holding the mutex");
}

/// Leaves what `kill -9` of the parent leaves: the object at `name`, made
/// and sized, with the run's child gone with its parent.
fn leave_a_leftover(name: &str) {
    become_subreaper();
    let held = example(name).start_held(0);
    let child = children(held.pid())[0];
    assert!(kill(held.pid(), libc::SIGKILL));
    let ended = held.finish();
    assert_eq!(ended.code, None, "killed: {ended:#?}");
    // The child died with its parent (PR_SET_PDEATHSIG), and is this
    // test's to reap: the parent, once dead, left it to the subreaper.
    reap(child);
    ended.assert_group_gone();
    assert!(exists(&dev_shm(name)), "the object is left behind");
}

#[test]
fn a_leftover_of_a_killed_run_is_reclaimed_with_a_notice_and_the_run_succeeds() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    leave_a_leftover(&name);

    let ended = example(&name).run();
    assert_eq!(ended.code, Some(0), "{ended:#?}");
    assert_eq!(
        ended.stderr,
        format!(
            "shm-mutex: removed shared memory object {name} (/dev/shm{name}), left behind by \
             an earlier run that did not finish\n"
        )
    );
    assert_counts_to_55(&ended.lines);
    assert!(!exists(&dev_shm(&name)), "{name} removed");
}

/// What a squatter looks like, to check that the run left it as it was.
fn snapshot(path: &Path) -> (u64, u64, u32, u32, u64, Vec<u8>) {
    let metadata = fs::symlink_metadata(path).unwrap();
    let content = if metadata.is_file() {
        fs::read(path).unwrap()
    } else if metadata.file_type().is_symlink() {
        fs::read_link(path).unwrap().as_os_str().as_bytes().to_vec()
    } else {
        Vec::new()
    };
    (
        metadata.dev(),
        metadata.ino(),
        metadata.uid(),
        metadata.mode(),
        metadata.size(),
        content,
    )
}

/// Runs the example at `name`, where a squatter sits, and checks that it
/// refused in one line, naming the object, saying `why` and what to do,
/// exit 1, and that the squatter is unchanged.
fn assert_left_alone(name: &str, why: &str) {
    let path = dev_shm(name);
    let before = snapshot(&path);
    let ended = example(name).run();
    assert_eq!(ended.code, Some(1), "{ended:#?}");
    assert!(ended.lines.is_empty(), "{ended:#?}");
    let object = format!("shared memory object {name} (/dev/shm{name})");
    let stderr = &ended.stderr;
    assert!(stderr.starts_with(&format!("{object} {why}")), "{ended:#?}");
    assert!(
        stderr.ends_with(&format!("left alone; {ADVICE}\n")),
        "{ended:#?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{ended:#?}");
    assert_eq!(snapshot(&path), before, "the squatter is unchanged");
}

#[test]
fn a_leftover_that_now_belongs_to_another_user_is_left_alone() {
    if uid() != 0 {
        eprintln!("skipped: the tests do not run as root, so they cannot give a file away");
        return;
    }
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    leave_a_leftover(&name);
    std::os::unix::fs::chown(dev_shm(&name), Some(65534), Some(65534)).unwrap();
    assert_left_alone(&name, "belongs to user 65534, not to you (user 0)");
}

#[test]
fn an_object_with_mode_0666_is_left_alone() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    leave_a_leftover(&name);
    fs::set_permissions(dev_shm(&name), fs::Permissions::from_mode(0o666)).unwrap();
    assert_left_alone(&name, "has mode 0666, not the 0600");
}

#[test]
fn an_object_of_another_size_is_left_alone() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    leave_a_leftover(&name);
    let file = fs::OpenOptions::new()
        .write(true)
        .open(dev_shm(&name))
        .unwrap();
    file.set_len(4096).unwrap();
    drop(file);
    assert_left_alone(&name, "holds 4096 bytes, not the");
}

#[test]
fn a_symlink_a_directory_or_a_fifo_at_the_name_is_left_alone() {
    let dir = TestDir::new();
    let target = dir.join("target");
    fs::write(&target, "the link's target").unwrap();
    type Make = fn(&Path, &Path);
    let kinds: [(Make, &str); 3] = [
        (
            |path, target| symlink(target, path).unwrap(),
            "is a symbolic link",
        ),
        (|path, _| fs::create_dir(path).unwrap(), "is a directory"),
        (
            |path, _| {
                let path = CString::new(path.as_os_str().as_bytes()).unwrap();
                // SAFETY: `path` is a NUL-terminated string that outlives the call.
                assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0);
            },
            "is a FIFO",
        ),
    ];
    for (make, why) in kinds {
        let name = shm_name();
        let _cleanup = Cleanup::new(&name);
        make(&dev_shm(&name), &target);
        assert_left_alone(&name, &format!("{why}, not a shared memory object"));
    }
    assert_eq!(fs::read_to_string(&target).unwrap(), "the link's target");
}

#[test]
fn a_second_run_with_the_same_name_exits_1_and_leaves_the_first_alone() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    let example = example(&name);
    // The first run stands still at its first line, its object made.
    let first = example.start_held(0);
    let object = snapshot(&dev_shm(&name));

    let second = example.run();
    assert_eq!(second.code, Some(1), "{second:#?}");
    assert!(second.lines.is_empty(), "{second:#?}");
    assert_eq!(
        second.stderr,
        format!(
            "shared memory object {name}: another run is using it now; wait for it to end, or {ADVICE}\n"
        )
    );
    assert_eq!(
        snapshot(&dev_shm(&name)).1,
        object.1,
        "the first run's object is still there"
    );

    let first = first.finish();
    assert_eq!(first.code, Some(0), "{first:#?}");
    assert_eq!(first.stderr, "", "{first:#?}");
    assert_counts_to_55(&first.lines);
    assert!(!exists(&dev_shm(&name)), "{name} removed");
}

#[test]
fn twenty_runs_with_different_names_at_once_all_count_to_55() {
    let names: Vec<String> = (0..20).map(|_| shm_name()).collect();
    let _cleanup: Vec<Cleanup> = names.iter().map(|name| Cleanup::new(name)).collect();
    let runs: Vec<_> = names.iter().map(|name| example(name).start()).collect();
    for (name, run) in names.iter().zip(runs) {
        let ended = run.finish();
        assert_eq!(ended.code, Some(0), "{name}: {ended:#?}");
        assert_eq!(ended.stderr, "", "{name}: {ended:#?}");
        assert_counts_to_55(&ended.lines);
        assert!(!exists(&dev_shm(name)), "{name} removed");
    }
}

#[test]
fn too_few_file_descriptors_is_a_one_line_error_and_nothing_is_left() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    let mut command = example(&name).command();
    // `ulimit -n 4`: stdin, stdout, stderr and one more, which the dynamic
    // loader needs to start the program at all and the claim then takes.
    let limit_files = || {
        let limit = libc::rlimit {
            rlim_cur: 4,
            rlim_max: 4,
        };
        // SAFETY: `limit` is a valid rlimit that outlives the call.
        match unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } {
            0 => Ok(()),
            _ => Err(std::io::Error::last_os_error()),
        }
    };
    // SAFETY: the hook only makes a system call, which is safe between fork
    // and exec.
    unsafe { command.pre_exec(limit_files) };
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:#?}");
    assert!(output.stdout.is_empty(), "{output:#?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("shm_open(\"{name}\"): Too many open files\n")
    );
    assert!(!exists(&dev_shm(&name)), "nothing left");
}

#[test]
fn stdout_closed_after_one_line_is_exit_1_and_the_object_is_removed() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    // shm-mutex NAME | head -1, at the tutorial's pace: the pacing sleep
    // after the first line is what lets `head` close the pipe before the
    // next line. (With no pause, the whole run may fit in the pipe first.)
    let mut program = example(&name)
        .at_real_pace()
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let head = Command::new("head")
        .arg("-1")
        .stdin(program.stdout.take().unwrap())
        .output()
        .unwrap();
    let mut stderr = String::new();
    BufReader::new(program.stderr.take().unwrap())
        .lines()
        .for_each(|line| {
            stderr.push_str(&line.unwrap());
            stderr.push('\n');
        });
    let status = program.wait().unwrap();

    let printed = tests::lines(&head.stdout);
    assert_eq!(printed.len(), 1);
    assert_counts_grow(&printed);
    assert_eq!(status.code(), Some(1), "stderr: {stderr}");
    assert_stdout_closed_error(&stderr);
    assert!(!exists(&dev_shm(&name)), "{name} removed");
}

#[test]
fn a_read_only_dev_shm_is_a_one_line_error() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    // A read-only /dev/shm in a mount namespace of its own, so that the
    // machine's stays as it is.
    let mut unshare = Command::new("unshare");
    unshare.arg("--mount");
    if uid() != 0 {
        unshare.arg("--map-root-user");
    }
    let permitted = Command::new("unshare")
        .args(unshare.get_args())
        .arg("true")
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !permitted {
        eprintln!("skipped: this machine does not permit a mount namespace (unshare --mount)");
        return;
    }
    let output = unshare
        .args([
            "sh",
            "-c",
            r#"mount -t tmpfs -o ro tmpfs /dev/shm && exec "$0" "$1""#,
        ])
        .arg(cargo_bin!("shm-mutex"))
        .arg(&name)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:#?}");
    assert!(output.stdout.is_empty(), "{output:#?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        format!("shm_open(\"{name}\"): Read-only file system\n")
    );
    assert!(!exists(&dev_shm(&name)), "nothing left");
}

#[test]
fn another_user_cannot_open_or_remove_the_object() {
    let name = shm_name();
    let _cleanup = Cleanup::new(&name);
    let held = example(&name).start_held(0);
    let path = CString::new(dev_shm(&name).as_os_str().as_bytes()).unwrap();

    // What shm_open(name, O_RDWR) and shm_unlink(name) do, as nobody.
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let opened = as_nobody(|| errno_of(unsafe { libc::open(path.as_ptr(), libc::O_RDWR) }.into()));
    // SAFETY: as above.
    let read = as_nobody(|| errno_of(unsafe { libc::open(path.as_ptr(), libc::O_RDONLY) }.into()));
    // SAFETY: as above.
    let unlinked = as_nobody(|| errno_of(unsafe { libc::unlink(path.as_ptr()) }.into()));
    let still_there = exists(&dev_shm(&name));

    let ended = held.finish();
    assert_eq!(ended.code, Some(0), "{ended:#?}");
    assert_counts_to_55(&ended.lines);
    assert!(!exists(&dev_shm(&name)), "{name} removed");
    if opened.is_none() {
        return; // skipped, and as_nobody said why
    }
    assert_eq!(opened, Some(libc::EACCES), "open O_RDWR as nobody");
    assert_eq!(read, Some(libc::EACCES), "open O_RDONLY as nobody");
    // /dev/shm is sticky (1777): only a file's owner may remove it.
    assert_eq!(unlinked, Some(libc::EPERM), "unlink as nobody");
    assert!(still_there);
}
