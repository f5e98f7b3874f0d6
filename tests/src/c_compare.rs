//! The comparison of a port with its C program, `c/NAME.c`, under `strace -f`.
//!
//! [`Comparison::run`] builds the C program with `cc` (the flags of
//! `c/Makefile`, and no warning), runs it and the port under `strace -f`,
//! at the same time, each in a fresh temporary directory and with names of
//! its own, and asserts, for the parent and for the child separately:
//!
//! - the IPC system calls: those of the C, in the same order, are the
//!   port's once the port's deliberate additions are set aside, each listed
//!   by name with its reason ([`Addition`]); any other difference fails;
//! - the output: the lines each process writes, ids and addresses set
//!   aside, are the C's. Comparing each process's own lines makes the test
//!   independent of how the scheduler interleaves parent and child.
//!
//! Which calls count: every System V IPC call; `pipe`, `socket` and the
//! calls on the descriptors they return (`bind`, `read`, `close`, ...);
//! `open` and `unlink` of the program's own path and the calls on that
//! descriptor (`ftruncate`, `mmap`) and mapping (`msync`, `munmap`);
//! `fork`, `wait4`, signals (`sigaction`, `sigprocmask`, `sigsuspend`,
//! `kill`) and `prctl`. What the dynamic loader, the C library and Rust's
//! runtime do with other files and memory does not count.
//!
//! The C programs write line by line (`stdbuf -oL`), as on the terminal
//! where the tutorial ran them: with a pipe as stdout, C's stdio buffers
//! whole blocks and `fork` copies them, which repeats lines. The ports
//! print each line once however stdout is connected.
//!
//! Where `cc`, `strace` or `stdbuf` is missing, or tracing is not
//! permitted, the test says so in one line and passes; `.ci/run` installs
//! what it needs, and sets `IPC_TESTS_NO_SKIP`, which turns a skip into a
//! failure: CI never skips.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::ErrorKind;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::{TIMEOUT, TestDir};

/// A call the port makes and its C program does not (or the other way
/// round, in [`Comparison::omissions`]), and why.
#[derive(Debug, Clone, Copy)]
pub struct Addition {
    /// The call as the comparison names it: `socket`, `fork`,
    /// `rt_sigaction(SIGINT)`, `kill(SIGUSR2)`, `prctl(PR_SET_PDEATHSIG)`;
    /// `*` for any.
    pub call: &'static str,
    /// Text that its arguments and result, as strace prints them
    /// (`3, 5) = 0`), contain ("" for any).
    pub args: &'static str,
    /// Which process makes it: "parent", "child" or "either".
    pub process: &'static str,
    /// Whether only the first such call in the process is set aside.
    pub only_first: bool,
    /// Why the port makes it.
    pub why: &'static str,
}

impl Addition {
    fn matches(&self, process: &str, call: &str, args: &str) -> bool {
        (self.call == call || self.call == "*")
            && args.contains(self.args)
            && (self.process == "either" || self.process == process)
    }
}

/// What every port adds, through Rust's runtime or `common`.
pub const EVERY_PORT: &[Addition] = &[
    Addition {
        call: "rt_sigaction(SIGPIPE)",
        args: "",
        process: "parent",
        only_first: false,
        why: "Rust's runtime ignores SIGPIPE, so a closed stdout is an error (EPIPE), not a death",
    },
    Addition {
        call: "rt_sigaction(SIGSEGV)",
        args: "",
        process: "parent",
        only_first: false,
        why: "Rust's runtime reports a stack overflow",
    },
    Addition {
        call: "rt_sigaction(SIGBUS)",
        args: "",
        process: "parent",
        only_first: false,
        why: "Rust's runtime reports a stack overflow",
    },
    Addition {
        call: "rt_sigaction(SIGINT)",
        args: "",
        process: "parent",
        only_first: false,
        why: "common::main: Ctrl-C is recorded, and the run removes what it created",
    },
    Addition {
        call: "rt_sigaction(SIGTERM)",
        args: "",
        process: "parent",
        only_first: false,
        why: "common::main: SIGTERM is recorded, and the run removes what it created",
    },
    Addition {
        call: "rt_sigaction(SIGALRM)",
        args: "",
        process: "parent",
        only_first: false,
        why: "common::main: a timer re-interrupts a call that started just after Ctrl-C",
    },
    Addition {
        call: "prctl(PR_SET_PDEATHSIG)",
        args: "",
        process: "child",
        only_first: false,
        why: "the child dies with its parent, even after kill -9 of the parent",
    },
];

