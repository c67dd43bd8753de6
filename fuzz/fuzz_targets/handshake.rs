//! A peer sending any sequence of frames during the handshake: errors, never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_proto::fuzzing::handshake_for_fuzzing;

fuzz_target!(|data: &[u8]| {
    let mut handshake = handshake_for_fuzzing(data.first().is_some_and(|b| b & 1 == 1));
    for chunk in data.split(|b| *b == 0xff) {
        let Ok(msg) = shoal_proto::LinkMessage::decode(chunk) else { continue };
        if handshake.handle(msg).is_err() {
            break;
        }
    }
});
