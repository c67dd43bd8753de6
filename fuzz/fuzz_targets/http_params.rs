//! A client writing any `{pid}` path segment or `peers` query value: the HTTP API's own
//! parsers answer an error, never panic, and what they accept renders back to itself.
#![no_main]
use libfuzzer_sys::fuzz_target;
use shoal_http::{parse_peers, parse_pid};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(pid) = parse_pid(&text) {
        let rendered = match pid.node {
            Some(node) => format!("{}@{node}", pid.id),
            None => pid.id.to_string(),
        };
        assert_eq!(parse_pid(&rendered), Ok(pid), "{text:?} renders as {rendered:?}");
    }
    if let Ok(peers) = parse_peers(&text) {
        let names: Vec<String> = peers.iter().map(ToString::to_string).collect();
        assert!(
            names.iter().all(|n| !n.is_empty() && !n.contains(',')),
            "{text:?} gave {names:?}"
        );
        let again =
            parse_peers(&names.join(",")).map(|p| p.iter().map(ToString::to_string).collect::<Vec<_>>());
        assert_eq!(again, Ok(names), "{text:?} does not render back");
    }
});
