//! What multicast discovery knows, as a pure value: the beacons this node sends, the link
//! addresses other nodes' beacons announced, and counts of what was accepted and ignored. No
//! I/O and no clock: callers pass the time.
//!
//! Call order: [`Beacons::poll_beacon`] for each beacon to send, then
//! [`Beacons::handle_sent`] with how the send went; [`Beacons::handle_datagram`] for each
//! datagram read from the group; [`Beacons::found`] once per discovery round (the addresses
//! to propose); [`Beacons::view`] to show it all.
//!
//! Rules:
//! 1. A datagram proposes its link address only if it is a beacon that verifies under the
//!    cookie (any of its secrets). Anything else (another cluster's cookie, garbage, a
//!    datagram too long or too short) is ignored and counted, with its sender and reason
//!    kept for the view. This node's own beacons (its name and link address) are ignored
//!    silently.
//! 2. Discovery only adds candidates: an address not heard for [`Beacons::new`]'s `keep` is
//!    no longer proposed, which removes no member.
//! 3. At most [`MAX_CANDIDATES`] addresses are held; past that, the one heard least recently
//!    is dropped.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use shoal_api::views::{IgnoredBeaconView, MulticastView};
use shoal_proto::beacon::{self, Beacon, BeaconError};
use shoal_proto::{Cookie, NodeName};

use super::state::MAX_CANDIDATES;

/// Multicast discovery's state; see the module doc.
#[derive(Clone, Debug)]
pub struct Beacons {
    local_name: NodeName,
    local_link: SocketAddr,
    cookie: Cookie,
    /// How long an address is proposed after its last beacon, in ms.
    keep_ms: u64,
    /// The next beacon's sequence number.
    seq: u64,
    /// Each announced link address and when its last beacon came, in ms since the epoch.
    heard: BTreeMap<SocketAddr, u64>,
    /// Why the last send (or opening the sockets) failed; cleared by a send that works.
    error: Option<String>,
    view: MulticastView,
}

/// What one datagram was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Heard {
    /// A beacon of this cluster announcing an address not held before.
    New(SocketAddr),
    /// A beacon of this cluster announcing an address already held.
    Again(SocketAddr),
    /// This node's own beacon (looped back).
    Own,
    /// Not a beacon of this cluster.
    Ignored(BeaconError),
}

impl Beacons {
    /// The state of a node named `local_name` whose link address is `local_link`, holding
    /// `cookie`, sending to `group` from `interface` with `ttl`, proposing an address for
    /// `keep_ms` after its last beacon.
    pub fn new(
        local_name: NodeName,
        local_link: SocketAddr,
        cookie: Cookie,
        (group, interface, ttl): (SocketAddrV4, Ipv4Addr, u32),
        keep_ms: u64,
    ) -> Self {
        Self {
            local_name,
            local_link,
            cookie,
            keep_ms,
            seq: 0,
            heard: BTreeMap::new(),
            error: None,
            view: MulticastView {
                group: SocketAddr::V4(group),
                interface,
                ttl,
                sent: 0,
                accepted: 0,
                ignored: 0,
                last_ignored: None,
            },
        }
    }

    /// The next beacon to send, signed with the cookie's proving secret.
    pub fn poll_beacon(&mut self) -> Vec<u8> {
        let beacon = Beacon {
            name: self.local_name.clone(),
            link: self.local_link,
            seq: self.seq,
        };
        self.seq += 1;
        beacon.seal(&self.cookie)
    }

