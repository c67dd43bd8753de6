//! `shoal cluster logs [NODE] [-f]`: node logs, merged with a name prefix when no node is named;
//! and the log files themselves: appended across restarts, rotated by a fresh start.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};

use super::state::ClusterState;

/// Arguments of `shoal cluster logs`.
#[derive(clap::Args, Debug)]
pub(crate) struct LogsArgs {
    /// Only this node's log.
    node: Option<String>,
    /// Keep printing new lines until interrupted (or until the reader of a pipe goes).
    #[arg(short, long)]
    follow: bool,
}

pub(crate) fn run(dir: &Path, args: LogsArgs) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    let names: Vec<&str> = match &args.node {
        Some(name) if state.nodes.iter().any(|n| n.name == *name) => vec![name.as_str()],
        Some(name) => anyhow::bail!(
            "no node {name:?} in {}; its nodes are {}",
            dir.display(),
            state
                .nodes
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => state.nodes.iter().map(|n| n.name.as_str()).collect(),
    };
    let prefix = args.node.is_none();
    let mut files: Vec<(String, PathBuf, u64)> = names
        .iter()
        .map(|n| (n.to_string(), dir.join("logs").join(format!("{n}.log")), 0))
        .collect();
    loop {
        for (name, path, offset) in &mut files {
            *offset = print_from(name, path, *offset, prefix)?;
        }
        if !args.follow || crate::out::closed() {
            return Ok(()); // done, or nobody reads any more (`logs -f | head`)
        }
        std::thread::sleep(Duration::from_millis(200)); // polling for new lines, like tail -f
    }
}

/// Prints the complete lines of `path` from `offset`; returns the offset after them.
fn print_from(name: &str, path: &Path, offset: u64, prefix: bool) -> anyhow::Result<u64> {
    let mut file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    file.seek(SeekFrom::Start(offset))?;
    let mut reader = BufReader::new(file);
    let mut consumed = offset;
    let mut line = String::new();
    while reader.read_line(&mut line)? > 0 && line.ends_with('\n') {
        consumed += line.len() as u64;
        if prefix {
            out!("{name:<4} | {line}");
        } else {
            out!("{line}");
        }
        line.clear();
    }
    Ok(consumed)
}

/// Opens `name`'s `.log` and `.events` for appending, so earlier lives stay, and marks the
/// new process in the `.log` with a line `--- TIME NAME: new process ---` (its ready line in
/// `.events` then gives its pid and creation).
pub(crate) fn open_logs(dir: &Path, name: &str) -> anyhow::Result<(File, File)> {
    let open = |ext: &str| {
        let path = dir.join("logs").join(format!("{name}.{ext}"));
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| {
                format!(
                    "cannot open {}; check the state directory is writable",
                    path.display()
                )
            })
    };
    let mut log = open("log")?;
    let mut now = String::new();
    let _ = SystemTime.format_time(&mut Writer::new(&mut now));
    writeln!(log, "--- {now} {name}: new process ---")?;
    Ok((log, open("events")?))
}

/// Moves the logs of an earlier cluster of this state directory aside (`n1.log` to
/// `n1.log.1`, replacing an older `.1`), so a fresh `start` begins new files.
pub(crate) fn rotate_logs(dir: &Path, size: usize) {
    for i in 1..=size {
        for ext in ["log", "events"] {
            let path = dir.join("logs").join(format!("n{i}.{ext}"));
            let _ = std::fs::rename(&path, path.with_extension(format!("{ext}.1")));
        }
    }
}
