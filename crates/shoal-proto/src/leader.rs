//! Who leads: the rule singletons and leader watches follow (see docs/design-notes.md,
//! "Singletons follow the oldest process, and the registry keeps them single").

use std::collections::BTreeSet;

use crate::actor_wire::Pid;
use crate::member::Member;
use crate::node_id::{NodeId, NodeName};

/// The leader among `members` for `role` (any member for `None`): the one with the smallest
/// process creation, then the smallest name, among those with the role. Using the process
/// creation (not the membership creation) keeps a node that rejoined after a partition as
/// old as it really is. Pure and total, so every node with the same view picks the same one.
pub fn oldest<'a>(members: impl IntoIterator<Item = &'a Member>, role: Option<&str>) -> Option<&'a Member> {
    members
        .into_iter()
        .filter(|m| role.is_none_or(|r| m.roles.iter().any(|have| have == r)))
        .min_by(|a, b| (a.process, &a.id.name).cmp(&(b.process, &b.id.name)))
}

/// What a node does about one singleton.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SingletonStep {
    /// Start an instance here and register it under the singleton's name.
    Start,
    /// Stop the instance running here.
    Stop,
    /// Nothing to do now.
    Keep,
}

/// What one node sees about one singleton, for [`SingletonLook::step`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SingletonLook {
    /// This node is the leader (the oldest eligible live member, see [`oldest`]).
    pub leads: bool,
    /// This node must run no cluster-wide work: its side is isolated, or it is leaving.
    pub stand_down: bool,
    /// The split-brain resolver keeps this view (`Verdict::keeps`): after a loss, not before
    /// the losing side had time to stop its instance.
    pub keeps: bool,
    /// An instance runs here.
    pub running_here: bool,
    /// No member joined the view lately (see [`Growth`]).
    pub settled: bool,
    /// Another process's instance holds the singleton's name in the registry (see
    /// [`SingletonLook::held_elsewhere`]).
    pub held_elsewhere: bool,
    /// This node's singleton lease had lapsed at this look ([`crate::lease::Lease::renew`]):
    /// its process did not run for a while, so its instance stops and it starts none now.
    pub lapsed: bool,
}

impl SingletonLook {
    /// Whether `holder`, the actor the registry names for a singleton, is another process's
    /// instance than one of process `local` (a process of this node's name with another
    /// creation, an earlier one, included: its instance may still run).
    pub fn held_elsewhere(holder: Option<&Pid>, local: &NodeId) -> bool {
        holder.is_some_and(|pid| pid.node != *local)
    }

    /// The singleton rule, the same for shoal-node and the simulator: the leader of a side
    /// that does not stand down runs the singleton, while its lease holds. A new leader starts one only once the
    /// resolver keeps its view, its view settled after a join, and no other node's instance
    /// holds the name (that node stops it once it sees it no longer leads).
    pub fn step(&self) -> SingletonStep {
        let should_run = self.leads && !self.stand_down && !self.lapsed;
        match (should_run, self.running_here) {
            (true, false) if self.keeps && self.settled && !self.held_elsewhere => SingletonStep::Start,
            (false, true) => SingletonStep::Stop,
            _ => SingletonStep::Keep,
        }
    }
}

/// After members join (or a partition heals), how long a new leader waits before starting a
/// singleton, and a node before taking over a lost member's children: two registry digest
/// rounds, so its replicas have the newcomers' registrations and children, and it does not
/// start a second instance next to one it has not heard of yet.
pub const SETTLE_AFTER_GROWTH_MS: u64 = 1000;

/// Tracks when the live view last gained a member, so a new leader (or a node taking over a
/// lost member's children) waits until the replicas of the members that just joined have
/// had time to reach it.
#[derive(Clone, Debug)]
pub struct Growth {
    settle_ms: u64,
    seen: BTreeSet<NodeName>,
    grew_at_ms: u64,
}

impl Growth {
    /// Settled `settle_ms` after the last growth. The first view seen counts as growth.
    pub fn new(settle_ms: u64) -> Self {
        Self {
            settle_ms,
            seen: BTreeSet::new(),
            grew_at_ms: 0,
        }
    }

    /// Feeds the live view at `now_ms`; returns whether no member joined it in the last
    /// `settle_ms`. A clock that went back counts as growth (it waits again, never less).
    pub fn settled(&mut self, now_ms: u64, live: &BTreeSet<NodeName>) -> bool {
        if live.iter().any(|n| !self.seen.contains(n)) || now_ms < self.grew_at_ms {
            self.grew_at_ms = now_ms;
        }
        if self.seen != *live {
            self.seen.clone_from(live);
        }
        now_ms - self.grew_at_ms >= self.settle_ms
    }