/// What `uds`, `mmap-file` and `pipe` add with `common::other_signals`:
/// SIGHUP, SIGUSR1 and SIGUSR2 from another program stop the parent as
/// SIGTERM does, where their default action would kill it without a word.
pub const OTHER_SIGNALS: &[Addition] = &[
    Addition {
        call: "rt_sigaction(SIGHUP)",
        args: "",
        process: "parent",
        only_first: false,
        why: "common::other_signals: a SIGHUP from outside stops the run cleanly, with its notice",
    },
    Addition {
        call: "rt_sigaction(SIGUSR1)",
        args: "",
        process: "parent",
        only_first: false,
        why: "common::other_signals: a SIGUSR1 from outside stops the run cleanly, with its notice",
    },
    Addition {
        call: "rt_sigaction(SIGUSR2)",
        args: "",
        process: "parent",
        only_first: false,
        why: "common::other_signals: a SIGUSR2 from outside stops the run cleanly, with its notice",
    },
];

/// What a System V port adds to look for another program's interference
/// while it waits (`common::sysv`, the port's `robust.rs`): a wait that has
/// lasted a second is interrupted, looks at the object, and waits again.
pub const SYSV_TIMED_WAITS: &[Addition] = &[
    Addition {
        call: "*",
        args: "= -1 EINTR",
        process: "either",
        only_first: false,
        why: "a wait that its one-second timer interrupted, to see whether another program \
              took, removed or changed the object; it is then made again",
    },
    Addition {
        call: "*",
        args: "= ? ERESTARTSYS",
        process: "either",
        only_first: false,
        why: "the same, as strace shows an interrupted call that is restarted",
    },
    Addition {
        call: "semtimedop",
        args: "= -1 EAGAIN",
        process: "either",
        only_first: false,
        why: "semop's one-second timeout ran out: the value is looked at, and the wait made again",
    },
];

/// What a port adds when its parent watches its child
/// (`common::Child::watch`): a thread that waits for the child's end.
pub const CHILD_WATCH: &[Addition] = &[
    Addition {
        call: "rt_sigaction(SIGCHLD)",
        args: "",
        process: "parent",
        only_first: false,
        why: "the watch: a child's end interrupts a parent that waits for it",
    },
    Addition {
        call: "thread",
        args: "",
        process: "parent",
        only_first: false,
        why: "the watch: a thread waits for the child's end (waitid WNOWAIT)",
    },
    Addition {
        call: "rt_sigaction(SIGRT_1)",
        args: "",
        process: "parent",
        only_first: false,
        why: "the C library's setup for its first thread (the watch)",
    },
    Addition {
        call: "rt_sigprocmask(SIG_UNBLOCK)",
        args: "[RTMIN RT_1]",
        process: "parent",
        only_first: false,
        why: "the C library's setup for its first thread (the watch)",
    },
    Addition {
        call: "rt_sigprocmask(SIG_BLOCK)",
        args: "~[]",
        process: "parent",
        only_first: false,
        why: "the C library starts a thread with every signal blocked",
    },
    Addition {
        call: "rt_sigprocmask(SIG_SETMASK)",
        args: "",
        process: "parent",
        only_first: false,
        why: "the C library starts a thread with every signal blocked, then restores the mask",
    },
    Addition {
        call: "rt_sigprocmask(SIG_BLOCK)",
        args: "[INT ALRM TERM CHLD]",
        process: "parent",
        only_first: false,
        why: "the watch thread leaves these signals to the main thread",
    },
    Addition {
        call: "prctl(PR_SET_NAME)",
        args: "\"child watcher\"",
        process: "parent",
        only_first: false,
        why: "the watch thread's name, for ps and gdb",
    },
    Addition {
        call: "waitid",
        args: "P_PID",
        process: "parent",
        only_first: false,
        why: "the watch thread waits for the child's end, and leaves it to wait4",
    },
    Addition {
        call: "kill(SIGCHLD)",
        args: "",
        process: "parent",
        only_first: false,
        why: "the watch thread interrupts the parent's blocking call once the child has ended",
    },
    Addition {
        call: "*",
        args: "= ? ERESTARTSYS",
        process: "parent",
        only_first: false,
        why: "a call that the watch interrupted, and that common::blocking makes again",
    },
    Addition {
        call: "*",
        args: "= -1 EINTR",
        process: "parent",
        only_first: false,
        why: "a call that the watch interrupted, and that common::blocking makes again",
    },
    Addition {
        call: "rt_sigprocmask(SIG_BLOCK)",
        args: "~[RT_1]",
        process: "parent",
        only_first: false,
        why: "the C library, as the watch thread ends",
    },
];

