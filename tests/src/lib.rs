//! Helpers shared by the integration tests of every member (a dev-dependency
//! of each): a fresh temporary directory and unique names per test, probes
//! that tell whether an IPC object still exists, and checks on the lines a
//! program printed.
//!
//! Tests run in parallel, in one process per test binary and possibly in
//! several binaries at once, so nothing here depends on global state: each
//! test finds its own objects by the key, name or path it chose.
//!
//! A helper that cannot do its job panics: in a test, that is a failure with
//! a message, which is what the caller wants.

#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod c_compare;
pub mod faults;
mod sysv_faults;

pub use sysv_faults::signal_name;

use std::ffi::CString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a test lets one run of an example take before it fails it. The
/// examples pace themselves with the tutorial's sleeps (up to 5 s); this is
/// far above that, so that a loaded machine does not fail a correct run.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A name no other test, in this process or another, is using:
/// `{prefix}-{pid}-{counter}-{nanoseconds}`.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("{prefix}-{}-{n}-{nanos}", std::process::id())
}

/// A fresh temporary directory for one test, removed with everything in it
/// when dropped.
///
/// It is also the test's `ftok` path. `ftok` keeps only the low 16 bits of
/// the directory's inode number, so two directories can give the same key;
/// `new` claims the key for as long as the directory lives (by binding an
/// abstract Unix socket named after it, which no other process can bind
/// until this one closes it) and makes another directory if the key is
/// claimed by another test or used by an object already on the machine.
#[derive(Debug)]
pub struct TestDir {
    path: PathBuf,
    _ftok_claim: UnixListener,
}

