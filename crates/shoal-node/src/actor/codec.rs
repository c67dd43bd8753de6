//! How an actor's messages cross nodes: postcard bodies checked against stable type tags.

use shoal_proto::{RemoteMessage, tag_of};

use super::Actor;
use super::body::{Decoder, encode};
use super::envelope::EncodeReply;

/// Decoders for an actor's `Msg` and `Call` and the encoder for its `Reply`, each with its
/// type tag. Built by [`Codec::serde`]; returned from [`Actor::codec`].
pub struct Codec<A: Actor> {
    pub(crate) msg: Decoder<A::Msg>,
    pub(crate) call: Decoder<A::Call>,
    pub(crate) encode_reply: EncodeReply<A::Reply>,
}

impl<A: Actor> Codec<A>
where
    A::Msg: RemoteMessage,
    A::Call: RemoteMessage,
    A::Reply: RemoteMessage,
{
    /// The serde (postcard) codec for actors whose `Msg`, `Call` and `Reply` are
    /// [`RemoteMessage`]s.
    pub fn serde() -> Self {
        Self {
            msg: Decoder::<A::Msg>::of(),
            call: Decoder::<A::Call>::of(),
            encode_reply: |reply| encode(reply).map(|body| (tag_of(A::Reply::TAG), body)),
        }
    }
}
