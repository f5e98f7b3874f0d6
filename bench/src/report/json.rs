//! `--json`: the whole report as one JSON object (times in nanoseconds,
//! rates in bytes per second), written by `serde_json`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::method::METHOD;
use super::{Outcome, Report, Row};
use crate::floor::Way;
use crate::measure::{Latency, Throughput};
use crate::mechanisms::Tutorial;

/// The report as JSON, pretty-printed, with a final newline.
pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut out = serde_json::to_string_pretty(&Top::of(report))?;
    out.push('\n');
    Ok(out)
}

/// `value` rounded to `decimals` places, as the text shows it.
fn rounded(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[derive(Serialize)]
struct Top<'a> {
    placement: &'a str,
    parent_cpu: Option<usize>,
    child_cpu: Option<usize>,
    cpus_online: usize,
    load_average_before: Option<f64>,
    other_processes_cpus: Option<f64>,
    elapsed_seconds: f64,
    clock_cost_ns: u64,
    round_trips_per_row: u64,
    warmup_round_trips: u64,
    /// Which measurements were asked for.
    measured: Measured,
    floor: Option<Number<'a, LatencyJson>>,
    /// The way that gave the floor, and each way.
    floor_way: Option<&'a str>,
    floor_ways: Vec<WayJson<'a>>,
    mechanisms: Vec<MechanismJson<'a>>,
    /// How each figure is measured.
    method: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
struct Measured {
    latency: bool,
    throughput: bool,
}

#[derive(Serialize)]
struct WayJson<'a> {
    way: &'a str,
    name: &'a str,
    result: Number<'a, LatencyJson>,
}

impl<'a> Top<'a> {
    fn of(report: &'a Report) -> Self {
        let machine = &report.machine;
        Self {
            placement: report.plan.placement.name(),
            parent_cpu: report.plan.parent,
            child_cpu: report.plan.child,
            cpus_online: machine.cpus_online,
            load_average_before: machine.load_before.map(|l| rounded(l, 3)),
            other_processes_cpus: machine.others_cpus.map(|o| rounded(o, 3)),
            elapsed_seconds: rounded(machine.elapsed.as_secs_f64(), 3),
            clock_cost_ns: report.clock_cost_ns,
            round_trips_per_row: report.counts.round_trips,
            warmup_round_trips: report.counts.warmup_round_trips,
            measured: Measured {
                latency: report.measure.latency,
                throughput: report.measure.throughput,
            },
            floor: report.floor.as_ref().map(latency),
            floor_way: report.floor_way().map(Way::id),
            floor_ways: report
                .floor_ways
                .iter()
                .map(|(way, o)| WayJson {
                    way: way.id(),
                    name: way.name(),
                    result: latency(o),
                })
                .collect(),
            mechanisms: report.rows.iter().map(MechanismJson::of).collect(),
            method: METHOD.into_iter().collect(),
        }
    }
}

#[derive(Serialize)]
struct MechanismJson<'a> {
    id: &'a str,
    name: &'a str,
    tutorial: &'a Tutorial,
    spins: bool,
    skipped: Option<&'a str>,
    round_trip: Vec<Sized<Number<'a, LatencyJson>>>,
    throughput: Vec<Sized<Number<'a, ThroughputJson>>>,
}

impl<'a> MechanismJson<'a> {
    fn of(row: &'a Row) -> Self {
        let mechanism = row.mechanism;
        Self {
            id: mechanism.id,
            name: mechanism.name,
            tutorial: &mechanism.tutorial,
            spins: mechanism.spins,
            skipped: row.skipped.as_deref(),
            round_trip: row
                .latency
                .iter()
                .map(|(size, o)| Sized::new(*size, latency(o)))
                .collect(),
            throughput: row
                .throughput
                .iter()
                .map(|(size, o)| Sized::new(*size, throughput(o)))
                .collect(),
        }
    }
}

/// One measurement and its message size.
#[derive(Serialize)]
struct Sized<T> {
    message_bytes: usize,
    result: T,
}

impl<T> Sized<T> {
    fn new(message_bytes: usize, result: T) -> Self {
        Self {
            message_bytes,
            result,
        }
    }
}

/// A measurement's JSON: its numbers, or why it has none.
#[derive(Serialize)]
#[serde(untagged)]
enum Number<'a, T> {
    Measured(T),
    None(Failure<'a>),
}

/// A row without a number: `{"verified": false, "error": ...}` or
/// `{"verified": false, "stopped": ...}`.
#[derive(Serialize)]
struct Failure<'a> {
    verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<&'a str>,
}

