//! Names for a test's objects: a unique name, a fresh temporary directory
//! that is also the test's `ftok` path (with its key claimed), and where a
//! POSIX shared memory object or a socket lives.

use std::ffi::CString;
use std::fs;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::sysv;

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

/// Where a POSIX shared memory object named `name` (`/something`) lives.
pub fn dev_shm(name: &str) -> PathBuf {
    Path::new("/dev/shm").join(name.trim_start_matches('/'))
}

/// Whether anything exists at `path`, a dangling symlink or socket included.
pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}