/// What a port adds that claims its key, name or path
/// (`common::leftover::claim`): an abstract socket named after it.
pub const CLAIM: &[Addition] = &[Addition {
    call: "socket",
    args: "SOCK_DGRAM|SOCK_CLOEXEC",
    process: "parent",
    only_first: false,
    why: "the claim: one run at a time per key, name or path; the kernel frees it however the run ends (its bind and close go with it)",
}];

/// One port beside its C program.
#[derive(Debug)]
pub struct Comparison<'a> {
    /// The name of the port and of its C program, `c/{name}.c`.
    pub name: &'a str,
    /// The port's binary (`env!("CARGO_BIN_EXE_...")`).
    pub port: &'a Path,
    /// The port's argument: its own name, inside its temporary directory
    /// for a path (`Own::File`), or unique for a POSIX name.
    pub own: Own,
    /// The path the C program uses, as it names it (`ipc_mmap.dat`,
    /// `/tmp/ipc_socket`, `/dev/shm/my_shared_memory`), if it uses one.
    pub c_path: Option<&'a str>,
    /// If `c_path` is a name for the whole machine, how the port claims it
    /// (`common::leftover::claim`: "uds /tmp/ipc_socket"). The C then runs
    /// holding that claim, so that no run of the port or of this test uses
    /// the name meanwhile, and only when nothing is at that path.
    pub c_claim: Option<&'a str>,
    /// The port's calls that the C does not make, on top of [`EVERY_PORT`].
    pub additions: &'a [&'a [Addition]],
    /// The C's calls that the port leaves out on purpose.
    pub omissions: &'a [Addition],
    /// Output lines that start with one of these end with an id, an
    /// address or a count that the run decides.
    pub varying: &'a [&'a str],
}

