//! What the membership core asks its driver to do, and what it tells the node's users.

use std::net::SocketAddr;

use serde::Serialize;

use crate::member::Member;
use crate::node_id::NodeId;
use crate::wire::LinkMessage;

/// The driver's handle on one TCP connection, chosen by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Why a member left the live set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum DownReason {
    /// It said goodbye (graceful leave).
    Left,
    /// It stopped answering, or the cluster declared it down. It may still run on the other
    /// side of a partition.
    Failed,
    /// Its process is gone (a crash or `kill -9`): its side closed our link and then its
    /// address refused a connection, or the cluster declared it down before our re-dial
    /// reached it again (within `link_down_after` of the close; a network cut closes nothing,
    /// links go silent). Nothing of it runs any more, so its work fails over at once.
    Crashed,
    /// A newer life of the same name (higher creation), another process, took its place:
    /// the node was restarted.
    Replaced,
    /// Its life ended while its process runs on: somewhere in the cluster it was declared down
    /// (by a partition's other side, or a node cut from it only), and SWIM's down is final for
    /// a life, so it takes a new one. Reported when the newer life of the same process
    /// replaces it, or when the cluster's down arrives while it still answers us on its
    /// link. Its process never stopped, so its actors, names and monitors stand.
    Renewed,
}

impl DownReason {
    /// Whether the member's process may have stopped or been cut off from us, so its actors
    /// count as down: monitors and links fire `NodeDown`, pending calls fail, its registered
    /// names go. False only for [`DownReason::Renewed`], which [`Event::ActorsDown`] follows
    /// if the process does not show a newer life. Every driver applies this one rule.
    pub fn actors_down(self) -> bool {
        !matches!(self, Self::Renewed)
    }

    /// The variant's name, as serde writes it: what event lines, the history and metric
    /// labels carry.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Left => "Left",
            Self::Failed => "Failed",
            Self::Crashed => "Crashed",
            Self::Replaced => "Replaced",
            Self::Renewed => "Renewed",
        }
    }
}

/// A membership change, as published to the node's subscribers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A member became live.
    NodeUp(Member),
    /// A live member has gone quiet; it may come back or be declared down.
    NodeSuspect(NodeId),
    /// A member left the live set.
    NodeDown {
        /// Which member.
        id: NodeId,
        /// Why.
        reason: DownReason,
    },
    /// This node was declared down and rejoined as a new life with this identity.
    Renewed(Member),
    /// Life `0` was reported down as [`DownReason::Renewed`] (the cluster ended it while it
    /// still answered us), but no newer life of its process came up within
    /// `link_down_after`: the process is taken to be gone after all (it died right then, or
    /// the cluster's down outran the close of our link to a killed node). Its actors count as
    /// down from now on: monitors and links fire, its names go. Reported at most once per
    /// life, and only after that life's `Renewed` down.
    ActorsDown(NodeId),
    /// This node did not run for `gap` (its process was stopped, e.g. `SIGSTOP`, or starved
    /// of CPU): its timers fired that late. The silence its links measured over the gap was
    /// not held against any peer; its peers, who ran, may have declared it down meanwhile.
    Stalled {
        /// How late the timers fired.
        gap: std::time::Duration,
    },
    /// A member refused this node because another process, live and answering, already
    /// holds this node's name. The cluster keeps that process; this one stays out.
    NameTaken {
        /// The member that refused us.
        by: NodeId,
    },
}

/// One instruction for the driver, drained with `Membership::poll_output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send a gossip datagram (already sealed with the cookie).
    SendDatagram {
        /// Destination UDP address.
        to: SocketAddr,
        /// Sealed bytes.
        bytes: Vec<u8>,
    },
    /// Send a message on an authenticated link.
    SendLink {
        /// Which connection.
        conn: ConnId,
        /// What to send.
        msg: LinkMessage,
    },
    /// Open a link to this member (report back with `handle_link_up` or `handle_dial_failed`).
    Dial(Member),
    /// Close this connection.
    CloseLink(ConnId),
    /// Tell the node's users.
    Event(Event),
}
