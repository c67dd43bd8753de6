//! Shoal's sans-io core: everything a node decides, with no sockets, no clock reads and no
//! global RNG, so that `shoal-sim` can run many nodes deterministically.
//!
//! - [`NodeId`], [`Member`]: who a node is and what the cluster knows of it.
//! - [`Cookie`], [`datagram`]: the shared secret and HMAC-tagged gossip datagrams.
//! - [`LinkMessage`], [`Handshake`]: the link wire format and its authentication FSM.
//! - [`Pid`], [`ActorFrame`]: process ids and the actor plane on a link.
//! - [`Registry`]: one node's replica of the global registry and its conflict rule.
//! - [`Membership`]: SWIM (foca) plus link signals; emits [`Event`]s and driver [`Output`]s.

pub mod actor_wire;
pub mod child_manager;
pub mod children;
pub mod cookie;
pub mod datagram;
pub mod error;
pub mod fuzzing;
pub mod handshake;
pub mod joining;
pub mod leader;
pub mod lease;
pub mod member;
pub mod membership;
pub mod node_id;
pub mod placement;
pub mod registry;
pub mod split_brain;
pub mod wire;

pub use actor_wire::{
    ActorFrame, ExitReason, HotFrame, Never, Pid, Refusal, RemoteMessage, SpawnRefusal, append_call,
    append_send, decode_hot, encode_call, encode_send, tag_of,
};
pub use cookie::Cookie;
pub use error::ConfigError;
pub use handshake::{Handshake, HandshakeError, Role, Step};
pub use member::{Member, PROTOCOL_VERSION, ProtocolRange};
pub use membership::{
    ConnId, DownReason, Event, Liveness, MemberStatus, Membership, MembershipConfig, MembershipStats, Output,
};
pub use node_id::{Creation, NodeId, NodeName};
pub use registry::{Change, RegisterError, Registration, Registry, RegistryFrame, RegistryOutput};
pub use wire::{DecodeError, HANDSHAKE_MAX_FRAME_LEN, LinkMessage, LinkMessageOf};
