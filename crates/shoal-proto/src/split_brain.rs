//! The split-brain resolver: when members of the cluster become unreachable and the view then
//! stays stable for a while, each side decides alone, by one strategy, whether it keeps running
//! the cluster-wide things (singletons, the distributed supervisor's children) or *isolates*
//! itself until the partition heals.
//!
//! Sans-io: feed the live view (this node included) with [`Resolver::handle_view`] whenever it
//! changes and on a timer; read [`Resolver::is_isolated`].
//!
//! Timing, for a partition: both sides lose each other at about the same moment. The losing
//! side isolates itself once its view stood for the stable period; the keeping side adopts
//! its smaller view, and so may take over the lost members' work, only
//! [`TAKE_OVER_MARGIN`] later, so the losing side has stopped that work first (Akka's
//! "down-removal margin"). Members known to be gone, because they said goodbye or because
//! their address refused a connection after their link broke, are not lost to a partition:
//! [`Resolver::handle_gone`] removes them at once, so a crash fails over without waiting.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::member::Member;
use crate::node_id::NodeName;

/// How long a view with missing members must stay unchanged before the resolver decides (a
/// little over the link-silence deadline, so a side sees all it will lose): the stable
/// period shoal-node and the simulator give [`Resolver::new`].
pub const STABLE_AFTER: Duration = Duration::from_millis(1500);

/// How long after the stable period the keeping side waits before it adopts a view that lost
/// members: the losing side's isolation must have been noticed (resolvers look again every
/// 250 ms) and its work stopped, and the two sides may have seen the loss up to a few
/// heartbeats apart.
pub const TAKE_OVER_MARGIN: Duration = Duration::from_millis(1000);

/// How a side decides whether it may go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Keep the side with more than half of the last stable cluster; on an exact half, the
    /// side holding the smallest node name keeps running (default).
    KeepMajority,
    /// Keep a side with at least this many members.
    StaticQuorum(usize),
    /// Keep the side holding the oldest member of the last stable cluster.
    KeepOldest,
    /// Every side isolates itself (for operators who restart by hand).
    DownAll,
}

/// The resolver's answer for one live view, as singletons and the distributed supervisor
/// read it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The live view (this node included) the answer is for.
    pub view: BTreeSet<NodeName>,
    /// This side lost: it runs no cluster-wide work until the partition heals.
    pub isolated: bool,
    /// This side would keep running if the view stood ([`Resolver::keeps_view`]): it may take
    /// over the work of members it lost.
    pub keeps: bool,
}

impl Verdict {
    /// Whether this verdict lets a node take over lost work (children, a singleton) while it
    /// sees `live`: the resolver keeps the view, and the verdict is about *that* view. A
    /// driver publishes views and verdicts separately, so right after a loss a node may see
    /// the smaller view with the verdict of the whole one (`keeps`, nothing lost yet): that
    /// verdict says nothing about the loss, and acting on it started a second singleton in
    /// the same millisecond the peers were declared down (issue 16, item 11).
    pub fn keeps_view(&self, live: &BTreeSet<NodeName>) -> bool {
        self.keeps && self.view == *live
    }
}

/// One node's resolver.
#[derive(Debug)]
pub struct Resolver {
    strategy: Strategy,
    stable_after: Duration,
    /// The cluster as it was when last stable and whole (or as kept by the last decision).
    cluster: BTreeSet<NodeName>,
    /// The oldest member of `cluster` (for `KeepOldest`).
    oldest: Option<NodeName>,
    /// The live view last seen, and since when it has not changed.
    view: BTreeSet<NodeName>,
    since: Option<Instant>,
    isolated: bool,
}

impl Resolver {
    /// A resolver that decides once a view with missing members has been stable for
    /// `stable_after`.
    pub fn new(strategy: Strategy, stable_after: Duration) -> Self {
        Self {
            strategy,
            stable_after,
            cluster: BTreeSet::new(),
            oldest: None,
            view: BTreeSet::new(),
            since: None,
            isolated: false,
        }
    }

    /// Whether this node's side lost: it must not run singletons or other cluster-wide work.
    pub fn is_isolated(&self) -> bool {
        self.isolated
    }

    /// Whether this side runs the cluster with the view last seen: it is not isolated and the
    /// view lost nobody of the cluster (after a loss, once the keeping side adopted the
    /// smaller view: the stable period plus [`TAKE_OVER_MARGIN`]). Taking over a lost
    /// member's work, or starting a singleton whose leader was lost, waits for this.
    pub fn keeps_view(&self) -> bool {
        !self.isolated && self.is_whole()
    }

    /// The verdict for the view last seen.
    pub fn verdict(&self) -> Verdict {
        Verdict {
            view: self.view.clone(),
            isolated: self.is_isolated(),
            keeps: self.keeps_view(),
        }
    }

