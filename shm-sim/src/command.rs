//! The command parser: a line the user typed becomes a [`Command`], or a
//! one-line hint that says what is wrong with it. Nothing is forwarded to A
//! or B before it is checked here.

use crate::segment::DATA_LEN;
use crate::worker::bytes;

/// The list `help` prints.
pub const COMMANDS: &str = "\
commands (either process can read or write; offsets are decimal, 0-127):
  a write <offset> <text>   A stores <text> at <offset>         (b write: B does)
  b read <offset> <len>     B loads <len> bytes from <offset>   (a read: A does)
  show                      hex and ASCII dump of bytes 0-127, the last write marked ^
  race [count]              A and B each add 1 to a shared counter <count> times
                            (default 1000000), without a lock, then with one
  help                      this list
  quit                      end A and B and remove the segment (so do end of input and Ctrl-C)";

/// How many times each process increments the counter in `race`.
const DEFAULT_RACE: u64 = 1_000_000;
const MAX_RACE: u64 = 100_000_000;

/// A command, checked before it is forwarded.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Write {
        who: char,
        offset: usize,
        text: String,
    },
    Read {
        who: char,
        offset: usize,
        len: usize,
    },
    Show,
    Race(u64),
    Help,
    Quit,
}

/// Reads one command line; `Ok(None)` for an empty line, `Err(hint)` for a
/// line that is not a command.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim();
    let (word, rest) = split_word(line);
    let command = match word.to_ascii_lowercase().as_str() {
        "" => return Ok(None),
        "help" | "?" => Command::Help,
        "quit" | "exit" => Command::Quit,
        "show" => Command::Show,
        "race" => {
            let count = match rest {
                "" => DEFAULT_RACE,
                count => count
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_RACE).contains(n))
                    .ok_or_else(|| format!("usage: race [count], count 1-{MAX_RACE}"))?,
            };
            Command::Race(count)
        }
        who @ ("a" | "b") => {
            let who = if who == "a" { 'A' } else { 'B' };
            let name = who.to_ascii_lowercase();
            let (verb, rest) = split_word(rest);
            match verb {
                "write" => {
                    let usage = || {
                        format!(
                            "usage: {name} write <offset> <text>, offset 0-{}",
                            DATA_LEN - 1
                        )
                    };
                    let (offset, text) = split_word(rest);
                    let offset: usize = offset.parse().map_err(|_| usage())?;
                    if text.is_empty() || offset >= DATA_LEN {
                        return Err(usage());
                    }
                    if offset + text.len() > DATA_LEN {
                        return Err(format!(
                            "{} at offset {offset} would end past byte {}: the region is bytes 0-{}",
                            bytes(text.len()),
                            DATA_LEN - 1,
                            DATA_LEN - 1
                        ));
                    }
                    Command::Write {
                        who,
                        offset,
                        text: text.to_owned(),
                    }
                }
                "read" => {
                    let usage = || {
                        format!(
                            "usage: {name} read <offset> <len>, within bytes 0-{}",
                            DATA_LEN - 1
                        )
                    };
                    let (offset, len) = split_word(rest);
                    let (offset, len): (usize, usize) = match (offset.parse(), len.parse()) {
                        (Ok(offset), Ok(len)) => (offset, len),
                        _ => return Err(usage()),
                    };
                    if len == 0 || offset.checked_add(len).is_none_or(|end| end > DATA_LEN) {
                        return Err(usage());
                    }
                    Command::Read { who, offset, len }
                }
                _ => {
                    return Err(format!(
                        "{name} what? {name} write <offset> <text>, or {name} read <offset> <len>"
                    ));
                }
            }
        }
        _ => return Err(format!("unknown command {word:?}: type help for the list")),
    };
    Ok(Some(command))
}

/// The first word of `line`, and the rest after the spaces that follow it.
fn split_word(line: &str) -> (&str, &str) {
    match line.split_once(' ') {
        Some((word, rest)) => (word, rest.trim_start()),
        None => (line, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_commands() {
        assert_eq!(
            parse("a write 3 hello world"),
            Ok(Some(Command::Write {
                who: 'A',
                offset: 3,
                text: "hello world".into()
            }))
        );
        assert_eq!(
            parse("  B   read 0   5 "),
            Ok(Some(Command::Read {
                who: 'B',
                offset: 0,
                len: 5
            }))
        );
        assert_eq!(parse("race"), Ok(Some(Command::Race(DEFAULT_RACE))));
        assert_eq!(parse("race 10"), Ok(Some(Command::Race(10))));
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("quit"), Ok(Some(Command::Quit)));
    }

    #[test]
    fn bad_commands_get_a_hint() {
        for bad in [
            "a write",
            "a write x hi",
            "a write 128 hi",
            "a write 127 hi",
            "b read 0",
            "b read 120 9",
            "b read 0 0",
            "b fly",
            "race 0",
            "race many",
            "jump",
        ] {
            let hint = parse(bad).unwrap_err();
            assert!(
                !hint.contains('\n'),
                "{bad:?}: a one-line hint, got {hint:?}"
            );
        }
    }
}
