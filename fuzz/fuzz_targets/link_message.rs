//! Any bytes as a link frame body: decode must return, never panic, and the hot-path decoder
//! must agree with it. Every variant is reached, `Retired` (a retired link's last frame)
//! included.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let decoded = shoal_proto::LinkMessage::decode(data);
    if let Ok(msg) = &decoded {
        assert_eq!(shoal_proto::LinkMessage::decode(&msg.encode()).as_ref(), Ok(msg));
    }
    // A retired link's last frame is a version byte and a variant tag: whatever decodes as
    // `Retired` is at most 6 bytes (postcard reads a tag as a varint of at most 5 bytes, and
    // takes non-minimal ones such as `89 00`), and re-encodes to the 2 bytes we send.
    if decoded == Ok(shoal_proto::LinkMessage::Retired) {
        assert!(data.len() <= 6, "{} bytes decoded as Retired", data.len());
        let sent = shoal_proto::LinkMessage::Retired.encode();
        assert_eq!(sent, [shoal_proto::wire::WIRE_VERSION, 9]);
    }
    // The receive path's shortcut for sends and calls reads only what the decoder reads.
    if let Some(hot) = shoal_proto::decode_hot(data) {
        let (to, tag, body) = match hot {
            shoal_proto::HotFrame::Send { to, tag, body, .. } => (to, tag, body),
            shoal_proto::HotFrame::Call { to, tag, body, .. } => (to, tag, body),
        };
        let Ok(shoal_proto::LinkMessage::Actor(frame)) = decoded else {
            panic!("decode_hot read a frame the decoder refuses");
        };
        let same = match frame {
            shoal_proto::ActorFrame::Send { to: t, tag: g, body: b, .. } => (t, g, b),
            shoal_proto::ActorFrame::Call { to: t, tag: g, body: b, .. } => (t, g, b),
            other => panic!("decode_hot read {other:?} as a send or call"),
        };
        assert_eq!((to, tag, body), (same.0, same.1, &same.2[..]));
    }
});
