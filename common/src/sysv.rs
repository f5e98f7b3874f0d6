//! What the three System V examples (`shm-sysv`, `msgqueue`, `semaphore`)
//! add to their listings, written once: the key, one run per key, a
//! crashed run's object reclaimed from what `IPC_STAT` says, the guard that
//! removes the object on every path (with the notice), and the hints.
//!
//! Another process of the same user can open the same object (the C
//! listings create theirs with `IPC_CREAT | 0666` and no `IPC_EXCL`, so run
//! at the same key they get ours), write to it, or remove it (`ipcrm`). What
//! a run can notice of that is told here, once for the run ([`interfered`],
//! [`told_interference`]): one line naming the object and what happened.
//!
//! The listing's own calls stay in each example's `main.rs`, by their C
//! names; the thin wrappers here ([`shmget`], [`msgget`], [`semget`],
//! [`shmctl`], [`msgctl`], [`semctl`]) only make them safe to call.

use std::ffi::{CString, OsStr};
use std::fmt;
use std::mem::{ManuallyDrop, MaybeUninit};
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use anyhow::anyhow;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
use nix::sys::wait::{Id, WaitPidFlag, waitid};
use nix::unistd::{Pid, getpid};

use libc::{IPC_RMID, IPC_STAT, c_int, key_t};
use nix::errno::Errno;

use crate::error::{Perror, SysError};
use crate::leftover::{self, Claim, Found};
use crate::state;

/// What to do about an object at the key that is not ours to remove.
pub const ADVICE: &str = "choose another FTOK_PATH";

/// The three kinds of System V IPC object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A shared memory segment (`shmget`, `ipcs -m`).
    Shm,
    /// A message queue (`msgget`, `ipcs -q`).
    Msg,
    /// A semaphore set (`semget`, `ipcs -s`).
    Sem,
}

impl Kind {
    /// "shared memory segment", "message queue", "semaphore set".
    pub fn what(self) -> &'static str {
        match self {
            Kind::Shm => "shared memory segment",
            Kind::Msg => "message queue",
            Kind::Sem => "semaphore set",
        }
    }

    /// The letter `ipcs` and `ipcrm` take for the kind: `m`, `q`, `s`.
    pub fn ipcs(self) -> char {
        match self {
            Kind::Shm => 'm',
            Kind::Msg => 'q',
            Kind::Sem => 's',
        }
    }

    /// The `*get` call: `shmget`, `msgget`, `semget`.
    fn get_call(self) -> &'static str {
        match self {
            Kind::Shm => "shmget",
            Kind::Msg => "msgget",
            Kind::Sem => "semget",
        }
    }

    /// The `*ctl` call: `shmctl`, `msgctl`, `semctl`.
    fn ctl_call(self) -> &'static str {
        match self {
            Kind::Shm => "shmctl",
            Kind::Msg => "msgctl",
            Kind::Sem => "semctl",
        }
    }

    /// What the guard's notice calls the object: "segment", "queue", "set".
    fn short(self) -> &'static str {
        match self {
            Kind::Shm => "segment",
            Kind::Msg => "queue",
            Kind::Sem => "set",
        }
    }

    /// The advice for `ENOSPC` from the `*get` call: which limit is reached.
    fn limit_hint(self) -> &'static str {
        match self {
            Kind::Shm => {
                "the system's limit on shared memory segments (kernel.shmmni) is reached; \
                 `ipcs -m` lists them"
            }
            Kind::Msg => {
                "the system's limit on message queues (kernel.msgmni) is reached; \
                 `ipcs -q` lists them"
            }
            Kind::Sem => {
                "the system's limit on semaphore sets (kernel.sem, its fourth field) \
                 is reached; `ipcs -s` lists them"
            }
        }
    }

    /// `*ctl(id, IPC_RMID)`.
    fn rmid(self, id: c_int) -> Result<(), Errno> {
        match self {
            Kind::Shm => shmctl(id, IPC_RMID).map(drop),
            Kind::Msg => msgctl(id, IPC_RMID).map(drop),
            Kind::Sem => semctl(id, 0, IPC_RMID).map(drop),
        }
    }
}