    /// `name` is known to be gone: it left on purpose (a goodbye), or its process is gone
    /// (`DownReason::Crashed`). It no longer counts as a member this side lost to a partition.
    /// Call before the next [`Resolver::handle_view`].
    pub fn handle_gone(&mut self, name: &NodeName) {
        self.cluster.remove(name);
    }

    /// The live members now (this node included). Call on every change and periodically.
    /// A view that lost nobody of the cluster is adopted at once (joins need no decision, and
    /// a healed partition ends the isolation); one that lost members is decided on only after
    /// it stood unchanged for the stable period.
    pub fn handle_view(&mut self, now: Instant, live: &[&Member]) {
        let view: BTreeSet<NodeName> = live.iter().map(|m| m.id.name.clone()).collect();
        if view != self.view {
            self.view = view;
            self.since = Some(now);
        }
        if self.is_whole() {
            self.adopt(live);
            self.isolated = false;
            return;
        }
        let stood = self
            .since
            .map_or(Duration::ZERO, |s| now.saturating_duration_since(s));
        if stood < self.stable_after {
            return; // still moving
        }
        // Decided again on every stable view, so an isolated side whose view grew back to a
        // majority (a member it counted died meanwhile, so the view is never whole) rejoins.
        if !self.keeps() {
            self.isolated = true;
        } else if stood >= self.stable_after + TAKE_OVER_MARGIN {
            self.adopt(live);
            self.isolated = false;
        }
    }

    /// Whether the view last seen holds every member of the cluster.
    fn is_whole(&self) -> bool {
        self.cluster.iter().all(|n| self.view.contains(n))
    }

    /// Whether this side keeps running after losing some of `cluster`.
    fn keeps(&self) -> bool {
        let reachable = self.cluster.iter().filter(|n| self.view.contains(*n)).count();
        let total = self.cluster.len();
        match self.strategy {
            Strategy::KeepMajority => {
                2 * reachable > total
                    || (2 * reachable == total && self.cluster.first().is_some_and(|n| self.view.contains(n)))
            }
            Strategy::StaticQuorum(quorum) => self.view.len() >= quorum,
            Strategy::KeepOldest => self.oldest.as_ref().is_some_and(|n| self.view.contains(n)),
            Strategy::DownAll => false,
        }
    }

