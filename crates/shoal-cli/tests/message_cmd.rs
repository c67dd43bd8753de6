//! `shoal send` and `shoal call` against a demo cluster started by `shoal cluster start`,
//! driven as an operator would: a counter found by its registered name answers `"Get"` with
//! its count and takes `{"Add": n}`; a wrong token, JSON of the wrong shape and an actor that
//! does not accept JSON are refused with messages that say why.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::{ClusterDir, shoal_in};
use serde_json::Value;
use shoal_testkit::wait_until;

const WAIT: Duration = Duration::from_secs(20);

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The count `shoal call NAME '"Get"' --json` answers, if it succeeded.
fn count(dir: &Path, name: &str) -> Option<u64> {
    let out = shoal_in(dir, &["call", name, "\"Get\"", "--json"]);
    let answer: Value = serde_json::from_slice(&out.stdout).ok()?;
    answer["reply"].as_u64()
}

#[test]
fn send_and_call_reach_a_demo_counter_by_name_and_refuse_what_they_should() {
    let guard = ClusterDir::new("message");
    let dir = guard.0.clone();
    let started = shoal_in(&dir, &["cluster", "start", "--size", "1", "--demo"]);
    assert!(started.status.success(), "{}", stderr(&started));

    // By name, the call answers the count, and the count grows (the counter ticks).
    let first = wait_until(WAIT, || count(&dir, "demo.counter.00")).expect("demo.counter.00 never answered");
    let later = wait_until(WAIT, || count(&dir, "demo.counter.00").filter(|c| *c > first));
    assert!(later.is_some(), "the count stayed at {first}");
    let sent = shoal_in(&dir, &["send", "demo.counter.00", r#"{"Add": 1000}"#]);
    assert!(sent.status.success(), "{}", stderr(&sent));
    assert!(String::from_utf8_lossy(&sent.stdout).contains("sent to demo.counter.00"));
    let plain = shoal_in(&dir, &["call", "demo.counter.00", "\"Get\""]);
    let printed: u64 = String::from_utf8_lossy(&plain.stdout).trim().parse().unwrap();
    assert!(printed >= first + 1000, "{printed} after adding 1000 to {first}");

    // A wrong token is refused, and says so.
    let wrong = shoal_in(&dir, &["call", "demo.counter.00", "\"Get\"", "--token", "nope"]);
    assert!(!wrong.status.success());
    assert!(stderr(&wrong).contains("wrong admin token"), "{}", stderr(&wrong));

    // JSON that does not decode as the counter's message: the node's 400, naming the type.
    let bad = shoal_in(&dir, &["send", "demo.counter.00", r#"{"Ad": 1}"#]);
    assert!(!bad.status.success());
    let why = stderr(&bad);
    assert!(
        why.contains("does not decode as")
            && why.contains("CounterMsg")
            && why.contains("unknown variant `Ad`"),
        "{why}"
    );
    let not_json = shoal_in(&dir, &["call", "demo.counter.00", "Get"]);
    assert!(
        stderr(&not_json).contains("is not JSON; quote it"),
        "{}",
        stderr(&not_json)
    );

    // An actor that does not opt in (the demo group's Echo member) says so.
    let ps: Value =
        serde_json::from_slice(&shoal_in(&dir, &["ps", "--json", "--name", "demo.member"]).stdout).unwrap();
    let member = ps["actors"][0]["actor"]["pid_text"].as_str().unwrap().to_owned();
    let refused = shoal_in(&dir, &["call", &member, "1"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("does not accept JSON"),
        "{}",
        stderr(&refused)
    );
}
