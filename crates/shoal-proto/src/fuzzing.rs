//! Fixed inputs for fuzz targets and property tests of the decoders (not for production use).

use crate::{
    Cookie, Creation, Handshake, Member, Membership, MembershipConfig, NodeId, NodeName, ProtocolRange, Role,
};
use std::net::SocketAddr;

fn member(name: &str) -> Member {
    Member {
        id: NodeId::new(
            NodeName::new(name).unwrap_or_else(|_| unreachable!("valid literal")),
            Creation(1),
        ),
        listen: SocketAddr::from(([127, 0, 0, 1], 7000)),
        http: None,
        roles: Vec::new(),
        version: "fuzz".into(),
        protocol: ProtocolRange::CURRENT,
        process: Creation(1),
    }
}

fn cookie() -> Cookie {
    Cookie::new("fuzz-cookie").unwrap_or_else(|_| unreachable!("valid literal"))
}

/// A fresh membership core and its cookie. Like everything in this crate it reads no clock:
/// callers pass their own `Instant` to the core.
pub fn membership_for_fuzzing() -> (Membership, Cookie) {
    let core = Membership::new(member("fuzz"), cookie(), MembershipConfig::lan(), 1);
    (core, cookie())
}

/// A handshake in the given role, its `Hello` already sent.
pub fn handshake_for_fuzzing(dialer: bool) -> Handshake {
    let role = if dialer { Role::Dialer } else { Role::Acceptor };
    Handshake::start(role, member("fuzz"), cookie(), [7; 32]).0
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::LinkMessage;

    proptest! {
        #[test]
        fn any_gossip_body_with_a_valid_tag_is_refused_or_applied_without_panic(
            body in proptest::collection::vec(any::<u8>(), 0..600)
        ) {
            let (mut core, cookie) = membership_for_fuzzing();
            let now = std::time::Instant::now();
            core.handle_datagram(now, &crate::datagram::seal(&cookie, &body));
            while core.poll_output().is_some() {}
        }

        #[test]
        fn any_frame_sequence_in_a_handshake_errors_without_panic(
            frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..80), 0..6),
            dialer in any::<bool>(),
        ) {
            let mut handshake = handshake_for_fuzzing(dialer);
            for frame in frames {
                let Ok(msg) = LinkMessage::decode(&frame) else { continue };
                if handshake.handle(msg).is_err() {
                    break;
                }
            }
        }
    }
}
