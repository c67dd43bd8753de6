//! [`NodeCollector`]: reads a node's state at scrape time and writes every metric family.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::DescriptorEncoder;
use shoal_proto::Liveness;
use tokio::sync::watch;

use super::type_counts::TypeCounts;
use super::write::{counter, counters, gauge, gauges, histograms};
use crate::Snapshot;
use crate::actor::Actors;
use crate::distributed::DistributedSupervisor;
use crate::node::{GossipCounters, LinkCounters, PeerTable};
use crate::split_brain::Verdict;

/// What a scrape reads: handles to state the node keeps anyway.
pub(crate) struct Sources {
    pub(crate) snapshot: watch::Receiver<Snapshot>,
    pub(crate) verdict: watch::Receiver<Verdict>,
    pub(crate) links: Arc<LinkCounters>,
    pub(crate) gossip: Arc<GossipCounters>,
    pub(crate) peers: Arc<PeerTable>,
    pub(crate) actors: Actors,
    pub(crate) supervisor: DistributedSupervisor,
    pub(crate) started: Instant,
    pub(crate) discovery: crate::discovery::SharedDiscovery,
}

/// The node's one [`Collector`].
pub(crate) struct NodeCollector {
    sources: Sources,
}

impl NodeCollector {
    pub(crate) fn new(sources: Sources) -> Self {
        Self { sources }
    }

    fn node(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.sources;
        let (name, version, joining) = {
            let snapshot = s.snapshot.borrow();
            let local = &snapshot.local;
            (local.id.name.to_string(), local.version.clone(), snapshot.joining)
        };
        let info = [("name", name.as_str()), ("version", version.as_str())];
        gauges(
            enc,
            "shoal_node_info",
            "This node's name and version (always 1).",
            [(info, 1u64)],
        )?;
        gauge(
            enc,
            "shoal_uptime_seconds",
            "Seconds since this node started.",
            s.started.elapsed().as_secs_f64(),
        )?;
        gauge(
            enc,
            "shoal_joining",
            "1 while this node is still finding its cluster, else 0.",
            u64::from(joining),
        )?;
        let isolated = u64::from(s.verdict.borrow().isolated);
        gauge(
            enc,
            "shoal_isolated",
            "1 while the split-brain resolver isolates this node's side, else 0.",
            isolated,
        )
    }

    fn membership(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let snapshot = self.sources.snapshot.borrow().clone();
        let suspect = snapshot
            .members
            .iter()
            .filter(|m| m.liveness == Liveness::Suspect)
            .count();
        let alive = snapshot.members.len() - suspect + 1;
        let by_state = [([("state", "alive")], alive), ([("state", "suspect")], suspect)];
        gauges(
            enc,
            "shoal_members",
            "Live members in this node's view, by state; this node counts as alive.",
            by_state,
        )?;
        let unlinked = snapshot.members.iter().filter(|m| !m.linked).count();
        gauge(
            enc,
            "shoal_members_unlinked",
            "Live peers this node holds no authenticated link to.",
            unlinked,
        )?;
        let rtt = snapshot
            .members
            .iter()
            .filter_map(|m| Some(([("peer", m.member.id.name.as_str())], m.rtt?.as_secs_f64())));
        gauges(
            enc,
            "shoal_peer_rtt_seconds",
            "Round trip of the last answered link heartbeat, per live peer.",
            rtt,
        )?;
        let now = Instant::now();
        let heard = snapshot.members.iter().filter_map(|m| {
            let ago = now.saturating_duration_since(m.last_heard?).as_secs_f64();
            Some(([("peer", m.member.id.name.as_str())], ago))
        });
        gauges(
            enc,
            "shoal_peer_last_heard_seconds",
            "Seconds since the link to a live peer last carried anything.",
            heard,
        )?;
        let stats = snapshot.stats;
        counter(
            enc,
            "shoal_stalls",
            "Times this node found it had not run for longer than the stall threshold.",
            stats.stalls,
        )?;
        counter(
            enc,
            "shoal_indirect_links",
            "Links closed as silent while their peer answered through other members.",
            stats.indirect,
        )
    }

