//! The rule for writing a *new* child (`start_child`): only a replica that holds the
//! cluster's table may. [`super::start`], which shoal-node and the simulator call, asks
//! [`table_current`] first.
//!
//! A new child is a new incarnation in the last-writer-wins table, and it wins over every
//! incarnation of the id with an older version, including ones this replica never saw. A
//! node that has just started holds an empty table and a view of itself alone: had it
//! written `demo.counter.03` then (the demo seeds what its table lacks once it is the
//! oldest member, and alone it is), its incarnation won the merge after it joined, every
//! node stopped the instance that ran with a count, and the child started over from zero
//! (issue 16 item 1; 7 rolling restarts in 40 of a 3-node demo).

use crate::children::ChildTable;
use crate::member::Member;

/// Why this replica may not write a new child yet; nothing was written. Both pass: retry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotCurrent {
    /// The node is still finding its cluster ([`crate::joining::Joining`]): its view and
    /// table are its own only.
    #[error(
        "this node is still joining its cluster (discovery found peers it has not linked to yet); start the child once it has joined"
    )]
    Joining,
    /// Peers are live, but this replica has merged none of their tables yet.
    #[error(
        "this node has not merged the child table of any live peer yet (it has just joined); retry in a moment"
    )]
    Unsynced,
}

/// Whether this replica may write a new child: the node is not joining (`joining`, see
/// [`crate::joining::Joining`]), and if any peer is live in `live` (the table's own node
/// included),
/// it has merged the table of at least one of them (a peer's table is the cluster's, up
/// to deltas in flight; all of them is not required, as a pair cut may leave a live peer
/// without a link for a long time).
pub fn table_current(table: &ChildTable, live: &[&Member], joining: bool) -> Result<(), NotCurrent> {
    if joining {
        return Err(NotCurrent::Joining);
    }
    let local = &table.local().name;
    let mut peers = live.iter().map(|m| &m.id.name).filter(|n| *n != local).peekable();
    if peers.peek().is_some() && !peers.any(|n| table.has_synced_with(n)) {
        return Err(NotCurrent::Unsynced);
    }
    Ok(())
}
