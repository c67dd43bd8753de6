//! One name's claims: at most one registration per owner node, the winner first.
//!
//! The registry keeps every name any replica holds in one table of `Claims`, so a name costs
//! one table entry however many owners claim it, and a lookup reads the winner without
//! visiting each replica. Almost every name has a single claim, which lives inline; several
//! claims (a partition healed, two registrations crossed) are kept sorted by the conflict
//! rule.

use super::Registration;
use super::rule;
use crate::node_id::NodeName;

/// The claims on one name. Never empty while it is in the table: [`Claims::is_empty`] tells
/// the registry to drop the name.
#[derive(Debug, Clone)]
pub(crate) enum Claims {
    /// One owner claims the name (the common case).
    One(Registration),
    /// Several owners (or none, just before the name is dropped), sorted by
    /// [`rule::precedence`]: the winner first.
    Contested(Vec<Registration>),
}

impl Claims {
    /// The winning claim. Must not be called on empty claims.
    pub(crate) fn winner(&self) -> &Registration {
        match self {
            Self::One(one) => one,
            Self::Contested(all) => &all[0],
        }
    }

    /// Whether every claim was withdrawn.
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Self::Contested(all) if all.is_empty())
    }

    /// `owner`'s claim, if it has one.
    pub(crate) fn of(&self, owner: &NodeName) -> Option<&Registration> {
        match self {
            Self::One(one) => (one.pid.node.name == *owner).then_some(one),
            Self::Contested(all) => all.iter().find(|r| r.pid.node.name == *owner),
        }
    }

    /// Puts `claim` in place of its owner's claim (if any); returns the one it replaced.
    pub(crate) fn put(&mut self, claim: Registration) -> Option<Registration> {
        let replaced = self.withdraw(&claim.pid.node.name);
        match self {
            Self::Contested(all) if all.is_empty() => *self = Self::One(claim),
            Self::One(one) => {
                let mut all = vec![one.clone(), claim];
                all.sort_by(rule::precedence);
                *self = Self::Contested(all);
            }
            Self::Contested(all) => {
                let at = all.partition_point(|r| rule::precedence(r, &claim).is_lt());
                all.insert(at, claim);
            }
        }
        replaced
    }

    /// Withdraws `owner`'s claim; returns it. The claims may be empty afterwards.
    pub(crate) fn withdraw(&mut self, owner: &NodeName) -> Option<Registration> {
        match self {
            Self::One(one) if one.pid.node.name == *owner => {
                let withdrawn = one.clone();
                *self = Self::Contested(Vec::new());
                Some(withdrawn)
            }
            Self::One(_) => None,
            Self::Contested(all) => {
                let at = all.iter().position(|r| r.pid.node.name == *owner)?;
                let withdrawn = all.remove(at);
                if all.len() == 1 {
                    *self = Self::One(all.remove(0));
                }
                Some(withdrawn)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::{Creation, NodeId, Pid};

    fn claim(node: &str, clock: u64) -> Registration {
        Registration {
            pid: Pid::new(NodeId::new(NodeName::new(node).unwrap(), Creation(1)), 1),
            clock,
        }
    }

    #[test]
    fn a_lone_claim_lives_inline_and_one_table_entry_stays_small() {
        let claims = Claims::One(claim("a", 1));
        assert_eq!(claims.winner(), &claim("a", 1));
        assert!(size_of::<Claims>() <= size_of::<Registration>() + 8);
    }

    proptest! {
        /// Whatever the order of puts and withdrawals, the claims hold each owner's latest
        /// claim once, and the winner is the rule's pick among them.
        #[test]
        fn the_winner_is_the_rules_pick_among_the_latest_claims(
            ops in proptest::collection::vec((0usize..4, proptest::option::of(0u64..6)), 1..30),
        ) {
            let owners = ["a", "b", "c", "d"];
            let mut claims: Option<Claims> = None;
            let mut expected: std::collections::BTreeMap<&str, Registration> = Default::default();
            for (owner, clock) in ops {
                let name = NodeName::new(owners[owner]).unwrap();
                match (clock, claims.as_mut()) {
                    (Some(clock), Some(c)) => {
                        let replaced = c.put(claim(owners[owner], clock));
                        prop_assert_eq!(replaced, expected.insert(owners[owner], claim(owners[owner], clock)));
                    }
                    (Some(clock), None) => {
                        claims = Some(Claims::One(claim(owners[owner], clock)));
                        expected.insert(owners[owner], claim(owners[owner], clock));
                    }
                    (None, Some(c)) => {
                        prop_assert_eq!(c.withdraw(&name), expected.remove(owners[owner]));
                    }
                    (None, None) => {}
                }
                if claims.as_ref().is_some_and(Claims::is_empty) {
                    claims = None;
                }
                prop_assert_eq!(claims.is_none(), expected.is_empty());
                if let Some(c) = &claims {
                    prop_assert_eq!(Some(c.winner()), rule::winner(expected.values()));
                    for (owner, r) in &expected {
                        prop_assert_eq!(c.of(&NodeName::new(*owner).unwrap()), Some(r));
                    }
                }
            }
        }
    }
}