/// The object's name in every message: `message queue 0x62012345 (id 7)`.
fn object(kind: Kind, key: key_t, id: c_int) -> String {
    format!("{} {key:#010x} (id {id})", kind.what())
}

/// `ftok(3)`: the System V key that every process naming the same existing
/// file and the same project byte computes.
pub fn ftok(path: &OsStr, proj: u8) -> Result<key_t, SysError> {
    // `{:?}` quotes the path and escapes what a terminal would not show.
    let call = format!("ftok({path:?}, '{}')", char::from(proj));
    // A command-line argument never holds a NUL byte; any other caller
    // learns here that a C string cannot hold one.
    let c_path = CString::new(path.as_bytes()).map_err(|_| SysError::new(&call, Errno::EINVAL))?;
    // SAFETY: `c_path` is a NUL-terminated string that outlives the call.
    Errno::result(unsafe { libc::ftok(c_path.as_ptr(), proj.into()) }).perror(call)
}

/// `shmget(2)`.
pub fn shmget(key: key_t, size: usize, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: shmget takes no pointers.
    Errno::result(unsafe { libc::shmget(key, size, flags) })
}

/// `msgget(2)`.
pub fn msgget(key: key_t, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: msgget takes no pointers.
    Errno::result(unsafe { libc::msgget(key, flags) })
}

/// `semget(2)`.
pub fn semget(key: key_t, nsems: c_int, flags: c_int) -> Result<c_int, Errno> {
    // SAFETY: semget takes no pointers.
    Errno::result(unsafe { libc::semget(key, nsems, flags) })
}

/// `shmctl(shmid, cmd, NULL)`, for a command that takes no buffer
/// (`IPC_RMID`); one that needs a buffer fails with `EFAULT`.
pub fn shmctl(shmid: c_int, cmd: c_int) -> Result<c_int, Errno> {
    // SAFETY: with a null buffer the kernel reads and writes no memory of
    // ours: a command that needs one fails with EFAULT.
    Errno::result(unsafe { libc::shmctl(shmid, cmd, ptr::null_mut()) })
}

/// `msgctl(msqid, cmd, NULL)`, for a command that takes no buffer
/// (`IPC_RMID`); one that needs a buffer fails with `EFAULT`.
pub fn msgctl(msqid: c_int, cmd: c_int) -> Result<c_int, Errno> {
    // SAFETY: with a null buffer the kernel reads and writes no memory of
    // ours: a command that needs one fails with EFAULT.
    Errno::result(unsafe { libc::msgctl(msqid, cmd, ptr::null_mut()) })
}

/// `semctl(semid, semnum, cmd)`, for a command without a fourth argument
/// (`IPC_RMID`, `GETVAL`, `GETPID`, `GETNCNT`, `GETZCNT`); any other is
/// refused with `EINVAL` before the call.
pub fn semctl(semid: c_int, semnum: c_int, cmd: c_int) -> Result<c_int, Errno> {
    if ![
        IPC_RMID,
        libc::GETVAL,
        libc::GETPID,
        libc::GETNCNT,
        libc::GETZCNT,
    ]
    .contains(&cmd)
    {
        return Err(Errno::EINVAL);
    }
    // SAFETY: these commands read no fourth argument, so none is passed.
    Errno::result(unsafe { libc::semctl(semid, semnum, cmd) })
}

/// One run per key at a time: claims `key` for `program` ("msgqueue") until
/// this run and its child end; a second run stops here with an error (see
/// [`leftover::claim`]). While the claim is held, an object found at the
/// key can only be a crashed run's.
pub fn claim(program: &str, kind: Kind, key: key_t) -> anyhow::Result<Claim> {
    let what = match kind {
        Kind::Shm => "shared memory",
        Kind::Msg => "message queue",
        Kind::Sem => "semaphore",
    };
    leftover::claim(
        &format!("{program} {key:#010x}"),
        &format_args!("{what} key {key:#010x}"),
        ADVICE,
    )
}

