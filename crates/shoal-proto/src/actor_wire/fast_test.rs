use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::actor_wire::ActorFrame;
use crate::wire::LinkMessage;

fn body<M: Serialize>(msg: &M) -> Bytes {
    postcard::to_stdvec(msg).unwrap().into()
}

proptest! {
    #[test]
    fn send_frames_match_the_generic_encoding(to in any::<u64>(), from in any::<Option<u64>>(),
                                              tag in any::<u64>(), msg in any::<(String, Vec<u8>, u32)>()) {
        let generic = LinkMessage::Actor(ActorFrame::Send { to, from, tag, body: body(&msg) }).encode();
        prop_assert_eq!(encode_send(to, from, tag, &msg).unwrap(), generic);
    }

    #[test]
    fn call_frames_match_the_generic_encoding(to in any::<u64>(), call in any::<u64>(), tag in any::<u64>(),
                                              msg in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let generic = LinkMessage::Actor(ActorFrame::Call { to, call, tag, body: body(&msg) }).encode();
        prop_assert_eq!(encode_call(to, call, tag, &msg).unwrap(), generic);
    }
}

/// A message that sizes fine, then fails halfway through the real serialization, after
/// writing part of itself.
#[derive(Default)]
struct FailsWhenWritten {
    passes: std::cell::Cell<u32>,
}

impl Serialize for FailsWhenWritten {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeTuple};
        self.passes.set(self.passes.get() + 1);
        let mut tuple = serializer.serialize_tuple(2)?;
        tuple.serialize_element(&7u64)?;
        if self.passes.get() > 1 {
            return Err(S::Error::custom("halfway"));
        }
        tuple.serialize_element(&8u64)?;
        tuple.end()
    }
}

proptest! {
    #[test]
    fn appending_keeps_what_the_buffer_held(prefix in proptest::collection::vec(any::<u8>(), 0..64),
                                             to in any::<u64>(), call in any::<u64>(), msg in any::<String>()) {
        let mut out = prefix.clone();
        append_call(&mut out, to, call, 9, &msg).unwrap();
        append_send(&mut out, to, None, 9, &msg).unwrap();
        let mut expected = prefix;
        expected.extend(encode_call(to, call, 9, &msg).unwrap());
        expected.extend(encode_send(to, None, 9, &msg).unwrap());
        prop_assert_eq!(out, expected);
    }
}

#[test]
fn a_message_that_fails_to_encode_leaves_the_buffer_as_it_was() {
    let mut out = vec![1, 2, 3];
    assert!(append_send(&mut out, 1, None, 2, &FailsWhenWritten::default()).is_err());
    assert!(append_call(&mut out, 1, 5, 2, &FailsWhenWritten::default()).is_err());
    assert_eq!(out, [1, 2, 3]);
}

/// What the general decoder makes of `frame`, as a [`HotFrame`] when it is a `Send` or `Call`.
fn general(frame: &[u8]) -> Option<Option<HotFrame<'_>>> {
    let msg = crate::wire::LinkMessageOf::decode_borrowed(frame).ok()?;
    Some(match msg {
        crate::wire::LinkMessageOf::Actor(crate::actor_wire::ActorFrameOf::Send { to, from, tag, body }) => {
            Some(HotFrame::Send { to, from, tag, body })
        }
        crate::wire::LinkMessageOf::Actor(crate::actor_wire::ActorFrameOf::Call { to, call, tag, body }) => {
            Some(HotFrame::Call { to, call, tag, body })
        }
        _ => None,
    })
}

proptest! {
    #[test]
    fn hot_frames_read_as_the_general_decoder_reads_them(to in any::<u64>(), from in any::<Option<u64>>(),
                                                           call in any::<u64>(), tag in any::<u64>(),
                                                           msg in proptest::collection::vec(any::<u8>(), 0..300)) {
        let send = encode_send(to, from, tag, &msg).unwrap();
        let body = postcard::to_stdvec(&msg).unwrap();
        prop_assert_eq!(decode_hot(&send), Some(HotFrame::Send { to, from, tag, body: &body }));
        let call_frame = encode_call(to, call, tag, &msg).unwrap();
        prop_assert_eq!(decode_hot(&call_frame), Some(HotFrame::Call { to, call, tag, body: &body }));
    }

    #[test]
    fn any_bytes_the_hot_decoder_reads_the_general_one_reads_alike(kind in 0u8..3,
                                                                    tail in proptest::collection::vec(any::<u8>(), 0..40)) {
        // Start as an actor frame of version 1, so that many inputs get past the variants.
        let mut frame = vec![WIRE_VERSION, 6, kind];
        frame.extend(tail);
        if let Some(hot) = decode_hot(&frame) {
            prop_assert_eq!(general(&frame), Some(Some(hot)));
        }
    }

    #[test]
    fn truncated_or_extended_hot_frames_are_left_to_the_general_decoder(to in any::<u64>(), tag in any::<u64>(),
                                                                         msg in any::<String>(), cut in 1usize..8) {
        let frame = encode_send(to, None, tag, &msg).unwrap();
        let short = &frame[..frame.len().saturating_sub(cut)];
        prop_assert_eq!(decode_hot(short), None);
        let mut long = frame.clone();
        long.push(0);
        prop_assert_eq!(decode_hot(&long), None);
    }
}

#[test]
fn other_messages_are_not_hot() {
    for msg in [
        LinkMessage::Heartbeat(3),
        LinkMessage::Goodbye,
        LinkMessage::Actor(ActorFrame::Reply {
            call: 1,
            result: Ok((2, Bytes::from_static(b"x"))),
        }),
    ] {
        let frame = msg.encode();
        assert_eq!(decode_hot(&frame), None);
        assert_eq!(general(&frame).map(|hot| hot.is_none()), Some(true));
    }
}
