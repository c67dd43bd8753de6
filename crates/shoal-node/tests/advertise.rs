//! Listening on every interface: a node bound to `0.0.0.0` advertises an address peers can
//! dial (the one given, or this host's own), and a cluster forms through it.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::net::SocketAddr;
use std::time::Duration;

use shoal_node::{Node, NodeBuilder};

const WAIT: Duration = Duration::from_secs(20);

fn builder(name: &str) -> NodeBuilder {
    Node::builder()
        .name(name)
        .cookie("advertise-test")
        .local_discovery(None)
        .listen("0.0.0.0:0".parse().unwrap())
}

async fn members_within(node: &Node, count: usize) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while node.members().len() != count {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", node.members());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_listening_on_every_interface_advertise_what_peers_dial_and_form_a_cluster() {
    let a = builder("adv-a")
        .advertise(Some("127.0.0.1:0".parse().unwrap()))
        .http(Some("0.0.0.0:8".parse().unwrap()))
        .start()
        .await
        .unwrap();
    let listen = a.listen_addr();
    assert_eq!(listen.ip().to_string(), "127.0.0.1");
    assert_ne!(listen.port(), 0, "port 0 advertised is the port bound");
    let http: SocketAddr = a.local().http.unwrap();
    assert_eq!(
        http,
        SocketAddr::new(listen.ip(), 8),
        "a wildcard HTTP IP takes the link IP"
    );

    // Without --advertise: this host's own address, unless it has none but loopback.
    let b = match builder("adv-b").seeds([listen.to_string()]).start().await {
        Ok(b) => b,
        Err(e) => {
            assert!(e.to_string().contains("--advertise"), "{e}");
            eprintln!("this host has no address but loopback: {e}");
            return;
        }
    };
    assert!(!b.listen_addr().ip().is_loopback() && !b.listen_addr().ip().is_unspecified());
    members_within(&a, 1).await;
    members_within(&b, 1).await;
    let c = builder("adv-c")
        .seeds([b.listen_addr().to_string()])
        .start()
        .await
        .unwrap();
    members_within(&c, 2).await;
    members_within(&a, 2).await;
}
