//! The link handshake as an explicit state machine (see docs/design-notes.md, "The handshake:
//! the dialer proves first").
//!
//! ```text
//! 1. dialer   -> Hello { member, protocol, nonce_d }     acceptor -> Hello { .., nonce_a }
//! 2. dialer   -> Proof(HMAC(cookie, "dialer"   | nonce_d | nonce_a | id_d | id_a))
//! 3. acceptor verifies (constant time); on failure -> Reject(CookieMismatch) and close
//!    acceptor -> Proof(HMAC(cookie, "acceptor" | nonce_d | nonce_a | id_d | id_a))
//! 4. dialer verifies -> ready
//! ```
//! The dialer proves first, so a process that merely connects learns nothing about the cookie.
//! Both nonces are in both proofs (freshness) and the role label stops a peer from reflecting a
//! proof back. Any message out of order fails the handshake.

use crate::cookie::Cookie;
use crate::member::{Member, ProtocolRange};
use crate::node_id::NodeId;
use crate::wire::{Hello, LinkMessage, NONCE_LEN, RejectReason};

/// Which side opened the TCP connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// We connected.
    Dialer,
    /// The peer connected to us.
    Acceptor,
}

/// What the caller must do after feeding a message in.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this message and keep reading.
    Send(LinkMessage),
    /// Keep reading.
    Wait,
    /// Send this message (if any); the link is authenticated and belongs to `peer`.
    Ready {
        /// Last message to send, if the protocol has one for this side.
        send: Option<LinkMessage>,
        /// The authenticated peer.
        peer: Member,
        /// The protocol version both speak.
        version: u16,
    },
}

/// Why a handshake failed. The connection must be closed; `reply` is sent first if present.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// The peer's proof is wrong: the two sides hold different cookies.
    #[error("peer {peer} holds a different cookie; give both nodes the same --cookie")]
    CookieMismatch {
        /// Who the peer said it was.
        peer: NodeId,
    },
    /// The peer refused our proof or our hello.
    #[error("peer refused the handshake: {}", explain(*.0))]
    Rejected(RejectReason),
    /// No protocol version in common.
    #[error("peer {peer} speaks protocol {theirs:?}, we speak {ours:?}; upgrade the older node")]
    NoCommonProtocol {
        /// Who the peer said it was.
        peer: NodeId,
        /// Its range.
        theirs: ProtocolRange,
        /// Ours.
        ours: ProtocolRange,
    },
    /// The peer claims our own name (we dialed ourselves, or two nodes share a name).
    #[error("peer {peer} has our own name")]
    SameName {
        /// Who the peer said it was.
        peer: NodeId,
    },
    /// A message arrived out of order.
    #[error("unexpected {got} during handshake")]
    Unexpected {
        /// The message's kind.
        got: &'static str,
    },
}

impl HandshakeError {
    /// The message to send the peer before closing, if any.
    pub fn reply(&self) -> Option<LinkMessage> {
        let reason = match self {
            Self::CookieMismatch { .. } => RejectReason::CookieMismatch,
            Self::NoCommonProtocol { .. } => RejectReason::NoCommonProtocol,
            Self::SameName { .. } => RejectReason::SameName,
            Self::Unexpected { .. } => RejectReason::Unexpected,
            Self::Rejected(_) => return None,
        };
        Some(LinkMessage::Reject(reason))
    }
}

#[derive(Debug)]
enum State {
    AwaitHello,
    AwaitProof {
        peer: Member,
        peer_nonce: [u8; NONCE_LEN],
        version: u16,
    },
    Done,
}

/// One side of one handshake.
#[derive(Debug)]
pub struct Handshake {
    role: Role,
    local: Member,
    cookie: Cookie,
    nonce: [u8; NONCE_LEN],
    state: State,
}

impl Handshake {
    /// Starts a handshake; the returned `Hello` must be sent at once by both roles. `nonce`
    /// must be fresh randomness (the caller injects it; this crate reads no RNG).
    pub fn start(role: Role, local: Member, cookie: Cookie, nonce: [u8; NONCE_LEN]) -> (Self, LinkMessage) {
        let hello = LinkMessage::Hello(Hello {
            member: local.clone(),
            protocol: local.protocol,
            nonce,
        });
        let state = State::AwaitHello;
        (
            Self {
                role,
                local,
                cookie,
                nonce,
                state,
            },
            hello,
        )
    }

