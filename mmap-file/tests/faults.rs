//! Issue 5: mmap-file under Ctrl-C, a dying child, a run killed outright,
//! squatters at the path, a second run on the same file, limits, and
//! another user.
//!
//! The file stays after every run, on purpose: so the checks here are that
//! it is still there, still this user's only, and used again by the next
//! run; and that whatever else sits at the path is never written.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::ffi::CString;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use assert_cmd::cargo::cargo_bin;
use tests::faults::{
    Ended, Example, Held, STOP_SIGNALS, as_nobody, assert_stdout_closed_after, become_subreaper,
    children, errno_of, kill, kill_child_at_each_line, reap, state, stopping_points,
    wait_asleep_in,
};
use tests::{TestDir, exists, lines, wait_until};

const PARENT: &str = "Hello from the parent via a memory-mapped file!";
const CHILD: &str = "Hello from the child via the same file!";
const FILE: &str = "ipc_mmap.dat";

fn transcript(shown: &str) -> Vec<String> {
    vec![
        format!("Mapped {shown} (4096 bytes)"),
        format!("Parent wrote: {PARENT}"),
        format!("Child read: {PARENT}"),
        format!("Parent read reply: {CHILD}"),
        format!("File {shown} still holds: {PARENT}"),
    ]
}

/// The example, run in `dir` on its default file.
fn example(dir: &TestDir) -> Example {
    Example::new(cargo_bin!("mmap-file"), dir.path())
}

/// Where the output stands still with the parent asleep in `waitpid` and
/// the child in `write`: room for the first two lines.
fn room_for_two_lines() -> usize {
    transcript(FILE)[..2]
        .iter()
        .map(|line| line.len() + 1)
        .sum()
}

/// The file is what a run leaves: this user's, mode 0600, 4096 bytes.
fn assert_left_by_a_run(path: &Path) {
    let metadata = fs::symlink_metadata(path).unwrap();
    assert!(metadata.is_file(), "{metadata:?}");
    assert_eq!(metadata.mode() & 0o7777, 0o600);
    assert_eq!(metadata.uid(), tests::uid());
    assert_eq!(metadata.len(), 4096);
}

/// The file holds both messages, each with its NUL, and zeros elsewhere.
fn assert_holds_both_messages(path: &Path) {
    let mut expected = vec![0; 4096];
    expected[..PARENT.len()].copy_from_slice(PARENT.as_bytes());
    expected[2048..2048 + CHILD.len()].copy_from_slice(CHILD.as_bytes());
    assert!(
        fs::read(path).unwrap() == expected,
        "{path:?} holds both messages only"
    );
}

/// A run on the file at `path` that ends as a normal run does.
fn assert_a_normal_run(ended: &Ended, shown: &str) {
    assert_eq!(ended.code, Some(0), "{ended:#?}");
    assert_eq!(ended.lines, transcript(shown), "{ended:#?}");
    assert_eq!(ended.stderr, "", "{ended:#?}");
}

/// Sends `signal` to the held run (to its group, as a terminal does, or to
/// the parent alone, as `kill` does), waits until the parent has ended
/// without reading its stdout, so that no write still blocked can complete
/// after the signal, and then reads how the run ended.
fn stop(held: Held, signal: libc::c_int, to_the_group: bool) -> Ended {
    if to_the_group {
        held.signal_group(signal);
    } else {
        assert!(kill(held.pid(), signal));
    }
    let pid = held.pid();
    // A zombie, or reaped already if the run had ended before the signal.
    wait_until("the parent has ended", || {
        state(pid).is_none_or(|state| state == 'Z')
    });
    held.finish()
}

fn signal_name(signal: libc::c_int) -> &'static str {
    if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}

#[test]
fn ctrl_c_or_sigterm_at_any_line_stops_both_processes_and_keeps_the_file() {
    let dir = TestDir::new();
    let path = dir.join(FILE);
    let example = example(&dir);
    let points = stopping_points(&example);
    assert_eq!(
        points.len(),
        6,
        "before each of the 5 lines, and after the last"
    );
    for (signal, status) in STOP_SIGNALS {
        // After the last line the run is over before the signal comes.
        for (printed, &room) in points[..5].iter().enumerate() {
            let ended = stop(example.start_held(room), signal, true);

            // Nothing more is printed once the signal came, nothing is
            // removed, and both processes are gone.
            ended.assert_stopped(
                "mmap-file",
                status,
                &format!("interrupted by {}; nothing to remove", signal_name(signal)),
            );
            assert_eq!(ended.lines, transcript(FILE)[..printed], "{ended:#?}");
            assert_left_by_a_run(&path);

            // The file stays, as after every run, and the next run uses it.
            assert_a_normal_run(&example.run(), FILE);
            assert_holds_both_messages(&path);
        }
    }
}