/// The name a port is given, so that it shares nothing with the C's run.
#[derive(Debug, Clone, Copy)]
pub enum Own {
    /// None: the port runs in its own directory (`.` for `ftok`, a
    /// relative data file) or has no name at all.
    Nothing,
    /// A file of this name in the port's temporary directory.
    File(&'static str),
    /// A unique POSIX shared memory name (`/c-compare-...`).
    ShmName,
}

/// One traced system call.
#[derive(Debug, Clone)]
struct Call {
    /// The name the comparison uses (see [`Addition::call`]).
    call: String,
    /// The arguments and result, as strace prints them: `3, 5) = 0`.
    args: String,
}

/// What one run made and printed, per process.
#[derive(Debug, Default)]
struct Trace {
    calls: HashMap<&'static str, Vec<Call>>,
    output: HashMap<&'static str, String>,
}

/// The processes compared: a grandchild is in none of the C programs.
const ROLES: [&str; 3] = ["parent", "child", "grandchild"];

/// The calls strace records; [`Trace::parse`] keeps the IPC ones.
const TRACED: &str = "%ipc,pipe,pipe2,socket,socketpair,bind,listen,accept,accept4,connect,\
    sendto,recvfrom,sendmsg,recvmsg,shutdown,read,write,close,open,openat,unlink,unlinkat,\
    ftruncate,mmap,munmap,msync,umask,clone,clone3,fork,vfork,wait4,waitid,kill,tgkill,\
    rt_sigaction,rt_sigprocmask,rt_sigsuspend,pause,prctl";

impl Comparison<'_> {
    /// Runs the comparison; panics with both sequences where they differ.
    pub fn run(&self) {
        for tool in ["cc", "strace", "stdbuf"] {
            if !on_path(tool) {
                return skip(&format!(
                    "{tool} is not installed, so {} cannot be compared with c/{}.c",
                    self.name, self.name
                ));
            }
        }
        let started = Instant::now();
        let build = TestDir::new();
        let c_program = self.build_c(&build);

        let port_dir = TestDir::new();
        let (port_arg, port_path) = match self.own {
            Own::Nothing => (None, self.c_path.map(str::to_owned)),
            Own::File(file) => {
                let path = port_dir.join(file).to_string_lossy().into_owned();
                (Some(path.clone()), Some(path))
            }
            Own::ShmName => {
                let name = format!("/{}", crate::unique_name("c-compare"));
                (Some(name.clone()), Some(format!("/dev/shm{name}")))
            }
        };
        // The two runs share nothing, so they run at the same time.
        let c_dir = TestDir::new();
        let (c_run, port_run) = std::thread::scope(|scope| {
            let c_run = scope.spawn(|| self.run_c(&c_program, &c_dir));
            let port_run = strace(self.port, port_arg.as_deref(), port_dir.path(), false);
            let c_run = c_run
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (c_run, port_run)
        });
        let Some(c_run) = c_run else {
            return;
        };
        let c_paths: Vec<&str> = self.c_path.into_iter().collect();
        let c = Trace::parse(&c_run.trace, &c_paths, &[]);
        assert_ran(&self.port.display().to_string(), &port_run.output);
        let additions: Vec<Addition> = EVERY_PORT
            .iter()
            .chain(self.additions.iter().flat_map(|list| list.iter()))
            .copied()
            .collect();
        let port_paths: Vec<&str> = port_path.as_deref().into_iter().collect();
        let port = Trace::parse(&port_run.trace, &port_paths, &additions);
        let c_file = format!("c/{}.c", self.name);
        for role in ["parent", "child"] {
            assert!(
                c.calls.contains_key("parent") && c.output.contains_key(role),
                "found no IPC call of the parent, or no output of the {role}, in the trace of {c_file}:\n{}",
                c_run.trace
            );
        }
        let mut report = String::new();
        for role in ROLES {
            let want = without(c.calls.get(role), role, self.omissions);
            let got = without(port.calls.get(role), role, &additions);
            if want != got {
                report += &format!(
                    "\nthe {role}'s IPC calls differ (additions and omissions set aside)\n{}",
                    side_by_side(&c_file, &want, self.name, &got)
                );
            }
            let want = normalise(c.output.get(role), self.varying);
            let got = normalise(port.output.get(role), self.varying);
            if want != got {
                report += &format!(
                    "\nthe {role}'s output differs\n{}",
                    side_by_side(&c_file, &want, self.name, &got)
                );
            }
        }
        assert!(
            report.is_empty(),
            "{} does not do what {c_file} does:{report}\nThe IPC calls, as strace shows them:\n{}{}",
            self.name,
            c.listing(&c_file),
            port.listing(self.name),
        );
        eprintln!(
            "{} makes the IPC calls of {c_file}, in each process in the same order, and prints its lines ({:.1} s):",
            self.name,
            started.elapsed().as_secs_f64()
        );
        for role in ["parent", "child"] {
            let calls = without(c.calls.get(role), role, self.omissions);
            eprintln!("  {role}: {}", calls.join(", "));
        }
    }