    /// Feeds the next message from the peer.
    pub fn handle(&mut self, msg: LinkMessage) -> Result<Step, HandshakeError> {
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, msg) {
            (State::AwaitHello, LinkMessage::Hello(hello)) => self.on_hello(hello),
            (
                State::AwaitProof {
                    peer,
                    peer_nonce,
                    version,
                },
                LinkMessage::Proof(proof),
            ) => self.on_proof(peer, peer_nonce, version, proof),
            (_, LinkMessage::Reject(reason)) => Err(HandshakeError::Rejected(reason)),
            (_, other) => Err(HandshakeError::Unexpected { got: kind(&other) }),
        }
    }

    fn on_hello(&mut self, hello: Hello) -> Result<Step, HandshakeError> {
        let peer = hello.member;
        if peer.id.name == self.local.id.name {
            return Err(HandshakeError::SameName { peer: peer.id });
        }
        let ours = self.local.protocol;
        let Some(version) = ours.common(hello.protocol) else {
            return Err(HandshakeError::NoCommonProtocol {
                peer: peer.id,
                theirs: hello.protocol,
                ours,
            });
        };
        let step = match self.role {
            Role::Dialer => Step::Send(LinkMessage::Proof(self.proof(Role::Dialer, &peer, &hello.nonce))),
            Role::Acceptor => Step::Wait,
        };
        self.state = State::AwaitProof {
            peer,
            peer_nonce: hello.nonce,
            version,
        };
        Ok(step)
    }

    fn on_proof(
        &mut self,
        peer: Member,
        peer_nonce: [u8; NONCE_LEN],
        version: u16,
        proof: [u8; 32],
    ) -> Result<Step, HandshakeError> {
        let peer_role = match self.role {
            Role::Dialer => Role::Acceptor,
            Role::Acceptor => Role::Dialer,
        };
        let parts = self.proof_parts(peer_role, &peer, &peer_nonce);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        let Some(secret) = self.cookie.matching(&refs, &proof) else {
            return Err(HandshakeError::CookieMismatch { peer: peer.id });
        };
        // Prove back with the secret the peer proved with: during a rotation it may hold
        // only that one.
        self.cookie = secret;
        let send = match self.role {
            Role::Acceptor => Some(LinkMessage::Proof(self.proof(Role::Acceptor, &peer, &peer_nonce))),
            Role::Dialer => None,
        };
        Ok(Step::Ready { send, peer, version })
    }

    fn proof(&self, prover: Role, peer: &Member, peer_nonce: &[u8; NONCE_LEN]) -> [u8; 32] {
        let parts = self.proof_parts(prover, peer, peer_nonce);
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        self.cookie.tag(&refs)
    }

    /// The byte strings a proof covers, in the fixed order of the module doc.
    fn proof_parts(&self, prover: Role, peer: &Member, peer_nonce: &[u8; NONCE_LEN]) -> Vec<Vec<u8>> {
        let (dialer, acceptor, nonce_d, nonce_a) = match self.role {
            Role::Dialer => (&self.local.id, &peer.id, &self.nonce, peer_nonce),
            Role::Acceptor => (&peer.id, &self.local.id, peer_nonce, &self.nonce),
        };
        let label: &[u8] = match prover {
            Role::Dialer => b"shoal-link-proof-v1/dialer",
            Role::Acceptor => b"shoal-link-proof-v1/acceptor",
        };
        vec![
            label.to_vec(),
            nonce_d.to_vec(),
            nonce_a.to_vec(),
            id_bytes(dialer),
            id_bytes(acceptor),
        ]
    }
}

/// Length-prefixed, unambiguous bytes of an id for MAC input.
fn id_bytes(id: &NodeId) -> Vec<u8> {
    let name = id.name.as_str().as_bytes();
    let mut out = Vec::with_capacity(name.len() + 9);
    out.push(name.len() as u8); // names are at most 64 bytes
    out.extend_from_slice(name);
    out.extend_from_slice(&id.creation.0.to_be_bytes());
    out
}

fn explain(reason: RejectReason) -> &'static str {
    match reason {
        RejectReason::CookieMismatch => "it holds a different cookie; give both nodes the same --cookie",
        RejectReason::NoCommonProtocol => "no protocol version in common; upgrade the older node",
        RejectReason::SameName => "it has our name; give every node a unique --name",
        RejectReason::Unexpected => "a message arrived out of order",
        RejectReason::NameTaken => "another live node already has our name; give every node a unique --name",
        RejectReason::TlsRequired => {
            "it requires TLS on links (--tls required); give this node --tls required and a certificate from the cluster's CA"
        }
    }
}

fn kind(msg: &LinkMessage) -> &'static str {
    match msg {
        LinkMessage::Hello(_) => "Hello",
        LinkMessage::Proof(_) => "Proof",
        LinkMessage::Reject(_) => "Reject",
        LinkMessage::Heartbeat(_) => "Heartbeat",
        LinkMessage::HeartbeatAck(_) => "HeartbeatAck",
        LinkMessage::Goodbye => "Goodbye",
        LinkMessage::Retired => "Retired",
        LinkMessage::Actor(_) => "Actor",
        LinkMessage::Registry(_) => "Registry",
        LinkMessage::Children(_) => "Children",
    }
}

/// Which of two connections between the same pair of nodes survives when both sides dialled
/// at once: the one dialled by the node with the smaller id. Both ends compute the same answer.
pub fn keep_dialed_by(local: &NodeId, peer: &NodeId) -> Role {
    if local < peer {
        Role::Dialer
    } else {
        Role::Acceptor
    }
}

#[cfg(test)]
#[path = "handshake_test.rs"]
mod tests;
