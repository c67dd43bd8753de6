//! How foca's outputs and notifications become driver outputs and changes to the live set.

use std::time::Instant;

use foca::OwnedNotification;

use super::{CoreTimer, DownReason, Event, Membership, Output};
use crate::datagram;
use crate::member::Member;
use crate::node_id::NodeId;

impl Membership {
    /// Turns what foca produced into outputs and applies its notifications to the live set.
    pub(super) fn flush_swim(&mut self, now: Instant) {
        for (to, body) in self.runtime.sends.drain(..) {
            let bytes = datagram::seal(&self.cookie, &body);
            self.outputs
                .push_back(Output::SendDatagram { to: to.listen, bytes });
        }
        for (timer, after) in self.runtime.timers.drain(..) {
            match &timer {
                foca::Timer::SendIndirectProbe { .. } => self.swim_stats.probes += 1,
                foca::Timer::ChangeSuspectToDown { .. } => self.swim_stats.suspicions += 1,
                _ => {}
            }
            self.timers.set(now + after, CoreTimer::Foca(timer));
        }
        let notes: Vec<_> = self.runtime.notifications.drain(..).collect();
        for note in notes {
            self.on_notification(now, note);
        }
    }

    fn on_notification(&mut self, now: Instant, note: OwnedNotification<Member>) {
        match note {
            OwnedNotification::MemberUp(member) => self.on_member_up(now, member),
            OwnedNotification::MemberDown(member) => {
                let reason = self
                    .down_reasons
                    .remove(&member.id)
                    .unwrap_or_else(|| self.reason_unseen(now, &member.id));
                if reason == DownReason::Renewed && self.live.get(member.name()) == Some(&member) {
                    self.await_renewal(now, &member);
                }
                self.on_member_gone(&member.id, reason);
            }
            OwnedNotification::Rename(old, new) => {
                self.on_member_gone(&old.id, successor(&old, &new));
                let new_is_live = self.swim.iter_members().any(|m| m.id() == &new);
                if new_is_live {
                    self.on_member_up(now, new);
                }
            }
            OwnedNotification::Rejoin(renewed) => {
                self.local = renewed.clone();
                self.outputs.push_back(Output::Event(Event::Renewed(renewed)));
                self.relink();
            }
            OwnedNotification::Active | OwnedNotification::Idle | OwnedNotification::Defunct => {}
        }
    }

    /// After this node took a new life: every link authenticated the old one, and each peer
    /// retires such a link once it sees the new life (it stops writing on it). Kept, it
    /// would go silent and this node would declare its peers down a second later; so every
    /// link closes now and every live member is dialled as the new life.
    fn relink(&mut self) {
        for link in self.links.drain() {
            // What the link taught still counts (`heard_lately`) until the new one is up.
            self.relinked.insert(link.id, link.last_heard);
            self.outputs.push_back(Output::CloseLink(link.conn));
        }
        if self.leaving {
            return;
        }
        for member in self.live.values() {
            self.redials.insert(member.name().clone(), 0);
            self.outputs.push_back(Output::Dial(member.clone()));
        }
    }

    fn on_member_up(&mut self, now: Instant, member: Member) {
        if self.live.get(member.name()) == Some(&member) {
            return;
        }
        self.renewal_seen(&member);
        if let Some(old) = self.live.get(member.name()).cloned() {
            self.on_member_gone(&old.id, successor(&old, &member));
        }
        self.live.insert(member.name().clone(), member.clone());
        self.outputs
            .push_back(Output::Event(Event::NodeUp(member.clone())));
        // A link that authenticated an older life of this name (the peer renewed after being
        // declared down) cannot speak for this one: while it stands nobody re-dials and the
        // silence rule watches the old id. Close it; the dial below authenticates this life.
        let stale = self
            .links
            .get(member.name())
            .filter(|l| l.id.creation < member.id.creation);
        if let Some(stale) = stale.map(|l| l.id.clone())
            && let Some(link) = self.links.remove_id(&stale)
        {
            self.outputs.push_back(Output::CloseLink(link.conn));
        }
        if self.links.get(member.name()).is_none_or(|l| l.id != member.id) && !self.leaving {
            // Full mesh: the smaller id dials now, the larger one after a grace period, so a
            // pair usually opens one connection instead of two.
            self.redials.insert(member.name().clone(), 0);
            if self.local.id < member.id {
                self.outputs.push_back(Output::Dial(member));
            } else {
                self.timers.set(
                    now + self.config.dial_grace,
                    CoreTimer::Redial(member.name().clone()),
                );
            }
        }
    }

    /// Why `id` is down when the cluster says so before a link signal of ours did: `Crashed`
    /// if its side closed our link within `link_down_after` and no re-dial reached it since
    /// (a peer's refused re-dial was gossiped before ours came back); `Renewed` if it answers
    /// us on its link (heard within `link_suspect_after`): its life was ended by a node that
    /// cannot reach it (a partition's other side, still holding its old view after the heal,
    /// or a cut between that node and it only), its process runs on and takes a new life;
    /// else `Failed`.
    fn reason_unseen(&self, now: Instant, id: &NodeId) -> DownReason {
        let recent = |at: &Instant| now.saturating_duration_since(*at) < self.config.link_down_after;
        if self.dropped.get(id).is_some_and(recent) {
            DownReason::Crashed
        } else if self.heard_lately(now, id) {
            DownReason::Renewed
        } else {
            DownReason::Failed
        }
    }

    fn on_member_gone(&mut self, id: &NodeId, reason: DownReason) {
        if self.live.get(&id.name).is_none_or(|m| m.id != *id) {
            return;
        }
        self.live.remove(&id.name);
        self.redials.remove(&id.name);
        self.dropped.remove(id);
        self.down_reasons.remove(id);
        if let Some(link) = self.links.remove_id(id) {
            self.outputs.push_back(Output::CloseLink(link.conn));
        }
        self.outputs.push_back(Output::Event(Event::NodeDown {
            id: id.clone(),
            reason,
        }));
    }
}

impl Membership {
    /// `member` was reported down as `Renewed` on the word of its link alone: its process is
    /// expected to show a newer life within `link_down_after`.
    fn await_renewal(&mut self, now: Instant, member: &Member) {
        self.renewing.insert(member.id.clone(), member.process);
        let due = now + self.config.link_down_after;
        self.timers.set(due, CoreTimer::RenewalDue(member.id.clone()));
    }

    /// A life of `member`'s name came up: an awaited renewal of the same process is done; a
    /// life of another process (a restart) means the awaited one's actors are down.
    fn renewal_seen(&mut self, member: &Member) {
        let awaited: Vec<_> = self
            .renewing
            .iter()
            .filter(|(id, _)| id.name == member.id.name && id.creation < member.id.creation)
            .map(|(id, process)| (id.clone(), *process))
            .collect();
        for (id, process) in awaited {
            self.renewing.remove(&id);
            if process != member.process {
                self.outputs.push_back(Output::Event(Event::ActorsDown(id)));
            }
        }
    }

    /// `link_down_after` passed since life `id` was reported `Renewed`: if no newer life of
    /// its process came up, its actors are down.
    pub(super) fn on_renewal_due(&mut self, id: &NodeId) {
        if self.renewing.remove(id).is_some() {
            self.outputs
                .push_back(Output::Event(Event::ActorsDown(id.clone())));
        }
    }
}

/// Why `old` left the live set for `new`, a newer life of its name: the same process renewed,
/// or another process (a restart) replaced it.
fn successor(old: &Member, new: &Member) -> DownReason {
    if old.process == new.process {
        DownReason::Renewed
    } else {
        DownReason::Replaced
    }
}
