//! msgqueue while other programs and the user act on its queue: `ipcrm`
//! at each line and while the parent waits in msgrcv, another program of
//! the same user sending and taking messages on it (as `c/msgqueue.c` run
//! at the same key does), Ctrl-Z or SIGSTOP then SIGCONT of either process,
//! and a stdout that fails. The sweeps are in `tests::sysv_interference`.

use assert_cmd::cargo::cargo_bin;
use tests::SysvExample;
use tests::sysv::{Kind, Object};

fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("msgqueue"),
        kind: Kind::Msg,
        proj: b'b',
        created: "Message queue created: ",
    }
}

/// `msgsnd(id, {msg_type, text}, strlen(text) + 1, IPC_NOWAIT)`.
fn send(queue: &Object, msg_type: libc::c_long, text: &str) {
    let mut message = (msg_type, [0_u8; 100]);
    message.1[..text.len()].copy_from_slice(text.as_bytes());
    // SAFETY: a long type followed by 100 bytes, of which len + 1 are sent.
    let sent = unsafe {
        libc::msgsnd(
            queue.id,
            std::ptr::from_ref(&message).cast(),
            text.len() + 1,
            libc::IPC_NOWAIT,
        )
    };
    assert_eq!(sent, 0, "msgsnd: {}", std::io::Error::last_os_error());
}

/// `msgrcv(id, buffer, 100, msg_type, IPC_NOWAIT)`: takes the first message
/// of `msg_type`, if there is one.
fn take(queue: &Object, msg_type: libc::c_long) {
    let mut message = (0 as libc::c_long, [0_u8; 100]);
    // SAFETY: room for a long type and 100 bytes of text.
    unsafe {
        libc::msgrcv(
            queue.id,
            std::ptr::from_mut(&mut message).cast(),
            100,
            msg_type,
            libc::IPC_NOWAIT,
        )
    };
}

#[test]
fn ipcrm_at_any_line_is_one_line_and_exit_1() {
    example().removed_by_ipcrm_at_each_line();
}

#[test]
fn ipcrm_while_the_parent_waits_in_msgrcv_is_one_line_and_exit_1() {
    // Room for three lines: the child blocks printing what it received,
    // before it replies, and the parent waits for the reply in msgrcv.
    example().removed_while_asleep_in(3, libc::SYS_msgrcv, "msgrcv");
}

#[test]
fn the_c_listing_at_the_same_key_is_noticed() {
    // What c/msgqueue.c does with IPC_CREAT and no IPC_EXCL: it gets our
    // queue, sends its type 1, takes a type 2 (here without waiting), and
    // removes the queue.
    example().notices_meddling_at_each_line(
        |queue| {
            send(queue, 1, "Hello from the parent process!");
            take(queue, 2);
            // SAFETY: IPC_RMID takes no buffer.
            unsafe { libc::msgctl(queue.id, libc::IPC_RMID, std::ptr::null_mut()) };
        },
        "another program",
    );
}

#[test]
fn messages_another_program_sends_are_noticed() {
    example().notices_meddling_at_each_line(
        |queue| {
            send(queue, 1, "Hello from another program!");
            send(queue, 2, "Hello from another program!");
        },
        "another program",
    );
}

#[test]
fn messages_with_the_same_text_are_noticed() {
    example().notices_meddling_at_each_line(
        |queue| {
            send(queue, 1, "Hello from the parent process!");
            send(queue, 2, "Hello from the child process!");
        },
        "another program",
    );
}

#[test]
fn a_message_another_program_takes_is_noticed() {
    // Another program waits in msgrcv for any message and takes the next
    // one, which is the run's own: the process it was for would wait for
    // it for ever. (Its thread ends when the queue is removed.)
    example().notices_meddling_at_each_line(
        |queue| {
            let id = queue.id;
            std::thread::spawn(move || {
                let mut message = (0 as libc::c_long, [0_u8; 100]);
                // SAFETY: room for a long type and 100 bytes of text.
                unsafe { libc::msgrcv(id, std::ptr::from_mut(&mut message).cast(), 100, 0, 0) };
            });
        },
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
