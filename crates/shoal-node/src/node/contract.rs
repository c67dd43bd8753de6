//! The JSON lines a node program prints on stdout: a `ready` line once it listens, then one
//! line per membership event. Launchers and tests parse these, so keys are only ever added.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};
use shoal_proto::Event;
use tokio::sync::broadcast::error::RecvError;

use super::{Node, NodeEvent};

impl Node {
    /// `{"event":"ready","name","creation","listen","http","pid","version"}`.
    pub fn ready_line(&self) -> Value {
        let local = self.local();
        json!({
            "event": "ready",
            "name": local.id.name.as_str(),
            "creation": local.id.creation.0,
            "listen": local.listen,
            "http": local.http,
            "pid": std::process::id(),
            "version": local.version,
        })
    }
}

impl Node {
    /// Prints the ready line on stdout and, when `ready_file` is given (launchers pass
    /// `SHOAL_READY_FILE`), writes it there too, atomically (a temporary file, then a rename).
    pub fn announce_ready(&self, ready_file: Option<&Path>) -> std::io::Result<()> {
        let line = self.ready_line();
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
                    Ok(event) => print_line(&event.to_json()),
                    Err(RecvError::Lagged(n)) => tracing::warn!("event printer fell {n} events behind"),
                    Err(RecvError::Closed) => return,
                }
            }
        })
    }
}

/// One JSON value per line, flushed at once (launchers read stdout line by line).
fn print_line(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

impl NodeEvent {
    /// `node_up`, `node_suspect`, `node_down` (with `reason`), `actors_down` or `renewed`, with `node`,
    /// `creation` and `at_us` (µs since the Unix epoch when the node decided it).
    pub fn to_json(&self) -> Value {
        let at_us = self.at_us;
        match &self.event {
            Event::NodeUp(m) => json!({"event": "node_up", "node": m.id.name.as_str(),
                "creation": m.id.creation.0, "listen": m.listen, "version": m.version, "at_us": at_us}),
            Event::NodeSuspect(id) => json!({"event": "node_suspect", "node": id.name.as_str(),
                "creation": id.creation.0, "at_us": at_us}),
            Event::NodeDown { id, reason } => json!({"event": "node_down", "node": id.name.as_str(),
                "creation": id.creation.0, "reason": reason, "at_us": at_us}),
            Event::Renewed(m) => json!({"event": "renewed", "node": m.id.name.as_str(),
                "creation": m.id.creation.0, "at_us": at_us}),
            Event::ActorsDown(id) => json!({"event": "actors_down", "node": id.name.as_str(),
                "creation": id.creation.0, "at_us": at_us}),
            Event::Stalled { gap } => json!({"event": "stalled",
                "gap_ms": gap.as_millis() as u64, "at_us": at_us}),
            Event::NameTaken { by } => json!({"event": "name_taken", "node": by.name.as_str(),
                "creation": by.creation.0, "at_us": at_us}),
        }
    }
}
