//! The membership core: foca's SWIM plus the link signals, as one sans-io state machine.
//!
//! Call order, for a driver:
//! - feed inputs with the `handle_*` methods, each with the current time;
//! - after every input, drain `poll_output` until it returns `None` and perform each output;
//! - sleep until `poll_timeout`, then call `handle_timeout`.
//!
//! The core never reads a clock or a global RNG: time is passed in, and foca's RNG is seeded
//! by the caller, so a simulation replays exactly.

mod config;
mod event;
mod foca_runtime;
mod indirect;
mod links;
mod notifications;
mod outputs;
mod timers;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use foca::{Foca, NoCustomBroadcast, PostcardCodec};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub use self::config::MembershipConfig;
pub use self::event::{ConnId, DownReason, Event, Output};
use self::foca_runtime::FocaRuntime;
use self::links::{Admit, LinkTable};
use self::outputs::Outputs;
use self::timers::{CoreTimer, TimerQueue};
use crate::cookie::Cookie;
use crate::datagram;
use crate::handshake::Role;
use crate::member::Member;
use crate::node_id::{NodeId, NodeName};
use crate::wire::{LinkMessage, RejectReason};

type SwimCore = Foca<Member, PostcardCodec, StdRng, NoCustomBroadcast>;

/// How sure we are that a live member is up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Liveness {
    /// Heard from recently.
    Alive,
    /// Quiet past `link_suspect_after`; not yet declared down.
    Suspect,
}

/// A snapshot of one live member, for APIs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberStatus {
    /// The member record.
    pub member: Member,
    /// Alive or suspect.
    pub liveness: Liveness,
    /// Whether we hold an authenticated link to it.
    pub linked: bool,
    /// Round trip of the last answered link heartbeat.
    pub rtt: Option<Duration>,
    /// When its link last carried anything.
    pub last_heard: Option<Instant>,
}

/// Counters of refused input, for `/api/node` and metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MembershipStats {
    /// Datagrams dropped before foca saw them (short, wrong version, wrong cookie).
    pub bad_datagrams: u64,
    /// Authenticated datagrams that foca refused (malformed or misaddressed).
    pub bad_gossip: u64,
    /// Link messages that made no sense after the handshake.
    pub bad_link_messages: u64,
    /// Nodes refused because a live, answering member already holds their name.
    pub name_taken: u64,
    /// Times this node found it had not run for longer than `stall_after` (see
    /// [`Event::Stalled`]).
    pub stalls: u64,
    /// Links closed because they went silent while their peer refuted our suspicion through
    /// other members (indirectly connected: kept live, not declared down).
    pub indirect: u64,
}

/// Counters of SWIM's work, for metrics. Kept apart from [`MembershipStats`] because they
/// change every probe period: the driver publishes those in its snapshot, and watchers of
/// the snapshot should not wake that often.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwimStats {
    /// Direct probes foca sent (each arms one indirect-probe timer, counted here).
    pub probes: u64,
    /// Members foca marked suspect (each arms one suspect-to-down timer, counted here).
    pub suspicions: u64,
}

