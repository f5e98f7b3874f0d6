//! POSIX shared memory: `shm_open` a name, size it with `ftruncate`, `mmap`
//! it. The object is named `/ipc-bench-<pid>-<n>` (it appears as
//! `/dev/shm/ipc-bench-<pid>-<n>`), created with `O_EXCL` and mode 0600, and
//! unlinked when the channel is dropped.

use nix::fcntl::OFlag;
use nix::sys::mman::{shm_open, shm_unlink};
use nix::sys::stat::Mode;
use nix::unistd::ftruncate;

use common::Perror;

use super::ring::{Mapping, RingEnd, Wake, region_bytes};
use super::{Channel, Ctx, Endpoint, Shape, Side};

/// The name, unlinked when dropped.
#[derive(Debug)]
struct Name(String);

impl Drop for Name {
    fn drop(&mut self) {
        let _ = shm_unlink(self.0.as_str());
    }
}

#[derive(Debug)]
struct PosixShm {
    // Fields drop in this order: unmap, then unlink.
    mapping: Mapping,
    _name: Name,
    shape: Shape,
    wake: Wake,
}

pub fn open(ctx: &Ctx<'_>, shape: Shape, wake: Wake) -> anyhow::Result<Box<dyn Channel>> {
    let name = format!("/ipc-bench-{}-{}", std::process::id(), ctx.serial);
    let fd = shm_open(
        name.as_str(),
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
        Mode::S_IRUSR | Mode::S_IWUSR,
    )
    .perror(format!("shm_open(\"{name}\")"))?;
    let name = Name(name);
    let len = region_bytes(shape);
    ftruncate(&fd, i64::try_from(len)?).perror("ftruncate")?;
    // The mapping keeps the memory; the descriptor is closed at the end of
    // this function.
    let mapping = Mapping::of_fd(&fd, len)?;
    Ok(Box::new(PosixShm {
        mapping,
        _name: name,
        shape,
        wake,
    }))
}

impl Channel for PosixShm {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        // SAFETY: the mapping is shared, page-aligned, zeroed by ftruncate,
        // `region_bytes` long, and outlives the endpoint (borrowed from
        // `self`); both sides use the same shape.
        let end = unsafe { RingEnd::new(self.mapping.base(), self.shape, side, self.wake) };
        Ok(Box::new(end))
    }
}
