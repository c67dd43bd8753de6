//! Standard output for command results, through `outln!` and `out!` instead of
//! `println!`, which panics when the reader has gone (`shoal ps | head -1`). A reader that went
//! away is not the command's failure: the rest of the output is dropped, and the command
//! finishes its work (a `cluster`, `bench` or `chaos` command still stops what it started);
//! a command that would print forever (`cluster logs --follow`) asks [`closed`] and ends.

use std::fmt;
use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `args` to standard output, unless it was found closed (or failed) before.
pub(crate) fn write(args: fmt::Arguments<'_>) {
    if CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush()) {
        CLOSED.store(true, Ordering::Relaxed);
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("warning: cannot write the output: {e}; the rest of it is dropped");
        }
    }
}

/// Whether standard output was found closed: what is printed from now on is dropped.
pub(crate) fn closed() -> bool {
    CLOSED.load(Ordering::Relaxed)
}

/// `println!` to standard output that drops its text once the reader has gone.
macro_rules! outln {
    () => {
        $crate::out::write(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::out::write(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` to standard output that drops its text once the reader has gone.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::out::write(format_args!($($arg)*))
    };
}