    /// Records how sending a beacon (or opening the sockets) went.
    pub fn handle_sent(&mut self, result: Result<(), String>) {
        match result {
            Ok(()) => {
                self.view.sent += 1;
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// Reads one datagram `from` a sender, received at `now_ms` (rule 1).
    pub fn handle_datagram(&mut self, now_ms: u64, from: SocketAddr, bytes: &[u8]) -> Heard {
        let beacon = match beacon::open(&self.cookie, bytes) {
            Ok(beacon) => beacon,
            Err(e) => {
                self.view.ignored += 1;
                self.view.last_ignored = Some(IgnoredBeaconView {
                    from,
                    reason: e.reason().to_owned(),
                    at_ms: now_ms,
                });
                return Heard::Ignored(e);
            }
        };
        if beacon.name == self.local_name && beacon.link == self.local_link {
            return Heard::Own;
        }
        self.view.accepted += 1;
        let link = beacon.link;
        if self.heard.insert(link, now_ms).is_some() {
            return Heard::Again(link);
        }
        if self.heard.len() > MAX_CANDIDATES {
            let oldest = self.heard.iter().min_by_key(|(_, at)| **at).map(|(a, _)| *a);
            if let Some(oldest) = oldest {
                self.heard.remove(&oldest);
            }
        }
        Heard::New(link)
    }

    /// The addresses to propose at `now_ms`: those heard within `keep` (rule 2), sorted.
    /// `Err` with the last send error when there are none and sending fails.
    pub fn found(&mut self, now_ms: u64) -> Result<Vec<SocketAddr>, String> {
        let keep = self.keep_ms;
        self.heard.retain(|_, at| now_ms.saturating_sub(*at) <= keep);
        let found: Vec<SocketAddr> = self.heard.keys().copied().collect();
        match (&self.error, found.is_empty()) {
            (Some(e), true) => Err(e.clone()),
            _ => Ok(found),
        }
    }

    /// Counts and the last ignored datagram, for `GET /api/discovery`.
    pub fn view(&self) -> MulticastView {
        self.view.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GROUP: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::new(239, 255, 77, 77), 7710);

    fn node(name: &str, last_octet: u8, cookie: &str) -> Beacons {
        Beacons::new(
            NodeName::new(name).expect("a valid name"),
            SocketAddr::from(([10, 0, 0, last_octet], 7000)),
            Cookie::new(cookie).expect("a valid cookie"),
            (GROUP, Ipv4Addr::new(10, 0, 0, last_octet), 1),
            3_000,
        )
    }

    fn from(last_octet: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last_octet], 7710))
    }

