//! `shoal_http::start`: the node advertises the port its API really listens on, the API takes
//! the node's admin token, and a busy address is refused before any node starts.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_http::StartError;
use shoal_node::Node;
use shoal_testkit::{http_get, http_post, wait_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_zero_is_advertised_as_the_bound_port_and_the_token_guards_mutations() {
    let builder = Node::builder()
        .name("st")
        .cookie("k")
        .http(Some("127.0.0.1:0".parse().unwrap()))
        .admin_token(Some("s3cret".into()));
    let node = shoal_http::start(builder).await.unwrap();
    let http = node.local().http.unwrap();
    assert_ne!(http.port(), 0, "the ready line would name port 0");
    assert_eq!(node.ready_line()["http"], http.to_string());
    let (status, _) = tokio::task::spawn_blocking(move || http_get(http, "/health"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status, 200);
    let post = move |token| http_post(http, "/api/chaos/heal", token).unwrap().0;
    let (no_token, token) = tokio::task::spawn_blocking(move || (post(None), post(Some("s3cret"))))
        .await
        .unwrap();
    assert_eq!((no_token, token), (401, 200));

    node.leave().await;
    let gone = tokio::task::spawn_blocking(move || {
        wait_until(Duration::from_secs(20), || http_get(http, "/health").err())
    });
    assert!(gone.await.unwrap().is_some(), "the API stops with the node");
}

#[tokio::test]
async fn a_busy_http_address_is_refused_with_the_fix() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let builder = Node::builder().name("busy").cookie("k").http(Some(addr));
    let err = shoal_http::start(builder).await.err().unwrap();
    assert!(
        matches!(err, StartError::Http { addr: a, .. } if a == addr),
        "{err}"
    );
    assert!(err.to_string().contains("pick another HTTP port"), "{err}");
}
