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