/// Runs `get`, the listing's `*get` call with `IPC_CREAT | IPC_EXCL`; if an
/// object already has the key and a crashed run left it, removes it (with a
/// notice) and runs `get` once more. `size` is what the example creates:
/// bytes of a segment, semaphores of a set (a queue has none). Anything else
/// at the key is left alone, and the error says what to do.
pub fn create_reclaiming(
    kind: Kind,
    key: key_t,
    size: Option<u64>,
    mut get: impl FnMut() -> Result<c_int, Errno>,
) -> anyhow::Result<c_int> {
    let mut created = get();
    if created == Err(Errno::EEXIST) {
        reclaim_leftover(kind, key, size)?;
        created = get();
    }
    let id = created.perror(kind.get_call()).map_err(|e| {
        e.hint_for(Errno::EEXIST, || {
            key_taken_hint(kind.what(), kind.ipcs(), key)
        })
        .hint_for(Errno::ENOSPC, || kind.limit_hint().to_owned())
    })?;
    Ok(id)
}

/// The object at `key` when this run holds the key's claim: `IPC_STAT` says
/// whose it is, how big, and who uses it; a crashed run's is removed, with
/// a notice. The calls, in order: the `*get` that looks it up, `IPC_STAT`
/// (for a set also `GETNCNT`, `GETZCNT`, `GETPID`), then `IPC_RMID`.
fn reclaim_leftover(kind: Kind, key: key_t, size: Option<u64>) -> anyhow::Result<()> {
    let id = match kind {
        Kind::Shm => shmget(key, 0, 0),
        Kind::Msg => msgget(key, 0),
        Kind::Sem => semget(key, 0, 0),
    }
    .perror(kind.get_call())?;
    let object = object(kind, key, id);
    let stat = match kind {
        Kind::Shm => stat_shm(id),
        Kind::Msg => stat_msg(id),
        Kind::Sem => stat_sem(id),
    };
    let stat = match stat {
        Err(Stat::Unreadable) => return Err(leftover::unreadable(&object, ADVICE)),
        Err(Stat::Failed(error)) => return Err(error.into()),
        Ok(stat) => stat,
    };
    let unit = match kind {
        Kind::Shm => "bytes",
        Kind::Msg => "messages",
        Kind::Sem => "semaphores",
    };
    leftover::judge(&Found {
        object: object.clone(),
        owner: stat.owner,
        mode: stat.mode,
        size: size.map(|wanted| (stat.size, wanted, unit)),
        users: stat.users,
        pids: stat.pids,
        advice: ADVICE,
    })?;
    kind.rmid(id)
        .perror(format!("{} IPC_RMID", kind.ctl_call()))?;
    state::removed(object.clone());
    leftover::reclaimed(&object);
    Ok(())
}

/// What `IPC_STAT` (and, for a set, `GETNCNT`, `GETZCNT`, `GETPID`) says.
struct Facts {
    owner: libc::uid_t,
    mode: u32,
    size: u64,
    users: u64,
    pids: Vec<libc::pid_t>,
}

/// Why the facts could not be had.
enum Stat {
    /// `EACCES`: another user's, who did not let us read it.
    Unreadable,
    Failed(SysError),
}

fn stat_result(done: c_int, call: &str) -> Result<(), Stat> {
    match Errno::result(done) {
        Err(Errno::EACCES) => Err(Stat::Unreadable),
        result => result.map(drop).perror(call).map_err(Stat::Failed),
    }
}

fn stat_shm(id: c_int) -> Result<Facts, Stat> {
    let mut stat = MaybeUninit::<libc::shmid_ds>::zeroed();
    // SAFETY: IPC_STAT writes one shmid_ds into `stat`, which has room for it.
    let done = unsafe { libc::shmctl(id, IPC_STAT, stat.as_mut_ptr()) };
    stat_result(done, "shmctl IPC_STAT")?;
    // SAFETY: shmctl succeeded, so it filled the struct (and it was zeroed).
    let stat = unsafe { stat.assume_init() };
    Ok(Facts {
        owner: stat.shm_perm.uid,
        mode: stat.shm_perm.mode.into(),
        size: stat.shm_segsz as u64,
        users: stat.shm_nattch,
        pids: vec![stat.shm_cpid, stat.shm_lpid],
    })
}

