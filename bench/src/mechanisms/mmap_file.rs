//! A memory-mapped file: a file in the run's private directory, sized with
//! `set_len` and mapped with `MAP_SHARED`, so that both processes see the
//! same page-cache pages. Once mapped, it is memory like any shared memory:
//! the file system is not involved in passing a message. The wake-up is a
//! futex, which works on a shared file mapping too. The file is created
//! with mode 0600 and removed when the channel is dropped.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use common::Perror;

use super::ring::{Mapping, RingEnd, Wake, region_bytes};
use super::{Channel, Ctx, Endpoint, Shape, Side};

/// The file, removed when dropped.
#[derive(Debug)]
struct File(PathBuf);

impl Drop for File {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[derive(Debug)]
struct MmapFile {
    // Fields drop in this order: unmap, then remove the file.
    mapping: Mapping,
    _file: File,
    shape: Shape,
}

pub fn open(ctx: &Ctx<'_>, shape: Shape) -> anyhow::Result<Box<dyn Channel>> {
    let path = ctx.dir.join(format!("mmap-{}", ctx.serial));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .perror(format!("open(\"{}\")", path.display()))?;
    let guard = File(path);
    let len = region_bytes(shape);
    file.set_len(u64::try_from(len)?).perror("ftruncate")?;
    let mapping = Mapping::of_fd(&file, len)?;
    Ok(Box::new(MmapFile {
        mapping,
        _file: guard,
        shape,
    }))
}

impl Channel for MmapFile {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        // SAFETY: the mapping is shared, page-aligned, zeroed (a new file
        // extended with set_len reads as zeros), `region_bytes` long, and
        // outlives the endpoint (borrowed from `self`).
        let end = unsafe { RingEnd::new(self.mapping.base(), self.shape, side, Wake::Futex) };
        Ok(Box::new(end))
    }
}