#[test]
fn ctrl_c_while_the_parent_waits_for_the_child_stops_both() {
    let dir = TestDir::new();
    for (signal, status) in STOP_SIGNALS {
        // To the group: Ctrl-C. To the parent alone: `kill PARENT`; the
        // parent passes it on, or the child would stay blocked on stdout.
        for to_the_group in [true, false] {
            let held = example(&dir).start_held(room_for_two_lines());
            let child = *children(held.pid()).first().expect("the parent has forked");
            wait_asleep_in(held.pid(), libc::SYS_wait4, "waitpid");
            wait_asleep_in(child, libc::SYS_write, "write");
            let ended = stop(held, signal, to_the_group);
            ended.assert_stopped(
                "mmap-file",
                status,
                &format!("interrupted by {}; nothing to remove", signal_name(signal)),
            );
            assert_eq!(ended.lines, transcript(FILE)[..2], "{ended:#?}");
            assert_left_by_a_run(&dir.join(FILE));
        }
    }
}

#[test]
fn sigkill_of_the_child_at_any_line_makes_the_parent_say_so_and_exit_1() {
    let dir = TestDir::new();
    let checked = Cell::new(0);
    let killed = kill_child_at_each_line(&example(&dir), |ended| {
        checked.set(checked.get() + 1);
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert_eq!(ended.stderr, "child was killed by SIGKILL\n", "{ended:#?}");
        // The child's line, blocked when SIGKILL came, may have gone out
        // as the test read the pipe before the kernel ended the child.
        let printed = ended.lines.len();
        assert!(printed == 2 || printed == 3, "{ended:#?}");
        assert_eq!(ended.lines, transcript(FILE)[..printed], "{ended:#?}");
        ended.assert_group_gone();
    });
    // The child lives between lines 2 and 3 only, blocked on its line there:
    // it cannot finish its part, so the parent always sees it killed.
    assert_eq!((killed, checked.get()), (1, 1));
    assert_left_by_a_run(&dir.join(FILE));
}

#[test]
fn the_file_of_a_parent_killed_with_sigkill_is_used_by_the_next_run() {
    become_subreaper();
    let dir = TestDir::new();
    let path = dir.join(FILE);
    let held = example(&dir).start_held(room_for_two_lines());
    let child = *children(held.pid()).first().expect("the parent has forked");

    // kill -9 of the parent: no cleanup runs, and the child dies with it.
    assert!(kill(held.pid(), libc::SIGKILL));
    let ended = held.finish();
    // The parent is reaped, so its orphan is now the test's to reap.
    reap(child);
    assert_eq!(ended.code, None, "{ended:#?}");
    ended.assert_group_gone();
    // The parent's message is there; the child never wrote its reply.
    assert_left_by_a_run(&path);
    assert!(fs::read(&path).unwrap().starts_with(PARENT.as_bytes()));

    let next = example(&dir).run();
    assert_a_normal_run(&next, FILE);
    assert_holds_both_messages(&path);
}

#[test]
fn an_empty_file_of_a_run_stopped_before_ftruncate_is_used_by_the_next_run() {
    let dir = TestDir::new();
    let path = dir.join(FILE);
    fs::write(&path, b"").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();

    assert_a_normal_run(&example(&dir).run(), FILE);
    assert_left_by_a_run(&path);
    assert_holds_both_messages(&path);
}

/// Everything about what sits at a path that writing, truncating,
/// chmod-ing or replacing it would change.
#[derive(Debug, PartialEq)]
struct Snapshot {
    mode: u32,
    uid: u32,
    len: u64,
    inode: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    content: Option<Vec<u8>>,
    target: Option<PathBuf>,
}

fn snapshot(path: &Path) -> Option<Snapshot> {
    let metadata = fs::symlink_metadata(path).ok()?;
    Some(Snapshot {
        mode: metadata.mode(),
        uid: metadata.uid(),
        len: metadata.len(),
        inode: metadata.ino(),
        mtime: (metadata.mtime(), metadata.mtime_nsec()),
        ctime: (metadata.ctime(), metadata.ctime_nsec()),
        content: metadata.is_file().then(|| fs::read(path).unwrap()),
        target: metadata.is_symlink().then(|| fs::read_link(path).unwrap()),
    })
}