fn stat_msg(id: c_int) -> Result<Facts, Stat> {
    let mut stat = MaybeUninit::<libc::msqid_ds>::zeroed();
    // SAFETY: IPC_STAT writes one msqid_ds into `stat`, which has room for it.
    let done = unsafe { libc::msgctl(id, IPC_STAT, stat.as_mut_ptr()) };
    stat_result(done, "msgctl IPC_STAT")?;
    // SAFETY: msgctl succeeded, so it filled the struct (and it was zeroed).
    let stat = unsafe { stat.assume_init() };
    // A queue records no waiters: its last sender and receiver, and the
    // claim, tell whether a run still uses it.
    Ok(Facts {
        owner: stat.msg_perm.uid,
        mode: stat.msg_perm.mode.into(),
        size: stat.msg_qnum,
        users: 0,
        pids: vec![stat.msg_lspid, stat.msg_lrpid],
    })
}

/// `union semun` as `semctl(IPC_STAT)` takes it: a pointer to the buffer.
#[repr(C)]
union SemunBuf {
    buf: *mut libc::semid_ds,
    _val: c_int,
}

fn stat_sem(id: c_int) -> Result<Facts, Stat> {
    let mut stat = MaybeUninit::<libc::semid_ds>::zeroed();
    let arg = SemunBuf {
        buf: stat.as_mut_ptr(),
    };
    // SAFETY: IPC_STAT writes one semid_ds where the union's `buf` points,
    // which has room for it.
    let done = unsafe { libc::semctl(id, 0, IPC_STAT, arg) };
    stat_result(done, "semctl IPC_STAT")?;
    // SAFETY: semctl succeeded, so it filled the struct (and it was zeroed).
    let stat = unsafe { stat.assume_init() };
    let get = |cmd| semctl(id, 0, cmd).perror("semctl").map_err(Stat::Failed);
    let waiting = get(libc::GETNCNT)? + get(libc::GETZCNT)?;
    Ok(Facts {
        owner: stat.sem_perm.uid,
        mode: stat.sem_perm.mode.into(),
        size: stat.sem_nsems,
        users: waiting.try_into().unwrap_or(0),
        pids: vec![get(libc::GETPID)?],
    })
}

/// An object this run created, removed exactly once, by its creator:
/// [`Owned::remove`] is the listing's `*ctl(id, IPC_RMID)`, and if the
/// parent leaves before that (an error, a panic, Ctrl-C or SIGTERM),
/// dropping the guard removes it. Only the parent owns one; its child gets
/// the id alone, so it can never remove the object. Each removal is recorded
/// for the notice an interrupted run ends with.
#[derive(Debug)]
pub struct Owned {
    kind: Kind,
    key: key_t,
    id: c_int,
}

impl Owned {
    /// Takes charge of the object `id`, which the `*get` call just created;
    /// it is also the object that [`interfered`] and
    /// [`told_interference`] speak of (and the child, forked later, knows
    /// it too).
    pub fn adopt(kind: Kind, key: key_t, id: c_int) -> Self {
        let _ = THIS_RUN.set(ThisRun {
            kind,
            key,
            id,
            told: told_word(),
        });
        Self { kind, key, id }
    }

    /// The object's id.
    pub fn id(&self) -> c_int {
        self.id
    }

    /// Removes the object with `rmid`, the listing's call (`|shmid|
    /// shmctl(shmid, IPC_RMID)`), once: the guard is not dropped afterwards.
    pub fn remove(self, rmid: impl FnOnce(c_int) -> Result<c_int, Errno>) -> Result<(), Errno> {
        let this = ManuallyDrop::new(self);
        rmid(this.id)?;
        REMOVED_BY_US.store(true, Ordering::SeqCst);
        state::removed(object(this.kind, this.key, this.id));
        Ok(())
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        let Self { kind, key, id } = *self;
        match kind.rmid(id) {
            Ok(()) => {
                REMOVED_BY_US.store(true, Ordering::SeqCst);
                state::removed(object(kind, key, id));
            }
            // Another process removed it: `told_interference` says so.
            Err(Errno::EINVAL | Errno::EIDRM) => {}
            Err(errno) => {
                let call = match kind {
                    Kind::Sem => "semctl IPC_RMID",
                    _ => kind.ctl_call(),
                };
                crate::note!(
                    "{call}: {}; remove {} {id} with `ipcrm -{} {id}`",
                    errno.desc(),
                    kind.short(),
                    kind.ipcs()
                );
            }
        }
    }
}

