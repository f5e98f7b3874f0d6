//! The command parser: a line the user typed becomes a [`Command`], or a
//! one-line hint that says what is wrong with it. Nothing is forwarded to A
//! or B before it is checked here.

use libc::c_long;

use crate::queue::MAX_TEXT;

/// The list `help` prints.
pub const COMMANDS: &str = "\
commands (either process can send or receive):
  a send [type] <text>   A sends <text> as a message of <type>, 1 or more (default 1)  (b send: B does)
  b recv [type]          B receives the first queued message of <type>               (a recv: A does)
                         0 or none: any type; n: type n; -n: the lowest type up to n;
                         with no such message queued, B sleeps in msgrcv until one arrives
  show                   the kernel's view of the queue (msgctl IPC_STAT) and the queued messages
  limit <bytes>          set the queue's limit msg_qbytes (msgctl IPC_SET); a send that does not fit sleeps
  compare [text]         A hands B <text> through a message queue, then through shared memory,
                         and the system calls and copies are shown side by side
  help                   this list
  quit                   end A and B and remove the queue (so do end of input and Ctrl-C)";

/// A command, checked before it is forwarded.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Send {
        who: char,
        mtype: c_long,
        text: String,
    },
    Receive {
        who: char,
        mtype: c_long,
    },
    Show,
    Limit(u64),
    Compare(String),
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
        "limit" => {
            let usage = || "usage: limit <bytes>, 1 or more".to_owned();
            let limit: u64 = rest.parse().map_err(|_| usage())?;
            if limit == 0 {
                return Err(usage());
            }
            Command::Limit(limit)
        }
        "compare" => {
            let text = if rest.is_empty() { "hello" } else { rest };
            check_text(text)?;
            Command::Compare(text.to_owned())
        }
        who @ ("a" | "b") => {
            let who = if who == "a" { 'A' } else { 'B' };
            let name = who.to_ascii_lowercase();
            let (verb, rest) = split_word(rest);
            match verb {
                "send" => {
                    let usage = || format!("usage: {name} send [type] <text>, type 1 or more");
                    // A first word that is a number, with text after it, is the type.
                    let (first, after) = split_word(rest);
                    let (mtype, text) = match first.parse::<c_long>() {
                        Ok(mtype) if !after.is_empty() => (mtype, after),
                        _ => (1, rest),
                    };
                    if text.is_empty() || mtype < 1 {
                        return Err(usage());
                    }
                    check_text(text)?;
                    Command::Send {
                        who,
                        mtype,
                        text: text.to_owned(),
                    }
                }
                "recv" | "receive" => {
                    let mtype = match rest {
                        "" => 0,
                        mtype => mtype
                            .parse::<c_long>()
                            .ok()
                            .filter(|&t| t != c_long::MIN)
                            .ok_or_else(|| {
                                format!("usage: {name} recv [type]: 0 any, n type n, -n the lowest up to n")
                            })?,
                    };
                    Command::Receive { who, mtype }
                }
                _ => {
                    return Err(format!(
                        "{name} what? {name} send [type] <text>, or {name} recv [type]"
                    ));
                }
            }
        }
        _ => return Err(format!("unknown command {word:?}: type help for the list")),
    };
    Ok(Some(command))
}

fn check_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_TEXT {
        Err(format!(
            "a message here holds at most {MAX_TEXT} bytes; that one has {}",
            text.len()
        ))
    } else {
        Ok(())
    }
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
        let send = |who, mtype, text: &str| {
            Ok(Some(Command::Send {
                who,
                mtype,
                text: text.into(),
            }))
        };
        assert_eq!(parse("a send hello world"), send('A', 1, "hello world"));
        assert_eq!(parse("b send 7 hello"), send('B', 7, "hello"));
        assert_eq!(parse("a send 42"), send('A', 1, "42"));
        assert_eq!(
            parse("b recv"),
            Ok(Some(Command::Receive { who: 'B', mtype: 0 }))
        );
        assert_eq!(
            parse("A recv -3"),
            Ok(Some(Command::Receive {
                who: 'A',
                mtype: -3
            }))
        );
        assert_eq!(parse("limit 20"), Ok(Some(Command::Limit(20))));
        assert_eq!(parse("compare"), Ok(Some(Command::Compare("hello".into()))));
        assert_eq!(parse("  "), Ok(None));
    }

    #[test]
    fn bad_commands_get_a_one_line_hint() {
        let long = format!("a send {}", "x".repeat(MAX_TEXT + 1));
        for bad in [
            "a send",
            "a send 0 zero",
            "a send -1 minus",
            "b recv x",
            "b fly",
            "limit",
            "limit 0",
            "limit lots",
            "jump",
            &long,
        ] {
            let hint = parse(bad).unwrap_err();
            assert!(!hint.contains('\n'), "{bad:?}: one line, got {hint:?}");
        }
    }
}
