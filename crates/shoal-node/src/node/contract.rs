//! The JSON lines a node program prints on stdout: a `ready` line once it listens, then one
//! line per membership event. Their shapes are `shoal_api`'s [`Ready`] and [`Line`], which
//! launchers and tests read, so keys are only ever added.

use std::io::Write;
use std::path::Path;

use serde_json::Value;
use shoal_api::{Line, Ready};
use shoal_proto::Event;
use tokio::sync::broadcast::error::RecvError;

use super::{Node, NodeEvent};

impl Node {
    /// What this node says in its ready line.
    pub fn ready_view(&self) -> Ready {
        let local = self.local();
        Ready {
            name: local.id.name.to_string(),
            creation: local.id.creation.0,
            listen: local.listen,
            http: local.http,
            pid: std::process::id(),
            version: local.version,
        }
    }

    /// The ready line as JSON: `{"event":"ready","name","creation","listen","http","pid","version"}`.
    pub fn ready_line(&self) -> Value {
        // Cannot fail: the line holds strings, numbers and addresses.
        serde_json::to_value(Line::Ready(self.ready_view())).unwrap_or_default()
    }
}

impl Node {
    /// Prints the ready line on stdout and, when `ready_file` is given (launchers pass
    /// `SHOAL_READY_FILE`), writes it there too, atomically (a temporary file, then a rename).
    pub fn announce_ready(&self, ready_file: Option<&Path>) -> std::io::Result<()> {
        let line = self.ready_view().to_line();
        print_line(&line);
        if let Some(path) = ready_file {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, format!("{line}\n"))?;
            std::fs::rename(&tmp, path)?;
        }
        Ok(())
    }

    /// Prints every membership event since the node started (or, for a second caller, from
    /// now on) as one JSON line on stdout, until the node stops. Abort the task to stop early.
    pub fn print_events(&self) -> tokio::task::JoinHandle<()> {
        let mut events = self.subscribe_from_start().unwrap_or_else(|| self.subscribe());
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) => print_line(&event.line().to_line()),
                    Err(RecvError::Lagged(n)) => tracing::warn!("event printer fell {n} events behind"),
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }
}

/// One line, flushed at once (launchers read stdout line by line).
fn print_line(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

impl NodeEvent {
    /// The event as its stdout line: `node_up`, `node_suspect`, `node_down` (with `reason`),
    /// `renewed`, `actors_down`, `stalled` or `name_taken`, with `at_us` (µs since the Unix
    /// epoch when the node decided it).
    pub fn line(&self) -> Line {
        let at_us = self.at_us;
        match &self.event {
            Event::NodeUp(m) => Line::NodeUp {
                node: m.id.name.to_string(),
                creation: m.id.creation.0,
                listen: m.listen,
                version: m.version.clone(),
                at_us,
            },
            Event::NodeSuspect(id) => Line::NodeSuspect {
                node: id.name.to_string(),
                creation: id.creation.0,
                at_us,
            },
            Event::NodeDown { id, reason } => Line::NodeDown {
                node: id.name.to_string(),
                creation: id.creation.0,
                reason: reason.as_str().to_owned(),
                at_us,
            },
            Event::Renewed(m) => Line::Renewed {
                node: m.id.name.to_string(),
                creation: m.id.creation.0,
                at_us,
            },
            Event::ActorsDown(id) => Line::ActorsDown {
                node: id.name.to_string(),
                creation: id.creation.0,
                at_us,
            },
            Event::Stalled { gap } => Line::Stalled {
                gap_ms: gap.as_millis() as u64,
                at_us,
            },
            Event::NameTaken { by } => Line::NameTaken {
                node: by.name.to_string(),
                creation: by.creation.0,
                at_us,
            },
        }
    }

    /// [`NodeEvent::line`] as JSON.
    pub fn to_json(&self) -> Value {
        // Cannot fail: the line holds strings, numbers and addresses.
        serde_json::to_value(self.line()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_down_reason_is_named_as_serde_names_it() {
        use shoal_proto::DownReason::*;
        for reason in [Left, Failed, Crashed, Replaced, Renewed] {
            assert_eq!(
                serde_json::to_value(reason).ok(),
                Some(Value::from(reason.as_str())),
                "{reason:?}"
            );
        }
    }
}