    /// `cc` of `c/NAME.c`, as `c/Makefile` does it; a warning fails.
    fn build_c(&self, dir: &TestDir) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../c")
            .join(format!("{}.c", self.name));
        let program = dir.join(self.name);
        let mut cc = Command::new("cc");
        cc.args(["-O2", "-Wall", "-Wextra"]);
        if self.name == "shm-mutex" {
            cc.arg("-pthread");
        }
        let output = cc.arg("-o").arg(&program).arg(&source).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stderr.is_empty(),
            "cc -O2 -Wall -Wextra {} should build it without a warning; it says:\n{stderr}",
            source.display()
        );
        program
    }

    /// Runs the C program under strace in `dir`; `None` when it must not
    /// run now (something else is at its machine-wide path).
    fn run_c(&self, program: &Path, dir: &TestDir) -> Option<Run> {
        let global = self
            .c_path
            .filter(|_| self.c_claim.is_some())
            .map(Path::new);
        let _claim = match self.c_claim.map(claim) {
            Some(None) => {
                skip(&format!(
                    "another run held {} for {TIMEOUT:?}, and c/{}.c would use it",
                    self.c_path.unwrap_or_default(),
                    self.name
                ));
                return None;
            }
            claim => claim,
        };
        if let Some(path) = global
            && crate::exists(path)
        {
            skip(&format!(
                "{} exists and is not this test's, and c/{}.c would use it: remove it or run the test again later",
                path.display(),
                self.name
            ));
            return None;
        }
        // The C leaves to luck that a sleep is long enough (uds's client
        // connects after 1 s, shm-sysv's child reads after 2 s): on a loaded
        // machine it may fail where the port cannot, so it gets three tries.
        let mut tries = 1;
        let run = loop {
            let run = strace(program, None, dir.path(), true);
            if run.trace.trim().is_empty() {
                let stderr = String::from_utf8_lossy(&run.output.stderr);
                let why = stderr.lines().next().unwrap_or("no trace");
                skip(&format!("strace cannot trace here ({why})"));
                return None;
            }
            if run.output.status.success() {
                break run;
            }
            // Nothing was at its names before the C ran (checked above, and
            // no other run can have put anything there since: the claim):
            // what is there now is the C's.
            if let Some(path) = global {
                let _ = fs::remove_file(path);
            }
            for proj in [b'a', b'b', b'c'] {
                let key = format!("{:#x}", dir.ftok_key(proj));
                for option in ["-M", "-Q", "-S"] {
                    let _ = Command::new("ipcrm").args([option, &key]).output();
                }
            }
            if tries == 3 {
                break run;
            }
            eprintln!(
                "note: c/{}.c failed ({}); running it again",
                self.name, run.output.status
            );
            tries += 1;
        };
        assert_ran(&format!("c/{}.c", self.name), &run.output);
        Some(run)
    }
}

/// Says in one line why the comparison does not run; with
/// `IPC_TESTS_NO_SKIP` set (as `.ci/run` sets it), fails instead.
fn skip(why: &str) {
    assert!(
        std::env::var_os("IPC_TESTS_NO_SKIP").is_none(),
        "cannot skip with IPC_TESTS_NO_SKIP set: {why}"
    );
    eprintln!("skipped: {why}");
}

/// The result of one run under strace.
#[derive(Debug)]
struct Run {
    output: Output,
    trace: String,
}

