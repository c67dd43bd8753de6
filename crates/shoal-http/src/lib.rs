//! The HTTP API of a Shoal node, served with axum.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /health`, `GET /health/live` | `{"status":"ok"}` while the node runs |
//! | `GET /health/ready` | `{"status":"ready"}` while `Node::ready_for_probe` holds (found its cluster, enough live members, not isolated, not leaving); else 503 with why |
//! | `GET /metrics` | this node's metrics in the Prometheus text format (version 0.0.4); every family is in `docs/metrics.md` |
//! | `GET /api/node` | this node: name, creation, version, addresses, roles, uptime, counters (`stats.http`: the HTTP server's connections) |
//! | `GET /api/members` | every live member, this node first: state, addresses, RTT, last heard |
//! | `GET /api/actors` | every actor on this node: pid, name, type, parent, status, mailbox depth, handled, restarts, uptime |
//! | `GET /api/actors/{pid}` | one actor (`{pid}` is `<id>` or `<id>@<node>`) and its children |
//! | `GET /api/actors/{pid}/state` | `{"pid", "state"}`: the actor's view of its state (`Actor::state_view`); 404 if it exposes none, 503 if busy |
//! | `POST /api/actors/{pid}/kill` | stops the actor with reason `killed`; needs the admin token |
//! | `POST /api/actors/{pid}/send` | body: the JSON form of a message (at most 64 KiB), queued for an actor that accepts JSON (`Actor::json`); `{"sent"}`; 400 if it does not decode as the actor's `Msg` (serde's message names the type), 404 if no such actor or it does not accept JSON, 413 over 64 KiB (at once when `Content-Length` says so), 408 if the body takes over 10 s, 503 if its mailbox is full; admin token |
//! | `POST /api/actors/{pid}/call[?timeout_ms=T]` | body: the JSON form of a call; `{"pid", "reply"}` with the reply as JSON; errors as `send`, and 504 past `T` ms (default 5000, at most 60000); admin token |
//! | `GET /api/registry` | every registered name: name, pid, `registered_at_us` (this node's replica) |
//! | `GET /api/groups` | every process group with its members |
//! | `GET /api/supervisor` | distributed supervisor: counts (tombstones included), running children per node, every child with owner, pid, restarts, how it last started, whether it kept its state |
//! | `POST /api/supervisor/migrate?id=c&to=n` | moves child `c` to node `n` with its state, answers once it runs there from its state (409: moving already, superseded by a concurrent move, or state lost); admin token |
//! | `GET /api/discovery` | per discovery strategy its last lookup (when, what it found, why it failed); per candidate address (at most 256) the last outcome: `proposed`, `joined`, `refused`, `unreachable`, `wrong_cookie`, `protocol_version`, `name_taken`, `itself` |
//! | `GET /api/chaos` | `{"partitioned_from": [...]}`: peers cut off by fault injection |
//! | `POST /api/chaos/partition?peers=a,b[&deadline_ms=T]` | drops all gossip and link traffic to and from those peers; refused (409) if handled after `deadline_ms`; admin token |
//! | `POST /api/chaos/heal[?deadline_ms=T]` | ends the partition; refused (409) if handled after `deadline_ms`; admin token |
//! | `GET /api/history[?after=SEQ&limit=N]` | this node's event history (the newest 10,000 events: membership, split-brain, registry conflicts, child starts and stops, handoffs, restarts, singletons, chaos, kills), oldest first |
//! | `GET /api/samples[?after_ms=T&step_s=S]` | this node's figures, one sample a second for the last hour |
//! | `GET /api/actors/page?q&sort&order&offset&limit` | a page of this node's actors: searched, sorted (`name`, `pid`, `type`, `mailbox`, `handled`, `restarts`, `uptime`), with the count of all matches |
//! | `GET /api/dashboard/report[?after=SEQ]` | everything the dashboard shows of this node, in one answer |
//! | `GET /api/dashboard/events` | the live feed (server-sent events): one `tick` a second with every member's report and their new events; gathers only while a feed is open; 503 past 32 feeds |
//! | `GET /api/cluster` | every live member's report, gathered from the members' HTTP APIs; a member that does not answer within 2 s is listed with why; members that went down and are not back under `gone` |
//! | `GET /api/cluster/actors?q&sort&order&offset&limit` | a page of every node's actors (pages reach the first 10,000 matches; search to narrow) |
//! | `GET /api/cluster/history[?limit=N]`, `GET /api/cluster/samples[?after_ms&step_s]` | every member's history and samples, merged |
//! | `GET`/`POST /api/nodes/{node}/{*path}` | forwards to member `node`'s own `/api/{path}` with the query, body and `Authorization` header; the member checks the token |
//! | `GET /`, `GET /dashboard` | the dashboard page (with `/dashboard/app.js` and `/dashboard/style.css`, embedded in the binary) |
//!
//! [`start`] starts a node with this API next to it, in one call (what `shoal node` runs);
//! [`serve`] serves it on a listener of your own.
//!
//! The JSON shapes are the types of [`shoal_api::views`], which clients read. Times are
//! integers whose key names the unit (`uptime_ms`, `rtt_us`). Every error, also an unknown
//! path (404), a method a path does not take (405) or a query that does not parse (400), is
//! [`shoal_api::ErrorBody`], `{"error": "..."}`, with a 4xx or 5xx status. Mutating
//! endpoints need `Authorization: Bearer <admin token>`, checked by one layer on the
//! sub-router of those endpoints; a node without a token refuses them (see [`serve`]).
//!
//! Connections are bounded ([`HttpLimits`]): one that sends no complete request head within
//! 5 s (at first, or between keep-alive requests) is closed, and so is one that reads none of
//! its response for 10 s. At most a quarter of the process's open-file limit are open at
//! once (4 to 256); past that, a new connection closes the oldest idle one, or is answered
//! `503` and closed when none is idle. `/api/node` counts these in `stats.http`.

