//! `shoal cluster shell [NODE]`: an interactive prompt for the cluster commands, with line
//! editing and history (kept in the state directory's `shell_history`).

use std::path::Path;

use anyhow::Context;
use clap::Parser;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::{Cli, Command};

const HELP: &str = "\
commands (as on the command line, without `shoal`):
  members                  every node's view of the membership
  ps [--name TEXT]         actors (of NODE only, if the shell was started with one)
  info <id>@<node>         one actor
  kill <id>@<node>         kill an actor
  send <id>@<node> JSON    a message as JSON, without spaces: send demo.counter.03 {\"Add\":5}
  call <id>@<node> JSON    a call, printing the reply: call demo.counter.03 \"Get\"
  cluster status | health  the cluster
  cluster partition n1 / n2, cluster heal, cluster pause|resume|kill NODE
  help, exit";

/// Runs the prompt until `exit` or end of input.
pub(crate) fn run(dir: &Path, node: Option<&str>) -> anyhow::Result<()> {
    let mut editor = DefaultEditor::new().context("cannot start the line editor")?;
    let history = dir.join("shell_history");
    let _ = editor.load_history(&history);
    let prompt = format!("shoal{}> ", node.map(|n| format!(" {n}")).unwrap_or_default());
    outln!("shoal cluster shell on {}; `help` lists commands", dir.display());
    loop {
        let line = match editor.readline(&prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e).context("cannot read the prompt"),
        };
        let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        match words.first().map(String::as_str) {
            None => continue,
            Some("exit" | "quit") => break,
            Some("help") => outln!("{HELP}"),
            Some(_) => {
                let _ = editor.add_history_entry(line.as_str());
                if let Err(e) = run_line(dir, node, words) {
                    eprintln!("error: {e:#}");
                }
            }
        }
    }
    let _ = editor.save_history(&history);
    Ok(())
}

/// Parses one line as a `shoal` command scoped to the shell's state dir (and node) and runs it.
fn run_line(dir: &Path, node: Option<&str>, mut words: Vec<String>) -> anyhow::Result<()> {
    if matches!(words[0].as_str(), "node" | "bench") {
        anyhow::bail!("`node` and `bench` do not run inside the shell");
    }
    if words[0] == "ps"
        && !words.iter().any(|w| w == "--node")
        && let Some(node) = node
    {
        words.extend(["--node".to_owned(), node.to_owned()]);
    }
    if !words.iter().any(|w| w == "--state-dir") {
        words.extend(["--state-dir".to_owned(), dir.display().to_string()]);
    }
    let cli = Cli::try_parse_from(std::iter::once("shoal".to_owned()).chain(words))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match cli.command {
        Command::Node(_) | Command::Bench(_) => {
            anyhow::bail!("`node` and `bench` do not run inside the shell")
        }
        command => crate::dispatch(command),
    }
}
