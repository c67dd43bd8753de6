//! How an actor's messages cross nodes: postcard bodies checked against stable type tags.

use bytes::Bytes;
use shoal_proto::{RemoteMessage, tag_of};

use super::Actor;

/// Decoders for an actor's `Msg` and `Call` and the encoder for its `Reply`, each with its
/// type tag. Built by [`Codec::serde`]; returned from [`Actor::codec`].
pub struct Codec<A: Actor> {
    pub(crate) msg: Decoder<A::Msg>,
    pub(crate) call: Decoder<A::Call>,
    pub(crate) encode_reply: EncodeReply<A::Reply>,
}

/// Encodes a reply as its type tag and body.
pub(crate) type EncodeReply<R> = fn(&R) -> Result<(u64, Bytes), String>;

/// A tag and the function that decodes bodies carrying it.
pub(crate) struct Decoder<M> {
    pub(crate) tag: u64,
    pub(crate) name: &'static str,
    pub(crate) decode: fn(&[u8]) -> Result<M, String>,
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

impl<M: RemoteMessage> Decoder<M> {
    fn of() -> Self {
        Self {
            tag: tag_of(M::TAG),
            name: M::TAG,
            decode: decode::<M>,
        }
    }
}

impl<M> Decoder<M> {
    /// Decodes `body` if `tag` is this decoder's.
    pub(crate) fn accept(&self, tag: u64, body: &[u8]) -> Result<M, shoal_proto::Refusal> {
        if tag != self.tag {
            return Err(shoal_proto::Refusal::WrongType {
                expected: self.name.to_owned(),
            });
        }
        (self.decode)(body).map_err(shoal_proto::Refusal::BadBody)
    }
}

/// Encodes a message body.
pub(crate) fn encode<M: RemoteMessage>(msg: &M) -> Result<Bytes, String> {
    postcard::to_stdvec(msg)
        .map(Bytes::from)
        .map_err(|e| e.to_string())
}

/// Decodes a message body, refusing trailing bytes.
pub(crate) fn decode<M: RemoteMessage>(body: &[u8]) -> Result<M, String> {
    let (msg, rest) = postcard::take_from_bytes::<M>(body).map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(msg)
    } else {
        Err(format!("{} trailing bytes after `{}`", rest.len(), M::TAG))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_round_trip_and_trailing_bytes_are_refused() {
        let body = encode(&"hello".to_owned()).unwrap();
        assert_eq!(decode::<String>(&body).unwrap(), "hello");
        let mut longer = body.to_vec();
        longer.push(7);
        assert!(decode::<String>(&longer).unwrap_err().contains("trailing"));
    }

    #[test]
    fn a_decoder_refuses_another_types_tag() {
        let decoder = Decoder::<u64>::of();
        let refusal = decoder.accept(tag_of("other"), &[1]).unwrap_err();
        assert_eq!(
            refusal,
            shoal_proto::Refusal::WrongType {
                expected: "shoal.u64".into()
            }
        );
        assert_eq!(decoder.accept(tag_of("shoal.u64"), &[5]), Ok(5));
    }
}
