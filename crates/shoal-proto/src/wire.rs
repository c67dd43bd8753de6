//! Messages on a node-to-node TCP link and their frame encoding.
//!
//! A frame body (inside the length-delimited framing the driver applies) is
//! `[WIRE_VERSION | postcard(LinkMessage)]`. Wire types must stay postcard-friendly: no
//! `flatten`, untagged enums or `skip_serializing_if`; new variants go at the end.

use serde::{Deserialize, Serialize};

use bytes::Bytes;

use crate::actor_wire::ActorFrameOf;
use crate::children::ChildFrame;
use crate::member::{Member, ProtocolRange};
use crate::registry::RegistryFrame;

/// Version byte at the head of every frame body.
pub const WIRE_VERSION: u8 = 1;

/// Default upper bound on one frame's length in bytes; larger frames close the link.
pub const DEFAULT_MAX_FRAME_LEN: usize = 8 * 1024 * 1024;

/// Upper bound on one frame's length in bytes before the handshake has authenticated the
/// peer. A `Hello` carries one member record, which must fit in a gossip datagram anyway, so
/// this is far above any honest handshake frame; it keeps a connection that has proved nothing
/// from making the node buffer a large frame.
pub const HANDSHAKE_MAX_FRAME_LEN: usize = 8 * 1024;

/// Bytes in a handshake nonce.
pub const NONCE_LEN: usize = 32;

/// First handshake message, sent by both sides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// The sender as membership knows it.
    pub member: Member,
    /// Versions the sender speaks (repeated from `member` so a future layout can drop it there).
    pub protocol: ProtocolRange,
    /// Fresh random challenge.
    pub nonce: [u8; NONCE_LEN],
}

/// Why a peer refused a handshake; sent before closing so both logs say the same thing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RejectReason {
    /// The proof did not verify: the two nodes hold different cookies.
    CookieMismatch,
    /// No protocol version in common.
    NoCommonProtocol,
    /// The peer has the receiver's own name.
    SameName,
    /// A message arrived out of order.
    Unexpected,
    /// Another process holds the name: a live member of that name answers on its link. Sent
    /// after the handshake, by a member of the cluster to a second node started with a taken
    /// name, which should stop or pick another name.
    NameTaken,
    /// The receiver requires TLS on links and the connection came without it.
    TlsRequired,
}

/// Everything that travels on a link, with owned payloads.
pub type LinkMessage = LinkMessageOf<Bytes>;

/// Everything that travels on a link, generic over how actor payloads are held (see
/// [`ActorFrameOf`]). New variants go at the end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkMessageOf<B> {
    /// Handshake step 1 (both sides).
    Hello(Hello),
    /// Handshake step 2: HMAC over both nonces and both ids (dialer first, then acceptor).
    Proof([u8; 32]),
    /// Handshake refused; the sender closes next.
    Reject(RejectReason),
    /// Liveness probe; answered with `HeartbeatAck` carrying the same sequence number.
    Heartbeat(u64),
    /// Answer to `Heartbeat`.
    HeartbeatAck(u64),
    /// The sender is leaving the cluster on purpose.
    Goodbye,
    /// Actor traffic: sends, calls, monitors, links, remote spawns.
    Actor(ActorFrameOf<B>),
    /// Global registry replication.
    Registry(RegistryFrame),
    /// Distributed supervisor: child table replication and state handoffs.
    Children(ChildFrame),
    /// The sender retired this connection: it is the last frame the sender writes on it
    /// (everything queued before it still arrives), and the sender reads on for a moment so
    /// that what the receiver queued still arrives too. The connection is dead for the
    /// receiver as well: it drops it and re-dials (see `Membership`), instead of holding a
    /// link that stays silent and declaring a running peer down.
    Retired,
}

/// A frame body that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Zero-length body.
    #[error("empty frame")]
    Empty,
    /// Unknown version byte.
    #[error("frame version {0} is not {WIRE_VERSION}")]
    Version(u8),
    /// The body is not a valid message.
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// Valid message followed by extra bytes.
    #[error("{0} trailing bytes after the message")]
    Trailing(usize),
}

impl<B: Serialize> LinkMessageOf<B> {
    /// Encodes the message as a frame body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.append_to(&mut out);
        out
    }

    /// Appends the frame body [`Self::encode`] returns to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        out.push(WIRE_VERSION);
        // Serializing our own enum cannot fail: no maps, no unsized sequences.
        append(out, self).expect("postcard into a Vec");
    }
}

/// Serializes `value` with postcard onto the end of `out`. On an error `out` may hold part
/// of the value: callers truncate it.
pub(crate) fn append<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), postcard::Error> {
    postcard::serialize_with_flavor(value, Append(out))
}

