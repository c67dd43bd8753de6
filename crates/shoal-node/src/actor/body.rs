//! Message bodies on the wire: postcard encoding checked against stable type tags.

use bytes::Bytes;
use shoal_proto::{RemoteMessage, tag_of};

/// A tag and the function that decodes bodies carrying it.
pub(crate) struct Decoder<M> {
    pub(crate) tag: u64,
    pub(crate) name: &'static str,
    pub(crate) decode: fn(&[u8]) -> Result<M, String>,
}

impl<M: RemoteMessage> Decoder<M> {
    pub(crate) fn of() -> Self {
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
