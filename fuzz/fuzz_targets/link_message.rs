//! Any bytes as a link frame body: decode must return, never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = shoal_proto::LinkMessage::decode(data) {
        assert_eq!(shoal_proto::LinkMessage::decode(&msg.encode()), Ok(msg));
    }
});
