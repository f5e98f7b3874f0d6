//! Signals, which notify but carry no data: the parent sends SIGUSR1 to the
//! child, the child answers with SIGUSR2. `sigqueue` attaches a number to
//! the signal, which here is the sequence number, so that every
//! notification is checked like a message. Both signals are blocked (before
//! the fork, so the child inherits the mask), and each process takes its
//! signal with `sigwaitinfo`, without a handler: the fastest way to wait
//! for a signal. Nothing to remove; the mask is restored when the channel
//! is dropped, after any signal still pending is taken.

use std::mem::MaybeUninit;
use std::ptr;

use anyhow::{anyhow, bail};
use common::Perror;
use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, sigprocmask};
use nix::unistd::Pid;

use super::{Channel, Ctx, Endpoint, Shape, Side};
use crate::stop;

#[derive(Debug)]
struct Signals {
    /// The mask before SIGUSR1 and SIGUSR2 were blocked.
    previous: SigSet,
    both: SigSet,
}

pub fn open(_: &Ctx<'_>, _: Shape) -> anyhow::Result<Box<dyn Channel>> {
    let mut both = SigSet::empty();
    both.add(Signal::SIGUSR1);
    both.add(Signal::SIGUSR2);
    let mut previous = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&both), Some(&mut previous)).perror("sigprocmask")?;
    Ok(Box::new(Signals { previous, both }))
}

impl Drop for Signals {
    fn drop(&mut self) {
        // Take what is still pending, so that unblocking does not deliver a
        // SIGUSR1 (whose default action ends the process).
        let nothing = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        loop {
            // SAFETY: the set is a valid sigset_t, a null info pointer is
            // allowed, and `nothing` is a valid timespec.
            let taken =
                unsafe { libc::sigtimedwait(self.both.as_ref(), ptr::null_mut(), &nothing) };
            if taken == -1 && Errno::last() != Errno::EINTR {
                break;
            }
        }
        let _ = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&self.previous), None);
    }
}

#[derive(Debug)]
struct SignalEnd {
    peer: Pid,
    send: Signal,
    receive: SigSet,
    sent: u64,
    received: u64,
}

impl Channel for Signals {
    fn end(&mut self, side: Side) -> anyhow::Result<Box<dyn Endpoint + '_>> {
        let (peer, send, receive) = match side {
            Side::Parent { child } => (child, Signal::SIGUSR1, Signal::SIGUSR2),
            Side::Child { parent } => (parent, Signal::SIGUSR2, Signal::SIGUSR1),
        };
        Ok(Box::new(SignalEnd {
            peer,
            send,
            receive: SigSet::from(receive),
            sent: 0,
            received: 0,
        }))
    }
}

impl Endpoint for SignalEnd {
    fn send(&mut self, message: &[u8]) -> anyhow::Result<()> {
        if !message.is_empty() {
            bail!("a signal carries no data, only a number");
        }
        let value = libc::sigval {
            sival_ptr: ptr::without_provenance_mut(usize::try_from(self.sent)?),
        };
        // SAFETY: sigqueue takes the value by copy and no pointer of ours.
        let sent = unsafe { libc::sigqueue(self.peer.as_raw(), self.send as libc::c_int, value) };
        Errno::result(sent).perror("sigqueue")?;
        self.sent += 1;
        Ok(())
    }

    fn recv(&mut self, buf: &mut [u8]) -> anyhow::Result<()> {
        if !buf.is_empty() {
            bail!("a signal carries no data, only a number");
        }
        let mut info = MaybeUninit::<libc::siginfo_t>::uninit();
        let signal = stop::wait_on_peer("sigwaitinfo", || {
            // SAFETY: the set is a valid sigset_t, and `info` has room for
            // the siginfo_t that sigwaitinfo fills in.
            let signal = unsafe { libc::sigwaitinfo(self.receive.as_ref(), info.as_mut_ptr()) };
            Errno::result(signal)
        })?;
        // SAFETY: sigwaitinfo succeeded, so it filled `info` in.
        let info = unsafe { info.assume_init() };
        // SAFETY: a signal sent with sigqueue has its si_value set.
        let value = unsafe { info.si_value() }.sival_ptr.addr() as u64;
        // SAFETY: as above, si_pid is set for a signal sent by a process.
        let sender = unsafe { info.si_pid() };
        if signal != self.receive_signal()? as libc::c_int
            || sender != self.peer.as_raw()
            || value != self.received
        {
            bail!(
                "sigwaitinfo: signal {signal} from process {sender} with number {value}, \
                 expected number {} from process {}",
                self.received,
                self.peer
            );
        }
        self.received += 1;
        Ok(())
    }
}

impl SignalEnd {
    fn receive_signal(&self) -> anyhow::Result<Signal> {
        self.receive
            .iter()
            .next()
            .ok_or_else(|| anyhow!("no signal to receive"))
    }
}
