//! Any bytes as a multicast beacon, raw and signed with the right cookie (so the fields of
//! an authenticated body are read too).
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_proto::Cookie;
use shoal_proto::beacon::{BEACON_MAGIC, BEACON_VERSION, TAG_LABEL, open};

fuzz_target!(|data: &[u8]| {
    let cookie = Cookie::new("fuzz-cookie").unwrap_or_else(|_| unreachable!("valid literal"));
    let _ = open(&cookie, data);
    let mut signed = BEACON_MAGIC.to_vec();
    signed.push(BEACON_VERSION);
    signed.extend_from_slice(data);
    let tag = cookie.tag(&[TAG_LABEL, &signed]);
    signed.extend_from_slice(&tag);
    if let Ok(beacon) = open(&cookie, &signed) {
        assert_eq!(beacon.seal(&cookie), signed);
    }
});