/// Membership of one node. See the module doc for the call order.
pub struct Membership {
    local: Member,
    cookie: Cookie,
    config: MembershipConfig,
    swim: SwimCore,
    runtime: FocaRuntime,
    timers: TimerQueue,
    outputs: Outputs,
    /// Live members (Alive or Suspect) as last reported to users.
    live: BTreeMap<NodeName, Member>,
    links: LinkTable,
    /// Reasons decided by a link signal, used when foca reports the member down.
    down_reasons: HashMap<NodeId, DownReason>,
    /// Re-dial attempts per member name since its link last broke.
    redials: HashMap<NodeName, u32>,
    /// Live members whose link the peer's side closed, and when, until a link to them is up
    /// again: if the cluster reports one down within `link_down_after`, it crashed (see
    /// [`DownReason::Crashed`]).
    dropped: HashMap<NodeId, Instant>,
    /// Peers whose link closed while they still answered (this node closed it when it took a
    /// new life, the peer retired it, or the close was read right after a stall), and when
    /// each was last heard on it; dropped when a new link to the peer comes up or the
    /// evidence is stale.
    relinked: HashMap<NodeId, Instant>,
    /// Lives reported down as `Renewed`, with their process, until a newer life of that
    /// process comes up or `link_down_after` passes (then [`Event::ActorsDown`]).
    renewing: HashMap<NodeId, crate::node_id::Creation>,
    /// Links each peer retired in a row (a `Retired` frame) without a heartbeat heard on a
    /// link in between: the first is re-dialled at once, the next ones with backoff.
    retired_in_a_row: HashMap<NodeName, u32>,
    /// When this node last found it had stalled (see `discount_stall`).
    stalled_at: Option<Instant>,
    heartbeat_seq: u64,
    heartbeat_armed: bool,
    leaving: bool,
    left: bool,
    stats: MembershipStats,
    swim_stats: SwimStats,
}

impl Membership {
    /// A core for `local`, alone until a link comes up. `seed` seeds foca's RNG.
    pub fn new(local: Member, cookie: Cookie, config: MembershipConfig, seed: u64) -> Self {
        let swim = Foca::new(
            local.clone(),
            config.foca(),
            StdRng::seed_from_u64(seed),
            PostcardCodec,
        );
        Self {
            local,
            cookie,
            config,
            swim,
            runtime: FocaRuntime::default(),
            timers: TimerQueue::default(),
            outputs: Outputs::default(),
            live: BTreeMap::new(),
            links: LinkTable::default(),
            down_reasons: HashMap::new(),
            redials: HashMap::new(),
            dropped: HashMap::new(),
            relinked: HashMap::new(),
            renewing: HashMap::new(),
            retired_in_a_row: HashMap::new(),
            stalled_at: None,
            heartbeat_seq: 0,
            heartbeat_armed: false,
            leaving: false,
            left: false,
            stats: MembershipStats::default(),
            swim_stats: SwimStats::default(),
        }
    }

    /// This node as the cluster currently knows it (its creation grows if it had to rejoin).
    pub fn local(&self) -> &Member {
        &self.local
    }