/// Runs `program` (with `arg`) in `dir` under `strace -f`, line-buffered
/// if `line_buffered` (for C's stdio). Fails the test after [`TIMEOUT`].
fn strace(program: &Path, arg: Option<&str>, dir: &Path, line_buffered: bool) -> Run {
    let trace_file = tempfile_in(dir);
    let mut command = Command::new("strace");
    command
        .args(["-f", "-qq", "-s", "4096", "-e"])
        .arg(format!("trace={TRACED}"))
        .arg("-o")
        .arg(&trace_file);
    if line_buffered {
        command.args(["stdbuf", "-oL"]);
    }
    command.arg(program).args(arg).current_dir(dir);
    command.stdin(Stdio::null()).process_group(0);
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let group = child.id();
    let (done, result) = mpsc::channel();
    std::thread::spawn(move || done.send(child.wait_with_output()));
    let output = match result.recv_timeout(TIMEOUT) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            // SAFETY: a signal to the process group this test started.
            unsafe { libc::kill(-(group as i32), libc::SIGKILL) };
            panic!(
                "{} under strace did not end within {TIMEOUT:?}",
                program.display()
            );
        }
    };
    let trace = fs::read_to_string(&trace_file).unwrap_or_default();
    let _ = fs::remove_file(&trace_file);
    Run { output, trace }
}

/// A file name for strace's output, in `dir` but outside what the program sees.
fn tempfile_in(dir: &Path) -> PathBuf {
    dir.join(format!(".strace-{}", crate::unique_name("c-compare")))
}

fn assert_ran(what: &str, output: &Output) {
    assert!(
        output.status.success(),
        "{what} under strace: {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()))
}

/// Takes the claim that a port takes on its name (`common::leftover::claim`:
/// an abstract datagram socket `ipc-tutorial/{name}`), waiting up to
/// [`TIMEOUT`] while another run holds it; `None` if it is still held then.
fn claim(name: &str) -> Option<UnixDatagram> {
    let address = SocketAddr::from_abstract_name(format!("ipc-tutorial/{name}")).unwrap();
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match UnixDatagram::bind_addr(&address) {
            Ok(socket) => return Some(socket),
            Err(error) if error.kind() == ErrorKind::AddrInUse && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(error) if error.kind() == ErrorKind::AddrInUse => return None,
            Err(error) => panic!("bind @ipc-tutorial/{name}: {error}"),
        }
    }
}