mod actor_page;
mod actors;
mod auth;
mod chaos;
mod cluster;
mod dashboard;
mod discovery;
mod error;
mod history;
mod json_errors;
mod limits;
mod message;
mod metrics;
mod params;
mod peer;
mod proxy;
mod registry;
mod report;
mod send_deadline;
mod server;
mod slots;
mod start;
mod stats;
mod supervisor;
mod views;

use std::future::Future;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::{get, post};
use axum::{Json, Router};
use shoal_api::views::{Health, MemberView, NodeView};
use shoal_node::Node;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use limits::HttpLimits;
pub use params::{ParamError, PidText, parse_peers, parse_pid};
pub use start::{StartError, start};

use crate::stats::HttpCounters;

/// What every handler sees.
#[derive(Clone)]
pub(crate) struct Api {
    node: Node,
    admin_token: Option<String>,
    http: Arc<HttpCounters>,
    /// The dashboard's live feed.
    feed: Arc<dashboard::Feed>,
    /// The HTTP address of every member seen, for the proxy to reach one that is no longer
    /// live to this node (the other side of a partition, to heal it).
    seen: Arc<cluster::Seen>,
    /// Cancelled when the server shuts down: long answers (the feed) end.
    stop: CancellationToken,
}

/// The API's routes over `node`. `admin_token` guards the mutating endpoints; `None` refuses
/// them all. Served by anything but [`serve`], `/api/node` shows zero HTTP counters.
pub fn router(node: Node, admin_token: Option<String>) -> Router {
    routes(node, admin_token, Arc::default(), CancellationToken::new())
}