    /// The next instruction for the driver.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When `handle_timeout` must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_deadline()
    }

    /// Fires every timer due at `now`.
    ///
    /// A timer that fires more than `stall_after` late means this node did not run (a
    /// stopped or starved process): every timer and every link's silence is first moved
    /// later by that gap, as if the gap had not passed, so the peers' bytes that waited in
    /// the sockets are read before any peer is judged. Without this, a node resumed after a
    /// pause declares every peer down at once and its gossip takes healthy nodes down.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(due) = self.timers.next_deadline()
            && now.saturating_duration_since(due) > self.config.stall_after
        {
            self.discount_stall(now, now - due);
        }
        while let Some(timer) = self.timers.pop_due(now) {
            match timer {
                CoreTimer::Foca(t) => self.on_foca_timer(now, t),
                CoreTimer::Heartbeat => self.on_heartbeat_tick(now),
                CoreTimer::Redial(name) => self.on_redial_timer(&name),
                CoreTimer::RenewalDue(id) => self.on_renewal_due(&id),
                CoreTimer::LeaveGossip => {
                    let _ = self.swim.leave_cluster(&mut self.runtime);
                    self.flush_swim(now);
                    self.left = true;
                }
            }
        }
    }

    /// Moves every timer and every link measure `gap` later (see `handle_timeout`).
    fn discount_stall(&mut self, now: Instant, gap: Duration) {
        self.stats.stalls += 1;
        self.stalled_at = Some(now);
        self.timers.delay_all(gap);
        self.links.discount(gap, now);
        for at in self.dropped.values_mut().chain(self.relinked.values_mut()) {
            *at = (*at + gap).min(now);
        }
        self.outputs.push_back(Output::Event(Event::Stalled { gap }));
    }

    /// A UDP datagram arrived on the gossip socket.
    pub fn handle_datagram(&mut self, now: Instant, bytes: &[u8]) {
        let Ok(body) = datagram::open(&self.cookie, bytes) else {
            self.stats.bad_datagrams += 1;
            return;
        };
        if self.leaving {
            // Peers that got our goodbye gossip us as down; heard now, that would make foca
            // rejoin as a new life on its way out.
            return;
        }
        if let Ok(header) = foca::Codec::<Member>::decode_header(&mut PostcardCodec, body)
            && self.name_taken_from(now, &header.src)
        {
            // Gossip from a second process under a taken name (it announces itself as soon
            // as its link is up, before our refusal reaches it): foca would let it replace
            // the member. It stays out, as on the link.
            self.stats.name_taken += 1;
            return;
        }
        if self.swim.handle_data(body, &mut self.runtime).is_err() {
            self.stats.bad_gossip += 1;
        }
        self.flush_swim(now);
    }

    /// A connection finished its handshake with `peer`.
    pub fn handle_link_up(&mut self, now: Instant, conn: ConnId, role: Role, peer: Member) {
        if self.name_taken_from(now, &peer) {
            // A second process under the name of a member that answers: refuse it, so the
            // member keeps its name and runs on undisturbed (no renewal storm).
            self.stats.name_taken += 1;
            self.outputs.push_back(Output::SendLink {
                conn,
                msg: LinkMessage::Reject(RejectReason::NameTaken),
            });
            return self.outputs.push_back(Output::CloseLink(conn));
        }
        if self
            .live
            .get(peer.name())
            .is_some_and(|m| m.id.creation > peer.id.creation)
        {
            // An older life of a live member (its handshake began before it renewed): that
            // identity is over. Its process dials again as the new life.
            return self.outputs.push_back(Output::CloseLink(conn));
        }
        match self.links.admit(&self.local.id, conn, role, &peer.id, now) {
            Admit::Refused => return self.outputs.push_back(Output::CloseLink(conn)),
            Admit::Accepted { replaced: Some(old) } => self.outputs.push_back(Output::CloseLink(old)),
            Admit::Accepted { replaced: None } => {}
        }
        self.redials.remove(peer.name());
        self.dropped.retain(|id, _| id.name != peer.id.name);
        self.relinked.retain(|id, _| id.name != peer.id.name);
        if self.leaving {
            // A link that finished its handshake after we started leaving is told too.
            return self.outputs.push_back(Output::SendLink {
                conn,
                msg: LinkMessage::Goodbye,
            });
        }
        // A finished handshake proves the peer is alive; announcing asks it for its member list.
        let _ = self.swim.apply_many(
            std::iter::once(foca::Member::alive(peer.clone())),
            true,
            &mut self.runtime,
        );
        let _ = self.swim.announce(peer, &mut self.runtime);
        self.flush_swim(now);
        self.arm_heartbeat(now);
    }

    /// Whether `peer` is another process than the live member of its name, while that
    /// member answers on its link (a frame within `link_suspect_after` by the clock, see
    /// `answers_now`): the name is taken. A member whose
    /// link went quiet may be gone (a crash not yet detected, a host that moved), so a new
    /// process under its name is let in and replaces it, as a newer life.
    fn name_taken_from(&self, now: Instant, peer: &Member) -> bool {
        let Some(member) = self.live.get(peer.name()) else {
            return false;
        };
        member.process != peer.process && self.answers_now(now, &member.id)
    }

    /// A message arrived on an authenticated link.
    pub fn handle_link_message(&mut self, now: Instant, conn: ConnId, msg: LinkMessage) {
        let Some(link) = self.links.by_conn_mut(conn) else {
            return;
        };
        link.last_heard = now;
        link.heard_at = now;
        let was_suspected = std::mem::take(&mut link.suspected);
        link.suspected_at = None;
        let peer = link.id.clone();
        if matches!(msg, LinkMessage::Heartbeat(_) | LinkMessage::HeartbeatAck(_)) {
            self.retired_in_a_row.remove(&peer.name);
        }
        match msg {
            LinkMessage::Heartbeat(seq) => self.outputs.push_back(Output::SendLink {
                conn,
                msg: LinkMessage::HeartbeatAck(seq),
            }),
            LinkMessage::HeartbeatAck(seq) => {
                if let Some((sent_seq, sent_at)) = link.ping
                    && sent_seq == seq
                {
                    link.rtt = Some(now.saturating_duration_since(sent_at));
                    link.ping = None;
                }
            }
            LinkMessage::Retired => self.on_link_retired(now, conn, &peer),
            LinkMessage::Goodbye => {
                self.down_reasons.insert(peer.clone(), DownReason::Left);
                self.declare_down(now, &peer);
                return;
            }
            // The driver hands actor and registry traffic to the actor runtime; here it only
            // shows life.
            LinkMessage::Actor(_) | LinkMessage::Registry(_) | LinkMessage::Children(_) => {}
            LinkMessage::Reject(RejectReason::NameTaken) => {
                self.outputs
                    .push_back(Output::Event(Event::NameTaken { by: peer }));
                self.outputs.push_back(Output::CloseLink(conn));
                return;
            }
            LinkMessage::Hello(_) | LinkMessage::Proof(_) | LinkMessage::Reject(_) => {
                self.stats.bad_link_messages += 1;
                self.outputs.push_back(Output::CloseLink(conn));
            }
        }
        if was_suspected && let Some(member) = self.live.get(&peer.name).filter(|m| m.id == peer) {
            self.outputs
                .push_back(Output::Event(Event::NodeUp(member.clone())));
        }
    }

    /// A link's connection closed or failed. A live member is re-dialled at once.
    ///
    /// The close is evidence that the peer's process died (`dropped`, see
    /// [`DownReason::Crashed`]) only when this node was running when it happened. A close
    /// read within `link_suspect_after` of a stall (see `handle_timeout`) waited in the socket
    /// for an unknown part of the gap: the peer may have closed it seconds ago, for any
    /// reason (it took a new life and retired the link, and its `Retired` frame was not
    /// read). Such a close is undated, so it counts as neither crash nor silence: the peer
    /// was heard on the link as of its discounted last frame (`relinked`, as for a retired
    /// link), and a down the cluster decided meanwhile reads `Renewed`, provisionally (see
    /// [`Event::ActorsDown`]). A dead process still shows as such: the re-dial below is
    /// refused (`Crashed`), or no newer life of its process comes.
    pub fn handle_link_down(&mut self, now: Instant, conn: ConnId) {
        let Some(link) = self.links.remove_conn(conn) else {
            return;
        };
        if let Some(member) = self.live.get(&link.id.name)
            && member.id == link.id
            && !self.leaving
        {
            self.redials.insert(link.id.name.clone(), 0);
            if self.resumed_lately(now) {
                self.relinked.insert(link.id.clone(), link.last_heard);
            } else {
                self.dropped.insert(link.id.clone(), now);
            }
            self.outputs.push_back(Output::Dial(member.clone()));
        }
    }

    /// Whether this node found it had stalled less than `link_suspect_after` ago: what it
    /// reads now may have waited in its sockets through the gap, at times it cannot tell.
    fn resumed_lately(&self, now: Instant) -> bool {
        self.stalled_at
            .is_some_and(|at| now.saturating_duration_since(at) < self.config.link_suspect_after)
    }

    /// A dial requested with `Output::Dial` failed. `refused` means the peer's host answered
    /// that nothing listens there: the process is gone, so the member is declared down now,
    /// as `Crashed`.
    ///
    /// A refused dial to a life already reported `Renewed` and still awaited (its close was
    /// read right after a stall, or the cluster's down came first) ends the wait: no process
    /// listens there, so its actors are down now ([`Event::ActorsDown`]).
    pub fn handle_dial_failed(&mut self, now: Instant, peer: &NodeId, refused: bool) {
        let Some(member) = self.live.get(&peer.name).filter(|m| m.id == *peer).cloned() else {
            self.redials.remove(&peer.name);
            if refused && self.renewing.remove(peer).is_some() {
                self.outputs
                    .push_back(Output::Event(Event::ActorsDown(peer.clone())));
            }
            return;
        };
        if refused {
            self.down_reasons.insert(peer.clone(), DownReason::Crashed);
            self.declare_down(now, peer);
            return;
        }
        let attempt = self.redials.entry(member.id.name.clone()).or_insert(0);
        *attempt += 1;
        let attempt = *attempt;
        let backoff = self.redial_backoff(attempt);
        self.timers
            .set(now + backoff, CoreTimer::Redial(member.id.name.clone()));
    }

    /// How long to wait before re-dial `attempt` (1 for the first after a failure):
    /// `redial_min`, doubling per attempt, at most `redial_max`.
    fn redial_backoff(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.config
            .redial_min
            .saturating_mul(1 << doublings)
            .min(self.config.redial_max)
    }

    /// The peer retired link `conn` ([`LinkMessage::Retired`]): it keeps another connection
    /// to us, or this one authenticated a life of ours that is over for it. It writes nothing
    /// more on it, so the connection is dead for this side too: held, it would stay silent
    /// and the silence rule would declare a running peer `Failed`. The link is dropped now
    /// and the member re-dialled at once (with backoff when the peer retired the previous
    /// link too without a heartbeat in between, so a peer that refuses every new link is
    /// not dialled in a tight loop). It is no failure signal: the peer just spoke, so it
    /// counts as heard (`heard_lately`) until a new link is up, as after a renewal.
    fn on_link_retired(&mut self, now: Instant, conn: ConnId, peer: &NodeId) {
        let Some(link) = self.links.remove_conn(conn) else {
            return;
        };
        self.relinked.insert(link.id, now);
        self.outputs.push_back(Output::CloseLink(conn));
        let Some(member) = self.live.get(&peer.name).filter(|m| m.id == *peer).cloned() else {
            return;
        };
        if self.leaving {
            return;
        }
        let name = member.id.name.clone();
        let in_a_row = self.retired_in_a_row.entry(name.clone()).or_insert(0);
        *in_a_row += 1;
        let in_a_row = *in_a_row;
        self.redials.insert(name.clone(), 0);
        if in_a_row == 1 {
            self.outputs.push_back(Output::Dial(member));
        } else {
            let backoff = self.redial_backoff(in_a_row - 1);
            self.timers.set(now + backoff, CoreTimer::Redial(name));
        }
    }

    /// Leaves the cluster on purpose: every linked peer is told `Goodbye` now, and gossip says
    /// we are down `leave_gossip_delay` later (so linked peers hear the reason first). The
    /// driver should keep running until [`Membership::has_left`], then stop.
    pub fn leave(&mut self, now: Instant) {
        if self.leaving {
            return;
        }
        self.leaving = true;
        for link in self.links.iter() {
            self.outputs.push_back(Output::SendLink {
                conn: link.conn,
                msg: LinkMessage::Goodbye,
            });
        }
        self.timers
            .set(now + self.config.leave_gossip_delay, CoreTimer::LeaveGossip);
    }

    /// Whether a [`Membership::leave`] has finished (goodbyes queued, departure gossiped).
    pub fn has_left(&self) -> bool {
        self.left
    }

    /// Live members, sorted by name, without this node.
    pub fn members(&self) -> Vec<MemberStatus> {
        self.live
            .values()
            .map(|member| {
                let link = self.links.get(member.name()).filter(|l| l.id == member.id);
                MemberStatus {
                    member: member.clone(),
                    liveness: if link.is_some_and(|l| l.suspected) {
                        Liveness::Suspect
                    } else {
                        Liveness::Alive
                    },
                    linked: link.is_some(),
                    rtt: link.and_then(|l| l.rtt),
                    last_heard: link.map(|l| l.last_heard),
                }
            })
            .collect()
    }

    /// Whether a link to the member listening on `addr` is up (discovery skips those), or
    /// `addr` is our own.
    pub fn is_linked_to(&self, addr: SocketAddr) -> bool {
        addr == self.local.listen
            || self
                .links
                .iter()
                .any(|l| self.live.get(&l.id.name).is_some_and(|m| m.listen == addr))
    }

    /// Live peers that have a link, with the connection carrying it, sorted by name: where
    /// the driver sends actor traffic. Peers are named by their process identity
    /// ([`Member::process_id`]), the one actor pids carry.
    pub fn routes(&self) -> Vec<(NodeId, ConnId)> {
        self.links
            .iter()
            .filter_map(|l| {
                let member = self.live.get(&l.id.name).filter(|m| m.id == l.id)?;
                Some((member.process_id(), l.conn))
            })
            .collect()
    }

    /// Counters of refused input.
    pub fn stats(&self) -> MembershipStats {
        self.stats
    }

    /// Counters of SWIM probes and suspicions since the core was made.
    pub fn swim_stats(&self) -> SwimStats {
        self.swim_stats
    }

    /// Whether a suspect-to-down `timer` still stands: that exact life is still suspect at
    /// the incarnation the suspicion was raised at. foca 2.0 sends the member `TurnUndead`
    /// even when the timer is stale (the suspect refuted, or a newer life of its name took
    /// over), which makes a healthy node drop its identity and rejoin as a new life (every
    /// peer sees it `Replaced`), so stale timers are dropped here. Other timers always stand.
    fn timer_stands(&self, timer: &foca::Timer<Member>) -> bool {
        let foca::Timer::ChangeSuspectToDown {
            member_id,
            incarnation,
            ..
        } = timer
        else {
            return true;
        };
        self.swim.iter_membership_state().any(|m| {
            m.id() == member_id && m.incarnation() == *incarnation && m.state() == foca::State::Suspect
        })
    }

    fn on_foca_timer(&mut self, now: Instant, timer: foca::Timer<Member>) {
        if !self.timer_stands(&timer) {
            return;
        }
        if self.suspect_answers_on_link(now, &timer) {
            let again = now + self.config.suspect_to_down_after;
            return self.timers.set(again, CoreTimer::Foca(timer));
        }
        let _ = self.swim.handle_timer(timer, &mut self.runtime);
        self.flush_swim(now);
    }

    /// Whether a suspect-to-down `timer` names a member whose link was heard within
    /// `link_suspect_after`. The link is the stronger signal: SWIM's suspicion can outlive a
    /// short partition when the suspect never hears of it and so never refutes. Such a timer
    /// is re-armed instead of fired; if the link goes quiet, the silence rule takes over.
    fn suspect_answers_on_link(&self, now: Instant, timer: &foca::Timer<Member>) -> bool {
        let foca::Timer::ChangeSuspectToDown { member_id, .. } = timer else {
            return false;
        };
        self.heard_lately(now, &member_id.id)
    }

    /// Whether life `id` answered within `link_suspect_after` by the clock, which is what
    /// refusing a second process under its name needs: a stall's discount (`heard_lately`)
    /// keeps a peer from being judged by our own silence, but is no evidence that it runs.
    /// After a stall only frames read since count; the evidence of a link closed before it
    /// (`relinked`) does not.
    fn answers_now(&self, now: Instant, id: &NodeId) -> bool {
        let recent = |at: Instant| now.saturating_duration_since(at) < self.config.link_suspect_after;
        let linked = self
            .links
            .get(&id.name)
            .is_some_and(|link| link.id == *id && recent(link.heard_at));
        linked || (!self.resumed_lately(now) && self.relinked.get(id).copied().is_some_and(recent))
    }

    /// Whether life `id` was heard on our link within `link_suspect_after` (on its link, or on
    /// one that closed while it still answered: this node closed it when it took a new life,
    /// the peer retired it, or its close was read right after a stall): the link is the
    /// stronger signal, so a SWIM suspicion does not take it, and a down decided elsewhere
    /// ends its life but not its process ([`DownReason::Renewed`]).
    fn heard_lately(&self, now: Instant, id: &NodeId) -> bool {
        let recent = |at: Instant| now.saturating_duration_since(at) < self.config.link_suspect_after;
        let linked = self
            .links
            .get(&id.name)
            .is_some_and(|link| link.id == *id && recent(link.last_heard));
        linked || self.relinked.get(id).copied().is_some_and(recent)
    }

    fn declare_down(&mut self, now: Instant, peer: &NodeId) {
        let Some(member) = self.live.get(&peer.name).filter(|m| m.id == *peer).cloned() else {
            return;
        };
        let update = foca::Member::new(member, 0, foca::State::Down);
        let _ = self
            .swim
            .apply_many(std::iter::once(update), true, &mut self.runtime);
        self.flush_swim(now);
    }

    fn arm_heartbeat(&mut self, now: Instant) {
        if !self.heartbeat_armed {
            self.heartbeat_armed = true;
            self.timers
                .set(now + self.config.heartbeat_interval, CoreTimer::Heartbeat);
        }
    }

    /// Sends one heartbeat per link and applies the silence rule of `MembershipConfig`.
    fn on_heartbeat_tick(&mut self, now: Instant) {
        self.heartbeat_armed = false;
        self.heartbeat_seq += 1;
        let seq = self.heartbeat_seq;
        let (suspect_after, down_after) = (self.config.link_suspect_after, self.config.link_down_after);
        let mut silent = Vec::new();
        let mut quiet_links = Vec::new();
        for link in self.links.iter_mut() {
            let quiet = now.saturating_duration_since(link.last_heard);
            if quiet >= down_after {
                silent.push((link.id.clone(), link.suspected_at));
                continue;
            }
            // Only a live member can be suspect; a link may carry a life we hold down.
            let live = self.live.get(&link.id.name).is_some_and(|m| m.id == link.id);
            if quiet >= suspect_after && !link.suspected && live {
                link.suspected = true;
                quiet_links.push(link.id.clone());
                self.outputs
                    .push_back(Output::Event(Event::NodeSuspect(link.id.clone())));
            }
            if link
                .ping
                .is_none_or(|(_, sent)| now.saturating_duration_since(sent) >= suspect_after)
            {
                link.ping = Some((seq, now));
            }
            self.outputs.push_back(Output::SendLink {
                conn: link.conn,
                msg: LinkMessage::Heartbeat(seq),
            });
        }
        let suspect_after = self.config.link_suspect_after;
        self.relinked
            .retain(|_, at| now.saturating_duration_since(*at) < suspect_after);
        // A quiet link suspects its peer in SWIM too, so that a peer others reach can refute
        // (`membership/indirect.rs`).
        for id in quiet_links {
            let suspected = self.suspect_quiet_link(now, &id);
            if let Some(link) = self.links.get_mut(&id.name).filter(|l| l.id == id) {
                link.suspected_at = suspected;
            }
        }
        for (id, suspected) in silent {
            if self.refuted(&id, suspected) {
                self.unlink_indirect(now, &id);
                continue;
            }
            self.down_reasons.insert(id.clone(), DownReason::Failed);
            if let Some(link) = self.links.remove_id(&id) {
                self.outputs.push_back(Output::CloseLink(link.conn));
            }
            self.declare_down(now, &id);
        }
        if !self.links.is_empty() {
            self.arm_heartbeat(now);
        }
    }

    fn on_redial_timer(&mut self, name: &NodeName) {
        if !self.redials.contains_key(name) || self.links.get(name).is_some() || self.leaving {
            return;
        }
        if let Some(member) = self.live.get(name) {
            self.outputs.push_back(Output::Dial(member.clone()));
        }
    }
}

#[cfg(test)]
#[path = "membership_test.rs"]
mod tests;

#[cfg(test)]
#[path = "membership/retired_test.rs"]
mod retired_tests;
