//! `--csv`: one line per measurement (times in nanoseconds, rates in bytes
//! per second), written by the `csv` crate from serde records: a field
//! with a comma, a quote or a line break is quoted as RFC 4180 says.

use serde::Serialize;

use super::{Outcome, Report};
use crate::measure::Latency;

/// One line of the CSV; its field names are the header, `None` an empty cell.
#[derive(Serialize)]
struct Record<'a> {
    mechanism: &'a str,
    name: &'a str,
    measurement: &'a str,
    message_bytes: Option<usize>,
    count: Option<u64>,
    p50_ns: Option<u64>,
    p99_ns: Option<u64>,
    mean_ns: Option<u64>,
    bytes_per_second: Option<u64>,
    verified: Option<bool>,
    parent_cpu: Option<usize>,
    child_cpu: Option<usize>,
    note: &'a str,
}

impl<'a> Record<'a> {
    /// A line with only its names and a note, the numbers left empty.
    fn empty(mechanism: &'a str, name: &'a str, measurement: &'a str, note: &'a str) -> Self {
        Self {
            mechanism,
            name,
            measurement,
            message_bytes: None,
            count: None,
            p50_ns: None,
            p99_ns: None,
            mean_ns: None,
            bytes_per_second: None,
            verified: None,
            parent_cpu: None,
            child_cpu: None,
            note,
        }
    }

    /// A measurement without a number: `verified` false, and why.
    fn failed(
        mechanism: &'a str,
        name: &'a str,
        measurement: &'a str,
        size: usize,
        reason: &'a str,
    ) -> Self {
        Self {
            message_bytes: Some(size),
            verified: Some(false),
            ..Self::empty(mechanism, name, measurement, reason)
        }
    }
}

/// The records of the report, in order: the floor, then each mechanism.
fn records(report: &Report) -> Vec<Record<'_>> {
    let mut records = Vec::new();
    if let Some(floor) = &report.floor {
        let mut record = latency("cache-line", "cache line (the floor)", 0, floor);
        if let Some(way) = report.floor_way() {
            record.note = way.id();
        }
        records.push(record);
    }
    for row in &report.rows {
        let (id, name) = (row.mechanism.id, row.mechanism.name);
        if let Some(why) = &row.skipped {
            records.push(Record::empty(id, name, "skipped", why));
            continue;
        }
        for (size, outcome) in &row.latency {
            records.push(latency(id, name, *size, outcome));
        }
        for (size, outcome) in &row.throughput {
            records.push(match outcome {
                Outcome::Measured(t) => Record {
                    message_bytes: Some(*size),
                    count: Some(t.messages),
                    bytes_per_second: Some(t.bytes_per_second.round_ties_even() as u64),
                    verified: Some(true),
                    parent_cpu: Some(t.parent.cpu),
                    child_cpu: Some(t.child.cpu),
                    ..Record::empty(id, name, "throughput", "")
                },
                Outcome::Failed(reason) | Outcome::Stopped(reason) => {
                    Record::failed(id, name, "throughput", *size, reason)
                }
            });
        }
    }
    records
}

fn latency<'a>(
    id: &'a str,
    name: &'a str,
    size: usize,
    outcome: &'a Outcome<Latency>,
) -> Record<'a> {
    match outcome {
        Outcome::Measured(l) => Record {
            message_bytes: Some(size),
            count: Some(l.summary.count as u64),
            p50_ns: Some(l.summary.p50_ns),
            p99_ns: Some(l.summary.p99_ns),
            mean_ns: Some(l.summary.mean_ns),
            verified: Some(true),
            parent_cpu: Some(l.parent.cpu),
            child_cpu: Some(l.child.cpu),
            ..Record::empty(
                id,
                name,
                "round_trip",
                if l.stopped_early() {
                    "stopped early"
                } else {
                    ""
                },
            )
        },
        Outcome::Failed(reason) | Outcome::Stopped(reason) => {
            Record::failed(id, name, "round_trip", size, reason)
        }
    }
}

/// The report as CSV: a header line, then one line per measurement.
pub fn render(report: &Report) -> anyhow::Result<String> {
    let mut writer = ::csv::Writer::from_writer(Vec::new());
    for record in records(report) {
        writer.serialize(record)?;
    }
    let bytes = writer.into_inner().map_err(|error| error.into_error())?;
    Ok(String::from_utf8(bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn the_header_names_the_columns() {
        let text = render(&fixture::report()).unwrap();
        assert_eq!(
            text.lines().next().unwrap(),
            "mechanism,name,measurement,message_bytes,count,p50_ns,p99_ns,mean_ns,\
             bytes_per_second,verified,parent_cpu,child_cpu,note"
        );
        assert!(text.contains(
            "\ncache-line,cache line (the floor),round_trip,0,1000,124,372,141,,true,0,1,compare-and-swap\n"
        ));
    }

    #[test]
    fn strings_are_quoted_only_when_they_need_it_and_read_back() {
        let text = render(&fixture::report()).unwrap();
        // RFC 4180: quotes doubled, the field quoted, the line break kept.
        assert!(text.contains(
            "posix-shm-spin,POSIX shm + spin,skipped,,,,,,,,,,\
             \"skipped: both ends share CPU 0, \"\"where\"\"\na spin\"\n"
        ));
        assert!(text.contains("\nfifo,FIFO (named pipe),round_trip,64,,,,,,false,,,\"stopped after 3.0 s, still warming up\"\n"));
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let notes: Vec<String> = reader
            .records()
            .map(|record| record.unwrap()[12].to_owned())
            .collect();
        assert!(notes.contains(&"read(pipe): the other end, \"closed\"".to_owned()));
        assert!(notes.contains(&"stopped early".to_owned()));
    }
}
