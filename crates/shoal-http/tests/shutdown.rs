//! `serve_with` ends every connection task once its shutdown signal fires, including
//! connections that would otherwise stay open for the whole header timeout.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::time::Duration;

use shoal_http::{HttpLimits, serve_with};
use shoal_node::Node;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test]
async fn shutdown_closes_idle_and_half_sent_connections_and_returns() {
    let node = Node::builder().name("sd").cookie("k").start().await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = HttpLimits {
        // Far longer than the test waits: only the shutdown can close these connections,
        // and it must close the idle ones at once rather than wait out the grace period.
        header_timeout: Duration::from_secs(600),
        shutdown_grace: Duration::from_secs(600),
        ..HttpLimits::for_this_process()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_with(listener, node.clone(), None, limits, async move {
        let _ = stopped.await;
    }));

    let mut idle = TcpStream::connect(addr).await.unwrap();
    let mut half = TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // A full request proves both connections were accepted before the signal.
    let mut probe = TcpStream::connect(addr).await.unwrap();
    probe
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut head = [0u8; 12];
    probe.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");

    stop.send(()).unwrap();
    let served = tokio::time::timeout(WAIT, server).await;
    assert!(
        matches!(served, Ok(Ok(Ok(())))),
        "serve_with did not return: {served:?}"
    );
    for (name, stream) in [("idle", &mut idle), ("half-sent", &mut half)] {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(WAIT, stream.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the {name} connection is still open after shutdown");
    }
    node.leave().await;
}
