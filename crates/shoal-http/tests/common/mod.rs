//! What the HTTP tests share: a node with its API on an OS-assigned port.

use std::net::SocketAddr;

use shoal_node::{Node, NodeBuilder};

/// A node builder for these tests: one cookie for all (nodes meet only through the seeds a
/// test gives them), no same-host discovery (so tests that run at once do not find each
/// other), the HTTP API on an OS-assigned port.
pub(crate) fn builder(name: &str) -> NodeBuilder {
    Node::builder()
        .name(name)
        .cookie("shoal-http-test-cookie")
        .local_discovery(None)
        .http(Some("127.0.0.1:0".parse().unwrap()))
}

/// A node named `name` with its HTTP API next to it, admin token `token`; and the API's address.
#[allow(dead_code, reason = "not every test file serves a node with a token")]
pub(crate) async fn served_node(name: &str, token: &str) -> (Node, SocketAddr) {
    let node = shoal_http::start(builder(name).admin_token(Some(token.to_owned())))
        .await
        .unwrap();
    let addr = node.local().http.unwrap();
    (node, addr)
}
