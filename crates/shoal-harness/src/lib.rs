//! Running Shoal nodes as processes, for the `shoal` command (`shoal bench`, `shoal chaos
//! run`) and for the test kit: [`NodeProcess`], one node process that follows the launcher
//! contract of [`shoal_api`] (the ready line, event lines, the `SHOAL_*` variables), and
//! [`chaos`], a fault-injection harness with a seeded schedule, a recorded history and a
//! checker of the README's guarantees; and [`webdriver`], a small WebDriver client that drives
//! headless Chromium (the dashboard's browser test, `shoal bench dashboard`).
//!
//! It does not link the node: it speaks to node processes only through their stdout, their
//! signals and their HTTP API.
//!
//! ```no_run
//! use std::time::Duration;
//! use shoal_harness::NodeProcess;
//!
//! // In the shoal-cli crate's own tests this is `env!("CARGO_BIN_EXE_shoal")`.
//! let bin = std::path::Path::new("target/release/shoal");
//! let n1 = NodeProcess::spawn(bin, "n1", &["--cookie", "k"]).unwrap();
//! let seed = n1.ready.listen.to_string();
//! let n2 = NodeProcess::spawn(bin, "n2", &["--cookie", "k", "--seeds", &seed]).unwrap();
//! n1.wait_event(|e| e["event"] == "node_up" && e["node"] == "n2", Duration::from_secs(10)).unwrap();
//! ```

pub mod chaos;
mod process;
pub mod webdriver;

pub use process::NodeProcess;
pub use shoal_api::Ready;

/// The `/api/chaos` request that cuts a node off from `peers` (empty: heals it), with a
/// deadline 1 s before `timeout` from now: a node that handles it later (it was paused, and
/// the caller saw it time out) refuses it instead of applying it on its own.
pub fn cut_path(peers: &[String], timeout: std::time::Duration) -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    let deadline_ms = now_ms
        + timeout
            .saturating_sub(std::time::Duration::from_secs(1))
            .as_millis() as u64;
    if peers.is_empty() {
        format!("/api/chaos/heal?deadline_ms={deadline_ms}")
    } else {
        format!(
            "/api/chaos/partition?peers={}&deadline_ms={deadline_ms}",
            peers.join(",")
        )
    }
}
