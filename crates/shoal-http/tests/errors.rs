//! One error shape and one admin check for the whole API, over a real HTTP server and node:
//! an unknown path (404), a method a path does not take (405) and a query that does not
//! parse (400) answer `{"error": "..."}` like every handler's error; every mutating route
//! refuses a request without the admin token before looking at it, and only those do.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use shoal_api::{ErrorBody, http_request};
use shoal_node::Node;

const TOKEN: &str = "errors-test-token";

/// A node with its HTTP API (admin token [`TOKEN`]) on an OS-assigned port.
async fn served_node() -> (Node, SocketAddr) {
    common::served_node("errors-test", TOKEN).await
}

/// The status and the error message of `method path`, with the token when `token`.
async fn ask(addr: SocketAddr, method: &'static str, path: &str, token: bool) -> (u16, String) {
    let path = path.to_owned();
    let (status, body) = tokio::task::spawn_blocking(move || {
        http_request(
            addr,
            method,
            &path,
            token.then_some(TOKEN),
            Duration::from_secs(5),
        )
    })
    .await
    .unwrap()
    .unwrap();
    let error: ErrorBody = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("{method} answered {status} with {body:?}, not an error body: {e}"));
    (status, error.error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_wrong_methods_and_bad_queries_answer_the_error_shape() {
    let (_node, http) = served_node().await;
    let (status, message) = ask(http, "GET", "/api/nothing", false).await;
    assert_eq!(status, 404);
    assert!(message.contains("/api/nothing"), "{message}");
    let (status, message) = ask(http, "POST", "/api/node", false).await;
    assert_eq!(status, 405);
    assert!(
        message.contains("POST") && message.contains("/api/node"),
        "{message}"
    );
    // A wrong method on an admin path is a 405 too, token or not.
    assert_eq!(ask(http, "GET", "/api/chaos/heal", false).await.0, 405);
    let (status, message) = ask(http, "POST", "/api/supervisor/migrate?id=x", true).await;
    assert_eq!(status, 400);
    assert!(message.contains("to"), "{message}");
    let (status, message) = ask(http, "POST", "/api/chaos/heal?deadline_ms=soon", true).await;
    assert_eq!(status, 400);
    assert!(message.contains("deadline_ms"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mutating_route_checks_the_token_first_and_no_read_does() {
    let (_node, http) = served_node().await;
    let mutating = [
        "/api/actors/1/kill",
        "/api/actors/1/send",
        "/api/actors/1/call",
        "/api/supervisor/migrate",
        "/api/chaos/partition",
        "/api/chaos/heal",
    ];
    for path in mutating {
        // No query, no body: the token is checked before either would be refused.
        let (status, message) = ask(http, "POST", path, false).await;
        assert_eq!(status, 401, "{path}: {message}");
        assert!(message.contains("Bearer"), "{path}: {message}");
    }
    for path in [
        "/health",
        "/api/node",
        "/api/members",
        "/api/actors",
        "/api/registry",
    ] {
        let (status, _) = tokio::task::spawn_blocking(move || shoal_api::http_get(http, path))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status, 200, "{path}");
    }
}
