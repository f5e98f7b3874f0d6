//! What an example must do, as data: one TOML file per example in
//! `tests/examples/` (built into the checker), readable by a teacher. See
//! `docs/checker.md` for the format.

use serde::Deserialize;

/// One example's file: its transcript, the orders its protocol guarantees,
/// and the objects it creates.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The example's name, as the checker's first argument takes it.
    pub example: String,
    /// The longest a normal run may take.
    pub within_seconds: u64,
    /// Every line a run prints, each as often as it prints it, in one order
    /// a run may print them.
    pub transcript: Vec<String>,
    /// Chains of lines: every occurrence of each comes after every
    /// occurrence of the one before.
    #[serde(default)]
    pub order: Vec<Order>,
    /// Lines that come in pairs: each `first` is directly followed by `then`.
    #[serde(default)]
    pub pair: Vec<Pair>,
    /// Lines that show a running total (`{n}`): each adds its step to it.
    #[serde(default)]
    pub running_total: Vec<RunningTotal>,
    /// The objects a run creates, and whether it removes them.
    #[serde(default)]
    pub objects: Vec<Object>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub why: String,
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pair {
    pub first: String,
    pub then: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunningTotal {
    pub line: String,
    pub adds: i64,
}

/// An object a run creates.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "ObjectFields")]
pub struct Object {
    pub kind: Kind,
    /// Whether the run removes it before it ends (false: it is kept on
    /// purpose, as the mapped file is).
    pub removed: bool,
}

/// An `[[objects]]` table as written: its `kind` says which other fields
/// it takes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectFields {
    kind: String,
    ftok: Option<String>,
    proj: Option<char>,
    name: Option<String>,
    path: Option<String>,
    removed: bool,
}

impl TryFrom<ObjectFields> for Object {
    type Error = String;

    fn try_from(fields: ObjectFields) -> Result<Self, String> {
        let ObjectFields {
            kind,
            ftok,
            proj,
            name,
            path,
            removed,
        } = fields;
        let sysv = |make: fn(String, char) -> Kind| match (&ftok, proj, &name, &path) {
            (Some(dot), Some(proj), None, None) if dot == "." => Ok(make(dot.clone(), proj)),
            _ => Err(format!(
                "kind {kind} takes ftok = \".\" and proj, and nothing else"
            )),
        };
        let kind = match kind.as_str() {
            "sysv-shm" => sysv(|ftok, proj| Kind::SysvShm { ftok, proj })?,
            "sysv-msg" => sysv(|ftok, proj| Kind::SysvMsg { ftok, proj })?,
            "sysv-sem" => sysv(|ftok, proj| Kind::SysvSem { ftok, proj })?,
            "posix-shm" => match (name, &ftok, &proj, &path) {
                (Some(name), None, None, None) if name.starts_with('/') => Kind::PosixShm { name },
                _ => {
                    return Err("kind posix-shm takes name = \"/...\", and nothing else".to_owned());
                }
            },
            "socket" => match (path, &ftok, &proj, &name) {
                (Some(path), None, None, None) if path.starts_with('/') => Kind::Socket { path },
                _ => return Err("kind socket takes an absolute path, and nothing else".to_owned()),
            },
            "file" => match (path, &ftok, &proj, &name) {
                (Some(path), None, None, None) if !path.starts_with('/') => Kind::File { path },
                _ => return Err("kind file takes a relative path, and nothing else".to_owned()),
            },
            other => {
                return Err(format!(
                    "unknown kind {other}: sysv-shm, sysv-msg, sysv-sem, posix-shm, socket or file"
                ));
            }
        };
        Ok(Self { kind, removed })
    }
}

/// Where an object lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A System V segment at `ftok(ftok, proj)`; `ftok` is `"."`, the
    /// directory the run starts in.
    SysvShm {
        ftok: String,
        proj: char,
    },
    SysvMsg {
        ftok: String,
        proj: char,
    },
    SysvSem {
        ftok: String,
        proj: char,
    },
    /// A POSIX shared memory object, `/name`: a name shared by the machine.
    PosixShm {
        name: String,
    },
    /// A Unix socket file at an absolute path.
    Socket {
        path: String,
    },
    /// A file, relative to the directory the run starts in.
    File {
        path: String,
    },
}

/// The built-in examples, in the order of the tutorial.
const FILES: [(&str, &str); 8] = [
    ("shm-sysv", include_str!("../../examples/shm-sysv.toml")),
    ("pipe", include_str!("../../examples/pipe.toml")),
    ("msgqueue", include_str!("../../examples/msgqueue.toml")),
    ("uds", include_str!("../../examples/uds.toml")),
    ("shm-mutex", include_str!("../../examples/shm-mutex.toml")),
    ("signals", include_str!("../../examples/signals.toml")),
    ("semaphore", include_str!("../../examples/semaphore.toml")),
    ("mmap-file", include_str!("../../examples/mmap-file.toml")),
];

/// The names of the examples the checker knows.
pub fn names() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(name, _)| *name)
}

/// The spec of the example `name`, or `None` if there is no such example.
pub fn find(name: &str) -> Option<Result<Spec, String>> {
    let (_, text) = FILES.iter().find(|(n, _)| *n == name)?;
    Some(parse(text).map_err(|e| format!("tests/examples/{name}.toml: {e}")))
}

/// The transcript of the built-in example `name`, for a test; panics if
/// there is no such example.
pub fn transcript(name: &str) -> Vec<String> {
    find(name)
        .unwrap_or_else(|| panic!("no example {name}"))
        .unwrap_or_else(|e| panic!("{e}"))
        .transcript
}

/// Parses and validates an example's file.
pub fn parse(text: &str) -> Result<Spec, String> {
    let spec: Spec = toml::from_str(text).map_err(|e| e.to_string())?;
    let known = |line: &str| spec.transcript.iter().any(|l| l == line);
    let named = spec
        .order
        .iter()
        .flat_map(|o| o.lines.iter())
        .chain(spec.pair.iter().flat_map(|p| [&p.first, &p.then]))
        .chain(spec.running_total.iter().map(|r| &r.line));
    for line in named {
        if !known(line) {
            return Err(format!("{line:?} is not a line of the transcript"));
        }
    }
    for total in &spec.running_total {
        if !total.line.contains("{n}") {
            return Err(format!("running total {:?} has no {{n}}", total.line));
        }
    }
    Ok(spec)
}
