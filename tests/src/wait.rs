//! Waiting in a test: how long one run may take, and polling for a state
//! with a deadline (never a sleep that hopes).

use std::time::{Duration, Instant};

/// How long a test lets one run of an example take before it fails it. The
/// examples pace themselves with the tutorial's sleeps (up to 5 s); this is
/// far above that, so that a loaded machine does not fail a correct run.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until `condition` holds, checking every 10 ms; fails the test with
/// `what` if it still does not hold after 30 s.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    wait_for(what, || {
        if condition() {
            Ok(())
        } else {
            Err(String::new())
        }
    });
}

/// As [`wait_until`], for a condition that says what it sees while it does
/// not hold (`Err(seen)`): a test that gives up says what it saw last.
pub(crate) fn wait_for(what: &str, mut look: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Err(seen) = look() {
        if Instant::now() >= deadline {
            match seen.as_str() {
                "" => panic!("timed out waiting until {what}"),
                seen => panic!("timed out waiting until {what}; saw {seen}"),
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