/// The advice for a System V key that an object already has (`EEXIST` from
/// a `*get` call with `IPC_EXCL`): how to see the object, and how to remove
/// it if a crashed run left it. `what` is `shared memory segment`,
/// `message queue` or `semaphore set`; `ipcs` is `m`, `q` or `s`.
pub fn key_taken_hint(what: &str, ipcs: char, key: key_t) -> String {
    let ipcrm = ipcs.to_ascii_uppercase();
    format!(
        "a {what} with key {key:#010x} already exists (`ipcs -{ipcs}` lists it); \
         if no run is using it, remove it with `ipcrm -{ipcrm} {key:#010x}`"
    )
}

/// The object this run created, as [`Owned::adopt`] recorded it, and the
/// word that the parent and its child share to tell an interference once.
struct ThisRun {
    kind: Kind,
    key: key_t,
    id: c_int,
    told: Option<&'static AtomicU32>,
}

static THIS_RUN: OnceLock<ThisRun> = OnceLock::new();

/// Whether this run removed its object itself (the listing's `*ctl`, or
/// the guard): then its absence is no interference.
static REMOVED_BY_US: AtomicBool = AtomicBool::new(false);

/// What this process noticed another process do to the object.
static NOTICED: Mutex<Option<String>> = Mutex::new(None);

/// A word in memory that the child shares with the parent (it is mapped
/// before the fork): 1 once one of them has told of an interference, so
/// that the other, which fails for the same reason, stays silent. Without
/// it (mmap failed) each process tells what it noticed.
fn told_word() -> Option<&'static AtomicU32> {
    let length = NonZeroUsize::new(size_of::<AtomicU32>())?;
    let flags = MapFlags::MAP_SHARED;
    let protection = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: a new anonymous mapping, where the kernel chooses; nothing
    // else is mapped over. It is never unmapped: it lives as the process.
    let word = unsafe { mmap_anonymous(None, length, protection, flags) }.ok()?;
    // SAFETY: the mapping is page-aligned, zero-filled (a valid AtomicU32
    // holding 0) and never unmapped, so the reference is valid for ever.
    Some(unsafe { word.cast::<AtomicU32>().as_ref() })
}

/// Records that another process did `what` to this run's object, and
/// returns the error that ends the run: `message queue 0x62012345 (id 7):
/// another process sent it a message ...`. The line is printed once, by
/// [`told_interference`].
pub fn interfered(what: impl fmt::Display) -> anyhow::Error {
    let line = match THIS_RUN.get() {
        Some(run) => format!("{}: {what}", object(run.kind, run.key, run.id)),
        None => what.to_string(),
    };
    if let Ok(mut noticed) = NOTICED.lock() {
        noticed.get_or_insert_with(|| line.clone());
    }
    anyhow!(line)
}

/// Called when the parent's run or the child's part fails: whether the
/// failure comes from another process's interference (what [`interfered`]
/// recorded, or the object removed by someone else), told by this process
/// or by the other one. If so, the first of the two to get here prints the
/// one line, and the caller prints nothing more; if not, the caller
/// reports its own error as usual.
pub fn told_interference() -> bool {
    let Some(run) = THIS_RUN.get() else {
        return false;
    };
    let noticed = NOTICED.lock().ok().and_then(|noticed| noticed.clone());
    let line = noticed.or_else(|| {
        run.gone().then(|| {
            format!(
                "{}: another program removed it while the run was using it (`ipcrm`?)",
                object(run.kind, run.key, run.id)
            )
        })
    });
    match (line, run.told) {
        (Some(line), Some(told)) => {
            if told.swap(1, Ordering::SeqCst) == 0 {
                crate::note!("{line}");
            }
            true
        }
        (Some(line), None) => {
            crate::note!("{line}");
            true
        }
        (None, told) => told.is_some_and(|told| told.load(Ordering::SeqCst) != 0),
    }
}

