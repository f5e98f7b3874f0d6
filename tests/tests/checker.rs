//! The checker's command, driven as a teacher would: on stand-ins for a
//! student's program (shell scripts that print what a run of `pipe` prints,
//! right or wrong), its checklist, exit status, JSON and usage.

// Helpers here are test code too: a panic is a failure with a message.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use tests::TestDir;
use tests::check::{self, Level, spec};

const CHECKER: &str = env!("CARGO_BIN_EXE_tests");

/// A program that prints `lines` and exits 0: a stand-in for a student's.
fn script(dir: &TestDir, name: &str, lines: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let body: String = lines.iter().map(|l| format!("echo '{l}'\n")).collect();
    fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn pipe_transcript() -> [&'static str; 2] {
    [
        "Parent sent: Hello from parent via pipe!",
        "Child received: Hello from parent via pipe!",
    ]
}

fn checker(args: &[&str], program: &Path) -> Output {
    Command::new(CHECKER)
        .arg(args[0])
        .arg(program)
        .args(&args[1..])
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

#[test]
fn every_example_file_parses() {
    let names: Vec<&str> = spec::names().collect();
    assert_eq!(names.len(), 8);
    for name in names {
        let spec = spec::find(name).unwrap().unwrap();
        assert_eq!(spec.example, name);
        assert!(!spec.transcript.is_empty(), "{name}");
    }
}

#[test]
fn a_right_program_passes_every_check_and_exits_0() {
    let dir = TestDir::new();
    let program = script(&dir, "good", &pipe_transcript());
    let output = checker(&["pipe"], &program);
    let text = String::from_utf8(output.stdout).unwrap();

    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(
        text.starts_with(&format!(
            "{} checked as the pipe example (level listing)\n",
            program.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("  PASS  L6 prints each line once when stdout is a pipe\n"),
        "{text}"
    );
    assert!(text.ends_with("Score: 6/6 checks passed\n"), "{text}");
    // Not a terminal: no colour.
    assert!(!text.contains('\x1b'), "{text}");
}

#[test]
fn a_line_printed_twice_fails_and_is_named() {
    let dir = TestDir::new();
    let [parent, child] = pipe_transcript();
    let program = script(&dir, "twice", &[parent, child, parent]);
    let output = checker(&["pipe"], &program);
    let text = String::from_utf8(output.stdout).unwrap();

    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("  FAIL  L3 "), "{text}");
    assert!(
        text.contains("  FAIL  L6 prints each line once when stdout is a pipe\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!("{parent:?} printed twice, expected once")),
        "{text}"
    );
    assert!(text.ends_with("Score: 4/6 checks passed\n"), "{text}");
}

#[test]
fn a_missing_line_and_a_failing_exit_are_each_one_failed_check() {
    let dir = TestDir::new();
    let path = dir.join("bad");
    fs::write(
        &path,
        "#!/bin/sh\necho 'Parent sent: Hello from parent via pipe!'\necho oops >&2\nexit 3\n",
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    let report = check::check_example("pipe", &path, Level::Listing);

    let failed: Vec<&str> = report
        .results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.number)
        .collect();
    assert_eq!(failed, ["L1", "L3", "L5", "L6"], "{}", report.text(false));
    let exit = report.result("L1").unwrap();
    assert_eq!(
        exit.output,
        "expected exit status 0; seen exit status 3\nstderr:\n  oops"
    );
    let lines = report.result("L3").unwrap();
    assert!(
        lines
            .output
            .starts_with("missing line \"Child received: Hello from parent via pipe!\"\nseen:\n"),
        "{}",
        lines.output
    );
}

/// A small validator for the part of JSON Schema that docs/checker.schema.json
/// uses: type, required, properties, additionalProperties, items, enum,
/// minimum. Returns the first place where `value` does not fit.
fn validate(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let fits = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "number" => value.is_number(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            other => return Err(format!("{at}: the schema's type {other} is not supported")),
        };
        if !fits {
            return Err(format!("{at}: expected {kind}, seen {value}"));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    if let (Some(minimum), Some(number)) = (
        schema.get("minimum").and_then(Value::as_f64),
        value.as_f64(),
    ) && number < minimum
    {
        return Err(format!("{at}: {number} is below {minimum}"));
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = required.as_str().unwrap();
            if !object.contains_key(key) {
                return Err(format!("{at}: missing {key}"));
            }
        }
        for (key, item) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(sub) => validate(sub, item, &format!("{at}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: {key} is not in the schema"));
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        for (i, item) in array.iter().enumerate() {
            validate(items, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

#[test]
fn json_fits_the_documented_schema() {
    let schema: Value =
        serde_json::from_str(include_str!("../../docs/checker.schema.json")).unwrap();
    let dir = TestDir::new();
    let [parent, child] = pipe_transcript();
    for (program, passed) in [
        (script(&dir, "good", &[parent, child]), 6),
        (script(&dir, "twice", &[parent, child, child]), 4),
    ] {
        let output = checker(&["pipe", "--json"], &program);
        let json: Value = serde_json::from_slice(&output.stdout).unwrap();

        validate(&schema, &json, "$").unwrap();
        assert_eq!(json["score"], passed);
        let tests = json["tests"].as_array().unwrap();
        assert_eq!(tests.len(), 6);
        let sum: u64 = tests.iter().map(|t| t["score"].as_u64().unwrap()).sum();
        assert_eq!(sum, passed);
        assert_eq!(output.status.code(), Some(if passed == 6 { 0 } else { 1 }));
    }
}

#[test]
fn the_schema_validator_refuses_what_does_not_fit() {
    let schema: Value =
        serde_json::from_str(include_str!("../../docs/checker.schema.json")).unwrap();
    let wrong = serde_json::json!({"score": 1, "output": "", "tests": [{"name": "x"}]});
    assert!(
        validate(&schema, &wrong, "$")
            .unwrap_err()
            .contains("missing")
    );
    let extra = serde_json::json!({"score": 1, "output": "", "tests": [], "more": 1});
    assert!(validate(&schema, &extra, "$").is_err());
}

#[test]
fn a_name_already_taken_is_left_alone_and_no_check_runs() {
    let dir = TestDir::new();
    let socket = dir.join("taken");
    fs::write(&socket, "someone else's").unwrap();
    let text = include_str!("../examples/uds.toml")
        .replace("/tmp/ipc_socket", &socket.display().to_string());
    let spec = spec::parse(&text).unwrap();
    let program = script(&dir, "never-run", &["ran"]);
    let mut waited = false;

    let report = check::check(&spec, &program, Level::Listing, &mut |_| waited = true);

    assert!(!waited);
    assert_eq!(report.passed(), 0, "{}", report.text(false));
    let free = report.result("L0").unwrap();
    assert!(
        free.output
            .contains("which this check did not make: left alone"),
        "{}",
        free.output
    );
    assert!(
        report.results[1..]
            .iter()
            .all(|r| r.output.starts_with("not run: "))
    );
    assert_eq!(fs::read_to_string(&socket).unwrap(), "someone else's");
}

#[test]
fn an_object_the_program_leaves_fails_and_is_removed() {
    // A program that makes its socket file and leaves it.
    let dir = TestDir::new();
    let socket = dir.join("left");
    let text = include_str!("../examples/uds.toml")
        .replace("/tmp/ipc_socket", &socket.display().to_string());
    let spec = spec::parse(&text).unwrap();
    let path = dir.join("leaves");
    let lines: String = spec
        .transcript
        .iter()
        .map(|l| format!("echo '{l}'\n"))
        .collect();
    fs::write(
        &path,
        format!("#!/bin/sh\npython3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' {}\n{lines}", socket.display()),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    if Command::new("python3").arg("-c").arg("").status().is_err() {
        eprintln!("skipped: no python3 to make a socket file with");
        return;
    }

    let report = check::check(&spec, &path, Level::Listing, &mut |_| {});

    let left = report.result("L7").unwrap();
    assert!(!left.passed, "{}", report.text(false));
    assert!(
        left.output
            .contains(&format!("socket file {}", socket.display())),
        "{}",
        left.output
    );
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.starts_with("the checker removed socket file")),
        "{:?}",
        report.notes
    );
    assert!(!socket.exists());
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &[][..],
        &["pipe"],
        &["pipe", "a", "b"],
        &["pipe", "a", "--level", "max"],
        &["nosuch", "a"],
    ] {
        let output = Command::new(CHECKER).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.ends_with("Usage: tests NAME PROGRAM [--level listing|robust] [--json]\n"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn help_lists_the_examples_and_the_levels() {
    let output = Command::new(CHECKER).arg("--help").output().unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(text.starts_with("Usage: tests NAME PROGRAM"), "{text}");
    for name in spec::names() {
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains("--level robust"), "{text}");
}

#[test]
fn a_program_that_cannot_be_run_fails_every_check_and_says_why() {
    let dir = TestDir::new();
    let missing = dir.join("a.out");
    let output = checker(&["pipe", "--level", "robust"], &missing);
    let text = String::from_utf8(output.stdout).unwrap();

    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.ends_with("Score: 0/10 checks passed\n"), "{text}");
    let why = format!(
        "could not run {}: No such file or directory",
        missing.display()
    );
    assert_eq!(text.matches(&why).count(), 10, "{text}");
}

#[test]
fn two_checks_of_one_fixed_name_take_turns() {
    let dir = TestDir::new();
    let socket = dir.join("shared");
    let text = include_str!("../examples/uds.toml")
        .replace("/tmp/ipc_socket", &socket.display().to_string());
    let spec = spec::parse(&text).unwrap();
    // Prints the transcript slowly enough for the other check to come.
    let path = dir.join("slow");
    let lines: String = spec
        .transcript
        .iter()
        .map(|l| format!("echo '{l}'\n"))
        .collect();
    fs::write(&path, format!("#!/bin/sh\nsleep 0.3\n{lines}")).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();

    let checks: Vec<_> = (0..2)
        .map(|_| {
            let (spec, path) = (spec.clone(), path.clone());
            std::thread::spawn(move || {
                let mut waited = false;
                let report = check::check(&spec, &path, Level::Listing, &mut |_| waited = true);
                (report, waited)
            })
        })
        .collect();
    let results: Vec<_> = checks.into_iter().map(|c| c.join().unwrap()).collect();

    for (report, _) in &results {
        assert!(report.all_passed(), "{}", report.text(false));
    }
    assert_eq!(results.iter().filter(|(_, waited)| *waited).count(), 1);
}
