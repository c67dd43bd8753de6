use super::*;

fn member(name: &str) -> Member {
    crate::member::test_member(name, 1, 1)
}

/// Runs both sides to completion, returning each side's outcome.
fn run(cookie_d: &str, cookie_a: &str) -> (Result<Member, HandshakeError>, Result<Member, HandshakeError>) {
    let (mut d, hello_d) =
        Handshake::start(Role::Dialer, member("d"), Cookie::new(cookie_d).unwrap(), [1; 32]);
    let (mut a, hello_a) = Handshake::start(
        Role::Acceptor,
        member("a"),
        Cookie::new(cookie_a).unwrap(),
        [2; 32],
    );
    assert_eq!(a.handle(hello_d), Ok(Step::Wait));
    let Ok(Step::Send(proof_d)) = d.handle(hello_a) else {
        panic!("dialer proves after hello")
    };
    match a.handle(proof_d) {
        Ok(Step::Ready {
            send: Some(proof_a),
            peer: a_peer,
            ..
        }) => {
            let d_result = match d.handle(proof_a) {
                Ok(Step::Ready { send: None, peer, .. }) => Ok(peer),
                Ok(other) => panic!("dialer: {other:?}"),
                Err(e) => Err(e),
            };
            (d_result, Ok(a_peer))
        }
        Ok(other) => panic!("acceptor: {other:?}"),
        Err(e) => {
            let reject = e.reply().expect("acceptor tells the dialer why");
            (d.handle(reject).map(|_| unreachable!()), Err(e))
        }
    }
}

#[test]
fn same_cookie_authenticates_both_sides() {
    let (d, a) = run("k", "k");
    assert_eq!(d.unwrap().id.name.as_str(), "a");
    assert_eq!(a.unwrap().id.name.as_str(), "d");
}

#[test]
fn different_cookies_fail_on_both_sides_with_the_reason() {
    let (d, a) = run("k1", "k2");
    assert_eq!(d, Err(HandshakeError::Rejected(RejectReason::CookieMismatch)));
    assert!(matches!(a, Err(HandshakeError::CookieMismatch { .. })));
}

#[test]
fn during_a_rotation_each_step_meets_the_next_and_the_end_refuses_the_start() {
    // Step 1: every node accepts the new secret; step 2: every node proves with it;
    // step 3: the old one is dropped. Nodes of neighbouring steps meet, in both roles.
    let steps = ["old", "old\nnew", "new\nold", "new"];
    for pair in steps.windows(2) {
        for (d, a) in [(pair[0], pair[1]), (pair[1], pair[0])] {
            let (dialer, acceptor) = run(d, a);
            assert!(
                dialer.is_ok() && acceptor.is_ok(),
                "{d:?} dialing {a:?}: {dialer:?} {acceptor:?}"
            );
        }
    }
    // An acceptor proves back with the secret the dialer proved with, so a node holding
    // only the old secret can dial one that already proves with the new. (The other way
    // round fails: a dialer proves first, with its first secret. Steps are one apart.)
    let (dialer, acceptor) = run("old", "new\nold");
    assert!(dialer.is_ok() && acceptor.is_ok(), "{dialer:?} {acceptor:?}");
    let (d, a) = run("new", "old");
    assert_eq!(d, Err(HandshakeError::Rejected(RejectReason::CookieMismatch)));
    assert!(matches!(a, Err(HandshakeError::CookieMismatch { .. })));
}

#[test]
fn a_reflected_proof_does_not_verify() {
    let cookie = Cookie::new("k").unwrap();
    let (mut d, hello_d) = Handshake::start(Role::Dialer, member("d"), cookie.clone(), [1; 32]);
    let (mut a, hello_a) = Handshake::start(Role::Acceptor, member("a"), cookie, [2; 32]);
    a.handle(hello_d).unwrap();
    let Ok(Step::Send(LinkMessage::Proof(p))) = d.handle(hello_a) else {
        panic!()
    };
    // An attacker in the acceptor's place echoes the dialer's own proof back.
    assert!(matches!(
        d.handle(LinkMessage::Proof(p)),
        Err(HandshakeError::CookieMismatch { .. })
    ));
}

#[test]
fn out_of_order_messages_fail() {
    let (mut a, _) = Handshake::start(Role::Acceptor, member("a"), Cookie::new("k").unwrap(), [2; 32]);
    assert_eq!(
        a.handle(LinkMessage::Proof([0; 32])),
        Err(HandshakeError::Unexpected { got: "Proof" })
    );
    let (mut d, _) = Handshake::start(Role::Dialer, member("d"), Cookie::new("k").unwrap(), [1; 32]);
    assert_eq!(
        d.handle(LinkMessage::Heartbeat(1)),
        Err(HandshakeError::Unexpected { got: "Heartbeat" })
    );
}

#[test]
fn dialing_ourselves_is_detected() {
    let (mut d, hello) = Handshake::start(Role::Dialer, member("n"), Cookie::new("k").unwrap(), [1; 32]);
    assert!(matches!(d.handle(hello), Err(HandshakeError::SameName { .. })));
}

#[test]
fn simultaneous_connects_keep_the_same_connection_on_both_ends() {
    let (x, y) = (member("x").id, member("y").id);
    // x < y: both keep the connection x dialled.
    assert_eq!(keep_dialed_by(&x, &y), Role::Dialer);
    assert_eq!(keep_dialed_by(&y, &x), Role::Acceptor);
}