    fn link(last_octet: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last_octet], 7000))
    }

    #[test]
    fn a_beacon_of_the_cluster_proposes_its_address_once_and_its_own_is_silent() {
        let (mut a, mut b) = (node("a", 1, "k"), node("b", 2, "k"));
        let beacon = b.poll_beacon();
        assert_eq!(a.handle_datagram(10, from(2), &beacon), Heard::New(link(2)));
        assert_eq!(
            a.handle_datagram(20, from(2), &b.poll_beacon()),
            Heard::Again(link(2))
        );
        assert_eq!(
            a.handle_datagram(30, from(1), &a.clone().poll_beacon()),
            Heard::Own
        );
        assert_eq!(a.found(40), Ok(vec![link(2)]));
        let view = a.view();
        assert_eq!((view.accepted, view.ignored, view.last_ignored), (2, 0, None));
    }

    #[test]
    fn another_cookie_garbage_and_oversized_datagrams_are_counted_with_the_last_sender() {
        let (mut a, mut stranger) = (node("a", 1, "k"), node("x", 9, "other"));
        let theirs = stranger.poll_beacon();
        assert_eq!(
            a.handle_datagram(5, from(9), &theirs),
            Heard::Ignored(BeaconError::BadTag)
        );
        assert!(matches!(
            a.handle_datagram(6, from(8), &[0; 300]),
            Heard::Ignored(BeaconError::TooLong(300))
        ));
        assert!(matches!(
            a.handle_datagram(7, from(7), b"hello"),
            Heard::Ignored(BeaconError::TooShort(5))
        ));
        assert_eq!(a.found(8), Ok(vec![]));
        let view = a.view();
        assert_eq!((view.accepted, view.ignored), (0, 3));
        let last = view.last_ignored.expect("the last ignored datagram");
        assert_eq!(
            (last.from, last.reason.as_str(), last.at_ms),
            (from(7), "too_short", 7)
        );
        // The stranger, in turn, ignores ours.
        let ours = a.poll_beacon();
        assert!(matches!(
            stranger.handle_datagram(9, from(1), &ours),
            Heard::Ignored(_)
        ));
        assert_eq!(stranger.view().ignored, 1);
    }

    #[test]
    fn a_node_holding_two_secrets_accepts_beacons_signed_with_either() {
        let mut both = node("a", 1, "new\nold");
        let (mut old, mut new) = (node("o", 2, "old"), node("n", 3, "new"));
        assert_eq!(
            both.handle_datagram(1, from(2), &old.poll_beacon()),
            Heard::New(link(2))
        );
        assert_eq!(
            both.handle_datagram(1, from(3), &new.poll_beacon()),
            Heard::New(link(3))
        );
        // It signs with the first secret: the node still on the old one alone ignores it.
        assert_eq!(
            new.handle_datagram(2, from(1), &both.poll_beacon()),
            Heard::New(link(1))
        );
        assert!(matches!(
            old.handle_datagram(2, from(1), &both.poll_beacon()),
            Heard::Ignored(_)
        ));
    }

    #[test]
    fn an_address_not_heard_for_keep_is_no_longer_proposed() {
        let (mut a, mut b, mut c) = (node("a", 1, "k"), node("b", 2, "k"), node("c", 3, "k"));
        a.handle_datagram(1_000, from(2), &b.poll_beacon());
        a.handle_datagram(3_000, from(3), &c.poll_beacon());
        assert_eq!(a.found(4_000), Ok(vec![link(2), link(3)]));
        assert_eq!(a.found(4_001), Ok(vec![link(3)]));
        assert_eq!(a.found(9_000), Ok(vec![]));
    }

    #[test]
    fn a_send_error_shows_while_nothing_is_found_and_clears_on_the_next_send() {
        let mut a = node("a", 1, "k");
        a.handle_sent(Err("no route to 239.255.77.77".into()));
        assert_eq!(a.found(1), Err("no route to 239.255.77.77".into()));
        a.handle_sent(Ok(()));
        assert_eq!((a.found(2), a.view().sent), (Ok(vec![]), 1));
    }

    /// Four nodes of one cluster and a stranger beacon every second (±20%) to a group that
    /// loses 30% of datagrams, on a virtual clock: every member proposes only members, and
    /// each of the three others at some point; each side ignores the other's beacons; a node
    /// that goes quiet stops being proposed after `keep`. Seeds are fixed; a failure names
    /// its seed.
    #[test]
    fn members_find_each_other_over_a_lossy_group_and_a_quiet_node_ages_out() {
        use rand::rngs::StdRng;
        use rand::{RngExt, SeedableRng};
        for seed in 0..20u64 {
            let mut rng = StdRng::seed_from_u64(seed);
            let mut nodes: Vec<Beacons> = (1..=4u8).map(|i| node(&format!("n{i}"), i, "k")).collect();
            nodes.push(node("x", 9, "other"));
            let octet = |i: usize| if i == 4 { 9 } else { i as u8 + 1 };
            let mut due: Vec<u64> = (0..5).map(|_| rng.random_range(0..1_000)).collect();
            let quiet_from = 20_000;
            let mut ever = vec![std::collections::BTreeSet::new(); 5];
            for now in (0..40_000u64).step_by(10) {
                if now % 500 == 0 {
                    for (i, n) in nodes.iter_mut().enumerate() {
                        ever[i].extend(n.found(now).expect("no send error"));
                    }
                }
                for i in 0..5 {
                    if due[i] > now || (i == 1 && now >= quiet_from) {
                        continue;
                    }
                    due[i] = now + rng.random_range(800..=1_200);
                    let beacon = nodes[i].poll_beacon();
                    for receiver in &mut nodes {
                        if !rng.random_bool(0.3) {
                            receiver.handle_datagram(now, from(octet(i)), &beacon);
                        }
                    }
                }
                if now == quiet_from - 10 {
                    for i in 0..4 {
                        let others: std::collections::BTreeSet<SocketAddr> =
                            (0..4).filter(|j| *j != i).map(|j| link(octet(j))).collect();
                        assert_eq!(ever[i], others, "seed {seed}, n{}", i + 1);
                        assert!(nodes[i].view().ignored > 0, "seed {seed}");
                    }
                    assert!(ever[4].is_empty(), "seed {seed}");
                    assert_eq!(nodes[4].view().accepted, 0, "seed {seed}");
                }
            }
            // n2 has been quiet for 20 s, far past `keep` (3 s): n1 no longer proposes it.
            let found = nodes[0].found(40_000).expect("no send error");
            assert!(
                !found.contains(&link(2)) && !found.is_empty(),
                "seed {seed}: {found:?}"
            );
        }
    }

    #[test]
    fn at_most_max_candidates_addresses_are_held_the_least_recently_heard_go_first() {
        let mut a = node("a", 1, "k");
        let cookie = Cookie::new("k").expect("a valid cookie");
        let name = NodeName::new("b").expect("a valid name");
        for i in 0..300u16 {
            let beacon = Beacon {
                name: name.clone(),
                link: SocketAddr::from(([10, 1, 0, 1], i)),
                seq: 0,
            };
            a.handle_datagram(u64::from(i), from(2), &beacon.seal(&cookie));
        }
        let found = a.found(300).expect("addresses");
        assert_eq!(found.len(), MAX_CANDIDATES);
        assert_eq!(found[0].port(), 300 - MAX_CANDIDATES as u16);
    }
}