impl TestDir {
    pub fn new() -> Self {
        let mut rejected = Vec::new();
        loop {
            let path = std::env::temp_dir().join(unique_name("ipc-tests"));
            fs::create_dir(&path).expect("create a temporary directory");
            // The key without its project byte: what ftok takes from the path.
            let base = ftok(&path, 0) & 0x00ff_ffff;
            let claim = SocketAddr::from_abstract_name(format!("ipc-tests-ftok-{base:06x}"))
                .and_then(|name| UnixListener::bind_addr(&name));
            let in_use = [b'a', b'b', b'c'].iter().any(|&proj| {
                sysv::Kind::ALL
                    .iter()
                    .any(|&kind| sysv::find(kind, ftok(&path, proj)).is_some())
            });
            match claim {
                Ok(claim) if !in_use => {
                    // Removed only now, so that no retry got the same inode back.
                    for dir in rejected {
                        let _ = fs::remove_dir(dir);
                    }
                    return Self {
                        path,
                        _ftok_claim: claim,
                    };
                }
                _ => rejected.push(path),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// The key an example makes with `ftok(dir, proj)` when run in this directory.
    pub fn ftok_key(&self, proj: u8) -> i32 {
        ftok(&self.path, proj)
    }
}

impl Default for TestDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// `ftok(3)` of `path`, as the examples compute it.
pub fn ftok(path: &Path, proj: u8) -> i32 {
    let path = CString::new(path.as_os_str().as_bytes()).expect("a path without NUL");
    // SAFETY: `path` is a NUL-terminated string that outlives the call.
    let key = unsafe { libc::ftok(path.as_ptr(), proj.into()) };
    assert_ne!(
        key,
        -1,
        "ftok({}): {}",
        path.to_string_lossy(),
        std::io::Error::last_os_error()
    );
    key
}

/// What the kernel lists in `/proc/sysvipc/{shm,msg,sem}`.
pub mod sysv {
    use std::fs;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        Shm,
        Msg,
        Sem,
    }

    impl Kind {
        pub const ALL: [Kind; 3] = [Kind::Shm, Kind::Msg, Kind::Sem];

        /// The call that creates an object of this kind: `shmget`.
        pub fn get_call(self) -> &'static str {
            match self {
                Kind::Shm => "shmget",
                Kind::Msg => "msgget",
                Kind::Sem => "semget",
            }
        }

        /// The option of `ipcrm` that removes an object of this kind by key.
        pub fn ipcrm_key_option(self) -> char {
            match self {
                Kind::Shm => 'M',
                Kind::Msg => 'Q',
                Kind::Sem => 'S',
            }
        }

        /// How the examples name an object of this kind in a message.
        pub fn what(self) -> &'static str {
            match self {
                Kind::Shm => "shared memory segment",
                Kind::Msg => "message queue",
                Kind::Sem => "semaphore set",
            }
        }

        fn file(self) -> &'static str {
            match self {
                Kind::Shm => "/proc/sysvipc/shm",
                Kind::Msg => "/proc/sysvipc/msg",
                Kind::Sem => "/proc/sysvipc/sem",
            }
        }
    }

    /// One System V object, as its line in `/proc/sysvipc` shows it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Object {
        pub key: i32,
        pub id: i32,
        /// The permission bits, as `0o600`.
        pub mode: u32,
        pub uid: u32,
    }

    /// Every object of `kind` on the machine (in this IPC namespace).
    pub fn objects(kind: Kind) -> Vec<Object> {
        let text = fs::read_to_string(kind.file()).expect("read /proc/sysvipc");
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let column = |name: &str| {
            header
                .iter()
                .position(|&c| c == name)
                .expect("a known column")
        };
        let (key, perms, uid) = (column("key"), column("perms"), column("uid"));
        lines
            .map(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                Object {
                    key: fields[key].parse().expect("a decimal key"),
                    // The id column is the second one (shmid, msqid or semid).
                    id: fields[1].parse().expect("a decimal id"),
                    mode: u32::from_str_radix(fields[perms], 8).expect("octal perms") & 0o777,
                    uid: fields[uid].parse().expect("a decimal uid"),
                }
            })
            .collect()
    }

    /// The object of `kind` with `key`, if there is one.
    pub fn find(kind: Kind, key: i32) -> Option<Object> {
        objects(kind).into_iter().find(|object| object.key == key)
    }

    /// Whether the object with `id` and `key` still exists. Both are checked:
    /// once an object is removed, another test may get its id again.
    pub fn exists(kind: Kind, id: i32, key: i32) -> bool {
        objects(kind)
            .iter()
            .any(|object| object.id == id && object.key == key)
    }

    /// The value of semaphore 0 of the set `id` (`semctl(id, 0, GETVAL)`).
    pub fn semaphore_value(id: i32) -> i32 {
        // SAFETY: GETVAL takes no fourth argument.
        let value = unsafe { libc::semctl(id, 0, libc::GETVAL) };
        assert_ne!(
            value,
            -1,
            "semctl GETVAL: {}",
            std::io::Error::last_os_error()
        );
        value
    }

    /// An object that a test puts at a key before running an example there
    /// (another run's, or a leftover of a crashed one), removed when dropped.
    #[derive(Debug)]
    pub struct Squatter {
        pub kind: Kind,
        pub id: i32,
    }

    impl Squatter {
        /// Creates an object of `kind` at `key` with permission bits `mode`,
        /// of the size the examples create (1024 bytes, 1 semaphore).
        pub fn new(kind: Kind, key: i32, mode: i32) -> Self {
            Self::with_size(kind, key, mode, 1)
        }

        /// As [`Squatter::new`], `size` times the examples' size.
        pub fn with_size(kind: Kind, key: i32, mode: i32, size: usize) -> Self {
            let flags = libc::IPC_CREAT | libc::IPC_EXCL | mode;
            let id = match kind {
                // SAFETY: the *get calls take no pointers.
                Kind::Shm => unsafe { libc::shmget(key, 1024 * size, flags) },
                // SAFETY: as above.
                Kind::Msg => unsafe { libc::msgget(key, flags) },
                // SAFETY: as above.
                Kind::Sem => unsafe { libc::semget(key, size as i32, flags) },
            };
            assert_ne!(
                id,
                -1,
                "create a {kind:?} at {key:#x}: {}",
                std::io::Error::last_os_error()
            );
            Self { kind, id }
        }

        /// Gives the object to user `uid` (`IPC_SET`; the tests must run as
        /// root): another user's object.
        pub fn give_to(&self, uid: u32) {
            let set = match self.kind {
                Kind::Shm => {
                    let mut stat = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
                    // SAFETY: IPC_STAT fills the shmid_ds it is given.
                    unsafe { libc::shmctl(self.id, libc::IPC_STAT, stat.as_mut_ptr()) };
                    // SAFETY: zeroed, then filled by IPC_STAT.
                    let mut stat = unsafe { stat.assume_init() };
                    stat.shm_perm.uid = uid;
                    // SAFETY: IPC_SET reads the shmid_ds it is given.
                    unsafe { libc::shmctl(self.id, libc::IPC_SET, &mut stat) }
                }
                Kind::Msg => {
                    let mut stat = std::mem::MaybeUninit::<libc::msqid_ds>::zeroed();
                    // SAFETY: IPC_STAT fills the msqid_ds it is given.
                    unsafe { libc::msgctl(self.id, libc::IPC_STAT, stat.as_mut_ptr()) };
                    // SAFETY: zeroed, then filled by IPC_STAT.
                    let mut stat = unsafe { stat.assume_init() };
                    stat.msg_perm.uid = uid;
                    // SAFETY: IPC_SET reads the msqid_ds it is given.
                    unsafe { libc::msgctl(self.id, libc::IPC_SET, &mut stat) }
                }
                Kind::Sem => {
                    let mut stat = std::mem::MaybeUninit::<libc::semid_ds>::zeroed();
                    // SAFETY: IPC_STAT fills the semid_ds that the pointer
                    // argument (the union's `buf`) points to.
                    unsafe { libc::semctl(self.id, 0, libc::IPC_STAT, stat.as_mut_ptr()) };
                    // SAFETY: zeroed, then filled by IPC_STAT.
                    let mut stat = unsafe { stat.assume_init() };
                    stat.sem_perm.uid = uid;
                    // SAFETY: IPC_SET reads the semid_ds the pointer points to.
                    unsafe {
                        libc::semctl(self.id, 0, libc::IPC_SET, &mut stat as *mut libc::semid_ds)
                    }
                }
            };
            assert_eq!(set, 0, "IPC_SET: {}", std::io::Error::last_os_error());
        }

        /// Makes this test process the object's user: attached to the
        /// segment (until dropped), the last sender on the queue, the last
        /// process to operate on the semaphore.
        pub fn use_now(&self) {
            let used = match self.kind {
                // SAFETY: shmat takes the id and lets the kernel choose the
                // address; the mapping is never read, and goes with the process.
                Kind::Shm => unsafe { libc::shmat(self.id, std::ptr::null(), 0) as isize as i32 },
                Kind::Msg => {
                    let message: (libc::c_long, [u8; 1]) = (1, [0]);
                    // SAFETY: a long type followed by 1 byte of text.
                    unsafe {
                        libc::msgsnd(
                            self.id,
                            std::ptr::from_ref(&message).cast(),
                            1,
                            libc::IPC_NOWAIT,
                        )
                    }
                }
                Kind::Sem => {
                    let mut up = libc::sembuf {
                        sem_num: 0,
                        sem_op: 1,
                        sem_flg: 0,
                    };
                    // SAFETY: one sembuf, for semaphore 0 of the set.
                    unsafe { libc::semop(self.id, &mut up, 1) }
                }
            };
            assert_ne!(
                used,
                -1,
                "use {self:?}: {}",
                std::io::Error::last_os_error()
            );
        }
    }

    impl Drop for Squatter {
        fn drop(&mut self) {
            use std::ptr::null_mut;
            match self.kind {
                // SAFETY: IPC_RMID takes no buffer; null is allowed.
                Kind::Shm => unsafe { libc::shmctl(self.id, libc::IPC_RMID, null_mut()) },
                // SAFETY: as above.
                Kind::Msg => unsafe { libc::msgctl(self.id, libc::IPC_RMID, null_mut()) },
                // SAFETY: IPC_RMID takes no fourth argument.
                Kind::Sem => unsafe { libc::semctl(self.id, 0, libc::IPC_RMID) },
            };
        }
    }
}

