//! The node's values as the API's JSON shapes: each function builds one view of
//! [`shoal_api::views`] (the types the clients read) from what the `Node` handle returns.

use std::time::Instant;

use shoal_api::views::{
    ActorView, ChildView, HttpStats, MemberView, NodeCounters, NodeIdView, NodeStatsView, NodeView, PidView,
};
use shoal_node::actor::{ActorInfo, ActorStatus, Pid};
use shoal_node::distributed::ChildInfo;
use shoal_node::{Liveness, Member, MemberStatus, Node, NodeStats};

/// `GET /api/node`: a running node whose HTTP server counted `http`.
pub(crate) fn node_view(node: &Node, http: HttpStats) -> NodeView {
    let local = node.local();
    NodeView {
        name: local.id.name.to_string(),
        creation: local.id.creation.0,
        version: local.version,
        listen: local.listen,
        http: local.http,
        roles: local.roles,
        pid: std::process::id(),
        uptime_ms: node.uptime().as_millis() as u64,
        peers: node.members().len(),
        actors: node.actors().count(),
        registered_names: node.actors().registered_count(),
        leader: node.leader(None).map(|l| l.name.to_string()),
        isolated: node.is_isolated(),
        partitioned_from: node.partitioned_from().iter().map(ToString::to_string).collect(),
        stats: NodeStatsView {
            node: counters(&node.stats()),
            http,
        },
    }
}

fn counters(stats: &NodeStats) -> NodeCounters {
    let m = &stats.membership;
    NodeCounters {
        bad_frames: stats.bad_frames,
        oversized_frames: stats.oversized_frames,
        handshake_failures: stats.handshake_failures,
        handshakes_shed: stats.handshakes_shed,
        actor_messages_refused: stats.actor_messages_refused,
        actor_sends_refused_by_peers: stats.actor_sends_refused_by_peers,
        actor_frames_received: stats.actor_frames_received,
        bad_datagrams: m.bad_datagrams,
        bad_gossip: m.bad_gossip,
        bad_link_messages: m.bad_link_messages,
        name_taken: m.name_taken,
        stalls: m.stalls,
        indirect: m.indirect,
    }
}

/// The `GET /api/members` entry of the answering node itself.
pub(crate) fn local_member(member: &Member) -> MemberView {
    member_view(member, "alive", true)
}

/// The `GET /api/members` entry of a peer.
pub(crate) fn peer_member(status: &MemberStatus) -> MemberView {
    let state = match status.liveness {
        Liveness::Alive => "alive",
        Liveness::Suspect => "suspect",
    };
    let mut view = member_view(&status.member, state, false);
    view.linked = status.linked;
    view.rtt_us = status.rtt.map(|d| d.as_micros() as u64);
    view.last_heard_ms_ago = status
        .last_heard
        .map(|t| Instant::now().saturating_duration_since(t).as_millis() as u64);
    view
}

fn member_view(member: &Member, state: &str, is_self: bool) -> MemberView {
    MemberView {
        name: member.id.name.to_string(),
        creation: member.id.creation.0,
        state: state.to_owned(),
        is_self,
        listen: member.listen,
        http: member.http,
        version: member.version.clone(),
        roles: member.roles.clone(),
        linked: false,
        rtt_us: None,
        last_heard_ms_ago: None,
        queue_bytes: None,
    }
}

/// A pid as JSON.
pub(crate) fn pid_view(pid: &Pid) -> PidView {
    PidView {
        node: NodeIdView {
            name: pid.node.name.to_string(),
            creation: pid.node.creation.0,
        },
        id: pid.id,
    }
}

/// One actor with the names `registered` to it.
pub(crate) fn actor_view(info: ActorInfo, registered: Vec<String>) -> ActorView {
    let status = match info.status {
        ActorStatus::Starting => "starting",
        ActorStatus::Waiting => "waiting",
        ActorStatus::Running => "running",
        ActorStatus::Stopping => "stopping",
    };
    ActorView {
        pid: pid_view(&info.pid),
        pid_text: info.pid_text,
        name: info.name,
        type_name: info.type_name.to_owned(),
        parent: info.parent.as_ref().map(pid_view),
        status: status.to_owned(),
        mailbox_depth: info.mailbox_depth,
        handled: info.handled,
        dropped: info.dropped,
        restarts: info.restarts,
        uptime_ms: info.uptime_ms,
        started_at_us: info.started_at_us,
        registered,
    }
}

