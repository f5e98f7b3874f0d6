//! What the kernel lists in `/proc/sysvipc/{shm,msg,sem}`: the System V
//! objects on the machine, found by key or id, and a [`Squatter`], an
//! object a test puts at a key before it runs an example there.

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
                unsafe { libc::semctl(self.id, 0, libc::IPC_SET, &mut stat as *mut libc::semid_ds) }
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

/// Checks what a System V example's `run` says of an `FTOK_PATH` with a NUL
/// byte in it, which no command line can hold but any other caller can pass:
/// one clear error, `ftok("a\0b", 'b'): Invalid argument`, where `proj` is
/// the example's project byte.
pub fn assert_nul_in_path_is_one_error<E: std::fmt::Display>(
    run: impl FnOnce(std::ffi::OsString) -> Result<(), E>,
    proj: char,
) {
    use std::os::unix::ffi::OsStringExt;
    let error = match run(std::ffi::OsString::from_vec(b"a\0b".to_vec())) {
        Err(error) => format!("{error:#}"),
        Ok(()) => panic!("a path with a NUL byte was accepted"),
    };
    assert_eq!(
        error,
        format!("ftok(\"a\\0b\", '{proj}'): Invalid argument")
    );
}
