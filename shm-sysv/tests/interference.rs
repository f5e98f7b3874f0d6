//! shm-sysv while other programs and the user act on its segment: `ipcrm`
//! at each line, another program of the same user attaching it and writing
//! to it (as `c/shm-sysv.c` run at the same key does), Ctrl-Z or SIGSTOP
//! then SIGCONT of either process, and a stdout that fails. The sweeps are
//! in `tests::sysv_interference`.

use assert_cmd::cargo::cargo_bin;
use tests::SysvExample;
use tests::sysv::{Kind, Object};

fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("shm-sysv"),
        kind: Kind::Shm,
        proj: b'a',
        created: "Shared memory segment created: ",
    }
}

/// Attaches the segment, lets `write` change its 1024 bytes, detaches.
fn attach_and(segment: &Object, write: impl FnOnce(&mut [u8])) {
    // SAFETY: shmat with a null address: the kernel picks a free range.
    let address = unsafe { libc::shmat(segment.id, std::ptr::null(), 0) };
    assert_ne!(
        address as isize,
        -1,
        "shmat: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: the segment is 1024 bytes, attached at `address` until shmdt
    // below; the example only ever reads it through atomics and copies.
    write(unsafe { std::slice::from_raw_parts_mut(address.cast::<u8>(), 1024) });
    // SAFETY: the address came from shmat, and the slice is gone.
    assert_eq!(unsafe { libc::shmdt(address) }, 0);
}

/// `strcpy(shm_ptr, text)`.
fn strcpy(memory: &mut [u8], text: &str) {
    memory[..text.len()].copy_from_slice(text.as_bytes());
    memory[text.len()] = 0;
}

#[test]
fn ipcrm_at_any_line_is_one_line_and_exit_1() {
    example().removed_by_ipcrm_at_each_line();
}

#[test]
fn the_c_listing_at_the_same_key_is_noticed() {
    // What c/shm-sysv.c does with IPC_CREAT and no IPC_EXCL: it gets our
    // segment, writes its string into it, and removes it.
    example().notices_meddling_at_each_line(
        |segment| {
            attach_and(segment, |memory| {
                strcpy(memory, "Hello from the parent process!")
            });
            // SAFETY: IPC_RMID takes no buffer.
            unsafe { libc::shmctl(segment.id, libc::IPC_RMID, std::ptr::null_mut()) };
        },
        "another program",
    );
}

#[test]
fn another_string_written_into_it_is_noticed() {
    example().notices_meddling_at_each_line(
        |segment| {
            attach_and(segment, |memory| {
                strcpy(memory, "Hello from another program!")
            })
        },
        "another program",
    );
}

#[test]
fn the_segment_zeroed_under_it_is_noticed() {
    // The flag too: a child that waits for it would wait for ever.
    example().notices_meddling_at_each_line(
        |segment| attach_and(segment, |memory| memory.fill(0)),
        "another program",
    );
}

#[test]
fn stop_and_continue_at_any_line_changes_nothing() {
    example().survives_stop_and_continue_at_each_line();
}

#[test]
fn dev_full_is_one_line() {
    example().fails_cleanly_on_dev_full();
}

#[test]
fn stdout_closed_at_any_line_is_one_line() {
    example().stdout_closed_at_each_line();
}
