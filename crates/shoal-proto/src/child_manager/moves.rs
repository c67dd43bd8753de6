//! Moving a child with its state (`migrate`): the rule that writes a move, and what a caller
//! may report of it afterwards. Both shoal-node and the simulator call these.
//!
//! A move is one write to the last-writer-wins table, so it can lose: moves written on two
//! nodes before either saw the other's both look accepted where they were written, and the
//! merge keeps one. Which one *happens* is decided by the node that hands the state over
//! (see [`super::ChildManager`]'s rules): it sends the state to the target of the move it
//! saw first, and puts that move back over any other that wins the merge later; the target
//! that got the state claims the child back the same way. So a caller learns the outcome
//! only from the table once the child settles ([`Move::outcome`]), never from its write.

use crate::children::{ChildRecord, ChildTable};
use crate::member::Member;
use crate::node_id::NodeName;

/// A move of child `id` from `from` to `to`, as written to the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    /// The child id.
    pub id: String,
    /// Its owner when the move was written (it hands the state over).
    pub from: NodeName,
    /// The target.
    pub to: NodeName,
}

/// Why a move was refused; nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// No such child.
    #[error("no child {0:?}")]
    NotFound(String),
    /// The target is not a live member.
    #[error("{0} is not a live member; move the child to a live member")]
    NotLive(NodeName),
    /// The target lacks the child's role.
    #[error("{node} lacks role {role:?}, which child {id:?} needs; pick a node with that role")]
    NotEligible {
        /// The id.
        id: String,
        /// The target.
        node: NodeName,
        /// The role.
        role: String,
    },
    /// The child has been given up.
    #[error("child {0:?} was given up after too many restarts; terminate and start it again")]
    Failed(String),
    /// The child is moving already (a migrate, a rebalance or a graceful leave).
    #[error("child {id:?} is moving from {from} to {to}; retry when it settles")]
    Moving {
        /// The id.
        id: String,
        /// The node it moves from.
        from: NodeName,
        /// The node it moves to.
        to: NodeName,
    },
}

/// What became of a [`Move`], as one replica sees it now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoveOutcome {
    /// The child is still moving (to this move's target, or for now to another one).
    Moving,
    /// It runs settled on the target; `state_kept` says whether its instance started from
    /// the state handed over by the move's `from` (false: the state was lost on the way).
    Done {
        /// Whether the instance started from the handed-over state.
        state_kept: bool,
    },
    /// It settled on another node: a concurrent move (or a take-over) won.
    Superseded {
        /// Where it runs instead.
        owner: NodeName,
    },
    /// The child was removed.
    Removed,
    /// The child was given up.
    Failed,
}

/// The migrate rule: moves child `id` to `to` (one of the `live` members, with the child's
/// role), with its state, by writing the move to `table`. Refuses a child that is moving
/// already. Returns `None` (and writes nothing) if it runs settled on `to` already.
pub fn migrate(
    table: &mut ChildTable,
    id: &str,
    to: &NodeName,
    live: &[&Member],
) -> Result<Option<Move>, MoveError> {
    let member = live
        .iter()
        .find(|m| m.id.name == *to)
        .ok_or_else(|| MoveError::NotLive(to.clone()))?;
    let mut r = table
        .get(id)
        .cloned()
        .ok_or_else(|| MoveError::NotFound(id.to_owned()))?;
    if r.failed.is_some() {
        return Err(MoveError::Failed(id.to_owned()));
    }
    if let Some(from) = r.handoff_from {
        return Err(MoveError::Moving {
            id: id.to_owned(),
            from,
            to: r.owner,
        });
    }
    if let Some(role) = &r.spec.placement.role
        && !member.roles.contains(role)
    {
        return Err(MoveError::NotEligible {
            id: id.to_owned(),
            node: to.clone(),
            role: role.clone(),
        });
    }
    if r.owner == *to {
        return Ok(None);
    }
    let from = std::mem::replace(&mut r.owner, to.clone());
    r.handoff_from = Some(from.clone());
    table.write(id, Some(r));
    Ok(Some(Move {
        id: id.to_owned(),
        from,
        to: to.clone(),
    }))
}

impl Move {
    /// What became of this move, from `table`: only a settled record answers (a record
    /// that says the child moves elsewhere may still be put back, see the module doc).
    pub fn outcome(&self, table: &ChildTable) -> MoveOutcome {
        let Some(r) = table.get(&self.id) else {
            return MoveOutcome::Removed;
        };
        if r.failed.is_some() {
            MoveOutcome::Failed
        } else if r.handoff_from.is_some() {
            MoveOutcome::Moving
        } else if r.owner == self.to {
            // The move kept the state if the instance started from the one it moved from
            // (after a loss on the source too: the move itself lost nothing).
            MoveOutcome::Done {
                state_kept: r.last_start.handed_from() == Some(&self.from),
            }
        } else {
            MoveOutcome::Superseded {
                owner: r.owner.clone(),
            }
        }
    }
}

/// The two rules that settle concurrent moves (see the module doc).
impl super::ChildManager {
    /// Whether the record says `r` moves from the node whose handed-over state the instance
    /// here started from: a write that did not see that move happen.
    pub(super) fn started_from_handoff_by(&self, r: &ChildRecord) -> bool {
        r.handoff_from.is_some()
            && self
                .handed_here
                .get(&r.spec.id)
                .and_then(|(kind, _)| kind.handed_from())
                == r.handoff_from.as_ref()
    }

    /// Puts back the moves that happened over the moves of `moves` that won the merge: the
    /// state of each went to the node given, not to the record's owner.
    pub(super) fn redirect(&self, table: &mut ChildTable, moves: &[(String, NodeName)]) {
        for (id, to) in moves {
            let Some(mut r) = table.get(id).cloned() else {
                continue;
            };
            tracing::info!(child = %id, %to, superseded = %r.owner, "the state went to another node than this move says; putting back the move that happened");
            r.owner = to.clone();
            r.handoff_from = Some(self.local.clone());
            table.write(id, Some(r));
        }
    }

    /// Puts back the settled records of `ids`, which run here from a handed-over state,
    /// over writes that say they still move from the node that handed it over.
    pub(super) fn reclaim(&self, table: &mut ChildTable, ids: &[String]) {
        for id in ids {
            let (Some(mut r), Some((kind, starts))) = (table.get(id).cloned(), self.handed_here.get(id))
            else {
                continue;
            };
            tracing::info!(child = %id, from = ?kind.handed_from(), superseded = %r.owner, "the child runs here from its handed-over state; putting back its record");
            r.owner = self.local.clone();
            r.handoff_from = None;
            r.starts = r.starts.max(*starts);
            r.last_start = kind.clone();
            table.write(id, Some(r));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
#[path = "moves_test.rs"]
mod tests;