    fn gossip(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let g = &*self.sources.gossip;
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        counter(
            enc,
            "shoal_swim_probes",
            "SWIM direct probes this node sent.",
            load(&g.probes),
        )?;
        counter(
            enc,
            "shoal_swim_suspicions",
            "Suspect-to-down timers SWIM armed: a member this node holds suspect.",
            load(&g.suspicions),
        )?;
        let datagrams = [
            ([("direction", "in")], load(&g.datagrams_in)),
            ([("direction", "out")], load(&g.datagrams_out)),
        ];
        counters(
            enc,
            "shoal_gossip_datagrams",
            "Gossip datagrams read from and handed to the UDP socket.",
            datagrams,
        )?;
        let bytes = [
            ([("direction", "in")], load(&g.bytes_in)),
            ([("direction", "out")], load(&g.bytes_out)),
        ];
        counters(
            enc,
            "shoal_gossip_bytes",
            "Bytes of those gossip datagrams.",
            bytes,
        )?;
        counter(
            enc,
            "shoal_gossip_send_failures",
            "Gossip datagrams the socket did not take (buffer full, unreachable).",
            load(&g.send_failed),
        )?;
        let (accepted, ignored) = self.sources.discovery.beacon_counts();
        counters(
            enc,
            "shoal_discovery_beacons",
            "Multicast discovery datagrams from others: beacons of this cluster, and the rest.",
            [
                ([("result", "accepted")], accepted),
                ([("result", "ignored")], ignored),
            ],
        )
    }

    fn links(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s = &self.sources;
        let live: Vec<String> = s
            .snapshot
            .borrow()
            .members
            .iter()
            .map(|m| m.member.id.name.to_string())
            .collect();
        let peers = s.peers.retain(|name| live.iter().any(|l| l == name.as_str()));
        let queued = s.actors.remote().queued_bytes();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let both = |pick: fn(&crate::node::PeerCounters) -> (&AtomicU64, &AtomicU64)| {
            peers.iter().flat_map(move |(name, c)| {
                let (i, o) = pick(c);
                [
                    ([("peer", name.as_str()), ("direction", "in")], load(i)),
                    ([("peer", name.as_str()), ("direction", "out")], load(o)),
                ]
            })
        };
        counters(
            enc,
            "shoal_link_frames",
            "Frames on the links to each peer (every life and reconnect).",
            both(|c| (&c.frames_in, &c.frames_out)),
        )?;
        counters(
            enc,
            "shoal_link_bytes",
            "Bytes of those frames, length prefixes included.",
            both(|c| (&c.bytes_in, &c.bytes_out)),
        )?;
        let queue = queued
            .iter()
            .map(|(name, bytes)| ([("peer", name.as_str())], *bytes));
        gauges(
            enc,
            "shoal_link_queue_bytes",
            "Bytes queued on the link to each linked peer, not yet taken for writing.",
            queue,
        )?;
        let busy = peers
            .iter()
            .map(|(name, c)| ([("peer", name.as_str())], load(&c.busy_refusals)));
        counters(
            enc,
            "shoal_link_busy_refusals",
            "User sends refused because the link's queue was over its busy limit.",
            busy,
        )?;
        let reconnects = peers
            .iter()
            .map(|(name, c)| ([("peer", name.as_str())], load(&c.links_up).saturating_sub(1)));
        counters(
            enc,
            "shoal_link_reconnects",
            "Links to each peer that came up after the first.",
            reconnects,
        )?;
        let reasons = s
            .links
            .handshake_failures_by_reason()
            .map(|(reason, n)| ([("reason", reason.label())], n));
        counters(
            enc,
            "shoal_handshake_failures",
            "Handshakes that failed, by reason.",
            reasons,
        )?;
        counter(
            enc,
            "shoal_handshakes_shed",
            "Connections closed at once: too many handshakes in progress.",
            load(&s.links.handshakes_shed),
        )
    }