/// A command that runs `program` as a user without privileges: as is when
/// the tests do not run as root, as `nobody` through `setpriv` when they do.
/// `None` when the tests run as root and `setpriv` is missing: the caller
/// skips, and says so.
pub fn unprivileged(program: &Path) -> Option<Command> {
    if uid() != 0 {
        return Some(Command::new(program));
    }
    let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .find(|p| Path::new(p).exists())?;
    let mut command = Command::new(setpriv);
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    Some(command)
}

/// The real user id of the tests, which owns what the examples create.
pub fn uid() -> u32 {
    // SAFETY: getuid cannot fail and touches no memory of ours.
    unsafe { libc::getuid() }
}

/// Where a POSIX shared memory object named `name` (`/something`) lives.
pub fn dev_shm(name: &str) -> PathBuf {
    Path::new("/dev/shm").join(name.trim_start_matches('/'))
}

/// Whether anything exists at `path`, a dangling symlink or socket included.
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// The lines of a program's stdout.
pub fn lines(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The position of the one line equal to `line`; fails if there is none or
/// more than one.
pub fn position(lines: &[String], line: &str) -> usize {
    let found: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == line)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected {line:?} exactly once in {lines:#?}"
    );
    found[0]
}

/// Asserts that each line of `chain` is printed exactly once, and each
/// before the next: an order the protocol guarantees.
pub fn assert_in_order(lines: &[String], chain: &[&str]) {
    for pair in chain.windows(2) {
        assert!(
            position(lines, pair[0]) < position(lines, pair[1]),
            "expected {:?} before {:?} in {lines:#?}",
            pair[0],
            pair[1]
        );
    }
}

