//! Paused processes (`SIGSTOP`, a long GC, a starved VM): a paused node handles nothing; what
//! reaches it waits, as bytes wait in its sockets. On resume its core's timer fires first, at
//! once and late, then the bytes that waited arrive: the order that made a resumed node
//! declare every peer down (issue 16, item 2).

use std::time::Duration;

use super::Sim;
use super::queue::SimEvent;
use crate::error::SimError;

/// How long after a resume a node counts as recently paused: a down its peers decided during
/// the pause may still be published (gossip in flight) within this time.
pub(crate) const RESUME_GRACE: Duration = Duration::from_secs(2);

/// A node's pause, if any.
#[derive(Debug, Default)]
pub(crate) struct Pause {
    /// Whether the process is stopped now.
    pub(crate) paused: bool,
    /// What reached it while stopped, in arrival order.
    pub(crate) held: Vec<SimEvent>,
    /// When it last resumed.
    pub(crate) resumed_at: Option<Duration>,
}

impl Sim {
    /// Stops node `name`'s process: from now on it handles nothing until [`Sim::resume`].
    /// Its sockets stay open, so its peers see only silence.
    pub fn pause(&mut self, name: &str) -> Result<(), SimError> {
        let idx = self.running(name)?;
        tracing::debug!(at = ?self.now, node = name, "fault: pause");
        self.nodes[idx].pause.paused = true;
        Ok(())
    }

    /// Lets a paused node run again: its timer fires now, then everything that reached it
    /// while it was stopped arrives, in order.
    pub fn resume(&mut self, name: &str) -> Result<(), SimError> {
        let idx = self.slot(name)?;
        if !self.nodes[idx].pause.paused {
            return Err(SimError::NotPaused(name.into()));
        }
        tracing::debug!(at = ?self.now, node = name, "fault: resume");
        let node = &mut self.nodes[idx];
        node.pause.paused = false;
        node.pause.resumed_at = Some(self.now);
        node.timer_at = None;
        let held = std::mem::take(&mut node.pause.held);
        self.schedule_timer(idx);
        for event in held {
            if !matches!(event, SimEvent::Timer(_)) {
                self.queue.push(self.now, event);
            }
        }
        Ok(())
    }

    /// Whether node `idx` is paused now.
    pub(crate) fn is_paused(&self, idx: usize) -> bool {
        self.nodes[idx].pause.paused
    }

    /// Whether node `idx` is paused, or resumed less than [`RESUME_GRACE`] ago.
    pub(crate) fn paused_lately(&self, idx: usize) -> bool {
        let pause = &self.nodes[idx].pause;
        pause.paused
            || pause
                .resumed_at
                .is_some_and(|at| self.now.saturating_sub(at) < RESUME_GRACE)
    }

    /// Holds `event` if it is for a paused node; gives it back otherwise.
    pub(super) fn hold_if_paused(&mut self, event: SimEvent) -> Option<SimEvent> {
        let Some(idx) = self.paused_addressee(&event) else {
            return Some(event);
        };
        self.nodes[idx].pause.held.push(event);
        None
    }

    /// The paused node `event` is for, if any. A connection in progress waits for either
    /// end that is paused.
    fn paused_addressee(&self, event: &SimEvent) -> Option<usize> {
        let paused = |idx: usize| self.is_paused(idx).then_some(idx);
        match event {
            SimEvent::Timer(t) | SimEvent::Discovery(t) | SimEvent::Supervise { target: t, .. } => {
                self.nodes[t.node].is(*t).then_some(t.node).and_then(paused)
            }
            SimEvent::DialFailed { dialer, .. } => paused(dialer.node),
            SimEvent::Datagram { to, .. } => self.listeners.get(to).copied().and_then(paused),
            SimEvent::Deliver { to, conn, .. }
            | SimEvent::Fin { to, conn, .. }
            | SimEvent::LameDuckOver { conn, end: to } => {
                let end = self.conns.get(conn)?.ends[*to].at;
                paused(end.node)
            }
            SimEvent::Connected(conn) | SimEvent::HandshakeTimeout(conn) => {
                let c = self.conns.get(conn)?;
                let ends = [c.ends[0].at.node, self.listeners.get(&c.dialed).copied()?];
                ends.into_iter().find_map(paused)
            }
        }
    }
}