/// A postcard output that appends to a borrowed `Vec` (`postcard::to_extend` takes the
/// `Vec` and loses it on an error).
struct Append<'a>(&'a mut Vec<u8>);

impl postcard::ser_flavors::Flavor for Append<'_> {
    type Output = ();

    fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
        self.0.push(byte);
        Ok(())
    }

    fn try_extend(&mut self, bytes: &[u8]) -> postcard::Result<()> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

impl<B> LinkMessageOf<B> {
    /// The same message with every actor payload passed through `f`.
    pub fn map<C>(self, f: impl FnMut(B) -> C) -> LinkMessageOf<C> {
        match self {
            Self::Hello(hello) => LinkMessageOf::Hello(hello),
            Self::Proof(proof) => LinkMessageOf::Proof(proof),
            Self::Reject(reason) => LinkMessageOf::Reject(reason),
            Self::Heartbeat(seq) => LinkMessageOf::Heartbeat(seq),
            Self::HeartbeatAck(seq) => LinkMessageOf::HeartbeatAck(seq),
            Self::Goodbye => LinkMessageOf::Goodbye,
            Self::Actor(frame) => LinkMessageOf::Actor(frame.map(f)),
            Self::Registry(frame) => LinkMessageOf::Registry(frame),
            Self::Children(frame) => LinkMessageOf::Children(frame),
            Self::Retired => LinkMessageOf::Retired,
        }
    }
}

impl LinkMessage {
    /// Decodes a frame body, refusing unknown versions and trailing bytes.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        LinkMessageOf::decode_borrowed(frame).map(|msg| msg.map(Bytes::copy_from_slice))
    }

    /// Decodes a frame body whose actor payloads become slices of `frame` itself: no copy.
    pub fn decode_shared(frame: &Bytes) -> Result<Self, DecodeError> {
        LinkMessageOf::decode_borrowed(frame).map(|msg| msg.map(|body| frame.slice_ref(body)))
    }
}

impl<'a> LinkMessageOf<&'a [u8]> {
    /// Decodes a frame body with actor payloads borrowed from `frame`.
    pub fn decode_borrowed(frame: &'a [u8]) -> Result<Self, DecodeError> {
        let (&version, body) = frame.split_first().ok_or(DecodeError::Empty)?;
        if version != WIRE_VERSION {
            return Err(DecodeError::Version(version));
        }
        let (msg, rest) =
            postcard::take_from_bytes::<Self>(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(DecodeError::Trailing(rest.len()));
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::actor_wire::ActorFrame;

    #[test]
    fn heartbeat_round_trips_and_garbage_is_refused() {
        let m = LinkMessage::Heartbeat(42);
        assert_eq!(LinkMessage::decode(&m.encode()), Ok(m));
        assert_eq!(LinkMessage::decode(&[]), Err(DecodeError::Empty));
        assert_eq!(LinkMessage::decode(&[9, 0]), Err(DecodeError::Version(9)));
        // A unit message is two bytes (version, variant) and nothing may follow it.
        assert_eq!(LinkMessage::Retired.encode(), vec![WIRE_VERSION, 9]);
        assert_eq!(LinkMessage::decode(&[WIRE_VERSION, 9]), Ok(LinkMessage::Retired));
        assert_eq!(
            LinkMessage::decode(&[WIRE_VERSION, 9, 0]),
            Err(DecodeError::Trailing(1))
        );
        let mut extra = LinkMessage::Goodbye.encode();
        extra.push(0);
        assert_eq!(LinkMessage::decode(&extra), Err(DecodeError::Trailing(1)));
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = LinkMessage::decode(&bytes);
        }

        #[test]
        fn heartbeats_round_trip(seq in any::<u64>(), ack in any::<bool>()) {
            let m = if ack { LinkMessage::HeartbeatAck(seq) } else { LinkMessage::Heartbeat(seq) };
            prop_assert_eq!(LinkMessage::decode(&m.encode()), Ok(m));
        }

        #[test]
        fn shared_decoding_equals_copying_decoding(to in any::<u64>(), body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let encoded = Bytes::from(LinkMessage::Actor(ActorFrame::Send { to, from: None, tag: 1, body: body.into() }).encode());
            prop_assert_eq!(LinkMessage::decode_shared(&encoded), LinkMessage::decode(&encoded));
        }

        #[test]
        fn actor_sends_round_trip(to in any::<u64>(), from in any::<Option<u64>>(), tag in any::<u64>(),
                                  body in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let m = LinkMessage::Actor(ActorFrame::Send { to, from, tag, body: body.into() });
            prop_assert_eq!(LinkMessage::decode(&m.encode()), Ok(m));
        }
    }
}