/// Asserts that `lines` are exactly `expected` in some order, each as often
/// as there: nothing missing, nothing extra, nothing printed twice.
pub fn assert_same_lines(lines: &[String], expected: &[&str]) {
    let mut got: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut want = expected.to_vec();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(
        got, want,
        "the lines printed, sorted, against the expected ones"
    );
}

/// Waits until `condition` holds, checking every 10 ms; fails the test with
/// `what` if it still does not hold after 30 s.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A pipe for a program's stdout that is full before the program starts, so
/// that the program blocks in its first write to stdout: it stops right
/// after the step before its first line, for as long as the test likes,
/// without a sleep on either side. [`FullPipe::finish`] then reads the pipe
/// empty, lets the program go on, and returns what it printed.
#[derive(Debug)]
pub struct FullPipe {
    reader: io::PipeReader,
    writer: Option<io::PipeWriter>,
    filler: usize,
}

const PAGE: usize = 4096;

impl FullPipe {
    pub fn new() -> Self {
        let (reader, mut writer) = io::pipe().expect("pipe");
        set_nonblocking(&writer, true);
        let filler = fill(&mut writer, PAGE);
        // The program must block on the full pipe, not fail with EAGAIN.
        set_nonblocking(&writer, false);
        Self {
            reader,
            writer: Some(writer),
            filler,
        }
    }

    /// A full pipe but for `room` bytes (less than a page): writes that fit
    /// in what is left go through, and the first one that does not blocks.
    /// A pipe is a ring of pages, and a write shares the last page only if
    /// it fits there whole: so the ring is filled with whole pages, one page
    /// is read back to free its slot, and that slot gets a page that is
    /// full but for `room` bytes.
    pub fn with_room(room: usize) -> Self {
        assert!(room < PAGE);
        let (mut reader, mut writer) = io::pipe().expect("pipe");
        set_nonblocking(&writer, true);
        let filler = fill(&mut writer, PAGE);
        reader.read_exact(&mut [0; PAGE]).expect("read a page back");
        let last = writer
            .write(&[b'#'; PAGE][room..])
            .expect("fill the last page");
        assert_eq!(
            last,
            PAGE - room,
            "the last page takes what is written to it"
        );
        // One page of filler was read back, and the last page added.
        let filler = filler - PAGE + last;
        set_nonblocking(&writer, false);
        Self {
            reader,
            writer: Some(writer),
            filler,
        }
    }

    /// The write end, to give the program as its stdout (once).
    pub fn stdout(&mut self) -> Stdio {
        self.writer
            .take()
            .expect("the write end, given once")
            .into()
    }

    /// Reads until every copy of the write end is closed (the program and
    /// its child have exited) and returns what they printed.
    pub fn finish(mut self) -> Vec<u8> {
        drop(self.writer.take());
        let mut all = Vec::new();
        self.reader.read_to_end(&mut all).expect("read the pipe");
        all.split_off(self.filler)
    }
}

