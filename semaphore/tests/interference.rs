//! semaphore while other programs and the user act on its set: `ipcrm` at
//! each line and while a process waits in semop, another program of the
//! same user re-initialising the semaphore (`c/semaphore.c` run at the same
//! key does `SETVAL 1`) or taking it, Ctrl-Z or SIGSTOP then SIGCONT of
//! either process, and a stdout that fails. The sweeps are in
//! `tests::sysv_interference`.

use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use tests::SysvExample;
use tests::sysv::{Kind, Object};

fn example() -> SysvExample {
    SysvExample {
        bin: cargo_bin!("semaphore"),
        kind: Kind::Sem,
        proj: b'c',
        created: "Semaphore set created: ",
    }
}

/// `semctl(id, 0, SETVAL, value)`, as `c/semaphore.c` initialises its set.
fn setval(set: &Object, value: libc::c_int) {
    // SAFETY: SETVAL reads the int passed as the fourth argument.
    let done = unsafe { libc::semctl(set.id, 0, libc::SETVAL, value) };
    assert_eq!(done, 0, "SETVAL: {}", std::io::Error::last_os_error());
}

#[test]
fn ipcrm_at_any_line_is_one_line_and_exit_1() {
    example().removed_by_ipcrm_at_each_line();
}

#[test]
fn ipcrm_while_a_process_waits_in_semop_is_one_line_and_exit_1() {
    // Room for two lines: whoever entered first holds the semaphore, blocked
    // printing "leaving", and the other waits in semop (semtimedop(2)).
    example().removed_while_asleep_in(2, libc::SYS_semtimedop, "semop");
}

#[test]
fn the_c_listing_setting_it_to_1_is_noticed() {
    // While one process is inside, SETVAL 1 lets the other in too.
    example().notices_meddling_at_each_line(|set| setval(set, 1), "another program");
}

#[test]
fn another_program_setting_it_to_0_is_noticed() {
    // Nobody of the run can ever enter again: both would wait for ever.
    example().notices_meddling_at_each_line(|set| setval(set, 0), "another program");
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

#[test]
fn set_to_0_while_the_child_holds_it_for_the_last_time_is_noticed() {
    // The parent is stopped in its pacing sleep (not holding the
    // semaphore) while the child does its remaining sections alone. In the
    // last one, another program does SETVAL 0, which also clears the
    // child's SEM_UNDO adjustment: the child gives the semaphore back, and
    // exiting takes it again (its adjustment is now -1), so it stays at 0
    // with nobody of the run inside, and the last process to change it is
    // the child. The parent, continued, must not wait for it for ever.
    use tests::TestDir;
    use tests::faults::{Example, kill, state, syscall};
    use tests::sysv::{self, Kind};

    let dir = TestDir::new();
    let key = dir.ftok_key(b'c');
    // At the tutorial's pace: the parent is caught in its pacing sleep.
    let example = Example::new(cargo_bin!("semaphore"), dir.path()).at_real_pace();
    let asleep = |pid| syscall(pid) == Some(libc::SYS_clock_nanosleep) && state(pid) == Some('S');
    for _attempt in 0..10 {
        let mut running = example.start();
        running.read_until("Parent: leaving critical section");
        let parent = running.pid();
        let child = running.child();
        // Its 100 ms sleep after giving the semaphore back, if this poll
        // catches it there; else the scheduler was quicker: try again.
        let deadline = Instant::now() + Duration::from_millis(80);
        while !asleep(parent) && Instant::now() < deadline {}
        if !asleep(parent) || !kill(parent, libc::SIGSTOP) {
            running.finish();
            continue;
        }
        // SIGCONT however the attempt ends: nothing of the run stays stopped.
        let _continue = Continue(parent);
        let entered = |lines: &[String]| {
            let line = "Child: entered critical section";
            lines.iter().filter(|l| *l == line).count()
        };
        while entered(running.seen()) < 3 && running.read_lines(running.seen().len() + 1) {}
        let set = sysv::find(Kind::Sem, key).expect("the set, while the parent is stopped");
        // The child holds it (the stopped parent does not): 0.
        if entered(running.seen()) < 3 || sysv::semaphore_value(set.id) != 0 {
            kill(parent, libc::SIGCONT);
            running.finish();
            continue;
        }
        setval(&set, 0);
        tests::wait_until("the child has ended", || state(child) == Some('Z'));
        kill(parent, libc::SIGCONT);

        let ended = running.finish();
        assert_eq!(ended.code, Some(1), "{ended:#?}");
        assert_eq!(
            ended.stderr,
            format!(
                "semaphore set {key:#010x} (id {}): it stays at 0 though the child has ended: \
                 another program set it to 0\n",
                set.id
            ),
            "{ended:#?}"
        );
        ended.assert_group_gone();
        assert!(sysv::find(Kind::Sem, key).is_none(), "{ended:#?}");
        return;
    }
    panic!("the parent was never caught in its pacing sleep, nor the child in its last section");
}

/// Sends SIGCONT to process `pid` when dropped.
struct Continue(i32);

impl Drop for Continue {
    fn drop(&mut self) {
        tests::faults::kill(self.0, libc::SIGCONT);
    }
}
