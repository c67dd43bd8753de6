//! `shoal cluster logs [NODE] [-f]`: node logs, merged with a name prefix when no node is named.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;

use super::state::ClusterState;

/// Arguments of `shoal cluster logs`.
#[derive(clap::Args, Debug)]
pub(crate) struct LogsArgs {
    /// Only this node's log.
    node: Option<String>,
    /// Keep printing new lines until interrupted.
    #[arg(short, long)]
    follow: bool,
}

pub(crate) fn run(dir: &Path, args: LogsArgs) -> anyhow::Result<()> {
    let state = ClusterState::load_required(dir)?;
    let names: Vec<&str> = match &args.node {
        Some(name) if state.nodes.iter().any(|n| n.name == *name) => vec![name.as_str()],
        Some(name) => anyhow::bail!(
            "no node {name:?} in {}; see `shoal cluster status`",
            dir.display()
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
        if !args.follow {
            return Ok(());
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
            print!("{name:<4} | {line}");
        } else {
            print!("{line}");
        }
        line.clear();
    }
    Ok(consumed)
}
