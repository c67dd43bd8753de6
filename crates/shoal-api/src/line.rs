//! The JSON lines a node program prints on stdout.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::Ready;

/// One line of a node program's stdout, told apart by its `event` key: a `ready` line once
/// it listens, then one line per membership event. Every event carries `at_us`, µs since
/// the Unix epoch when the node decided it; `node` and `creation` name the member it is
/// about. Launchers and tests parse these lines, so keys are only ever added.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Line {
    /// The node listens (see [`Ready`]).
    Ready(Ready),
    /// A member is up (or a suspicion of it cleared).
    NodeUp {
        /// Its name.
        node: String,
        /// Its creation.
        creation: u64,
        /// Its link address.
        listen: SocketAddr,
        /// Its build version.
        version: String,
        /// When, µs since the Unix epoch.
        at_us: u64,
    },
    /// A member is suspected.
    NodeSuspect {
        /// Its name.
        node: String,
        /// Its creation.
        creation: u64,
        /// When.
        at_us: u64,
    },
    /// A member is down: `reason` is `Left`, `Failed`, `Crashed`, `Replaced` or `Renewed`.
    NodeDown {
        /// Its name.
        node: String,
        /// Its creation.
        creation: u64,
        /// Why, as the membership core names it.
        reason: String,
        /// When.
        at_us: u64,
    },
    /// This node took a newer life (`node`, `creation`: the new one).
    Renewed {
        /// This node's name.
        node: String,
        /// The new creation.
        creation: u64,
        /// When.
        at_us: u64,
    },
    /// A member reported `Renewed` took no newer life in time: its actors are down.
    ActorsDown {
        /// Its name.
        node: String,
        /// The creation whose actors are down.
        creation: u64,
        /// When.
        at_us: u64,
    },
    /// This node did not run for `gap_ms` (it was stopped); it judged nobody by it.
    Stalled {
        /// The gap, in milliseconds.
        gap_ms: u64,
        /// When it noticed.
        at_us: u64,
    },
    /// A member refused this node: a live node has its name (the node then exits 1).
    NameTaken {
        /// The name.
        node: String,
        /// The creation of the node holding it.
        creation: u64,
        /// When.
        at_us: u64,
    },
}

impl Line {
    /// The line as printed: one JSON object with its keys sorted (the order the node has
    /// always printed them in), no newline.
    pub fn to_line(&self) -> String {
        // Through a `Value`, whose map sorts its keys. It cannot fail: every field is a
        // string, a number or an address.
        serde_json::to_value(self).map_or_else(|e| format!("{{\"error\":\"{e}\"}}"), |v| v.to_string())
    }

    /// When the node decided it, µs since the Unix epoch (`None` for the ready line).
    pub fn at_us(&self) -> Option<u64> {
        match self {
            Self::Ready(_) => None,
            Self::NodeUp { at_us, .. }
            | Self::NodeSuspect { at_us, .. }
            | Self::NodeDown { at_us, .. }
            | Self::Renewed { at_us, .. }
            | Self::ActorsDown { at_us, .. }
            | Self::Stalled { at_us, .. }
            | Self::NameTaken { at_us, .. } => Some(*at_us),
        }
    }

    /// The member the line is about, and its creation: `node` and `creation` (the ready
    /// line's own `name` and `creation`; `None` for `stalled`).
    pub fn member(&self) -> Option<(&str, u64)> {
        match self {
            Self::Ready(ready) => Some((&ready.name, ready.creation)),
            Self::NodeUp { node, creation, .. }
            | Self::NodeSuspect { node, creation, .. }
            | Self::NodeDown { node, creation, .. }
            | Self::Renewed { node, creation, .. }
            | Self::ActorsDown { node, creation, .. }
            | Self::NameTaken { node, creation, .. } => Some((node, *creation)),
            Self::Stalled { .. } => None,
        }
    }

    /// The `event` key: `ready`, `node_up`, `node_down`, ...
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Ready(_) => "ready",
            Self::NodeUp { .. } => "node_up",
            Self::NodeSuspect { .. } => "node_suspect",
            Self::NodeDown { .. } => "node_down",
            Self::Renewed { .. } => "renewed",
            Self::ActorsDown { .. } => "actors_down",
            Self::Stalled { .. } => "stalled",
            Self::NameTaken { .. } => "name_taken",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ready_line_prints_with_sorted_keys_and_reads_back() {
        let ready = Ready {
            name: "n1".into(),
            creation: 5,
            listen: SocketAddr::from(([127, 0, 0, 1], 7000)),
            http: None,
            pid: 42,
            version: "0.1.0".into(),
        };
        let text = ready.to_line();
        assert_eq!(
            text,
            r#"{"creation":5,"event":"ready","http":null,"listen":"127.0.0.1:7000","name":"n1","pid":42,"version":"0.1.0"}"#
        );
        assert_eq!(serde_json::from_str::<Line>(&text).ok(), Some(Line::Ready(ready)));
    }

    #[test]
    fn an_event_line_prints_as_the_node_always_did() {
        let line = Line::NodeDown {
            node: "n2".into(),
            creation: 7,
            reason: "Crashed".into(),
            at_us: 9,
        };
        assert_eq!(
            line.to_line(),
            r#"{"at_us":9,"creation":7,"event":"node_down","node":"n2","reason":"Crashed"}"#
        );
        assert_eq!(line.kind(), "node_down");
        let stalled = r#"{"at_us":3,"event":"stalled","gap_ms":400}"#;
        assert_eq!(
            serde_json::from_str::<Line>(stalled).ok(),
            Some(Line::Stalled {
                gap_ms: 400,
                at_us: 3
            })
        );
    }
}
