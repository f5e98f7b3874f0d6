//! The clock, and what a list of round-trip times is summed up as.

use std::time::Duration;

/// Nanoseconds on `CLOCK_MONOTONIC`: the same clock in every process on the
/// machine, so the writer can start a stopwatch that the reader stops.
pub fn now_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid timespec to write to; with CLOCK_MONOTONIC and
    // a valid pointer, clock_gettime cannot fail (it is answered from the
    // vDSO, without a system call).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    // Both fields are non-negative for CLOCK_MONOTONIC.
    (now.tv_sec as u64) * 1_000_000_000 + now.tv_nsec as u64
}

/// What reading the clock costs: the median gap between two reads in a row.
/// Every latency sample includes it once.
pub fn clock_cost_ns() -> u64 {
    let mut gaps: Vec<u64> = (0..10_001)
        .map(|_| {
            let start = now_ns();
            now_ns() - start
        })
        .collect();
    gaps.sort_unstable();
    gaps[gaps.len() / 2]
}

/// The summary of a set of round-trip times.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub count: usize,
    pub p50_ns: u64,
    pub p99_ns: u64,
    pub mean_ns: u64,
}

impl Summary {
    /// Summarizes `samples` (nanoseconds); `None` when there are none.
    pub fn of(mut samples: Vec<u64>) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let total: u128 = samples.iter().map(|&s| u128::from(s)).sum();
        Some(Self {
            count: samples.len(),
            p50_ns: percentile(&samples, 50),
            p99_ns: percentile(&samples, 99),
            mean_ns: u64::try_from(total / samples.len() as u128).unwrap_or(u64::MAX),
        })
    }
}

/// The nearest-rank percentile of sorted, non-empty `samples`: the smallest
/// sample that at least `p` percent of the samples do not exceed.
fn percentile(sorted: &[u64], p: usize) -> u64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Microseconds with two decimals: "12.34".
pub fn micros(ns: u64) -> String {
    format!("{:.2}", ns as f64 / 1000.0)
}

/// Bytes per second as "GB/s" with two decimals.
pub fn gigabytes_per_second(bytes_per_second: f64) -> String {
    format!("{:.2}", bytes_per_second / 1e9)
}

/// A duration in seconds with one decimal.
pub fn seconds(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let summary = Summary::of((1..=100).rev().collect()).unwrap();
        assert_eq!(summary.count, 100);
        assert_eq!(summary.p50_ns, 50);
        assert_eq!(summary.p99_ns, 99);
        assert_eq!(summary.mean_ns, 50); // 50.5, rounded down
        let one = Summary::of(vec![7]).unwrap();
        assert_eq!((one.p50_ns, one.p99_ns, one.mean_ns), (7, 7, 7));
        assert!(Summary::of(Vec::new()).is_none());
    }
}