impl Default for FullPipe {
    fn default() -> Self {
        Self::new()
    }
}

/// A pipe whose read end is already closed: a program given it as stdout
/// gets `EPIPE` from its first write, as under `| head -0`.
pub fn closed_pipe() -> io::PipeWriter {
    let (reader, writer) = io::pipe().expect("pipe");
    drop(reader);
    writer
}

/// Writes `chunk`-byte chunks into a non-blocking pipe until it is full;
/// returns how many bytes it took.
fn fill(writer: &mut io::PipeWriter, chunk: usize) -> usize {
    let bytes = vec![b'#'; chunk];
    let mut filled = 0;
    loop {
        match writer.write(&bytes) {
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return filled,
            Err(e) => panic!("fill the pipe: {e}"),
        }
    }
}

fn set_nonblocking(fd: &impl AsRawFd, nonblocking: bool) {
    let fd = fd.as_raw_fd();
    // SAFETY: F_GETFL takes no argument and reads nothing from our memory.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert_ne!(flags, -1, "fcntl F_GETFL");
    let flags = if nonblocking {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: F_SETFL takes an int of flags and reads nothing from our memory.
    let set = unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
    assert_ne!(set, -1, "fcntl F_SETFL");
}

/// The checks that the System V examples (`shm-sysv`, `msgqueue`,
/// `semaphore`) share. Each makes its key with `ftok(FTOK_PATH, proj)` (the
/// current directory by default), creates one object with `IPC_EXCL` and
/// mode 0600, prints its id at the end of its first line, and removes it.
#[derive(Debug, Clone, Copy)]
pub struct SysvExample {
    /// The binary under test, from `cargo_bin!`.
    pub bin: &'static Path,
    pub kind: sysv::Kind,
    /// The project byte of its `ftok`.
    pub proj: u8,
    /// Its first line, up to the id: `"Message queue created: "`.
    pub created: &'static str,
}

impl SysvExample {
    /// The id at the end of the first line.
    pub fn id(&self, lines: &[String]) -> i32 {
        lines
            .first()
            .and_then(|line| line.strip_prefix(self.created))
            .and_then(|id| id.parse().ok())
            .unwrap_or_else(|| panic!("the first line names the object: {lines:#?}"))
    }

    /// Runs the example in `dir`, stopped at its first line (a [`FullPipe`])
    /// while its object exists; calls `look` with the object, as
    /// `/proc/sysvipc` lists it. Then lets it finish, and checks that it
    /// succeeded, that its first line named that object, and that the object
    /// is gone. Returns what `look` returned and the lines printed.
    pub fn while_running<T>(
        &self,
        dir: &TestDir,
        look: impl FnOnce(&sysv::Object) -> T,
    ) -> (T, Vec<String>) {
        let key = dir.ftok_key(self.proj);
        let mut stdout = FullPipe::new();
        let mut program = Command::new(self.bin)
            .current_dir(dir.path())
            .stdout(stdout.stdout())
            .spawn()
            .unwrap();

        wait_until("the object exists", || sysv::find(self.kind, key).is_some());
        let object = sysv::find(self.kind, key).unwrap();
        let seen = look(&object);
        let printed = lines(&stdout.finish());

        assert!(program.wait().unwrap().success(), "{printed:#?}");
        assert_eq!(self.id(&printed), object.id);
        assert!(sysv::find(self.kind, key).is_none(), "{object:?} removed");
        (seen, printed)
    }

    /// The object is its owner's only: mode 0600.
    pub fn creates_its_object_for_its_owner_only(&self) {
        let (object, _) = self.while_running(&TestDir::new(), sysv::Object::clone);
        assert_eq!(object.mode, 0o600, "mode of {object:?}");
        assert_eq!(object.uid, uid());
    }

    /// Run elsewhere with a directory as its argument, it makes its key
    /// from that directory, not from where it runs.
    pub fn takes_the_ftok_path_from_its_argument(&self) {
        let dir = TestDir::new();
        let elsewhere = TestDir::new();
        let key = dir.ftok_key(self.proj);
        let mut stdout = FullPipe::new();
        let mut program = Command::new(self.bin)
            .current_dir(elsewhere.path())
            .arg(dir.path())
            .stdout(stdout.stdout())
            .spawn()
            .unwrap();

        wait_until("the object exists", || sysv::find(self.kind, key).is_some());
        let at_cwd = sysv::find(self.kind, elsewhere.ftok_key(self.proj));
        stdout.finish();
        assert!(program.wait().unwrap().success());
        assert!(at_cwd.is_none(), "no object at the key of where it ran");
    }

    /// A path that does not exist is an error of ftok, and nothing is created.
    pub fn fails_on_a_missing_ftok_path(&self) {
        let dir = TestDir::new();
        let missing = dir.join("no-such-file");
        let output = Command::new(self.bin).arg(&missing).output().unwrap();

        assert_eq!(output.status.code(), Some(1));
        assert!(output.stdout.is_empty());
        let expected = format!(
            "ftok(\"{}\", '{}'): No such file or directory\n",
            missing.display(),
            char::from(self.proj)
        );
        assert_eq!(String::from_utf8_lossy(&output.stderr), expected);
    }

    /// Its first print fails after the object is created: the error is one
    /// line, and the object is removed.
    pub fn removes_its_object_when_stdout_is_closed(&self) {
        let dir = TestDir::new();
        let output = Command::new(self.bin)
            .current_dir(dir.path())
            .stdout(closed_pipe())
            .output()
            .unwrap();

        assert_eq!(output.status.code(), Some(1));
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            "write stdout: Broken pipe\n"
        );
        assert!(
            sysv::find(self.kind, dir.ftok_key(self.proj)).is_none(),
            "object removed"
        );
    }
}

