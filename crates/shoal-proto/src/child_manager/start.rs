//! Starting and terminating a child: the rules `start_child` and `terminate_child` apply,
//! written once here. shoal-node's `DistributedSupervisor` and the simulator both call
//! [`start`] and [`terminate`]; what is not about the table (a valid id, a known factory,
//! waiting for the instance) stays with the caller.

use super::{Host, NotCurrent, View, place, table_current};
use crate::actor_wire::Pid;
use crate::children::{ChildRecord, ChildSpec, ChildTable};
use crate::node_id::NodeName;
use crate::placement::PlacementError;

/// Why [`start`] refused a child; nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StartRefused {
    /// The split-brain verdict isolates this node (its side lost a partition): it starts
    /// nothing until the partition heals, since the other side may start the same id.
    #[error("this node is isolated by the split-brain resolver; start children on the majority side")]
    Isolated,
    /// This replica does not hold the cluster's table yet ([`table_current`]): a new
    /// incarnation written now could win over the one the cluster runs. Retry.
    #[error(transparent)]
    NotCurrent(#[from] NotCurrent),
    /// This replica holds a child with this id (running, moving or given up).
    #[error("a child {id:?} exists already (owned by {owner}); terminate it first or pick another id")]
    AlreadyStarted {
        /// The id.
        id: String,
        /// Its owner.
        owner: NodeName,
    },
    /// An actor holds the id as its registered name, and the table has no such child (an
    /// actor registered by hand, or the instance of a terminated child not yet stopped).
    #[error("the name {id:?} is registered to {holder}, which is not a supervised child; pick another id")]
    NameTaken {
        /// The id.
        id: String,
        /// The actor that holds the name.
        holder: Pid,
    },
    /// Placement found no owner (no eligible live member, or an unknown custom strategy).
    #[error(transparent)]
    Placement(#[from] PlacementError),
}

/// The start-child rule: refuses while `view`'s verdict isolates this node, while this
/// replica does not hold the cluster's table (`joining`: the node is still finding its
/// cluster, see [`table_current`]), when the table has a child `spec.id`, or when an actor holds the name `spec.id` (as `host` says);
/// otherwise writes a new incarnation of the child owned by the node placement picks among
/// the live members, and returns that owner. The owner starts it on its next look.
pub fn start(
    table: &mut ChildTable,
    spec: ChildSpec,
    view: &View<'_>,
    host: &dyn Host,
    joining: bool,
) -> Result<NodeName, StartRefused> {
    if view.verdict.isolated {
        return Err(StartRefused::Isolated);
    }
    table_current(table, view.live, joining)?;
    let id = spec.id.clone();
    if let Some(existing) = table.get(&id) {
        return Err(StartRefused::AlreadyStarted {
            id,
            owner: existing.owner.clone(),
        });
    }
    if let Some(holder) = host.name_holder(&id) {
        return Err(StartRefused::NameTaken { id, holder });
    }
    let owner = place(table, &spec, view.live, None, host)?;
    table.start(&id, ChildRecord::new(spec, owner.clone()));
    Ok(owner)
}

/// The terminate rule: removes child `id` cluster-wide (a tombstone, which wins over every
/// write of the incarnation it ends); its owner stops the instance on its next look.
/// Returns whether this replica had such a child (nothing is written otherwise).
pub fn terminate(table: &mut ChildTable, id: &str) -> bool {
    let found = table.get(id).is_some();
    if found {
        table.write(id, None);
    }
    found
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
#[path = "start_test.rs"]
mod tests;