impl Trace {
    /// The IPC calls and the output of each process in strace's `text`.
    /// `paths` are the IPC object's paths as the program names them.
    /// A socket that one of `set_aside` matches is not followed: its
    /// `bind` and `close` go with it.
    fn parse(text: &str, paths: &[&str], set_aside: &[Addition]) -> Trace {
        let entries = assemble(text);
        let Some(root) = entries.first().map(|e| e.pid) else {
            return Trace::default();
        };
        // Which process (parent or child) each thread belongs to, and what
        // descriptors and mappings each process holds that count as IPC.
        let mut role: HashMap<u32, &'static str> = HashMap::from([(root, "parent")]);
        let mut held: HashMap<&'static str, (HashSet<String>, HashSet<String>)> = HashMap::new();
        let mut trace = Trace::default();
        for entry in &entries {
            let Some(&who) = role.get(&entry.pid) else {
                continue; // not of the program's: strace's own child before exec
            };
            let mut forked = None;
            let (fds, maps) = held.entry(who).or_default();
            let args = split_args(&entry.args);
            let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
            let ret = entry.result.split_whitespace().next().unwrap_or("");
            let ok = !ret.starts_with('-') && ret != "?";
            let name = entry.name.as_str();
            let call = match name {
                "clone" | "clone3" | "fork" | "vfork" => {
                    let pid: u32 = ret.parse().unwrap_or(0);
                    if entry.args.contains("CLONE_THREAD") {
                        role.insert(pid, who);
                        Some("thread".to_owned())
                    } else {
                        let child = if who == "parent" {
                            "child"
                        } else {
                            "grandchild"
                        };
                        role.insert(pid, child);
                        forked = Some((child, (fds.clone(), maps.clone())));
                        Some("fork".to_owned())
                    }
                }
                "pipe" | "pipe2" | "socketpair" => {
                    let pair = &args[if name == "socketpair" { 3 } else { 0 }];
                    fds.extend(pair.trim_matches(['[', ']']).split(", ").map(str::to_owned));
                    Some(if name == "socketpair" { name } else { "pipe" }.to_owned())
                }
                "socket" => {
                    let aside = set_aside.iter().any(|a| a.matches(who, name, &entry.args));
                    if ok && !aside {
                        fds.insert(ret.to_owned());
                    }
                    Some(name.to_owned())
                }
                "accept" | "accept4" if fds.contains(arg(0)) => {
                    if ok {
                        fds.insert(ret.to_owned());
                    }
                    Some("accept".to_owned())
                }
                "open" | "openat" => {
                    let path = unquote(arg(if name == "open" { 0 } else { 1 }));
                    paths.contains(&path.as_str()).then(|| {
                        if ok {
                            fds.insert(ret.to_owned());
                        }
                        "open".to_owned()
                    })
                }
                "unlink" | "unlinkat" => {
                    let path = unquote(arg(if name == "unlink" { 0 } else { 1 }));
                    paths.contains(&path.as_str()).then(|| "unlink".to_owned())
                }
                "write" if arg(0) == "1" => {
                    *trace.output.entry(who).or_default() += &unquote(arg(1));
                    None
                }
                "bind" | "listen" | "connect" | "sendto" | "recvfrom" | "sendmsg" | "recvmsg"
                | "shutdown" | "read" | "write" | "close" | "ftruncate" => {
                    fds.contains(arg(0)).then(|| {
                        if name == "close" {
                            fds.remove(arg(0));
                        }
                        name.to_owned()
                    })
                }
                "mmap" => fds.contains(arg(4)).then(|| {
                    maps.insert(ret.to_owned());
                    name.to_owned()
                }),
                "shmat" => {
                    if ok {
                        maps.insert(ret.to_owned());
                    }
                    Some(name.to_owned())
                }
                "munmap" | "msync" => maps.contains(arg(0)).then(|| name.to_owned()),
                "rt_sigaction" | "rt_sigprocmask" | "prctl" => Some(format!("{name}({})", arg(0))),
                "kill" | "tgkill" => Some(format!("kill({})", args.last().unwrap())),
                "accept" | "accept4" => None,
                _ => Some(name.to_owned()), // System V IPC, wait4, umask, ...
            };
            if let Some((child, copy)) = forked {
                held.insert(child, copy);
            }
            if let Some(call) = call {
                trace.calls.entry(who).or_default().push(Call {
                    call,
                    args: format!("{}) = {}", entry.args, entry.result),
                });
            }
        }
        trace
    }
}

impl Trace {
    /// Each process's calls with their arguments, for a failure message.
    fn listing(&self, program: &str) -> String {
        let mut text = String::new();
        for (role, calls) in ROLES.iter().filter_map(|r| Some((r, self.calls.get(r)?))) {
            text += &format!("--- {program}, {role}\n");
            for call in calls {
                let args: String = call.args.chars().take(100).collect();
                text += &format!("  {:28} ({args}\n", call.call);
            }
        }
        text
    }
}

/// One system call, its two halves joined if strace split it.
#[derive(Debug)]
struct Entry {
    pid: u32,
    name: String,
    args: String,
    result: String,
}