/// A regular file at `path` with `len` bytes of `x` and mode `mode`.
fn file(path: &Path, len: usize, mode: u32) {
    fs::write(path, vec![b'x'; len]).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn anything_at_the_path_but_an_earlier_runs_file_is_left_alone() {
    type Put = fn(&Path, &Path);
    let mut cases: Vec<(&str, Put, &str)> = vec![
        (
            "a symlink to a file that a run left",
            |path, aside| {
                file(aside, 4096, 0o600);
                symlink(aside, path).unwrap();
            },
            "is a symlink, not a regular file",
        ),
        (
            "a dangling symlink",
            |path, aside| symlink(aside, path).unwrap(),
            "is a symlink, not a regular file",
        ),
        (
            "a file of another mode",
            |path, _| file(path, 4096, 0o644),
            "has mode 0644, not the 0600",
        ),
        (
            "a file of another size",
            |path, _| file(path, 10_000, 0o600),
            "holds 10000 bytes, not the 4096",
        ),
        (
            "a directory",
            |path, _| fs::create_dir(path).unwrap(),
            "is a directory, not a regular file",
        ),
        (
            "a FIFO",
            |path, _| {
                let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
                // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
                assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
            },
            "is a FIFO, not a regular file",
        ),
        (
            "a socket",
            // Nobody listening: only the socket file is left.
            |path, _| drop(UnixListener::bind(path).unwrap()),
            "is a socket, not a regular file",
        ),
    ];
    if tests::uid() == 0 {
        cases.push((
            "another user's file",
            |path, _| {
                file(path, 4096, 0o600);
                std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
            },
            "belongs to user 65534, not to you",
        ));
    } else {
        eprintln!("skipped another user's file: the tests do not run as root, so cannot chown");
    }

    for (what, put, reason) in cases {
        let dir = TestDir::new();
        let path = dir.join("data.bin");
        let aside = dir.join("aside.bin");
        put(&path, &aside);
        let before = (snapshot(&path), snapshot(&aside));

        let output = Command::new(cargo_bin!("mmap-file"))
            .arg(&path)
            .output()
            .unwrap();

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{what}: {stderr}");
        assert!(output.stdout.is_empty(), "{what}");
        let expected = format!("file {} {reason}", path.display());
        assert!(stderr.starts_with(&expected), "{what}: {stderr}");
        assert!(
            stderr.ends_with("left alone; choose another FILE\n"),
            "{what}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
        // Not written, truncated, chmod-ed or replaced; nothing made where
        // a symlink points.
        assert_eq!((snapshot(&path), snapshot(&aside)), before, "{what}");
    }
}

#[test]
fn a_second_run_on_the_same_file_exits_1_and_the_first_goes_on() {
    let dir = TestDir::new();
    let path = dir.join(FILE);
    // The first stands still with its child halfway.
    let first = example(&dir).start_held(room_for_two_lines());
    let before = snapshot(&path);

    // The same file, spelled another way.
    let second = Command::new(cargo_bin!("mmap-file"))
        .current_dir("/")
        .arg(dir.path().join(".").join(FILE))
        .output()
        .unwrap();

    assert_eq!(second.status.code(), Some(1));
    assert!(second.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&second.stderr),
        format!(
            "file {}/./{FILE}: another run is using it now; wait for it to end, or choose \
             another FILE\n",
            dir.path().display()
        )
    );
    assert_eq!(
        snapshot(&path),
        before,
        "the second run did not touch the file"
    );

    assert_a_normal_run(&first.finish(), FILE);
    assert_holds_both_messages(&path);
}

#[test]
fn twenty_runs_on_twenty_files_at_once_all_succeed() {
    let dir = TestDir::new();
    let paths: Vec<PathBuf> = (0..20).map(|i| dir.join(format!("file-{i}.dat"))).collect();
    let runs: Vec<_> = paths
        .iter()
        .map(|path| {
            Command::new(cargo_bin!("mmap-file"))
                .arg(path)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (run, path) in runs.into_iter().zip(&paths) {
        let output = run.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{path:?}: {stderr}");
        assert_eq!(stderr, "");
        assert_eq!(
            lines(&output.stdout),
            transcript(&path.display().to_string())
        );
        assert_left_by_a_run(path);
        assert_holds_both_messages(path);
    }
}

#[test]
fn twenty_runs_on_one_file_at_once_never_mix_their_messages() {
    let dir = TestDir::new();
    let path = dir.join(FILE);
    let runs: Vec<_> = (0..20)
        .map(|_| {
            Command::new(cargo_bin!("mmap-file"))
                .current_dir(dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut succeeded = 0;
    for run in runs {
        let output = run.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() {
            succeeded += 1;
            assert_eq!(stderr, "");
            assert_eq!(lines(&output.stdout), transcript(FILE));
        } else {
            // Each run either has the file to itself, or stops at once.
            assert_eq!(output.status.code(), Some(1), "{stderr}");
            assert!(output.stdout.is_empty(), "{stderr}");
            assert_eq!(
                stderr,
                format!(
                    "file {FILE}: another run is using it now; wait for it to end, or choose \
                     another FILE\n"
                )
            );
        }
    }
    assert!(succeeded >= 1);
    assert_left_by_a_run(&path);
    assert_holds_both_messages(&path);
}

#[test]
fn too_few_file_descriptors_is_a_one_line_error() {
    // 3 (stdin, stdout, stderr) does not even let the loader open libc.
    // 4: the claim's socket, and no room for the file. 5 is what a run
    // needs, in the parent and in the child alike.
    for limit in 4..=6 {
        let dir = TestDir::new();
        let mut command = Command::new(cargo_bin!("mmap-file"));
        command.current_dir(dir.path());
        let ulimit_n = move || {
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            // SAFETY: `rlimit` is a valid struct for the call to read.
            match unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &rlimit) } {
                0 => Ok(()),
                _ => Err(std::io::Error::last_os_error()),
            }
        };
        // SAFETY: `ulimit_n` only makes a system call, which is safe
        // between fork and exec.
        unsafe { command.pre_exec(ulimit_n) };
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);

        if limit == 4 {
            assert_eq!(output.status.code(), Some(1), "ulimit -n {limit}");
            assert!(output.stdout.is_empty());
            assert_eq!(stderr, format!("open(\"{FILE}\"): Too many open files\n"));
            assert!(!exists(&dir.join(FILE)), "ulimit -n {limit}: nothing made");
        } else {
            assert!(output.status.success(), "ulimit -n {limit}: {stderr}");
            assert_eq!(lines(&output.stdout), transcript(FILE));
        }
    }
}

#[test]
fn stdout_closed_after_the_first_line_is_a_one_line_error() {
    // The reader goes away while the parent is blocked writing its second
    // line.
    let dir = TestDir::new();
    assert_stdout_closed_after(&example(&dir), transcript(FILE)[0].len() + 1);
    // The file stays, as after every run.
    assert_left_by_a_run(&dir.join(FILE));
}

#[test]
fn another_user_can_neither_open_nor_remove_the_file() {
    let dir = TestDir::new();
    // A directory everybody may enter and write, like /tmp.
    let shared = dir.join("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();

    for (where_, expected_unlink) in [(dir.path(), libc::EACCES), (&*shared, libc::EPERM)] {
        let path = where_.join(FILE);
        let ended = Example::new(cargo_bin!("mmap-file"), where_).run();
        assert_a_normal_run(&ended, FILE);
        let c_path = CString::new(path.as_os_str().as_bytes()).unwrap();
        let p = c_path.as_ptr();

        // SAFETY: `p` points to a NUL-terminated string that outlives the
        // probes; open takes no other pointer.
        let read = as_nobody(|| errno_of(unsafe { libc::open(p, libc::O_RDONLY) }.into()));
        let Some(read) = read else { return };
        // SAFETY: as above.
        let write = as_nobody(|| errno_of(unsafe { libc::open(p, libc::O_RDWR) }.into()));
        // SAFETY: as above; unlink takes only the path.
        let unlink = as_nobody(|| errno_of(unsafe { libc::unlink(p) }.into()));

        assert_eq!(read, libc::EACCES, "nobody reads {path:?}");
        assert_eq!(write, Some(libc::EACCES), "nobody writes {path:?}");
        // The directory decides: not writable by nobody (EACCES), or
        // sticky, where only a file's owner removes it (EPERM).
        assert_eq!(unlink, Some(expected_unlink), "nobody removes {path:?}");
        assert_left_by_a_run(&path);
        assert_holds_both_messages(&path);
    }
}