    /// Counts `now_ms` as growth: the node's replicas may have missed what the others did
    /// meanwhile (its singleton lease lapsed: its process did not run).
    pub fn restart(&mut self, now_ms: u64) {
        self.grew_at_ms = now_ms;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use crate::member::test_member;
    use crate::node_id::Creation;

    fn member(name: &str, process: u64, roles: &[&str]) -> Member {
        let mut m = test_member(name, process + 10, 7000);
        m.process = Creation(process);
        m.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        m
    }

    #[test]
    fn a_singleton_is_held_elsewhere_by_any_other_process_an_earlier_one_of_ours_included() {
        let process = |name: &str, creation: u64| member(name, creation, &[]).process_id();
        let (here, earlier, other) = (process("a", 2), process("a", 1), process("b", 1));
        let held_by = |p: &NodeId| Pid::new(p.clone(), 7);
        assert!(!SingletonLook::held_elsewhere(None, &here));
        assert!(!SingletonLook::held_elsewhere(Some(&held_by(&here)), &here));
        assert!(SingletonLook::held_elsewhere(Some(&held_by(&earlier)), &here));
        assert!(SingletonLook::held_elsewhere(Some(&held_by(&other)), &here));
    }

    #[test]
    fn a_new_leader_starts_the_singleton_only_when_its_view_is_kept() {
        let ready = SingletonLook {
            leads: true,
            keeps: true,
            settled: true,
            ..SingletonLook::default()
        };
        assert_eq!(ready.step(), SingletonStep::Start);
        let lost_the_old_leader = SingletonLook {
            keeps: false,
            ..ready
        };
        assert_eq!(lost_the_old_leader.step(), SingletonStep::Keep);
        let running = SingletonLook {
            running_here: true,
            ..lost_the_old_leader
        };
        assert_eq!(
            running.step(),
            SingletonStep::Keep,
            "a running instance waits out the margin"
        );
        assert_eq!(
            SingletonLook {
                stand_down: true,
                ..running
            }
            .step(),
            SingletonStep::Stop
        );
        assert_eq!(
            SingletonLook {
                leads: false,
                ..running
            }
            .step(),
            SingletonStep::Stop
        );
        assert_eq!(
            SingletonLook {
                held_elsewhere: true,
                ..ready
            }
            .step(),
            SingletonStep::Keep
        );
    }

    #[test]
    fn a_lapsed_lease_stops_the_instance_and_starts_none() {
        let leading = SingletonLook {
            leads: true,
            keeps: true,
            settled: true,
            running_here: true,
            ..SingletonLook::default()
        };
        assert_eq!(leading.step(), SingletonStep::Keep);
        let thawed = SingletonLook {
            lapsed: true,
            ..leading
        };
        assert_eq!(thawed.step(), SingletonStep::Stop);
        let stopped = SingletonLook {
            running_here: false,
            ..thawed
        };
        assert_eq!(stopped.step(), SingletonStep::Keep);
    }

    #[test]
    fn growth_settles_after_the_last_join_only() {
        let names = |ns: &[&str]| {
            ns.iter()
                .map(|n| NodeName::new(*n).unwrap())
                .collect::<BTreeSet<_>>()
        };
        let mut growth = Growth::new(1000);
        assert!(!growth.settled(5_000, &names(&["a"])), "the first view is growth");
        assert!(growth.settled(6_000, &names(&["a"])));
        assert!(!growth.settled(6_500, &names(&["a", "b"])), "b joined");
        assert!(growth.settled(7_500, &names(&["a"])), "a loss is not growth");
        assert!(!growth.settled(7_000, &names(&["a"])), "the clock went back");
        assert!(growth.settled(9_000, &names(&["a"])));
        growth.restart(9_500);
        assert!(
            !growth.settled(10_000, &names(&["a"])),
            "a lapse counts as growth"
        );
        assert!(growth.settled(10_500, &names(&["a"])));
    }

    #[test]
    fn the_oldest_process_with_the_role_leads() {
        let all = [
            member("c", 30, &["worker"]),
            member("a", 10, &[]),
            member("b", 20, &["worker"]),
        ];
        assert_eq!(oldest(&all, None).map(|m| m.id.name.as_str()), Some("a"));
        assert_eq!(
            oldest(&all, Some("worker")).map(|m| m.id.name.as_str()),
            Some("b")
        );
        assert_eq!(oldest(&all, Some("gpu")), None);
        let ties = [member("y", 5, &[]), member("x", 5, &[])];
        assert_eq!(oldest(&ties, None).map(|m| m.id.name.as_str()), Some("x"));
    }
}
