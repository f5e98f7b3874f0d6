//! The checks that the three System V examples (`shm-sysv`, `msgqueue`,
//! `semaphore`) share, as methods of [`SysvExample`]: what a normal run
//! creates and removes, and the faults (Ctrl-C, a dying child, a crashed
//! run's leftover, squatters, a second run at the same key, a system limit,
//! too few descriptors, another user, `| head -1`).

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;

use crate::faults::{
    self, Ended, Example, as_nobody, become_subreaper, children, errno_of, in_ipc_namespace,
    kill_child_at_each_line, reap, signal_name, stop_at_each_line, stopping_points, test_pace,
};
use crate::sysv::{self, Kind, Squatter};
use crate::{FullPipe, TestDir, closed_pipe, lines, uid, wait_until};

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
        let mut program = self
            .command()
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
        let mut program = self
            .command()
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
        let output = self.command().arg(&missing).output().unwrap();

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
        let output = self
            .command()
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

    /// The command that runs the example, at [`test_pace`].
    fn command(&self) -> Command {
        let mut command = Command::new(self.bin);
        command.envs(test_pace());
        command
    }

    /// The program's name, as it starts its messages.
    pub fn program(&self) -> String {
        self.bin.file_name().unwrap().to_string_lossy().into_owned()
    }

    fn example(&self, dir: &TestDir) -> Example {
        Example::new(self.bin, dir.path())
    }

    /// "message queue 0x62012345 (id " : how the examples name their object.
    fn object_prefix(&self, key: i32) -> String {
        format!("{} {key:#010x} (id ", self.kind.what())
    }

    /// Asserts that no object of the run is left at `key`.
    fn assert_no_object(&self, key: i32, ended: &Ended) {
        assert!(
            sysv::find(self.kind, key).is_none(),
            "{:?} left at {key:#x}: {ended:#?}",
            self.kind
        );
    }

    /// Ctrl-C or SIGTERM to the group after each line: exit 130 or 143, one
    /// line saying the object was removed, no process and no object left.
    pub fn stops_cleanly_at_each_line(&self) {
        let dir = TestDir::new();
        let key = dir.ftok_key(self.proj);
        let stopped = stop_at_each_line(&self.example(&dir), |signal, status, ended| {
            let name = signal_name(signal);
            let notice = format!(
                "{}: interrupted by {name}; removed {}",
                self.program(),
                self.object_prefix(key)
            );
            assert_eq!(ended.code, Some(status), "{ended:#?}");
            assert!(ended.stderr.starts_with(&notice), "{ended:#?}");
            assert!(ended.stderr.ends_with(")\n"), "{ended:#?}");
            assert_eq!(ended.stderr.lines().count(), 1, "{ended:#?}");
            ended.assert_group_gone();
            self.assert_no_object(key, ended);
        });
        assert!(stopped > 0, "some runs were stopped");
    }

    /// Ctrl-C while the parent or its child is asleep in system call
    /// `number`, with stdout held after `lines` lines (whichever process
    /// prints them), so that the other process cannot go on. A process
    /// asleep in `clock_nanosleep` is in a pacing sleep, which is there only
    /// at the tutorial's pace: that run keeps it.
    pub fn stops_cleanly_while_asleep_in(&self, lines: usize, number: libc::c_long, call: &str) {
        let dir = TestDir::new();
        let key = dir.ftok_key(self.proj);
        let example = self.example(&dir);
        // A few bytes of slack, for an id with more digits this time: less
        // than any line, so the next line still does not fit. (The lines,
        // and so where they end, are the same at any pace.)
        let room = stopping_points(&example)[lines] + 4;
        let held = if number == libc::SYS_clock_nanosleep {
            example.at_real_pace().spawn_held(room)
        } else {
            example.spawn_held(room)
        };
        faults::wait_one_asleep_in(held.pid(), number, call);
        held.signal_group(libc::SIGINT);
        let ended = held.finish();
        assert_eq!(ended.code, Some(130), "{ended:#?}");
        let notice = format!(
            "{}: interrupted by SIGINT; removed {}",
            self.program(),
            self.object_prefix(key)
        );
        assert!(ended.stderr.starts_with(&notice), "{ended:#?}");
        ended.assert_group_gone();
        self.assert_no_object(key, &ended);
    }

    /// SIGKILL of the child after each line: the parent does not hang, says
    /// how the child ended, removes the object and exits 1.
    pub fn survives_its_child_being_killed(&self) {
        let dir = TestDir::new();
        let key = dir.ftok_key(self.proj);
        let killed = kill_child_at_each_line(&self.example(&dir), |ended| {
            assert_eq!(ended.code, Some(1), "{ended:#?}");
            assert!(ended.stderr.contains("killed by SIGKILL"), "{ended:#?}");
            assert_eq!(ended.stderr.lines().count(), 1, "{ended:#?}");
            ended.assert_group_gone();
            self.assert_no_object(key, ended);
        });
        assert!(killed > 0, "some children were killed");
    }

    /// `kill -9` of the parent after its second line leaves its object, and
    /// the kernel kills the child with it; the next run removes that
    /// leftover with one line of notice, and succeeds.
    pub fn reclaims_what_a_killed_run_left(&self) {
        become_subreaper();
        let dir = TestDir::new();
        let key = dir.ftok_key(self.proj);
        let example = self.example(&dir);
        let points = stopping_points(&example);

        // Held after two lines: the parent has forked.
        let held = example.start_held(points[2]);
        let orphans = children(held.pid());
        assert!(!orphans.is_empty(), "the parent has forked");
        assert!(faults::kill(held.pid(), libc::SIGKILL));
        // The child dies with its parent, even blocked as it is (in a write
        // to the full stdout, or waiting for the parent).
        wait_until("the child died with its parent", || {
            orphans
                .iter()
                .all(|&orphan| faults::state(orphan).is_none_or(|state| state == 'Z'))
        });
        let crashed = held.finish();
        for orphan in orphans {
            reap(orphan);
        }
        assert_eq!(crashed.code, None, "killed: {crashed:#?}");
        let left = sysv::find(self.kind, key).expect("the killed run left its object");

        let ended = example.run();
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        assert_eq!(
            ended.stderr,
            format!(
                "{}: removed {}{}), left behind by an earlier run that did not finish\n",
                self.program(),
                self.object_prefix(key),
                left.id
            )
        );
        assert_eq!(ended.lines.len(), points.len() - 1, "{ended:#?}");
        self.assert_no_object(key, &ended);
    }

    /// An object at the key that is not provably a crashed run's (the C
    /// listing's 0666 one, the wrong size, in use by a live process, another
    /// user's) is left alone: exit 1, one line naming it, and it is
    /// unchanged.
    pub fn leaves_alone_what_it_did_not_leave(&self) {
        type Setup = fn(Kind, i32) -> Squatter;
        let mut cases: Vec<(&str, Setup, &str)> = vec![
            (
                "0666",
                |kind, key| Squatter::new(kind, key, 0o666),
                "mode 0666",
            ),
            (
                "in use",
                |kind, key| {
                    let squatter = Squatter::new(kind, key, 0o600);
                    squatter.use_now();
                    squatter
                },
                "",
            ),
        ];
        if self.kind != Kind::Msg {
            cases.push((
                "wrong size",
                |kind, key| Squatter::with_size(kind, key, 0o600, 2),
                "holds 2",
            ));
        }
        if uid() == 0 {
            cases.push((
                "another user's",
                |kind, key| {
                    let squatter = Squatter::new(kind, key, 0o600);
                    squatter.give_to(65534);
                    squatter
                },
                "belongs to user 65534",
            ));
        } else {
            eprintln!("skipped another user's object: the tests do not run as root");
        }
        for (case, setup, reason) in cases {
            let dir = TestDir::new();
            let key = dir.ftok_key(self.proj);
            let squatter = setup(self.kind, key);
            let before = sysv::find(self.kind, key).unwrap();

            let ended = self.example(&dir).run();

            assert_eq!(ended.code, Some(1), "{case}: {ended:#?}");
            assert!(ended.lines.is_empty(), "{case}: {ended:#?}");
            let named = format!("{}{})", self.object_prefix(key), squatter.id);
            assert!(ended.stderr.contains(&named), "{case}: {ended:#?}");
            assert!(ended.stderr.contains(reason), "{case}: {ended:#?}");
            assert!(ended.stderr.contains("left alone"), "{case}: {ended:#?}");
            assert_eq!(ended.stderr.lines().count(), 1, "{case}: {ended:#?}");
            assert_eq!(
                sysv::find(self.kind, key),
                Some(before),
                "{case}: untouched"
            );
        }
    }

    /// A second run at the same key while the first runs: it exits 1 with
    /// one line, and the first goes on undisturbed.
    pub fn runs_one_at_a_time_per_key(&self) {
        let dir = TestDir::new();
        let key = dir.ftok_key(self.proj);
        let example = self.example(&dir);
        let points = stopping_points(&example);
        let first = example.start_held(points[1]);
        let object = sysv::find(self.kind, key).unwrap();

        let second = example.run();

        assert_eq!(second.code, Some(1), "{second:#?}");
        assert!(second.lines.is_empty());
        assert!(
            second.stderr.contains("another run is using it"),
            "{second:#?}"
        );
        assert!(
            second.stderr.contains(&format!("{key:#010x}")),
            "{second:#?}"
        );
        assert_eq!(second.stderr.lines().count(), 1);
        assert_eq!(
            sysv::find(self.kind, key),
            Some(object),
            "first undisturbed"
        );

        let first = first.finish();
        assert_eq!(first.code, Some(0), "{first:#?}");
        assert_eq!(first.lines.len(), points.len() - 1, "{first:#?}");
        self.assert_no_object(key, &first);
    }

    /// Twenty runs at twenty keys at once: all of them succeed, each with
    /// all its lines, and none leaves its object.
    pub fn runs_twenty_side_by_side(&self) {
        let dirs: Vec<TestDir> = (0..20).map(|_| TestDir::new()).collect();
        let lines_of_a_run = stopping_points(&self.example(&dirs[0])).len() - 1;
        let runs: Vec<_> = dirs
            .iter()
            .map(|dir| {
                let example = self.example(dir);
                thread::spawn(move || example.run())
            })
            .collect();
        for (run, dir) in runs.into_iter().zip(&dirs) {
            let ended = run.join().unwrap();
            assert_eq!(ended.code, Some(0), "{ended:#?}");
            assert_eq!(ended.stderr, "", "{ended:#?}");
            assert_eq!(ended.lines.len(), lines_of_a_run, "{ended:#?}");
            self.assert_no_object(dir.ftok_key(self.proj), &ended);
        }
    }

    /// With the system's limit on objects of this kind set to `value` in an
    /// IPC namespace of its own: one line naming the limit, exit 1.
    pub fn reports_a_system_limit(&self, sysctl: &str, value: &str) {
        let dir = TestDir::new();
        let Some(mut command) = in_ipc_namespace(&self.example(&dir), sysctl, value) else {
            return;
        };
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(output.stdout.is_empty());
        assert!(
            stderr.starts_with(&format!(
                "{}: No space left on device",
                self.kind.get_call()
            )),
            "{stderr}"
        );
        assert!(stderr.contains(sysctl), "names the limit: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }

    /// With `ulimit -n 4`, one descriptor beyond stdin, stdout and stderr
    /// (the dynamic loader needs one to start the program at all): enough
    /// for a System V example, whose only descriptor is its claim on the
    /// key. It runs to the end, and leaves nothing.
    pub fn needs_one_spare_descriptor(&self) {
        let dir = TestDir::new();
        let mut command = self.example(&dir).command();
        faults::limit_descriptors(&mut command, 4);
        let output = command.stdin(Stdio::null()).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        assert_eq!(stderr, "");
        assert!(sysv::find(self.kind, dir.ftok_key(self.proj)).is_none());
    }

    /// As `nobody`, the object can be neither used nor removed.
    pub fn keeps_other_users_out(&self) {
        let dir = TestDir::new();
        let key = dir.ftok_key(self.proj);
        let held = self.example(&dir).start_held(0);
        let object = sysv::find(self.kind, key).unwrap();
        let id = object.id;

        let used = as_nobody(|| match self.kind {
            // SAFETY: shmat with a null address; a raw system call.
            Kind::Shm => errno_of(unsafe { libc::shmat(id, std::ptr::null(), 0) } as libc::c_long),
            Kind::Msg => {
                let mut buffer = [0_u8; 64];
                // SAFETY: room for a long type and 56 bytes of text.
                errno_of(unsafe {
                    libc::msgrcv(id, buffer.as_mut_ptr().cast(), 56, 0, libc::IPC_NOWAIT)
                } as libc::c_long)
            }
            Kind::Sem => {
                let mut down = libc::sembuf {
                    sem_num: 0,
                    sem_op: -1,
                    sem_flg: libc::IPC_NOWAIT as libc::c_short,
                };
                // SAFETY: one sembuf for semaphore 0.
                errno_of(unsafe { libc::semop(id, &mut down, 1) }.into())
            }
        });
        let removed = as_nobody(|| {
            let call = match self.kind {
                // SAFETY: IPC_RMID takes no buffer.
                Kind::Shm => unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) },
                // SAFETY: as above.
                Kind::Msg => unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) },
                // SAFETY: IPC_RMID takes no fourth argument.
                Kind::Sem => unsafe { libc::semctl(id, 0, libc::IPC_RMID) },
            };
            errno_of(call.into())
        });
        let ended = held.finish();

        if let (Some(used), Some(removed)) = (used, removed) {
            assert_eq!(used, libc::EACCES, "nobody may not use {object:?}");
            assert_eq!(removed, libc::EPERM, "nobody may not remove {object:?}");
        }
        assert_eq!(ended.code, Some(0), "{ended:#?}");
        self.assert_no_object(key, &ended);
    }

    /// The whole run in a pipe whose reader stops after one line
    /// (`| head -1`): exit 1, one line, nothing left.
    pub fn survives_head_1(&self) {
        let dir = TestDir::new();
        faults::assert_head_1_is_one_clean_line(&self.example(&dir));
        assert!(sysv::find(self.kind, dir.ftok_key(self.proj)).is_none());
    }
}