    fn refused(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let links = &self.sources.links;
        let stats = self.sources.snapshot.borrow().stats;
        let rows = [
            ("bad_frame", links.bad_frames.load(Ordering::Relaxed)),
            ("oversized_frame", links.oversized_frames.load(Ordering::Relaxed)),
            ("bad_datagram", stats.bad_datagrams),
            ("bad_gossip", stats.bad_gossip),
            ("bad_link_message", stats.bad_link_messages),
            ("name_taken", stats.name_taken),
        ]
        .map(|(input, n)| ([("input", input)], n));
        counters(
            enc,
            "shoal_refused_input",
            "Network input this node refused, by kind.",
            rows,
        )
    }

    fn actors(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let actors = &self.sources.actors;
        let mut by_type = TypeCounts::default();
        let mut handled = 0u64;
        let retired = actors.cells().census(|cell| {
            by_type.add(cell.meta.type_name);
            handled += cell.handled();
        });
        let by_type = by_type.sorted();
        gauges(
            enc,
            "shoal_actors",
            "Actors running on this node, by type.",
            by_type.iter().map(|(t, n)| ([("type", *t)], *n)),
        )?;
        let m = actors.cells().messages();
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let local = [
            ("handled", handled + retired),
            ("mailbox_full", load(&m.local_mailbox_full)),
            ("no_proc", load(&m.local_no_proc)),
        ];
        counters(
            enc,
            "shoal_local_messages",
            "Messages to actors on this node, by result.",
            local.map(|(r, n)| ([("result", r)], n)),
        )?;
        let c = &actors.inner.counters;
        let remote = [
            ("received", load(&c.frames_in)),
            ("refused_here", load(&c.refused_in)),
            ("refused_by_peer", load(&c.refused_out)),
            ("link_busy", load(&m.remote_link_busy)),
            ("node_down", load(&m.remote_node_down)),
        ];
        counters(
            enc,
            "shoal_remote_messages",
            "Actor messages between this node and others, by result.",
            remote.map(|(r, n)| ([("result", r)], n)),
        )?;
        let calls = [
            ([("target", "local")], m.call_local.read()),
            ([("target", "remote")], m.call_remote.read()),
        ];
        histograms(
            enc,
            "shoal_call_duration_seconds",
            "Calls from this node, from send to reply or error, by where the actor runs.",
            calls,
        )
    }

    fn registry(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let actors = &self.sources.actors;
        gauge(
            enc,
            "shoal_registry_names",
            "Names in this node's replica of the registry.",
            actors.registered_count(),
        )?;
        let groups = actors.groups();
        gauge(
            enc,
            "shoal_groups",
            "Process groups with at least one member.",
            groups.len(),
        )?;
        let members: usize = groups.iter().map(|(_, n)| n).sum();
        gauge(
            enc,
            "shoal_group_members",
            "Memberships of all process groups, summed.",
            members,
        )
    }

    fn supervisor(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let children = self.sources.supervisor.which_children();
        let (mut running, mut moving, mut failed, mut waiting) = (0u64, 0u64, 0u64, 0u64);
        for child in &children {
            match (&child.failed, &child.pid, child.moving) {
                (Some(_), _, _) => failed += 1,
                (None, _, true) => moving += 1,
                (None, Some(_), false) => running += 1,
                (None, None, false) => waiting += 1,
            }
        }
        let states = [
            ("running", running),
            ("moving", moving),
            ("waiting", waiting),
            ("failed", failed),
        ];
        gauges(
            enc,
            "shoal_supervisor_children",
            "Children in this node's view of the distributed supervisor's table, by state.",
            states.map(|(s, n)| ([("state", s)], n)),
        )
    }
}

impl Collector for NodeCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        self.node(&mut enc)?;
        self.membership(&mut enc)?;
        self.gossip(&mut enc)?;
        self.links(&mut enc)?;
        self.refused(&mut enc)?;
        self.actors(&mut enc)?;
        self.registry(&mut enc)?;
        self.supervisor(&mut enc)?;
        super::events::Counts(self.sources.actors.history().counts()).encode(&mut enc)
    }
}

impl fmt::Debug for NodeCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeCollector").finish_non_exhaustive()
    }
}
