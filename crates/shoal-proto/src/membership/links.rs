//! The table of authenticated links: at most one per peer name, duplicates resolved by rule.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::handshake::{Role, keep_dialed_by};
use crate::membership::event::ConnId;
use crate::node_id::{NodeId, NodeName};

/// One live link and what its heartbeats taught us.
#[derive(Clone, Debug)]
pub(crate) struct Link {
    pub(crate) conn: ConnId,
    pub(crate) id: NodeId,
    pub(crate) role: Role,
    /// When the peer was last heard, moved later by a stall of this node (`discount`), so a
    /// silence this node did not run through is not held against the peer.
    pub(crate) last_heard: Instant,
    /// When a frame of the peer last arrived, by the clock: never discounted. Evidence that
    /// the peer answers *now* (after a stall, only frames read since count).
    pub(crate) heard_at: Instant,
    pub(crate) rtt: Option<Duration>,
    /// Sequence number and send time of the newest unanswered heartbeat.
    pub(crate) ping: Option<(u64, Instant)>,
    pub(crate) suspected: bool,
    /// The incarnation at which this node put the peer's life in SWIM's `Suspect` state when
    /// the link went quiet (see `membership/indirect.rs`); cleared when the link is heard.
    pub(crate) suspected_at: Option<foca::Incarnation>,
}

/// Outcome of offering a freshly authenticated connection to the table.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Admit {
    /// The connection is now the peer's link; close `replaced` if set.
    Accepted { replaced: Option<ConnId> },
    /// Keep the existing link; close the offered connection.
    Refused,
}

#[derive(Debug, Default)]
pub(crate) struct LinkTable {
    by_name: BTreeMap<NodeName, Link>,
    by_conn: BTreeMap<ConnId, NodeName>,
}

impl LinkTable {
    /// Offers connection `conn` to `peer`. A newer life of the peer displaces an older one; for
    /// the same life, the connection dialled by the smaller id wins (`keep_dialed_by`).
    pub(crate) fn admit(
        &mut self,
        local: &NodeId,
        conn: ConnId,
        role: Role,
        peer: &NodeId,
        now: Instant,
    ) -> Admit {
        let mut replaced = None;
        if let Some(existing) = self.by_name.get(&peer.name) {
            let keep_new = match existing.id.creation.cmp(&peer.creation) {
                std::cmp::Ordering::Greater => false,
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal => {
                    let preferred = keep_dialed_by(local, peer);
                    role == preferred && existing.role != preferred
                }
            };
            if !keep_new {
                return Admit::Refused;
            }
            replaced = Some(existing.conn);
            self.by_conn.remove(&existing.conn);
        }
        let link = Link {
            conn,
            id: peer.clone(),
            role,
            last_heard: now,
            heard_at: now,
            rtt: None,
            ping: None,
            suspected: false,
            suspected_at: None,
        };
        self.by_name.insert(peer.name.clone(), link);
        self.by_conn.insert(conn, peer.name.clone());
        Admit::Accepted { replaced }
    }

    /// Removes the link carried by `conn`, if it is a current link.
    pub(crate) fn remove_conn(&mut self, conn: ConnId) -> Option<Link> {
        let name = self.by_conn.remove(&conn)?;
        self.by_name.remove(&name)
    }

    /// Removes the link to `id`'s life of that name, if there is one.
    pub(crate) fn remove_id(&mut self, id: &NodeId) -> Option<Link> {
        if self.by_name.get(&id.name)?.id != *id {
            return None;
        }
        let link = self.by_name.remove(&id.name)?;
        self.by_conn.remove(&link.conn);
        Some(link)
    }

    pub(crate) fn by_conn_mut(&mut self, conn: ConnId) -> Option<&mut Link> {
        let name = self.by_conn.get(&conn)?;
        self.by_name.get_mut(name)
    }

    pub(crate) fn get(&self, name: &NodeName) -> Option<&Link> {
        self.by_name.get(name)
    }

    pub(crate) fn get_mut(&mut self, name: &NodeName) -> Option<&mut Link> {
        self.by_name.get_mut(name)
    }

    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = &mut Link> {
        self.by_name.values_mut()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Link> {
        self.by_name.values()
    }

    /// Moves every instant the table measures silence and round trips from `gap` later,
    /// capped at `now`: time this node did not run is not held against its peers.
    pub(crate) fn discount(&mut self, gap: Duration, now: Instant) {
        for link in self.by_name.values_mut() {
            link.last_heard = (link.last_heard + gap).min(now);
            if let Some((seq, sent)) = link.ping {
                link.ping = Some((seq, (sent + gap).min(now)));
            }
        }
    }

    /// Removes every link.
    pub(crate) fn drain(&mut self) -> Vec<Link> {
        self.by_conn.clear();
        std::mem::take(&mut self.by_name).into_values().collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node_id::Creation;

    fn id(name: &str, creation: u64) -> NodeId {
        NodeId::new(NodeName::new(name).unwrap(), Creation(creation))
    }

    #[test]
    fn duplicate_connections_resolve_to_the_one_the_smaller_id_dialled() {
        let now = Instant::now();
        let (a, b) = (id("a", 1), id("b", 1));
        // On a: conn 1 was dialled by b (a accepted), conn 2 by a.
        let mut on_a = LinkTable::default();
        assert_eq!(
            on_a.admit(&a, ConnId(1), Role::Acceptor, &b, now),
            Admit::Accepted { replaced: None }
        );
        assert_eq!(
            on_a.admit(&a, ConnId(2), Role::Dialer, &b, now),
            Admit::Accepted {
                replaced: Some(ConnId(1))
            }
        );
        // On b, the same two connections arrive in the other order; b keeps a's dial too.
        let mut on_b = LinkTable::default();
        assert_eq!(
            on_b.admit(&b, ConnId(2), Role::Acceptor, &a, now),
            Admit::Accepted { replaced: None }
        );
        assert_eq!(on_b.admit(&b, ConnId(1), Role::Dialer, &a, now), Admit::Refused);
    }

    #[test]
    fn a_newer_life_displaces_the_older_link_and_an_older_one_is_refused() {
        let now = Instant::now();
        let mut t = LinkTable::default();
        t.admit(&id("a", 1), ConnId(1), Role::Dialer, &id("b", 1), now);
        assert_eq!(
            t.admit(&id("a", 1), ConnId(2), Role::Acceptor, &id("b", 2), now),
            Admit::Accepted {
                replaced: Some(ConnId(1))
            }
        );
        assert_eq!(
            t.admit(&id("a", 1), ConnId(3), Role::Dialer, &id("b", 1), now),
            Admit::Refused
        );
        assert!(
            t.remove_conn(ConnId(1)).is_none(),
            "a replaced connection is no longer current"
        );
        assert!(t.remove_conn(ConnId(2)).is_some());
    }
}