/// Asserts that no line is printed twice: what a C program that forks after
/// `printf` does when its stdout is a pipe or a file.
pub fn assert_each_line_once(lines: &[String]) {
    for line in lines {
        let times = lines.iter().filter(|l| *l == line).count();
        assert_eq!(times, 1, "{line:?} printed {times} times in {lines:#?}");
    }
}

/// A program running with its stdin held open and its stdout read line by
/// line, in a process group of its own as a shell starts a job: for a test
/// that acts on it mid-way (types a line, sends a signal) and then reads how
/// it ends.
#[derive(Debug)]
pub struct Live {
    program: std::process::Child,
    stdin: Option<ChildStdin>,
    stdout: io::Lines<BufReader<ChildStdout>>,
    seen: Vec<String>,
}

impl Live {
    /// Starts `program` and reads its output up to the line `ready`.
    pub fn start(program: &Path, ready: &str) -> Self {
        let mut program = Command::new(program)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap();
        let stdin = program.stdin.take();
        let stdout = BufReader::new(program.stdout.take().unwrap()).lines();
        let mut live = Self {
            program,
            stdin,
            stdout,
            seen: Vec::new(),
        };
        live.read_until(ready);
        live
    }

    /// The lines read so far.
    pub fn seen(&self) -> &[String] {
        &self.seen
    }

    /// Reads the output up to the line `wanted`: the program has done
    /// everything before it.
    pub fn read_until(&mut self, wanted: &str) {
        for line in self.stdout.by_ref() {
            let line = line.unwrap();
            self.seen.push(line.clone());
            if line == wanted {
                return;
            }
        }
        panic!("no {wanted:?} in {:#?}", self.seen);
    }

    /// Writes `line` and a newline to the program's stdin.
    pub fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
    }

    /// Sends `signal` to the program's whole process group, as a terminal
    /// does for Ctrl-C (`group`), or to the program alone.
    pub fn signal(&self, signal: libc::c_int, group: bool) {
        let pid = i32::try_from(self.program.id()).unwrap();
        let target = if group { -pid } else { pid };
        // SAFETY: kill takes no pointers.
        assert_eq!(unsafe { libc::kill(target, signal) }, 0);
    }

    /// Reads the rest of the output (with stdin still open: the program ends
    /// by itself) and returns its exit status, every line it printed, and
    /// its stderr.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>, String) {
        for line in self.stdout.by_ref() {
            self.seen.push(line.unwrap());
        }
        drop(self.stdin.take());
        let output = self.program.wait_with_output().unwrap();
        (
            output.status.code(),
            self.seen,
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}
