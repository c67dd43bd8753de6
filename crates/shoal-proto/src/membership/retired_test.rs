//! A retired link tells its peer (`LinkMessage::Retired`), and a peer told so drops the link
//! and re-dials at once instead of declaring the other side down (issue 16).

use std::time::{Duration, Instant};

use super::*;
use crate::cookie::Cookie;

fn member(name: &str, creation: u64, port: u16) -> Member {
    crate::member::test_member(name, creation, port)
}

fn core(name: &str) -> Membership {
    let local = member(name, 1, 7000);
    Membership::new(local, Cookie::new("k").unwrap(), MembershipConfig::lan(), 7)
}

fn drain(core: &mut Membership) -> Vec<Output> {
    std::iter::from_fn(|| core.poll_output()).collect()
}

/// `a` linked to `b` on conn 1, outputs drained.
fn linked() -> (Membership, Member, Instant) {
    let mut a = core("a");
    let b = member("b", 1, 7001);
    let now = Instant::now();
    a.handle_link_up(now, ConnId(1), Role::Acceptor, b.clone());
    drain(&mut a);
    (a, b, now)
}

fn retired(conn: u64) -> Output {
    Output::SendLink {
        conn: ConnId(conn),
        msg: LinkMessage::Retired,
    }
}

#[test]
fn a_link_the_core_retires_tells_its_peer_last_thing_before_the_close() {
    // conn 1 was dialled by b; a (the smaller id) dials conn 2, which wins the tie on both
    // ends. b may still hold conn 1 as its link: it must hear that a retired it.
    let (mut a, b, now) = linked();
    a.handle_link_up(now, ConnId(2), Role::Dialer, b);
    let outputs = drain(&mut a);
    let close = outputs.iter().position(|o| *o == Output::CloseLink(ConnId(1)));
    let told = outputs.iter().position(|o| *o == retired(1));
    assert!(
        told.is_some() && close == told.map(|t| t + 1),
        "a Retired frame right before the close: {outputs:?}"
    );
}

#[test]
fn a_link_the_peer_retired_is_dropped_and_redialled_at_once_and_nobody_is_declared_down() {
    let (mut a, b, start) = linked();
    a.handle_link_message(start, ConnId(1), LinkMessage::Retired);
    assert_eq!(
        drain(&mut a),
        vec![retired(1), Output::CloseLink(ConnId(1)), Output::Dial(b.clone())]
    );
    let status = &a.members()[0];
    assert_eq!((status.member.id.clone(), status.linked), (b.id.clone(), false));
    // The peer just spoke: a cluster down of b within `link_suspect_after` means its life
    // ended while its process runs on, not a failure.
    assert!(a.heard_lately(start + Duration::from_millis(400), &b.id));
    // Held, the silent link would make b suspect after 0.5 s and `Failed` after 1 s.
    let mut now = start;
    let mut seen = Vec::new();
    while now < start + Duration::from_millis(1_500) {
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        seen.extend(drain(&mut a).into_iter().filter_map(|o| match o {
            Output::Event(e @ (Event::NodeDown { .. } | Event::NodeSuspect(_))) => Some(e),
            _ => None,
        }));
    }
    assert_eq!(seen, vec![], "b was judged by the silence of a link it retired");
}

#[test]
fn a_peer_that_retires_every_new_link_is_redialled_with_backoff() {
    let (mut a, b, now) = linked();
    a.handle_link_message(now, ConnId(1), LinkMessage::Retired);
    assert!(drain(&mut a).contains(&Output::Dial(b.clone())));
    // The new link is retired too before any heartbeat crossed it: no dial right away.
    a.handle_link_up(now, ConnId(2), Role::Acceptor, b.clone());
    drain(&mut a);
    a.handle_link_message(now, ConnId(2), LinkMessage::Retired);
    let outputs = drain(&mut a);
    assert!(!outputs.contains(&Output::Dial(b.clone())), "{outputs:?}");
    let backoff = MembershipConfig::lan().redial_min;
    a.handle_timeout(now + backoff);
    assert!(drain(&mut a).contains(&Output::Dial(b.clone())));
    // A heartbeat heard on a link ends the streak: the next retirement re-dials at once.
    a.handle_link_up(now + backoff, ConnId(3), Role::Acceptor, b.clone());
    a.handle_link_message(now + backoff, ConnId(3), LinkMessage::Heartbeat(1));
    drain(&mut a);
    a.handle_link_message(now + backoff, ConnId(3), LinkMessage::Retired);
    assert!(drain(&mut a).contains(&Output::Dial(b)));
}

#[test]
fn a_retired_frame_on_a_connection_that_is_not_the_link_changes_nothing() {
    let (mut a, b, now) = linked();
    a.handle_link_message(now, ConnId(9), LinkMessage::Retired);
    assert_eq!(drain(&mut a), vec![]);
    assert_eq!(a.routes(), vec![(b.process_id(), ConnId(1))]);
}