fn failure<'a, T>(outcome: &'a Outcome<T>) -> Failure<'a> {
    let (error, stopped) = match outcome {
        Outcome::Failed(error) => (Some(error.as_str()), None),
        Outcome::Stopped(reason) => (None, Some(reason.as_str())),
        Outcome::Measured(_) => (None, None),
    };
    Failure {
        verified: false,
        error,
        stopped,
    }
}

#[derive(Serialize)]
struct LatencyJson {
    verified: bool,
    round_trips: usize,
    asked: u64,
    messages_checked: u64,
    p50_ns: u64,
    p99_ns: u64,
    mean_ns: u64,
    parent_cpu: usize,
    child_cpu: usize,
    pinned: bool,
}

fn latency(outcome: &Outcome<Latency>) -> Number<'_, LatencyJson> {
    let Outcome::Measured(l) = outcome else {
        return Number::None(failure(outcome));
    };
    Number::Measured(LatencyJson {
        verified: true,
        round_trips: l.summary.count,
        asked: l.asked,
        messages_checked: l.checked,
        p50_ns: l.summary.p50_ns,
        p99_ns: l.summary.p99_ns,
        mean_ns: l.summary.mean_ns,
        parent_cpu: l.parent.cpu,
        child_cpu: l.child.cpu,
        pinned: l.parent.pinned && l.child.pinned,
    })
}

#[derive(Serialize)]
struct ThroughputJson {
    verified: bool,
    messages: u64,
    bytes: u64,
    messages_checked: u64,
    /// Whole bytes per second.
    bytes_per_second: u64,
    parent_cpu: usize,
    child_cpu: usize,
    pinned: bool,
}

fn throughput(outcome: &Outcome<Throughput>) -> Number<'_, ThroughputJson> {
    let Outcome::Measured(t) = outcome else {
        return Number::None(failure(outcome));
    };
    Number::Measured(ThroughputJson {
        verified: true,
        messages: t.messages,
        bytes: t.bytes,
        messages_checked: t.checked,
        bytes_per_second: t.bytes_per_second.round_ties_even() as u64,
        parent_cpu: t.parent.cpu,
        child_cpu: t.child.cpu,
        pinned: t.parent.pinned && t.child.pinned,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn parses_back_with_every_string_as_it_was() {
        let report = fixture::report();
        let json: serde_json::Value = serde_json::from_str(&render(&report).unwrap()).unwrap();
        let mechanisms = json["mechanisms"].as_array().unwrap();
        assert_eq!(mechanisms.len(), report.rows.len());
        // Quotes, a comma and a line break come back unchanged.
        assert_eq!(
            mechanisms[2]["skipped"],
            "skipped: both ends share CPU 0, \"where\"\na spin"
        );
        let failed = &mechanisms[4]["round_trip"][0]["result"];
        assert_eq!(failed["verified"], false);
        assert_eq!(failed["error"], "read(pipe): the other end, \"closed\"");
        assert!(failed.get("stopped").is_none());
        let stopped = &mechanisms[5]["round_trip"][0]["result"];
        assert_eq!(stopped["stopped"], "stopped after 3.0 s, still warming up");
    }

    #[test]
    fn numbers_are_as_the_text_rounds_them() {
        let json: serde_json::Value =
            serde_json::from_str(&render(&fixture::report()).unwrap()).unwrap();
        assert_eq!(json["elapsed_seconds"], 4.321);
        assert_eq!(json["other_processes_cpus"], 0.123);
        assert_eq!(json["floor"]["p50_ns"], 124);
        assert_eq!(json["floor_way"], "compare-and-swap");
        assert_eq!(json["floor_ways"][1]["way"], "store-load");
        assert_eq!(json["floor_ways"][1]["result"]["p50_ns"], 228);
        assert_eq!(json["measured"]["throughput"], true);
        assert!(
            json["method"]["check"]
                .as_str()
                .unwrap()
                .contains("one pass")
        );
        assert_eq!(json["floor"]["pinned"], true);
        let first = &json["mechanisms"][0];
        assert_eq!(first["tutorial"]["speed"], "Very Fast");
        assert_eq!(first["round_trip"][1]["message_bytes"], 4096);
        // Whole bytes per second: 2.5e9 + 0.4 rounds down.
        assert_eq!(
            first["throughput"][0]["result"]["bytes_per_second"],
            2_500_000_000u64
        );
    }
}
