//! `printf` of one line: the function behind [`say!`](crate::say!).

use std::fmt;
use std::io::{self, Write};

use nix::errno::Errno;

use crate::error::{Perror, SysError};
use crate::interrupt;

/// The function behind [`say!`](crate::say!).
pub fn write_line(line: fmt::Arguments<'_>) -> Result<(), SysError> {
    // After Ctrl-C, the example prints nothing more.
    interrupt::check("write stdout")?;
    let line = format!("{line}\n");
    let mut stdout = io::stdout().lock();
    // Whatever `print!` may have left in std's buffer goes first.
    stdout.flush().perror("write stdout")?;
    let mut rest = line.as_bytes();
    while !rest.is_empty() {
        // write(2) itself, not `write_all`, which would go back to a stdout
        // that blocks (a full pipe) after Ctrl-C.
        match nix::unistd::write(&stdout, rest) {
            Ok(written) => rest = &rest[written..],
            Err(Errno::EINTR) => interrupt::check("write stdout")?,
            Err(errno) => return Err(SysError::new("write stdout", errno)),
        }
    }
    Ok(())
}
