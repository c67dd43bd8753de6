use crate::node_id::Creation;
use std::time::{Duration, Instant};

use super::*;

fn member(name: &str, creation: u64, port: u16) -> Member {
    crate::member::test_member(name, creation, port)
}

fn core(name: &str) -> Membership {
    Membership::new(
        member(name, 1, 7000),
        Cookie::new("k").unwrap(),
        MembershipConfig::lan(),
        7,
    )
}

fn events(core: &mut Membership) -> Vec<Event> {
    std::iter::from_fn(|| core.poll_output())
        .filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// `a` with an authenticated link (conn 1) to `b`, outputs drained.
fn linked() -> (Membership, Member, Instant) {
    let mut a = core("a");
    let b = member("b", 1, 7001);
    let now = Instant::now();
    a.handle_link_up(now, ConnId(1), Role::Dialer, b.clone());
    assert_eq!(events(&mut a), vec![Event::NodeUp(b.clone())]);
    (a, b, now)
}

#[test]
fn link_up_makes_the_peer_a_live_member() {
    let (a, b, _) = linked();
    let members = a.members();
    assert_eq!(members.len(), 1);
    assert_eq!(members[0].member, b);
    assert!(members[0].linked);
}

#[test]
fn goodbye_on_the_link_reports_the_peer_left() {
    let (mut a, b, now) = linked();
    a.handle_link_message(now, ConnId(1), LinkMessage::Goodbye);
    assert_eq!(
        events(&mut a),
        vec![Event::NodeDown {
            id: b.id,
            reason: DownReason::Left
        }]
    );
    assert!(a.members().is_empty());
}

#[test]
fn broken_link_is_redialled_and_a_refused_dial_means_crashed() {
    let (mut a, b, now) = linked();
    a.handle_link_down(now, ConnId(1));
    let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    assert_eq!(outputs, vec![Output::Dial(b.clone())]);
    a.handle_dial_failed(now, &b.id, true);
    assert_eq!(
        events(&mut a),
        vec![Event::NodeDown {
            id: b.id,
            reason: DownReason::Crashed
        }]
    );
}

#[test]
fn silent_link_is_suspected_then_declared_failed() {
    let (mut a, b, start) = linked();
    let mut seen = Vec::new();
    let mut now = start;
    while now < start + Duration::from_secs(2) {
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        seen.extend(events(&mut a));
    }
    let suspect = seen
        .iter()
        .position(|e| *e == Event::NodeSuspect(b.id.clone()))
        .expect("suspect first");
    let down = seen
        .iter()
        .position(|e| {
            *e == Event::NodeDown {
                id: b.id.clone(),
                reason: DownReason::Failed,
            }
        })
        .expect("then down");
    assert!(suspect < down, "{seen:?}");
}

#[test]
fn heartbeats_are_answered_and_measure_rtt() {
    let (mut a, _b, now) = linked();
    a.handle_link_message(now, ConnId(1), LinkMessage::Heartbeat(9));
    let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    assert!(outputs.contains(&Output::SendLink {
        conn: ConnId(1),
        msg: LinkMessage::HeartbeatAck(9)
    }));
    let tick = now + MembershipConfig::lan().heartbeat_interval;
    a.handle_timeout(tick);
    let seq = std::iter::from_fn(|| a.poll_output())
        .find_map(|o| match o {
            Output::SendLink {
                msg: LinkMessage::Heartbeat(seq),
                ..
            } => Some(seq),
            _ => None,
        })
        .expect("a heartbeat per link");
    a.handle_link_message(
        tick + Duration::from_micros(250),
        ConnId(1),
        LinkMessage::HeartbeatAck(seq),
    );
    assert_eq!(a.members()[0].rtt, Some(Duration::from_micros(250)));
}

#[test]
fn a_new_process_under_the_name_of_a_member_that_answers_is_refused() {
    let (mut a, b, now) = linked();
    let second = member("b", 2, 7002);
    a.handle_link_up(now, ConnId(2), Role::Acceptor, second);
    let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    assert_eq!(
        outputs,
        vec![
            Output::SendLink {
                conn: ConnId(2),
                msg: LinkMessage::Reject(crate::wire::RejectReason::NameTaken)
            },
            Output::SendLink {
                conn: ConnId(2),
                msg: LinkMessage::Retired
            },
            Output::CloseLink(ConnId(2)),
        ]
    );
    assert_eq!(
        a.members().iter().map(|m| m.member.clone()).collect::<Vec<_>>(),
        vec![b]
    );
    assert_eq!(a.stats().name_taken, 1);
}

/// `a` with a link to `b` whose process stopped while `a` itself was stopped for 20 s: on
/// resume the silence is discounted (nobody is judged by it), but that is no evidence that
/// `b` still runs, so a new process under `b`'s name (`b` restarted meanwhile) is let in.
/// Refused, it would stop: a restart during a peer's pause cost the restarted node its life.
#[test]
fn after_a_stall_only_frames_read_since_prove_a_name_is_taken() {
    let (mut a, _b, start) = linked();
    let resumed = start + Duration::from_secs(20);
    a.handle_timeout(resumed);
    assert!(events(&mut a).iter().any(|e| matches!(e, Event::Stalled { .. })));
    a.handle_link_up(resumed, ConnId(2), Role::Acceptor, member("b", 2, 7002));
    let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    let refused = Output::SendLink {
        conn: ConnId(2),
        msg: LinkMessage::Reject(crate::wire::RejectReason::NameTaken),
    };
    assert!(!outputs.contains(&refused), "{outputs:?}");
    assert_eq!(a.stats().name_taken, 0);
    assert!(a.members().iter().any(|m| m.member.id == member("b", 2, 7002).id));

    // The same, but the old process's bytes arrive first: it runs, the name is taken.
    let (mut a, _b, start) = linked();
    let resumed = start + Duration::from_secs(20);
    a.handle_timeout(resumed);
    a.handle_link_message(resumed, ConnId(1), LinkMessage::Heartbeat(1));
    let _ = std::iter::from_fn(|| a.poll_output()).count();
    a.handle_link_up(resumed, ConnId(2), Role::Acceptor, member("b", 2, 7002));
    let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    assert!(outputs.contains(&refused), "{outputs:?}");
    assert_eq!(a.stats().name_taken, 1);
}

#[test]
fn a_renewal_of_the_same_process_is_not_a_taken_name() {
    let (mut a, b, now) = linked();
    let mut renewed = b.clone();
    renewed.id.creation = Creation(b.id.creation.0 + 1);
    a.handle_link_up(now, ConnId(2), Role::Acceptor, renewed.clone());
    let got = events(&mut a);
    assert!(got.contains(&Event::NodeUp(renewed)), "{got:?}");
    assert_eq!(a.stats().name_taken, 0);
}

#[test]
fn a_refusal_for_a_taken_name_is_reported_and_the_link_closed() {
    let (mut a, b, now) = linked();
    a.handle_link_message(
        now,
        ConnId(1),
        LinkMessage::Reject(crate::wire::RejectReason::NameTaken),
    );
    let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    assert!(
        outputs.contains(&Output::Event(Event::NameTaken { by: b.id })),
        "{outputs:?}"
    );
    assert!(outputs.contains(&Output::CloseLink(ConnId(1))), "{outputs:?}");
}

#[test]
fn a_newer_process_replaces_a_member_whose_link_went_quiet_at_once() {
    let (mut a, b, now) = linked();
    let b2 = member("b", 2, 7002);
    // The old process may be gone without a close (a host that froze or moved).
    let quiet = now + MembershipConfig::lan().link_suspect_after;
    a.handle_link_up(quiet, ConnId(2), Role::Acceptor, b2.clone());
    let got = events(&mut a);
    assert!(
        got.contains(&Event::NodeDown {
            id: b.id,
            reason: DownReason::Replaced
        }),
        "{got:?}"
    );
    assert!(got.contains(&Event::NodeUp(b2.clone())), "{got:?}");
    assert_eq!(
        a.members().iter().map(|m| m.member.clone()).collect::<Vec<_>>(),
        vec![b2]
    );
}

#[test]
fn datagrams_with_a_wrong_cookie_are_counted_and_dropped() {
    let mut a = core("a");
    let forged = crate::datagram::seal(&Cookie::new("other").unwrap(), b"anything");
    a.handle_datagram(Instant::now(), &forged);
    a.handle_datagram(Instant::now(), b"short");
    assert_eq!(a.stats().bad_datagrams, 2);
    assert!(a.members().is_empty());
}

#[test]
fn a_link_that_comes_up_while_leaving_is_told_goodbye() {
    let mut a = core("a");
    let now = Instant::now();
    a.leave(now);
    a.handle_link_up(now, ConnId(3), Role::Dialer, member("b", 1, 7001));
    let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    assert_eq!(
        outputs,
        vec![Output::SendLink {
            conn: ConnId(3),
            msg: LinkMessage::Goodbye
        }]
    );
    assert!(a.members().is_empty());
}

/// SWIM probes over UDP fail (the datagrams are dropped) while the link answers every
/// heartbeat: the link is the stronger proof of life, so foca's suspicion never turns into
/// a `NodeDown`. Found by the simulator (seed 87): a probe lost in a short partition left the
/// peer suspect after the heal, and nobody told it to refute.
#[test]
fn a_suspect_whose_link_answers_is_not_declared_down() {
    let (mut a, b, start) = linked();
    let mut seen = Vec::new();
    let mut now = start;
    while now < start + Duration::from_secs(10) {
        now += Duration::from_millis(20);
        a.handle_timeout(now);
        let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
        for output in outputs {
            match output {
                Output::SendLink {
                    conn,
                    msg: LinkMessage::Heartbeat(seq),
                } => a.handle_link_message(now, conn, LinkMessage::HeartbeatAck(seq)),
                Output::Event(e) => seen.push(e),
                _ => {}
            }
        }
        seen.extend(events(&mut a));
    }
    assert!(
        !seen.iter().any(|e| matches!(e, Event::NodeDown { .. })),
        "{seen:?}"
    );
    assert_eq!(a.members()[0].member, b);
}

/// Feeds every datagram one core sends to the other (by listen address) and drops the rest;
/// collects `a`'s events.
fn exchange(a: &mut Membership, c: &mut Membership, now: Instant, seen: &mut Vec<Event>) {
    let (a_addr, c_addr) = (a.local().listen, c.local().listen);
    loop {
        let from_a: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
        let from_c: Vec<Output> = std::iter::from_fn(|| c.poll_output()).collect();
        if from_a.is_empty() && from_c.is_empty() {
            return;
        }
        for output in from_a {
            match output {
                Output::SendDatagram { to, bytes } if to == c_addr => c.handle_datagram(now, &bytes),
                Output::Event(e) => seen.push(e),
                _ => {}
            }
        }
        for output in from_c {
            if let Output::SendDatagram { to, bytes } = output
                && to == a_addr
            {
                a.handle_datagram(now, &bytes);
            }
        }
    }
}

/// `b` is killed: `c`'s re-dial is refused first and `c` gossips the down; `a`'s own re-dial
/// has not answered yet. `a` still knows `b` crashed: `b`'s side closed its link just before.
#[test]
fn a_peer_whose_link_dropped_and_that_the_cluster_declares_down_crashed() {
    let cookie = Cookie::new("k").unwrap();
    let (am, bm, cm) = (member("a", 1, 7000), member("b", 1, 7001), member("c", 1, 7002));
    let mut a = Membership::new(am.clone(), cookie.clone(), MembershipConfig::lan(), 7);
    let mut c = Membership::new(cm.clone(), cookie, MembershipConfig::lan(), 8);
    let mut now = Instant::now();
    let mut seen = Vec::new();
    a.handle_link_up(now, ConnId(1), Role::Dialer, bm.clone());
    a.handle_link_up(now, ConnId(2), Role::Dialer, cm);
    c.handle_link_up(now, ConnId(1), Role::Dialer, bm.clone());
    c.handle_link_up(now, ConnId(2), Role::Acceptor, am);
    exchange(&mut a, &mut c, now, &mut seen);
    a.handle_link_down(now, ConnId(1));
    c.handle_link_down(now, ConnId(1));
    c.handle_dial_failed(now, &bm.id, true);
    let until = now + Duration::from_millis(500);
    while now < until && !seen.iter().any(|e| matches!(e, Event::NodeDown { .. })) {
        exchange(&mut a, &mut c, now, &mut seen);
        now += Duration::from_millis(10);
        a.handle_timeout(now);
        c.handle_timeout(now);
    }
    let downs: Vec<&Event> = seen
        .iter()
        .filter(|e| matches!(e, Event::NodeDown { .. }))
        .collect();
    assert_eq!(
        downs,
        [&Event::NodeDown {
            id: bm.id,
            reason: DownReason::Crashed
        }]
    );
}

/// `shoal chaos run --seed 51 --minutes 10 --kinds concurrent`: a and b were stopped at
/// once; b resumed first, took a new life (its process runs on) and retired its link to a.
/// When a resumed, it read the close of that link without the `Retired` frame in front of
/// it, then the cluster's down of b's old life, 2 ms later. The close had waited in a's
/// socket for seconds: it says nothing about when b closed it, let alone that b crashed.
/// It used to read as crash evidence (`Crashed`, every monitor of b's actors fired).
#[test]
fn a_link_close_read_right_after_a_stall_is_no_crash_evidence() {
    let (mut a, b, now) = linked();
    let c = member("c", 1, 7003);
    let down_b = foca::Member::new(b.clone(), 0, foca::State::Down);
    let resumed = now + Duration::from_secs(20);
    a.handle_timeout(resumed);
    let got = events(&mut a);
    assert!(matches!(got.as_slice(), [Event::Stalled { .. }]), "{got:?}");
    a.handle_link_down(resumed + Duration::from_millis(1), ConnId(1));
    a.handle_datagram(
        resumed + Duration::from_millis(2),
        &gossip(&c, a.local(), std::slice::from_ref(&down_b)),
    );
    let got = events(&mut a);
    let downs: Vec<&Event> = got
        .iter()
        .filter(|e| matches!(e, Event::NodeDown { .. }))
        .collect();
    assert_eq!(
        downs,
        [&Event::NodeDown {
            id: b.id.clone(),
            reason: DownReason::Renewed
        }]
    );
    // b's newer life of the same process comes 5 ms later: its actors never went down.
    let mut b2 = member("b", 2, 7001);
    b2.process = b.process;
    a.handle_link_up(
        resumed + Duration::from_millis(7),
        ConnId(2),
        Role::Acceptor,
        b2.clone(),
    );
    assert!(events(&mut a).contains(&Event::NodeUp(b2)));
    let got = events_until(&mut a, resumed + Duration::from_secs(5));
    assert!(!got.iter().any(|e| matches!(e, Event::ActorsDown(_))), "{got:?}");

    // Once this node has run for `link_suspect_after` since the stall, a close is news again:
    // the same close and down, read then, are a crash.
    let (mut a, b, now) = linked();
    let resumed = now + Duration::from_secs(20);
    a.handle_timeout(resumed);
    let later = resumed + MembershipConfig::lan().link_suspect_after + Duration::from_millis(10);
    for step in 1..=5 {
        let at = resumed + Duration::from_millis(100 * step);
        a.handle_link_message(at, ConnId(1), LinkMessage::Heartbeat(step));
        a.handle_timeout(at);
    }
    let _ = events(&mut a);
    a.handle_link_down(later, ConnId(1));
    let down_b = foca::Member::new(b.clone(), 0, foca::State::Down);
    a.handle_datagram(later, &gossip(&c, a.local(), &[down_b]));
    let got = events(&mut a);
    assert!(
        got.contains(&Event::NodeDown {
            id: b.id,
            reason: DownReason::Crashed
        }),
        "{got:?}"
    );
}

/// The same undated close and down, but b's process had died during the pause: the re-dial
/// the close sent is refused, which ends the wait for a newer life at once.
#[test]
fn a_renewed_member_whose_redial_is_refused_has_its_actors_reported_down_at_once() {
    let (mut a, b, now) = linked();
    let c = member("c", 1, 7003);
    let resumed = now + Duration::from_secs(20);
    a.handle_timeout(resumed);
    a.handle_link_down(resumed + Duration::from_millis(1), ConnId(1));
    let down_b = foca::Member::new(b.clone(), 0, foca::State::Down);
    a.handle_datagram(
        resumed + Duration::from_millis(2),
        &gossip(&c, a.local(), &[down_b]),
    );
    let got = events(&mut a);
    assert!(!got.contains(&Event::ActorsDown(b.id.clone())), "{got:?}");
    a.handle_dial_failed(resumed + Duration::from_millis(3), &b.id, true);
    assert_eq!(events(&mut a), [Event::ActorsDown(b.id.clone())]);
    // Once only: the renewal timer finds nothing left to report.
    let got = events_until(&mut a, resumed + Duration::from_secs(5));
    assert!(!got.iter().any(|e| matches!(e, Event::ActorsDown(_))), "{got:?}");
}

#[test]
fn a_node_that_did_not_run_for_seconds_judges_no_peer_by_that_silence() {
    let (mut a, b, now) = linked();
    // Timers run on time for a while: the link is heard (b answers every heartbeat).
    let mut t = now;
    for _ in 0..5 {
        t += Duration::from_millis(100);
        a.handle_timeout(t);
        a.handle_link_message(t, ConnId(1), LinkMessage::Heartbeat(1));
    }
    let _ = events(&mut a);
    // Then the process is stopped for 10 s: on resume, its timers fire before its socket
    // is read. Silence over the gap is not held against b.
    let resumed = t + Duration::from_secs(10);
    a.handle_timeout(resumed);
    let got = events(&mut a);
    assert!(
        matches!(got.as_slice(), [Event::Stalled { gap }] if *gap >= Duration::from_secs(9)),
        "{got:?}"
    );
    assert_eq!(a.stats().stalls, 1);
    // b's bytes that waited are read next; the link is alive and b never went down.
    a.handle_link_message(resumed, ConnId(1), LinkMessage::Heartbeat(2));
    for step in 1..=20 {
        a.handle_timeout(resumed + Duration::from_millis(100 * step));
        a.handle_link_message(
            resumed + Duration::from_millis(100 * step),
            ConnId(1),
            LinkMessage::Heartbeat(3),
        );
    }
    let got = events(&mut a);
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(a.members()[0].member, b);
}

#[test]
fn a_peer_silent_while_this_node_runs_is_still_declared_down() {
    let (mut a, b, now) = linked();
    // Timers fire on time (no stall) while b says nothing: the silence rule applies.
    let mut got = Vec::new();
    for step in 1..=15 {
        a.handle_timeout(now + Duration::from_millis(100 * step));
        got.extend(events(&mut a));
    }
    assert!(
        got.contains(&Event::NodeDown {
            id: b.id,
            reason: DownReason::Failed
        }),
        "{got:?}"
    );
    assert_eq!(a.stats().stalls, 0);
}

/// A sealed gossip datagram from `from` to `to` carrying `updates`.
fn gossip(from: &Member, to: &Member, updates: &[foca::Member<Member>]) -> Vec<u8> {
    use bytes::BufMut;
    use foca::Codec;
    let header = foca::Header {
        src: from.clone(),
        src_incarnation: 0,
        dst: to.clone(),
        message: foca::Message::Gossip,
    };
    let mut body = Vec::new();
    Codec::<Member>::encode_header(&mut PostcardCodec, &header, &mut body).unwrap();
    body.put_u16(updates.len() as u16);
    for u in updates {
        Codec::<Member>::encode_member(&mut PostcardCodec, u, &mut body).unwrap();
    }
    crate::datagram::seal(&Cookie::new("k").unwrap(), &body)
}

#[test]
fn a_gossiped_down_of_a_member_that_answers_on_its_link_ends_its_life_not_its_process() {
    let (mut a, b, now) = linked();
    let c = member("c", 1, 7003);
    let down_b = foca::Member::new(b.clone(), 0, foca::State::Down);
    // b was heard on its link just now: c cannot reach b (a heal's stale view, or a cut
    // between c and b only). The life ends (b renews), its process and actors do not.
    a.handle_datagram(now, &gossip(&c, a.local(), std::slice::from_ref(&down_b)));
    let got = events(&mut a);
    let renewed = Event::NodeDown {
        id: b.id.clone(),
        reason: DownReason::Renewed,
    };
    assert!(got.contains(&renewed), "{got:?}");
    // Once b's link has been quiet past link_suspect_after, the claim is news: failed.
    let (mut a, b, now) = linked();
    let later = now + MembershipConfig::lan().link_suspect_after;
    a.handle_datagram(later, &gossip(&c, a.local(), &[down_b]));
    let got = events(&mut a);
    assert!(
        got.contains(&Event::NodeDown {
            id: b.id,
            reason: DownReason::Failed
        }),
        "{got:?}"
    );
}

/// A pair cut: b's link goes silent, but b refutes the suspicion (incarnation 1) through c.
/// b is indirectly connected: its link closes, it stays live and unlinked, nothing is down.
/// Without the refutation the same silence downs it (`silent_link_is_suspected_then_declared_failed`).
#[test]
fn a_silent_peer_that_refutes_through_another_member_stays_live_unlinked() {
    let (mut a, b, start) = linked();
    let c = member("c", 1, 7003);
    let config = MembershipConfig::lan();
    let mut outputs = Vec::new();
    let mut now = start;
    let mut refuted = false;
    while now < start + config.link_down_after + Duration::from_millis(100) {
        now += Duration::from_millis(50);
        a.handle_timeout(now);
        if !refuted && now >= start + config.link_suspect_after + Duration::from_millis(50) {
            let alive_b = foca::Member::new(b.clone(), 1, foca::State::Alive);
            a.handle_datagram(now, &gossip(&c, a.local(), &[alive_b]));
            refuted = true;
        }
        outputs.extend(std::iter::from_fn(|| a.poll_output()));
    }
    assert!(
        outputs.contains(&Output::Event(Event::NodeSuspect(b.id.clone()))),
        "{outputs:?}"
    );
    assert!(outputs.contains(&Output::CloseLink(ConnId(1))), "{outputs:?}");
    assert!(
        outputs.contains(&Output::Event(Event::NodeUp(b.clone()))),
        "{outputs:?}"
    );
    let downs: Vec<_> = outputs
        .iter()
        .filter(|o| matches!(o, Output::Event(Event::NodeDown { .. })))
        .collect();
    assert!(downs.is_empty(), "{downs:?}");
    let members = a.members();
    let listed = members
        .iter()
        .find(|m| m.member.id == b.id)
        .expect("b stays live");
    assert!(!listed.linked);
    assert_eq!(a.stats().indirect, 1);
}

#[test]
fn a_node_that_takes_a_new_life_drops_the_links_of_its_old_one_and_dials_again() {
    let (mut a, b, now) = linked();
    let c = member("c", 1, 7003);
    // c tells a that a is down (a was cut off from c): a takes a new life.
    let down_a = foca::Member::new(a.local().clone(), 0, foca::State::Down);
    a.handle_datagram(now, &gossip(&c, a.local(), &[down_a]));
    let outputs: Vec<Output> = std::iter::from_fn(|| a.poll_output()).collect();
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Event(Event::Renewed(_)))),
        "{outputs:?}"
    );
    // b retires the link that authenticated a's old life: a closes it and dials b again.
    assert!(outputs.contains(&Output::CloseLink(ConnId(1))), "{outputs:?}");
    assert!(outputs.contains(&Output::Dial(b.clone())), "{outputs:?}");
    assert!(a.members().iter().all(|m| !m.linked));
    // c's view of b is as stale as its view of a: b was heard on the closed link just now,
    // so its process runs on (b renews; its actors stand).
    let down_b = foca::Member::new(b.clone(), 0, foca::State::Down);
    a.handle_datagram(now, &gossip(&c, a.local(), &[down_b]));
    let got = events(&mut a);
    let renewed = Event::NodeDown {
        id: b.id,
        reason: DownReason::Renewed,
    };
    assert!(got.contains(&renewed), "{got:?}");
}

