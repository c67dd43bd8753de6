//! `GET /metrics`: this node's metrics in the Prometheus text format (version 0.0.4), for a
//! Prometheus server to scrape. Open, like every read: it names members, peers and actor
//! types, never an actor's pid, name or state. `docs/metrics.md` lists every family.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Api;
use crate::error::error;

/// Room for a scrape of a small node without growing the buffer.
const INITIAL_CAPACITY: usize = 16 * 1024;

/// Encodes the node's metrics now ([`shoal_node::Node::encode_metrics`]) and answers with
/// them as `text/plain; version=0.0.4`.
pub(crate) async fn scrape(State(api): State<Api>) -> Response {
    let mut body = String::with_capacity(INITIAL_CAPACITY);
    match api.node.encode_metrics(&mut body) {
        Ok(()) => ([(header::CONTENT_TYPE, shoal_node::metrics::CONTENT_TYPE)], body).into_response(),
        Err(_) => error(StatusCode::INTERNAL_SERVER_ERROR, "the metrics did not encode").into_response(),
    }
}
