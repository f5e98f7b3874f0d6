//! The objects an example creates, where they are for one run, and whether
//! they are there; a lock per fixed name, so that checks of programs that
//! use the same machine-wide name run one at a time.
//!
//! The checker removes only what it saw the checked program create: an
//! object that was not there before a run (the fresh directory's `ftok` key
//! is claimed by [`TestDir`], and a fixed name is checked free under its
//! lock) and is there after it, owned by this user.

use std::fs;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::{Path, PathBuf};

use super::spec::{Kind, Object};
use crate::sysv;
use crate::{TestDir, dev_shm, exists, uid};

/// One object of the spec, placed for a run in a directory.
#[derive(Debug, Clone)]
pub struct Place {
    pub object: Object,
    where_: Where,
}

#[derive(Debug, Clone)]
enum Where {
    Sysv(sysv::Kind, i32),
    Path(PathBuf),
}

impl Place {
    pub fn new(object: &Object, dir: &Path) -> Self {
        let sysv_at = |kind, proj: char| {
            let proj = u8::try_from(proj).unwrap_or(b'?');
            Where::Sysv(kind, crate::ftok(dir, proj))
        };
        let where_ = match &object.kind {
            Kind::SysvShm { proj, .. } => sysv_at(sysv::Kind::Shm, *proj),
            Kind::SysvMsg { proj, .. } => sysv_at(sysv::Kind::Msg, *proj),
            Kind::SysvSem { proj, .. } => sysv_at(sysv::Kind::Sem, *proj),
            Kind::PosixShm { name } => Where::Path(dev_shm(name)),
            Kind::Socket { path } => Where::Path(PathBuf::from(path)),
            Kind::File { path } => Where::Path(dir.join(path)),
        };
        Self {
            object: object.clone(),
            where_,
        }
    }

    /// The places of every object of a spec, for a run in `dir`.
    pub fn all(objects: &[Object], dir: &Path) -> Vec<Self> {
        objects.iter().map(|o| Self::new(o, dir)).collect()
    }

    /// A name every program on the machine shares (not a key of the run's
    /// fresh directory): runs that use it must take turns.
    pub fn fixed_name(&self) -> Option<&Path> {
        match (&self.object.kind, &self.where_) {
            (Kind::PosixShm { .. } | Kind::Socket { .. }, Where::Path(path)) => Some(path),
            _ => None,
        }
    }

    /// What is at the place now, described, or `None` if nothing is.
    pub fn present(&self) -> Option<String> {
        match &self.where_ {
            Where::Sysv(kind, key) => sysv::find(*kind, *key)
                .map(|found| format!("{} {key:#010x} (id {})", kind.what(), found.id)),
            Where::Path(path) => exists(path).then(|| self.describe(path)),
        }
    }

    fn describe(&self, path: &Path) -> String {
        match &self.object.kind {
            Kind::PosixShm { name } => format!("shared memory object {name} ({})", path.display()),
            Kind::Socket { .. } => format!("socket file {}", path.display()),
            _ => format!("file {}", path.display()),
        }
    }

    /// Whether what is at the place belongs to this user, so that the
    /// checked program (run as this user) may have made it.
    fn ours(&self) -> bool {
        match &self.where_ {
            Where::Sysv(kind, key) => sysv::find(*kind, *key).is_some_and(|o| o.uid == uid()),
            Where::Path(path) => fs::symlink_metadata(path).is_ok_and(|m| m.uid() == uid()),
        }
    }

    /// Removes what the checked program left here: it was not here before
    /// the run (the caller knows), and it is this user's. Returns what was
    /// removed, or why it was left alone.
    pub fn remove_leftover(&self) -> Result<String, String> {
        let Some(what) = self.present() else {
            return Ok(String::new());
        };
        if !self.ours() {
            return Err(format!("{what} belongs to another user: left alone"));
        }
        let removed = match &self.where_ {
            Where::Sysv(kind, key) => {
                sysv::find(*kind, *key).is_some_and(|o| remove_sysv(*kind, o.id))
            }
            Where::Path(path) => {
                let is_socket = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
                let removable = match self.object.kind {
                    Kind::Socket { .. } => is_socket,
                    _ => true,
                };
                removable && fs::remove_file(path).is_ok()
            }
        };
        if removed {
            Ok(what)
        } else {
            Err(format!("{what} could not be removed"))
        }
    }
}

fn remove_sysv(kind: sysv::Kind, id: i32) -> bool {
    let removed = match kind {
        // SAFETY: IPC_RMID takes no buffer; null is allowed.
        sysv::Kind::Shm => unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) },
        // SAFETY: as above.
        sysv::Kind::Msg => unsafe { libc::msgctl(id, libc::IPC_RMID, std::ptr::null_mut()) },
        // SAFETY: IPC_RMID takes no fourth argument.
        sysv::Kind::Sem => unsafe { libc::semctl(id, 0, libc::IPC_RMID) },
    };
    removed == 0
}

/// The objects that a run should have removed and are still there.
pub fn left_behind(places: &[Place]) -> Vec<String> {
    places
        .iter()
        .filter(|p| p.object.removed)
        .filter_map(Place::present)
        .collect()
}

/// The objects a run should have kept and are not there.
pub fn not_kept(places: &[Place]) -> Vec<String> {
    places
        .iter()
        .filter(|p| !p.object.removed && p.present().is_none())
        .map(|p| match &p.where_ {
            Where::Path(path) => format!("file {}", path.display()),
            Where::Sysv(kind, key) => format!("{} {key:#010x}", kind.what()),
        })
        .collect()
}

/// Removes every leftover of a run that should have been removed (the
/// caller saw the places empty before the run); returns one line per
/// object removed or left alone.
pub fn clean_up(places: &[Place]) -> Vec<String> {
    places
        .iter()
        .filter(|p| p.object.removed)
        .filter_map(|p| match p.remove_leftover() {
            Ok(what) if what.is_empty() => None,
            Ok(what) => Some(format!("the checker removed {what}, which the run left")),
            Err(why) => Some(why),
        })
        .collect()
}

/// A lock held for as long as a check uses a machine-wide name: an
/// abstract Unix socket bound to a name made from it, which no other
/// process can bind until this one closes it (or dies), and which leaves no
/// file behind. The same kind of claim as [`TestDir`]'s.
#[derive(Debug)]
pub struct NameLock {
    _claim: UnixListener,
}

impl NameLock {
    /// Takes the lock of `name`, waiting for another check that holds it;
    /// `waiting` is called once if it has to wait.
    pub fn take(name: &Path, waiting: impl FnOnce()) -> std::io::Result<Self> {
        let address = SocketAddr::from_abstract_name(format!("ipc-check {}", name.display()))?;
        let mut waiting = Some(waiting);
        loop {
            match UnixListener::bind_addr(&address) {
                Ok(claim) => return Ok(Self { _claim: claim }),
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                    if let Some(waiting) = waiting.take() {
                        waiting();
                    }
                    // Another check holds it: try again shortly.
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// A fresh directory to run in, with its `ftok` keys free and claimed.
pub fn fresh_dir() -> TestDir {
    TestDir::new()
}
