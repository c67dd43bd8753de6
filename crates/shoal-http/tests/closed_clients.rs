//! A request the node received in full is handled even when its client closed the connection
//! before the node read it: a `shoal cluster partition` that gave up on a paused node, say.
//! The handler decides (applies it, or refuses it as past its deadline, and logs that); the
//! request is never dropped unseen depending on when the socket's end of file was noticed.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use shoal_api::views::EventKind;
use shoal_http::{HttpLimits, serve_with};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(20);

/// How many requests wait, closed, in the listener's queue before the node accepts any.
const REQUESTS: u64 = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_whose_clients_closed_before_the_node_read_them_are_all_handled() {
    let node = common::builder("closed").start().await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    // Nothing accepts yet: the kernel queues each connection with its request and its FIN.
    for i in 0..REQUESTS {
        let mut client = std::net::TcpStream::connect(addr).unwrap();
        write!(
            client,
            "POST /api/chaos/partition?peers=p{i} HTTP/1.1\r\nHost: {addr}\r\n\
             Authorization: Bearer t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
    }
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let limits = HttpLimits::for_this_process();
    let server = tokio::spawn(serve_with(
        listener,
        node.clone(),
        Some("t".into()),
        limits,
        async {
            let _ = stopped.await;
        },
    ));
    let handled = || node.history().count(EventKind::Chaos, Some("partition"));
    let start = Instant::now();
    while handled() < REQUESTS && start.elapsed() < WAIT {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(handled(), REQUESTS, "requests dropped unhandled");
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    node.leave().await;
}
