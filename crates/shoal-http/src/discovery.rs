//! `GET /api/discovery`: each discovery strategy's last lookup and each candidate address's
//! last outcome (joined, refused: wrong cookie, ...), to answer "why did it not join?".

use axum::Json;
use axum::extract::State;
use shoal_api::views::DiscoveryView;

use crate::Api;

/// `GET /api/discovery`.
pub(crate) async fn show(State(api): State<Api>) -> Json<DiscoveryView> {
    Json(api.node.discovery())
}
