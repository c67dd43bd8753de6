//! Any bytes as a gossip body, sealed with the right cookie so it reaches foca's decoder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_proto::fuzzing::membership_for_fuzzing;

fuzz_target!(|data: &[u8]| {
    let (mut core, cookie) = membership_for_fuzzing();
    let now = std::time::Instant::now();
    core.handle_datagram(now, data);
    core.handle_datagram(now, &shoal_proto::datagram::seal(&cookie, data));
    while core.poll_output().is_some() {}
});
