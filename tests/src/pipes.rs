//! Pipes for a program's stdout that stop it at a chosen point: full
//! ([`FullPipe`]), full but for some room ([`FullPipe::with_room`]), or
//! already closed ([`closed_pipe`]).

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::process::Stdio;

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
