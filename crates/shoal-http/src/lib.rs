//! The HTTP API of a Shoal node (ARCHITECTURE section 8), served with axum.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /health` | `{"status":"ok"}` while the node runs |
//! | `GET /api/node` | this node: name, creation, version, addresses, roles, uptime, counters |
//! | `GET /api/members` | every live member, this node first: state, addresses, RTT, last heard |
//! | `GET /api/actors` | every actor on this node: pid, name, type, parent, status, mailbox depth, handled, restarts, uptime |
//! | `GET /api/actors/{pid}` | one actor (`{pid}` is `<id>` or `<id>@<node>`) and its children |
//! | `GET /api/actors/{pid}/state` | `{"pid", "state"}`: the actor's view of its state (`Actor::state_view`); 404 if it exposes none, 503 if busy |
//! | `POST /api/actors/{pid}/kill` | stops the actor with reason `killed`; needs the admin token |
//! | `GET /api/registry` | every registered name: name, pid, `registered_at_us` (this node's replica) |
//! | `GET /api/groups` | every process group with its members |
//! | `GET /api/supervisor` | distributed supervisor: counts, running children per node, every child with owner, pid, restarts, how it last started, whether it kept its state |
//! | `POST /api/supervisor/migrate?id=c&to=n` | moves child `c` to node `n` with its state, answers once it runs there; admin token |
//! | `GET /api/chaos` | `{"partitioned_from": [...]}`: peers cut off by fault injection |
//! | `POST /api/chaos/partition?peers=a,b` | drops all gossip and link traffic to and from those peers; admin token |
//! | `POST /api/chaos/heal` | ends the partition; admin token |
//!
//! Times are integers whose key names the unit (`uptime_ms`, `rtt_us`). Errors are
//! `{"error": "..."}` with a 4xx status. Mutating endpoints need `Authorization: Bearer
//! <admin token>`; a node without a token refuses them (see [`serve`]).

mod actors;
mod auth;
mod chaos;
mod registry;
mod supervisor;
mod views;

use std::future::Future;

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use shoal_node::Node;
use tokio::net::TcpListener;

pub use actors::ActorDetail;
pub use registry::{GroupView, RegistryEntry};
pub use views::{MemberView, NodeView};

/// What every handler sees.
#[derive(Clone)]
pub(crate) struct Api {
    node: Node,
    admin_token: Option<String>,
}

/// The API's routes over `node`. `admin_token` guards the mutating endpoints; `None` refuses
/// them all.
pub fn router(node: Node, admin_token: Option<String>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/api/node", get(node_info))
        .route("/api/members", get(members))
        .route("/api/actors", get(actors::list))
        .route("/api/actors/{pid}", get(actors::detail))
        .route("/api/actors/{pid}/kill", post(actors::kill))
        .route("/api/actors/{pid}/state", get(actors::state))
        .route("/api/registry", get(registry::list))
        .route("/api/groups", get(registry::groups))
        .route("/api/supervisor", get(supervisor::show))
        .route("/api/supervisor/migrate", post(supervisor::migrate))
        .route("/api/chaos", get(chaos::show))
        .route("/api/chaos/partition", post(chaos::partition))
        .route("/api/chaos/heal", post(chaos::heal))
        .with_state(Api { node, admin_token })
}

/// Serves the API on `listener` until `shutdown` resolves. The admin token comes from the
/// node's settings (`--admin-token`, `SHOAL_ADMIN_TOKEN`, `admin_token` in `shoal.toml`);
/// `shoal cluster start` generates one per cluster and keeps it in its state directory.
pub async fn serve(
    listener: TcpListener,
    node: Node,
    admin_token: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(node, admin_token))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn node_info(State(api): State<Api>) -> Json<NodeView> {
    Json(NodeView::of(&api.node))
}

async fn members(State(api): State<Api>) -> Json<Vec<MemberView>> {
    let node = &api.node;
    let mut all = vec![MemberView::local(&node.local())];
    all.extend(node.members().iter().map(MemberView::peer));
    Json(all)
}
