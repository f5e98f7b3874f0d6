//! `show`: the kernel's view of the queue, as `msgctl(IPC_STAT)` reports
//! it, the messages it holds (copied out with `msgrcv(MSG_COPY)`, which
//! leaves them queued), and what A and B are doing.

use libc::c_int;
use nix::errno::Errno;

use crate::peers::{Peers, State};
use crate::queue::{self, bytes, describe_type, quoted};

/// Prints the kernel's view of queue `id`, its messages, and A's and B's state.
pub fn show(peers: &mut Peers, id: c_int) -> anyhow::Result<()> {
    let ds = queue::stat(id)?;
    let (a, b) = (peers.a.link.pid().as_raw(), peers.b.link.pid().as_raw());
    let who = |pid: libc::pid_t| {
        if pid == 0 {
            "nobody yet".to_owned()
        } else if pid == a {
            format!("pid {pid} (A)")
        } else if pid == b {
            format!("pid {pid} (B)")
        } else {
            format!("pid {pid}")
        }
    };
    let lines = [
        format!("queue {id}, as msgctl(IPC_STAT) reports it:"),
        format!(
            "  msg_qnum {}, msg_cbytes {}: {} and {} of text queued in the kernel",
            ds.msg_qnum,
            ds.__msg_cbytes,
            plural(ds.msg_qnum, "message"),
            plural(ds.__msg_cbytes, "byte")
        ),
        format!(
            "  msg_qbytes {}: the limit; a msgsnd that would pass it sleeps",
            ds.msg_qbytes
        ),
        format!(
            "  last msgsnd: {}{} (msg_lspid, msg_stime)",
            who(ds.msg_lspid),
            at(ds.msg_stime)
        ),
        format!(
            "  last msgrcv: {}{} (msg_lrpid, msg_rtime)",
            who(ds.msg_lrpid),
            at(ds.msg_rtime)
        ),
        format!(
            "  created or last changed by IPC_SET{} (msg_ctime)",
            at(ds.msg_ctime)
        ),
    ];
    for line in lines {
        peers.console.say(line)?;
    }

    // The messages themselves, oldest first, copied without removing them.
    if ds.msg_qnum > 0 {
        peers.console.say(
            "  queued, oldest first (msgrcv with MSG_COPY copies a message and leaves it queued):",
        )?;
    }
    for index in 0.. {
        match queue::peek(id, index) {
            Ok(Some((mtype, text))) => peers.console.say(format_args!(
                "    {}. type {mtype}, {}: {}",
                index + 1,
                bytes(text.len()),
                quoted(&text)
            ))?,
            Ok(None) => break,
            Err(Errno::ENOSYS) => {
                peers.console.say(
                    "    (this kernel cannot copy a message without receiving it: \
                     msgrcv's MSG_COPY needs CONFIG_CHECKPOINT_RESTORE)",
                )?;
                break;
            }
            Err(errno) => return Err(common::SysError::new("msgrcv(MSG_COPY)", errno).into()),
        }
    }

    for who in ['A', 'B'] {
        let tag = peers.process(who).link.tag();
        let doing = match peers.process(who).state {
            State::Idle => "awake, waiting for the controller's next command".to_owned(),
            State::Receiving(mtype) => {
                format!("asleep in msgrcv, waiting for {}", describe_type(mtype))
            }
            State::Sending(_, len) => {
                format!("asleep in msgsnd, waiting for room for {}", bytes(len))
            }
        };
        peers.console.say(format_args!("{tag}: {doing}"))?;
    }
    Ok(())
}

/// " at 12:34:56 UTC", or "" for a time that never was.
fn at(time: libc::time_t) -> String {
    if time == 0 {
        String::new()
    } else {
        let seconds = time.rem_euclid(86_400);
        format!(
            " at {:02}:{:02}:{:02} UTC",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }
}

/// "1 message", "2 messages".
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_as_utc_clock_times() {
        assert_eq!(at(0), "");
        assert_eq!(at(86_400 + 3600 + 61), " at 01:01:01 UTC");
    }
}