/// Every route, in two sub-routers: the reads, open to all, and the mutating endpoints,
/// behind one admin-token layer ([`auth::require_admin`]) that runs before their handlers
/// and extractors. A route added to `admin` cannot skip the check; one added to `open` must
/// not mutate. Around all of it, [`json_errors::json_errors`] gives every error answer the
/// `{"error": "..."}` shape.
fn routes(
    node: Node,
    admin_token: Option<String>,
    http: Arc<HttpCounters>,
    stop: CancellationToken,
) -> Router {
    let api = Api {
        node,
        admin_token,
        http,
        feed: Arc::default(),
        seen: Arc::default(),
        stop,
    };
    let admin = Router::new()
        .route("/api/actors/{pid}/kill", post(actors::kill))
        .route("/api/actors/{pid}/send", post(message::send))
        .route("/api/actors/{pid}/call", post(message::call))
        .route("/api/supervisor/migrate", post(supervisor::migrate))
        .route("/api/chaos/partition", post(chaos::partition))
        .route("/api/chaos/heal", post(chaos::heal))
        .route_layer(from_fn_with_state(api.clone(), auth::require_admin))
        // Set after the layer, so a method these paths do not take is a 405 with or without
        // a token, as on the open routes.
        .method_not_allowed_fallback(json_errors::method_not_allowed);
    let open = Router::new()
        .route("/health", get(health))
        .route("/health/live", get(health))
        .route("/health/ready", get(ready))
        .route("/metrics", get(metrics::scrape))
        .route("/api/node", get(node_info))
        .route("/api/members", get(members))
        .route("/api/actors", get(actors::list))
        .route("/api/actors/{pid}", get(actors::detail))
        .route("/api/actors/{pid}/state", get(actors::state))
        .route("/api/registry", get(registry::list))
        .route("/api/groups", get(registry::groups))
        .route("/api/supervisor", get(supervisor::show))
        .route("/api/chaos", get(chaos::show))
        .route("/api/discovery", get(discovery::show))
        .route("/api/history", get(history::events))
        .route("/api/samples", get(history::samples))
        .route("/api/actors/page", get(actor_page::page))
        .route("/api/dashboard/report", get(report::report))
        .route("/api/dashboard/events", get(dashboard::events))
        .route("/api/cluster", get(cluster::show))
        .route("/api/cluster/actors", get(cluster::actors))
        .route("/api/cluster/history", get(cluster::history))
        .route("/api/cluster/samples", get(cluster::samples))
        // Forwards to a member, which checks the token of a POST itself (see `proxy`).
        .route(
            "/api/nodes/{node}/{*path}",
            get(proxy::forward).post(proxy::forward),
        )
        .route("/", get(dashboard::page))
        .route("/dashboard", get(dashboard::page))
        .route("/dashboard/app.js", get(dashboard::script))
        .route("/dashboard/style.css", get(dashboard::style))
        .method_not_allowed_fallback(json_errors::method_not_allowed);
    open.merge(admin)
        .fallback(json_errors::no_route)
        .layer(from_fn(json_errors::json_errors))
        .with_state(api)
}

/// Serves the API on `listener` until `shutdown` resolves. The admin token comes from the
/// node's settings (`--admin-token`, `SHOAL_ADMIN_TOKEN`, `admin_token` in `shoal.toml`);
/// `shoal cluster start` generates one per cluster and keeps it in its state directory.
/// Connections get the default [`HttpLimits`]; see [`serve_with`].
pub async fn serve(
    listener: TcpListener,
    node: Node,
    admin_token: Option<String>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(
        listener,
        node,
        admin_token,
        HttpLimits::for_this_process(),
        shutdown,
    )
    .await
}

/// Like [`serve`], within `limits`. After `shutdown` resolves it stops accepting, lets open
/// requests finish for `limits.shutdown_grace`, and returns once every connection task has
/// ended. It fails on no input; the `Result` is kept for callers of [`serve`].
pub async fn serve_with(
    listener: TcpListener,
    node: Node,
    admin_token: Option<String>,
    limits: HttpLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let counters = Arc::new(HttpCounters::default());
    let stop = CancellationToken::new();
    let router = routes(node, admin_token, counters.clone(), stop.clone());
    let shutdown = async move {
        shutdown.await;
        stop.cancel();
    };
    server::run(listener, router, limits, counters, shutdown).await;
    Ok(())
}

async fn health() -> Json<Health> {
    Json(Health::ok())
}

/// `GET /health/ready`: 200 `{"status":"ready"}` while [`Node::ready_for_probe`] holds, else
/// 503 with why (`{"error": "..."}`).
async fn ready(State(api): State<Api>) -> Result<Json<Health>, error::ApiError> {
    match api.node.ready_for_probe() {
        Ok(()) => Ok(Json(Health::ready())),
        Err(why) => Err(error::error(StatusCode::SERVICE_UNAVAILABLE, why.to_string())),
    }
}

async fn node_info(State(api): State<Api>) -> Json<NodeView> {
    Json(views::node_view(&api.node, api.http_stats()))
}

impl Api {
    /// The HTTP server's counters, with the dashboard feed's state.
    pub(crate) fn http_stats(&self) -> shoal_api::views::HttpStats {
        let mut stats = self.http.snapshot();
        (stats.dashboard_feeds, stats.dashboard_gathering) = self.feed.state();
        stats
    }
}

async fn members(State(api): State<Api>) -> Json<Vec<MemberView>> {
    Json(report::members(&api))
}
