//! The rule for a link that goes silent while the rest of the cluster still hears its peer
//! (a cut between two nodes only, which SWIM calls *indirectly connected*).
//!
//! # Rule: a silent link suspects; only an unrefuted suspicion downs
//! When a link has been silent for `link_suspect_after`, this node also puts the peer's life
//! in SWIM's `Suspect` state (at its current incarnation) and gossips it. A peer that any
//! other member still reaches hears of the suspicion through them and refutes it with a
//! higher incarnation, which comes back the same way. When the link has been silent for
//! `link_down_after`:
//! - suspicion refuted (SWIM holds that life `Alive` at a higher incarnation than the one
//!   suspected): the peer is *indirectly connected*. The link is closed and re-dialled with
//!   backoff; the member stays live (unlinked) in this node's view. Nothing is declared
//!   down, no life ends, nothing is taken over. SWIM's own probes (direct, then through
//!   others) keep judging it, and would down it if nobody reached it any more.
//! - otherwise (nobody reached it to refute: a crash, a pause, a partition of whole sides):
//!   declared down as `Failed`, as before this rule, at the same moment.
//!
//! Before this rule each end of a pair cut declared the other down; the members that still
//! heard it reported `Renewed`, and both ends took a new life and re-linked everywhere. That
//! worked only because the renewal came back within the take-over wait (2.5 s), and the
//! re-links raced the gossip: a third node that saw the renewed node's link close just before
//! the gossiped down reported it `Crashed` and took its children over at once (two instances,
//! state lost: 9 of 200 seeds of `shoal-sim/tests/pair_cut.rs` without this rule).

use std::time::Instant;

use super::{CoreTimer, Event, Membership, Output};
use crate::node_id::NodeId;

impl Membership {
    /// Puts life `id`, whose link went quiet, in SWIM's `Suspect` state and gossips it;
    /// returns the incarnation suspected, or `None` if SWIM does not hold that life (then
    /// nothing can refute, and the silence rule downs it as before).
    pub(super) fn suspect_quiet_link(&mut self, now: Instant, id: &NodeId) -> Option<foca::Incarnation> {
        let (member, incarnation, state) = self
            .swim
            .iter_membership_state()
            .find(|m| m.id().id == *id)
            .map(|m| (m.id().clone(), m.incarnation(), m.state()))?;
        match state {
            foca::State::Alive => {
                let update = foca::Member::new(member, incarnation, foca::State::Suspect);
                let _ = self
                    .swim
                    .apply_many(std::iter::once(update), true, &mut self.runtime);
                self.flush_swim(now);
                Some(incarnation)
            }
            foca::State::Suspect => Some(incarnation),
            foca::State::Down => None,
        }
    }

    /// Whether SWIM holds life `id` `Alive` at an incarnation above `suspected`: someone who
    /// reaches it told it of the suspicion and carried its refutation back.
    pub(super) fn refuted(&self, id: &NodeId, suspected: Option<foca::Incarnation>) -> bool {
        let Some(suspected) = suspected else {
            return false;
        };
        self.swim
            .iter_membership_state()
            .any(|m| m.id().id == *id && m.state() == foca::State::Alive && m.incarnation() > suspected)
    }

    /// Life `id` is indirectly connected: its silent link closes and is re-dialled with
    /// backoff, and it stays live. Its suspicion clears (`NodeUp`, as for any suspicion that
    /// clears).
    pub(super) fn unlink_indirect(&mut self, now: Instant, id: &NodeId) {
        if let Some(link) = self.links.remove_id(id) {
            self.outputs.push_back(Output::CloseLink(link.conn));
        }
        self.stats.indirect += 1;
        tracing::info!(peer = %id, "link silent but the peer answers the cluster: kept live, unlinked");
        if let Some(member) = self.live.get(&id.name).filter(|m| m.id == *id).cloned() {
            self.redials.insert(id.name.clone(), 1);
            self.timers
                .set(now + self.config.redial_min, CoreTimer::Redial(id.name.clone()));
            self.outputs.push_back(Output::Event(Event::NodeUp(member)));
        }
    }
}
