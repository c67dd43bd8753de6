//! The HTTP API of a Shoal node (ARCHITECTURE section 8), served with axum.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /health` | `{"status":"ok"}` while the node runs |
//! | `GET /api/node` | this node: name, creation, version, addresses, roles, uptime, counters |
//! | `GET /api/members` | every live member, this node first: state, addresses, RTT, last heard |
//!
//! Times are integers whose key names the unit (`uptime_ms`, `rtt_us`).

mod views;

use std::future::Future;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use shoal_node::Node;
use tokio::net::TcpListener;

pub use views::{MemberView, NodeView};

/// The API's routes over `node`.
pub fn router(node: Node) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/node", get(node_info))
        .route("/api/members", get(members))
        .with_state(node)
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    node: Node,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(node))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn node_info(State(node): State<Node>) -> Json<NodeView> {
    Json(NodeView::of(&node))
}

async fn members(State(node): State<Node>) -> Json<Vec<MemberView>> {
    let mut all = vec![MemberView::local(&node.local())];
    all.extend(node.members().iter().map(MemberView::peer));
    Json(all)
}