/// `a` linked to `b`, and `b`'s life ended by the cluster's down while it answered on its
/// link (reported `Renewed`); returns the time of that down.
fn renewed_on_hearsay() -> (Membership, Member, Instant) {
    let (mut a, b, now) = linked();
    let c = member("c", 1, 7003);
    let down_b = foca::Member::new(b.clone(), 0, foca::State::Down);
    a.handle_datagram(now, &gossip(&c, a.local(), &[down_b]));
    let renewed = Event::NodeDown {
        id: b.id.clone(),
        reason: DownReason::Renewed,
    };
    assert!(events(&mut a).contains(&renewed));
    (a, b, now)
}

/// Every event up to `until`, timers fired on the way.
fn events_until(a: &mut Membership, until: Instant) -> Vec<Event> {
    let mut got = Vec::new();
    while let Some(at) = a.poll_timeout().filter(|at| *at <= until) {
        a.handle_timeout(at);
        got.extend(events(a));
    }
    got
}

#[test]
fn a_renewed_member_that_takes_no_new_life_has_its_actors_reported_down() {
    // The cluster's down outran our link's close (a kill -9), or b died right after: no
    // newer life of b's process comes, so its actors are down after link_down_after.
    let (mut a, b, now) = renewed_on_hearsay();
    let due = now + MembershipConfig::lan().link_down_after;
    let early = events_until(&mut a, due - Duration::from_millis(1));
    assert!(!early.contains(&Event::ActorsDown(b.id.clone())), "{early:?}");
    let got = events_until(&mut a, due);
    assert_eq!(
        got.iter()
            .filter(|e| **e == Event::ActorsDown(b.id.clone()))
            .count(),
        1,
        "{got:?}"
    );
}

#[test]
fn a_renewed_member_whose_process_comes_back_as_a_new_life_keeps_its_actors() {
    let (mut a, b, now) = renewed_on_hearsay();
    let mut b2 = member("b", 2, 7001);
    b2.process = b.process;
    a.handle_link_up(
        now + Duration::from_millis(200),
        ConnId(2),
        Role::Acceptor,
        b2.clone(),
    );
    assert!(events(&mut a).contains(&Event::NodeUp(b2)));
    let got = events_until(&mut a, now + Duration::from_secs(5));
    assert!(!got.iter().any(|e| matches!(e, Event::ActorsDown(_))), "{got:?}");
}

#[test]
fn a_renewed_member_replaced_by_another_process_has_its_actors_reported_down_at_once() {
    let (mut a, b, now) = renewed_on_hearsay();
    let restarted = member("b", 2, 7001);
    assert_ne!(restarted.process, b.process);
    a.handle_link_up(
        now + Duration::from_millis(200),
        ConnId(2),
        Role::Acceptor,
        restarted,
    );
    assert!(events(&mut a).contains(&Event::ActorsDown(b.id)));
}