impl ThisRun {
    /// Whether another process removed the object: its id is no longer
    /// valid, or (a segment that is still attached) it is marked for
    /// removal.
    fn gone(&self) -> bool {
        if REMOVED_BY_US.load(Ordering::SeqCst) {
            return false;
        }
        let removed = |errno| matches!(errno, Errno::EINVAL | Errno::EIDRM);
        match self.kind {
            Kind::Shm => match segment_stat(self.id) {
                Ok(stat) => c_int::from(stat.shm_perm.mode) & SHM_DEST != 0,
                Err(errno) => removed(errno),
            },
            Kind::Msg => queue_stat(self.id).is_err_and(removed),
            Kind::Sem => semctl(self.id, 0, libc::GETVAL).is_err_and(removed),
        }
    }
}

/// The mode bit of a segment marked for removal, which goes once the last
/// process detaches (`SHM_DEST` in the kernel's `linux/shm.h`).
const SHM_DEST: c_int = 0o1000;

/// `shmctl(shmid, IPC_STAT, &buf)`.
pub fn segment_stat(shmid: c_int) -> Result<libc::shmid_ds, Errno> {
    let mut stat = MaybeUninit::<libc::shmid_ds>::zeroed();
    // SAFETY: IPC_STAT writes one shmid_ds into `stat`, which has room for it.
    Errno::result(unsafe { libc::shmctl(shmid, IPC_STAT, stat.as_mut_ptr()) })?;
    // SAFETY: shmctl succeeded, so it filled the struct (and it was zeroed).
    Ok(unsafe { stat.assume_init() })
}

/// `msgctl(msqid, IPC_STAT, &buf)`.
pub fn queue_stat(msqid: c_int) -> Result<libc::msqid_ds, Errno> {
    let mut stat = MaybeUninit::<libc::msqid_ds>::zeroed();
    // SAFETY: IPC_STAT writes one msqid_ds into `stat`, which has room for it.
    Errno::result(unsafe { libc::msgctl(msqid, IPC_STAT, stat.as_mut_ptr()) })?;
    // SAFETY: msgctl succeeded, so it filled the struct (and it was zeroed).
    Ok(unsafe { stat.assume_init() })
}

/// Whether process `pid` is one of this run's: the parent (which
/// [`crate::main`] runs in), or the parent's child, which `waitid` with
/// `WNOWAIT` finds without reaping it (no file is opened: a run may have
/// no descriptor to spare). Another program of the same user that uses
/// the object is not.
pub fn of_this_run(pid: libc::pid_t) -> bool {
    let pid = Pid::from_raw(pid);
    let me = getpid();
    if pid == me || Some(pid) == state::main_pid() {
        return true;
    }
    let child = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    Some(me) == state::main_pid() && waitid(Id::Pid(pid), child).is_ok()
}

/// What a look at this run's object shows of another process using it, if
/// anything: a segment attached by more than the parent and its child, or
/// last attached or detached by another process; a queue that another
/// process last sent to or took from; a set that another process last
/// changed (`semop`, `SETVAL`). `None` if nothing shows, or if the object
/// cannot be looked at.
pub fn others_using() -> Option<String> {
    let run = THIS_RUN.get()?;
    let other = |pid: libc::pid_t| pid != 0 && !of_this_run(pid);
    match run.kind {
        Kind::Shm => {
            let stat = segment_stat(run.id).ok()?;
            if stat.shm_nattch > 2 {
                return Some(format!(
                    "{} processes have it attached, this run's two and others: \
                     another program is using it",
                    stat.shm_nattch
                ));
            }
            other(stat.shm_lpid).then(|| {
                format!(
                    "process {} attached or detached it: another program is using it",
                    stat.shm_lpid
                )
            })
        }
        Kind::Msg => {
            let stat = queue_stat(run.id).ok()?;
            if other(stat.msg_lspid) {
                return Some(format!(
                    "process {} sent a message to it: another program is using it",
                    stat.msg_lspid
                ));
            }
            other(stat.msg_lrpid).then(|| {
                format!(
                    "process {} took a message from it: another program is using it",
                    stat.msg_lrpid
                )
            })
        }
        Kind::Sem => {
            let pid = semctl(run.id, 0, libc::GETPID).ok()?;
            other(pid)
                .then(|| format!("process {pid} changed its value: another program is using it"))
        }
    }
}