/// strace's lines as whole calls, in the order they started. A call that
/// another process interrupted is printed as `name(args <unfinished ...>`,
/// then `<... name resumed>rest) = result`.
fn assemble(text: &str) -> Vec<Entry> {
    let mut entries: Vec<(u32, String)> = Vec::new();
    let mut open: HashMap<u32, usize> = HashMap::new();
    for line in text.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        let rest = rest.trim_start();
        // Signals, exits, and a thread's call cut short by the process's
        // exit (`??? ( <detached ...>`): no call to compare.
        if rest.starts_with("---") || rest.starts_with("+++") || rest.contains("<detached ...>") {
            continue;
        }
        if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            open.insert(pid, entries.len());
            entries.push((pid, head.to_owned()));
        } else if let Some(resumed) = rest.strip_prefix("<... ") {
            let tail = resumed.split_once("resumed>").map_or("", |(_, t)| t);
            if let Some(i) = open.remove(&pid) {
                entries[i].1 += tail;
            }
        } else {
            entries.push((pid, rest.to_owned()));
        }
    }
    entries
        .into_iter()
        .filter_map(|(pid, text)| {
            let (name, rest) = text.split_once('(')?;
            // `??? ()`: a call strace could not name, of a thread that the
            // process's exit cut short (the child watcher): no call.
            if name == "???" {
                return None;
            }
            // `name(args)   = result`: strace pads before the `=`.
            let (args, result) = rest.rsplit_once(" = ").unwrap_or((rest, "?"));
            let args = args.trim_end();
            let args = args.strip_suffix(')').unwrap_or(args);
            Some(Entry {
                pid,
                name: name.to_owned(),
                args: args.to_owned(),
                result: result.to_owned(),
            })
        })
        .collect()
}

/// strace's arguments, split at the top-level commas.
fn split_args(args: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let (mut depth, mut quoted, mut escaped) = (0i32, false, false);
    for c in args.chars() {
        if quoted {
            out.last_mut().unwrap().push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => quoted = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(String::new());
                continue;
            }
            _ => {}
        }
        out.last_mut().unwrap().push(c);
    }
    out.iter().map(|a| a.trim().to_owned()).collect()
}

/// The text of a string argument as strace prints it (`"a\nb"...`).
fn unquote(arg: &str) -> String {
    let inner = arg
        .trim_end_matches("...")
        .strip_prefix('"')
        .and_then(|a| a.strip_suffix('"'))
        .unwrap_or(arg);
    let mut bytes = Vec::new();
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next() {
            Some('n') => bytes.push(b'\n'),
            Some('t') => bytes.push(b'\t'),
            Some('r') => bytes.push(b'\r'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                bytes.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?'));
            }
            Some(d) if d.is_ascii_digit() => {
                let mut octal = String::from(d);
                while octal.len() < 3 && chars.peek().is_some_and(char::is_ascii_digit) {
                    octal.push(chars.next().unwrap());
                }
                bytes.push(u8::from_str_radix(&octal, 8).unwrap_or(b'?'));
            }
            Some(other) => bytes.push(other as u8),
            None => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The names of `calls`, those matching one of `set_aside` left out.
fn without(calls: Option<&Vec<Call>>, role: &str, set_aside: &[Addition]) -> Vec<String> {
    let mut used = vec![false; set_aside.len()];
    calls
        .into_iter()
        .flatten()
        .filter(|c| {
            let found = set_aside
                .iter()
                .enumerate()
                .find(|(i, a)| a.matches(role, &c.call, &c.args) && !(a.only_first && used[*i]));
            if let Some((i, _)) = found {
                used[i] = true;
            }
            found.is_none()
        })
        .map(|c| c.call.clone())
        .collect()
}

/// The lines of `output`, the end of a line that starts with one of
/// `varying` replaced by `...`.
fn normalise(output: Option<&String>, varying: &[&str]) -> Vec<String> {
    output
        .map(String::as_str)
        .unwrap_or("")
        .lines()
        .map(
            |line| match varying.iter().find(|v| line.starts_with(**v)) {
                Some(prefix) => format!("{prefix}..."),
                None => line.to_owned(),
            },
        )
        .collect()
}

fn side_by_side(left: &str, a: &[String], right: &str, b: &[String]) -> String {
    let width = a.iter().map(String::len).max().unwrap_or(0).max(12);
    let mut text = format!("  {left:width$}  {right}\n");
    for i in 0..a.len().max(b.len()) {
        let l = a.get(i).map_or("", String::as_str);
        let r = b.get(i).map_or("", String::as_str);
        let mark = if l == r { ' ' } else { '≠' };
        text += &format!("{mark} {l:width$}  {r}\n");
    }
    text
}