/// One child of the distributed supervisor.
pub(crate) fn child_view(child: ChildInfo) -> ChildView {
    // Serializing these enums to a `Value` cannot fail: their fields are strings and pids.
    let json = |v: serde_json::Result<serde_json::Value>| v.unwrap_or_default();
    ChildView {
        restart: json(serde_json::to_value(child.restart))
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        last_start: json(serde_json::to_value(&child.last_start)),
        failed: child.failed.as_ref().map(|r| json(serde_json::to_value(r))),
        id: child.id,
        factory: child.factory,
        owner: child.owner.to_string(),
        pid: child.pid.as_ref().map(pid_view),
        restarts: child.restarts,
        state_kept: child.state_kept,
        moving: child.moving,
    }
}

#[cfg(test)]
mod tests {
    //! The views must print exactly what the node's own types printed before they existed
    //! (`ActorInfo` flattened into a row, `NodeStats`, `ChildInfo`): same keys, same order.

    use serde::Serialize;
    use shoal_proto::children::Restart;
    use shoal_proto::{Creation, ExitReason, NodeId, NodeName};

    use super::*;
    use shoal_node::distributed::StartKind;

    fn pid(node: &str, id: u64) -> Pid {
        let name = NodeName::new(node).unwrap_or_else(|e| panic!("{e}"));
        Pid::new(NodeId::new(name, Creation(1_700_000)), id)
    }

    #[test]
    fn an_actor_row_prints_as_the_actor_info_it_came_from() {
        #[derive(Serialize)]
        struct Before {
            #[serde(flatten)]
            info: ActorInfo,
            registered: Vec<String>,
        }
        let info = ActorInfo {
            pid: pid("n1", 7),
            pid_text: "7@n1".into(),
            name: Some("demo.counter.01".into()),
            type_name: "shoal_node::actor::Counter",
            parent: Some(pid("n1", 2)),
            status: ActorStatus::Waiting,
            mailbox_depth: 3,
            handled: 40,
            dropped: 1,
            restarts: 2,
            uptime_ms: 1234,
            started_at_us: 99,
        };
        let registered = vec!["demo.counter.01".to_owned()];
        let before = Before {
            info: info.clone(),
            registered: registered.clone(),
        };
        assert_eq!(
            serde_json::to_string(&actor_view(info, registered)).ok(),
            serde_json::to_string(&before).ok()
        );
    }

    #[test]
    fn the_counters_print_as_the_node_stats_they_came_from() {
        let mut stats = NodeStats {
            bad_frames: 1,
            oversized_frames: 2,
            handshake_failures: 3,
            handshakes_shed: 4,
            actor_messages_refused: 5,
            actor_sends_refused_by_peers: 6,
            actor_frames_received: 7,
            ..NodeStats::default()
        };
        stats.membership.bad_datagrams = 8;
        stats.membership.bad_gossip = 9;
        stats.membership.bad_link_messages = 10;
        stats.membership.name_taken = 11;
        stats.membership.stalls = 12;
        stats.membership.indirect = 13;
        assert_eq!(
            serde_json::to_string(&counters(&stats)).ok(),
            serde_json::to_string(&stats).ok()
        );
    }

    #[test]
    fn a_child_prints_as_the_child_info_it_came_from() {
        let from = NodeName::new("n3").unwrap_or_else(|e| panic!("{e}"));
        let child = ChildInfo {
            id: "demo.counter.03".into(),
            factory: "shoal.counter".into(),
            restart: Restart::Transient,
            owner: NodeName::new("n1").unwrap_or_else(|e| panic!("{e}")),
            pid: Some(pid("n1", 9)),
            restarts: 4,
            last_start: StartKind::HandedOff { from },
            state_kept: true,
            moving: false,
            failed: Some(ExitReason::Error("boom".into())),
        };
        // The supervisor's answer goes through a `Value`, as it always did.
        let before = serde_json::to_value(&child).ok();
        assert_eq!(serde_json::to_value(child_view(child)).ok(), before);
    }
}
