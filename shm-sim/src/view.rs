//! `show`: the segment's data region as the controller sees it through its
//! own mapping, as hex and ASCII with the last write marked, then the
//! kernel's view (`shmctl(IPC_STAT)`): it saw the attaches, and no read or
//! write.

use std::sync::atomic::Ordering;

use libc::c_int;
use sim::console::Console;

use crate::segment::{self, DATA_LEN, Mapping};
use crate::worker::bytes;

/// Who wrote which bytes last, for `show` to mark.
#[derive(Debug)]
pub struct LastWrite {
    pub who: String,
    pub offset: usize,
    pub len: usize,
}

/// The data region as the controller sees it through its own mapping
/// (`mapping` of segment `id`), 16 bytes a row with `last_write` marked,
/// then what the kernel knows of the segment.
pub fn show(
    console: &Console,
    mapping: &Mapping,
    id: c_int,
    last_write: Option<&LastWrite>,
) -> anyhow::Result<()> {
    let region: Vec<u8> = mapping
        .data()
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    let marked = |i: usize| last_write.is_some_and(|w| (w.offset..w.offset + w.len).contains(&i));
    let say = |line: &dyn std::fmt::Display| console.say(line);

    say(&format_args!(
        "segment {}, bytes 0-{}, as the controller (pid {}) sees them (offsets in decimal):",
        id,
        DATA_LEN - 1,
        std::process::id()
    ))?;
    for (row, chunk) in region.chunks(16).enumerate() {
        let start = row * 16;
        let mut hex = String::new();
        let mut marks = String::new();
        let mut ascii = String::new();
        let mut ascii_marks = String::new();
        for (i, &byte) in chunk.iter().enumerate() {
            let gap = if i == 8 { " " } else { "" };
            let mark = marked(start + i);
            let shown = char::from(if byte.is_ascii_graphic() || byte == b' ' {
                byte
            } else {
                b'.'
            });
            let (cell, letter) = (format!("{byte:02x}"), shown.to_string());
            let (cell, letter) = if mark {
                (console.paint(&cell, "1;33"), console.paint(&letter, "1;33"))
            } else {
                (cell, letter)
            };
            hex.push_str(&format!("{gap} {cell}"));
            marks.push_str(&format!("{gap} {}", if mark { "^^" } else { "  " }));
            ascii.push_str(&letter);
            ascii_marks.push(if mark { '^' } else { ' ' });
        }
        say(&format_args!("{start:4} {hex}  |{ascii}|"))?;
        if marks.contains('^') {
            let line = format!("     {marks}   {ascii_marks}");
            say(&line.trim_end())?;
        }
    }
    match last_write {
        Some(w) => say(&format_args!(
            "^ marks the last write: {} by {}, offsets {}-{}",
            bytes(w.len),
            w.who,
            w.offset,
            w.offset + w.len - 1
        ))?,
        None => say(&"no write yet")?,
    }

    // The kernel's view: it counted the attaches, and saw no access.
    let segment = segment::stat(id)?;
    say(&format_args!(
        "kernel's view (shmctl IPC_STAT): {} bytes, {} attached (A, B and the controller), \
         created by pid {}, last shmat/shmdt by pid {}",
        segment.shm_segsz, segment.shm_nattch, segment.shm_cpid, segment.shm_lpid
    ))?;
    if segment::marked_for_removal(&segment) {
        say(&format_args!(
            "marked for removal (SHM_DEST in shm_perm.mode): removed from outside (ipcrm -m {id}, \
             or shmctl IPC_RMID); the kernel frees it when the last of the {} attached detaches, \
             and the session goes on with it",
            segment.shm_nattch
        ))?;
    }
    say(&"the kernel saw the attaches, and no read or write: those are loads and stores")?;
    Ok(())
}
