//! A transcript's lines as patterns (`{id}`, `{n}`: a decimal number;
//! `{address}`: 0x and lowercase hex digits, as `%p` prints), and the checks
//! on the lines a run printed: the same lines as often as the transcript has
//! them, the orders, the pairs, the running totals. Each check returns `Err`
//! with what was expected and what was seen.

use std::collections::BTreeMap;

use super::spec::Spec;

/// The part of `line` that `pattern` matched at each `{n}`, or `None` if
/// the line does not match.
pub fn matches(pattern: &str, line: &str) -> Option<Vec<i64>> {
    let mut numbers = Vec::new();
    let (mut pattern, mut line) = (pattern, line);
    loop {
        let Some(start) = pattern.find('{') else {
            return (pattern == line).then_some(numbers);
        };
        let (literal, rest) = pattern.split_at(start);
        line = line.strip_prefix(literal)?;
        let end = rest.find('}')?;
        let (name, rest) = (&rest[1..end], &rest[end + 1..]);
        let taken = match name {
            "id" | "n" => {
                let digits =
                    line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
                if name == "n" {
                    numbers.push(line[..digits].parse().ok()?);
                }
                digits
            }
            "address" => {
                let hex = line.strip_prefix("0x")?;
                // As %p prints it: lowercase.
                let digit = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
                2 + hex.len() - hex.trim_start_matches(digit).len()
            }
            _ => return None,
        };
        if taken == 0 || taken == 2 && name == "address" {
            return None;
        }
        line = &line[taken..];
        pattern = rest;
    }
}

/// The transcript line that `line` is, ids normalised; `None` if none.
pub fn normalise<'a>(spec: &'a Spec, line: &str) -> Option<&'a str> {
    spec.transcript
        .iter()
        .find(|pattern| matches(pattern, line).is_some())
        .map(String::as_str)
}

/// How often each transcript line is expected.
fn expected_counts(spec: &Spec) -> BTreeMap<&str, usize> {
    let mut counts = BTreeMap::new();
    for line in &spec.transcript {
        *counts.entry(line.as_str()).or_default() += 1;
    }
    counts
}

fn times(n: usize) -> String {
    match n {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    }
}

/// Every line of the transcript, each as often as there, and nothing else.
pub fn same_lines(spec: &Spec, lines: &[String]) -> Result<(), String> {
    let expected = expected_counts(spec);
    let mut seen: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut problems = Vec::new();
    for line in lines {
        match normalise(spec, line) {
            Some(pattern) => seen.entry(pattern).or_default().push(line),
            None => problems.push(format!("unexpected line {line:?}")),
        }
    }
    for (pattern, want) in &expected {
        let got = seen.get(pattern).map_or(&[][..], Vec::as_slice);
        if got.len() < *want {
            let missing = if got.is_empty() {
                format!("missing line {pattern:?}")
            } else {
                format!(
                    "{pattern:?} printed {}, expected {}",
                    times(got.len()),
                    times(*want)
                )
            };
            problems.push(missing);
        } else if got.len() > *want {
            problems.push(format!(
                "{:?} printed {}, expected {}",
                got[0],
                times(got.len()),
                times(*want)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nseen:\n{}",
            problems.join("\n"),
            quote_lines(lines)
        ))
    }
}

/// Only the lines printed more often than the transcript has them: what a
/// C program that forks with lines still in its stdio buffer prints twice.
pub fn repeated(spec: &Spec, lines: &[String]) -> Result<(), String> {
    let expected = expected_counts(spec);
    // Each transcript line printed, in the order first printed.
    let mut seen: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in lines {
        let Some(pattern) = normalise(spec, line) else {
            continue;
        };
        match seen.iter_mut().find(|(p, _)| *p == pattern) {
            Some((_, printed)) => printed.push(line),
            None => seen.push((pattern, vec![line])),
        }
    }
    let mut problems = Vec::new();
    for (pattern, got) in &seen {
        let want = expected.get(pattern).copied().unwrap_or(0);
        if got.len() > want {
            problems.push(format!(
                "{:?} printed {}, expected {}",
                got[0],
                times(got.len()),
                times(want)
            ));
        }
    }
    if problems.is_empty() {
        // Anything else wrong under a pipe (a missing line) is still wrong.
        return same_lines(spec, lines);
    }
    Err(format!(
        "{}\nseen:\n{}",
        problems.join("\n"),
        quote_lines(lines)
    ))
}

/// The positions of the lines that are `pattern`.
fn positions(spec: &Spec, lines: &[String], pattern: &str) -> Vec<usize> {
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| normalise(spec, line) == Some(pattern))
        .map(|(i, _)| i)
        .collect()
}

/// The orders, pairs and running totals of the spec.
pub fn orders(spec: &Spec, lines: &[String]) -> Result<(), String> {
    let mut problems = Vec::new();
    for order in &spec.order {
        for pair in order.lines.windows(2) {
            let (before, after) = (&pair[0], &pair[1]);
            let last_before = positions(spec, lines, before).into_iter().max();
            let first_after = positions(spec, lines, after).into_iter().min();
            if let (Some(b), Some(a)) = (last_before, first_after)
                && b > a
            {
                problems.push(format!(
                    "{before:?} should come before {after:?} ({}): line {} came after line {}",
                    order.why,
                    b + 1,
                    a + 1
                ));
            }
        }
    }
    for pair in &spec.pair {
        for i in positions(spec, lines, &pair.first) {
            let next = lines.get(i + 1).and_then(|line| normalise(spec, line));
            if next != Some(pair.then.as_str()) {
                problems.push(format!(
                    "line {} {:?} should be followed directly by {:?}",
                    i + 1,
                    lines[i],
                    pair.then
                ));
            }
        }
    }
    if !spec.running_total.is_empty() {
        let mut total = 0;
        for (i, line) in lines.iter().enumerate() {
            let Some(rule) = spec
                .running_total
                .iter()
                .find(|rule| matches(&rule.line, line).is_some())
            else {
                continue;
            };
            let shown = matches(&rule.line, line).and_then(|n| n.first().copied());
            total += rule.adds;
            if shown != Some(total) {
                problems.push(format!(
                    "line {} {line:?} should show {total}: the lines before it add up to {}, and it adds {}",
                    i + 1,
                    total - rule.adds,
                    rule.adds
                ));
                break;
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}\nseen:\n{}",
            problems.join("\n"),
            quote_lines(lines)
        ))
    }
}

/// The lines, numbered, one per line.
pub fn quote_lines(lines: &[String]) -> String {
    if lines.is_empty() {
        return "  (nothing)".to_owned();
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| format!("  {:>2} {line}", i + 1))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_match_numbers_and_addresses() {
        assert_eq!(matches("created: {id}", "created: 42"), Some(vec![]));
        assert_eq!(matches("created: {id}", "created: "), None);
        assert_eq!(matches("created: {id}", "created: 4x"), None);
        assert_eq!(matches("to {n}", "to 55"), Some(vec![55]));
        assert_eq!(matches("at {address}", "at 0x7fdcaa50f000"), Some(vec![]));
        assert_eq!(matches("at {address}", "at 0x"), None);
        assert_eq!(matches("at {address}", "at 0x7FDC"), None);
        assert_eq!(matches("plain", "plain"), Some(vec![]));
        assert_eq!(matches("plain", "plain!"), None);
    }
}
