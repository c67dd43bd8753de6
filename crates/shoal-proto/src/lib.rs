//! Shoal's sans-io core: everything a node decides, with no sockets, no clock reads and no
//! global RNG, so that `shoal-sim` can run many nodes deterministically. A driver feeds each
//! core its inputs (`handle_*` calls, with the current time) and drains its outputs as data;
//! docs/architecture.md, "The sans-io pattern", lists which driver runs which core.
//!
//! Identity and wire:
//! - [`node_id`]: [`NodeId`], a name plus a creation stamp that grows on every restart.
//! - [`member`]: [`Member`], the record membership gossips (identity, addresses, roles, version).
//! - [`cookie`]: [`Cookie`], the cluster's shared secret and its HMAC-SHA256 tags.
//! - [`datagram`]: gossip datagrams, tagged with the cookie.
//! - [`beacon`]: [`Beacon`], a multicast discovery beacon (name, link address), signed with
//!   the cookie.
//! - [`wire`]: [`LinkMessage`], the frames on a node-to-node link, and their encoding.
//! - [`actor_wire`]: [`Pid`], [`ActorFrame`] and the single-pass encoding of sends and calls.
//! - [`error`]: [`ConfigError`], a setting out of range or malformed.
//!
//! State machines and rules:
//! - [`handshake`]: [`Handshake`], the link's authentication FSM (the dialer proves first).
//! - [`membership`]: [`Membership`], SWIM (foca) plus link signals; emits [`Event`]s and
//!   driver [`Output`]s.
//! - [`joining`]: whether a node that just started is still finding its cluster.
//! - [`registry`]: [`Registry`], one node's replica of the global registry and its conflict
//!   rule.
//! - [`split_brain`]: the resolver that decides which side of a partition keeps running.
//! - [`leader`]: who leads, the rule singletons and leader watches follow.
//! - [`lease`]: the singleton lease that fences a node's singletons after it did not run.
//! - [`children`]: the distributed supervisor's replicated child table.
//! - [`child_manager`]: the distributed supervisor's decisions (start, stop, hand off, take
//!   over).
//! - [`placement`]: where a child runs, as pure functions of its id and the candidates.
//!
//! Testing:
//! - [`fuzzing`]: fixed inputs for the fuzz targets and property tests of the decoders.

pub mod actor_wire;
pub mod beacon;
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
pub use beacon::{Beacon, BeaconError};
pub use cookie::Cookie;
pub use error::ConfigError;
pub use handshake::{Handshake, HandshakeError, Role, Step};
pub use member::{Member, PROTOCOL_VERSION, ProtocolRange};
pub use membership::{
    ConnId, DownReason, Event, Liveness, MemberStatus, Membership, MembershipConfig, MembershipStats, Output,
    SwimStats,
};
pub use node_id::{Creation, NodeId, NodeName};
pub use registry::{Change, RegisterError, Registration, Registry, RegistryFrame, RegistryOutput};
pub use wire::{DecodeError, HANDSHAKE_MAX_FRAME_LEN, LinkMessage, LinkMessageOf};
