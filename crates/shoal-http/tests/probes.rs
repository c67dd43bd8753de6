//! Orchestrator probes over a real HTTP server and nodes: `/health/live` answers while the
//! process does; `/health/ready` answers 503 with the reason until the node sees the members
//! it was told to wait for, then 200.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use shoal_api::http_request;

use common::builder;

const WAIT: Duration = Duration::from_secs(20);

/// The status and body of `GET path`.
async fn get(addr: SocketAddr, path: &'static str) -> (u16, String) {
    tokio::task::spawn_blocking(move || http_request(addr, "GET", path, None, Duration::from_secs(5)))
        .await
        .unwrap()
        .unwrap()
}

/// `GET /health/ready` until it answers 200, at most `wait`; the last answer.
async fn ready_within(addr: SocketAddr, wait: Duration) -> (u16, String) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let answer = get(addr, "/health/ready").await;
        if answer.0 == 200 || tokio::time::Instant::now() >= deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_waits_for_the_minimum_of_members_and_live_answers_throughout() {
    let first = shoal_http::start(builder("probe-a").ready_min_members(2))
        .await
        .unwrap();
    let http = first.local().http.unwrap();
    assert_eq!(
        get(http, "/health/live").await,
        (200, r#"{"status":"ok"}"#.into())
    );
    let (status, body) = get(http, "/health/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("1 live member(s)") && body.contains("at least 2"),
        "{body}"
    );

    let seed = first.listen_addr().to_string();
    let second = shoal_http::start(builder("probe-b").seeds([seed])).await.unwrap();
    assert_eq!(
        ready_within(http, WAIT).await,
        (200, r#"{"status":"ready"}"#.into())
    );
    let other = second.local().http.unwrap();
    assert_eq!(ready_within(other, WAIT).await.0, 200, "the default minimum is 1");
    second.shutdown().await;
    first.shutdown().await;
}