    fn adopt(&mut self, live: &[&Member]) {
        self.cluster = self.view.clone();
        self.oldest = crate::leader::oldest(live.iter().copied(), None).map(|m| m.id.name.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::member::test_member;

    fn members(names: &[&str]) -> Vec<Member> {
        names
            .iter()
            .enumerate()
            .map(|(i, n)| test_member(n, i as u64 + 1, 7000))
            .collect()
    }

    /// Feeds `live` and lets it stand for the stable period and the take-over margin.
    fn settle(r: &mut Resolver, t: &mut Instant, live: &[Member]) {
        let refs: Vec<&Member> = live.iter().collect();
        r.handle_view(*t, &refs);
        *t += Duration::from_secs(1) + TAKE_OVER_MARGIN;
        r.handle_view(*t, &refs);
    }

    fn resolver(strategy: Strategy, all: &[Member], t: &mut Instant) -> Resolver {
        let mut r = Resolver::new(strategy, Duration::from_secs(1));
        settle(&mut r, t, all);
        r
    }

    #[test]
    fn a_verdict_keeps_only_the_view_it_was_given_for() {
        let names = |n: &[&str]| {
            n.iter()
                .map(|n| NodeName::new(*n).unwrap())
                .collect::<BTreeSet<_>>()
        };
        let whole = Verdict {
            view: names(&["a", "b", "c"]),
            isolated: false,
            keeps: true,
        };
        assert!(whole.keeps_view(&names(&["a", "b", "c"])));
        // The view lost `c` a moment ago; this verdict is still about the whole cluster.
        assert!(!whole.keeps_view(&names(&["a", "b"])));
        assert!(!whole.keeps_view(&names(&["a"])));
        let not_kept = Verdict {
            keeps: false,
            ..whole
        };
        assert!(!not_kept.keeps_view(&names(&["a", "b", "c"])));
    }

    #[test]
    fn keep_majority_isolates_the_minority_and_heals() {
        let all = members(&["a", "b", "c", "d", "e"]);
        let mut t = Instant::now();
        let mut major = resolver(Strategy::KeepMajority, &all, &mut t);
        let mut minor = resolver(Strategy::KeepMajority, &all, &mut t);
        settle(&mut major, &mut t, &all[..3]);
        settle(&mut minor, &mut t, &all[3..]);
        assert!(!major.is_isolated() && minor.is_isolated());
        settle(&mut minor, &mut t, &all);
        assert!(!minor.is_isolated(), "a healed partition ends the isolation");
    }

    #[test]
    fn the_majority_takes_over_only_a_margin_after_the_minority_isolated() {
        let all = members(&["a", "b", "c", "d", "e"]);
        let t = Instant::now();
        let mut major = resolver(Strategy::KeepMajority, &all, &mut t.clone());
        let mut minor = resolver(Strategy::KeepMajority, &all, &mut t.clone());
        major.handle_view(t, &all[..3].iter().collect::<Vec<_>>());
        minor.handle_view(t, &all[3..].iter().collect::<Vec<_>>());
        assert!(
            !major.is_isolated() && !minor.is_isolated(),
            "nothing decided before the stable period"
        );
        assert!(
            !major.keeps_view() && !minor.keeps_view(),
            "nobody takes over before the losing side stood down"
        );
        let (major_live, minor_live) = (&all[..3], &all[3..]);
        let stable = t + Duration::from_secs(1);
        major.handle_view(stable, &major_live.iter().collect::<Vec<_>>());
        minor.handle_view(stable, &minor_live.iter().collect::<Vec<_>>());
        assert!(
            minor.is_isolated(),
            "the minority isolates after the stable period"
        );
        assert!(!major.keeps_view(), "the majority waits the margin on top");
        let adopted = stable + TAKE_OVER_MARGIN;
        major.handle_view(adopted, &major_live.iter().collect::<Vec<_>>());
        assert!(major.keeps_view() && !major.is_isolated());
    }

    #[test]
    fn a_crashed_member_is_not_waited_for() {
        let all = members(&["a", "b", "c"]);
        let mut t = Instant::now();
        let mut r = resolver(Strategy::KeepMajority, &all, &mut t);
        r.handle_gone(&all[2].id.name);
        r.handle_view(t, &all[..2].iter().collect::<Vec<_>>());
        assert!(r.keeps_view(), "a member known gone is no loss to decide on");
    }

    #[test]
    fn members_that_left_do_not_count_as_lost() {
        let all = members(&["a", "b", "c"]);
        let mut t = Instant::now();
        let mut r = resolver(Strategy::KeepMajority, &all, &mut t);
        r.handle_gone(&all[2].id.name);
        r.handle_gone(&all[1].id.name);
        settle(&mut r, &mut t, &all[..1]);
        assert!(
            !r.is_isolated() && r.keeps_view(),
            "the last member standing after two leaves keeps running"
        );
    }

    #[test]
    fn an_isolated_side_rejoins_when_a_majority_is_back_though_a_member_died() {
        let all = members(&["a", "b", "c", "d", "e"]);
        let mut t = Instant::now();
        let mut r = resolver(Strategy::KeepMajority, &all, &mut t);
        settle(&mut r, &mut t, &all[4..]);
        assert!(r.is_isolated());
        settle(&mut r, &mut t, &all[1..]); // "a" died during the partition
        assert!(!r.is_isolated() && r.keeps_view());
    }

    #[test]
    fn an_exact_half_keeps_the_side_with_the_smallest_name() {
        let all = members(&["a", "b", "c", "d"]);
        let mut t = Instant::now();
        let mut left = resolver(Strategy::KeepMajority, &all, &mut t);
        let mut right = resolver(Strategy::KeepMajority, &all, &mut t);
        settle(&mut left, &mut t, &all[..2]);
        settle(&mut right, &mut t, &all[2..]);
        assert!(!left.is_isolated() && right.is_isolated());
    }

    #[test]
    fn nothing_is_decided_while_the_view_still_moves() {
        let all = members(&["a", "b", "c"]);
        let mut t = Instant::now();
        let mut r = resolver(Strategy::KeepMajority, &all, &mut t);
        let alone: Vec<&Member> = all[..1].iter().collect();
        r.handle_view(t, &alone);
        r.handle_view(t + Duration::from_millis(500), &alone);
        assert!(!r.is_isolated());
        r.handle_view(t + Duration::from_millis(1500), &alone);
        assert!(r.is_isolated());
    }

    #[test]
    fn other_strategies_decide_by_their_rule() {
        let all = members(&["a", "b", "c"]);
        let mut t = Instant::now();
        let mut quorum = resolver(Strategy::StaticQuorum(2), &all, &mut t);
        settle(&mut quorum, &mut t, &all[..1]);
        assert!(quorum.is_isolated());
        // "a" has the smallest creation: the oldest. The side without it isolates.
        let mut oldest = resolver(Strategy::KeepOldest, &all, &mut t);
        settle(&mut oldest, &mut t, &all[1..]);
        assert!(oldest.is_isolated());
        let mut with_oldest = resolver(Strategy::KeepOldest, &all, &mut t);
        settle(&mut with_oldest, &mut t, &all[..1]);
        assert!(!with_oldest.is_isolated());
        let mut down = resolver(Strategy::DownAll, &all, &mut t);
        settle(&mut down, &mut t, &all[..2]);
        assert!(down.is_isolated());
    }
}
