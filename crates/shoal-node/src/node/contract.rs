//! The JSON lines a node program prints on stdout (ARCHITECTURE section 9): a `ready` line
//! once it listens, then one line per membership event. Launchers and tests parse these, so
//! keys are only ever added.

use serde_json::{Value, json};
use shoal_proto::Event;

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

impl NodeEvent {
    /// `node_up`, `node_suspect`, `node_down` (with `reason`) or `renewed`, with `node`,
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
        }
    }
}
