//! `GET /api/history` and `GET /api/samples`: the node's bounded history.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shoal_api::views::{HistoryPage, SamplesPage};
use shoal_node::history::{EVENT_CAPACITY, SAMPLE_CAPACITY};

use crate::Api;
use crate::error::{ApiError, error};

/// `?after=SEQ&limit=N`
#[derive(Debug, Deserialize)]
pub(crate) struct After {
    #[serde(default)]
    after: u64,
    limit: Option<usize>,
}

/// `GET /api/history`: events after `after` (default: all kept), at most `limit` (default
/// and most: 10,000), the newest ones if more wait.
pub(crate) async fn events(
    State(api): State<Api>,
    Query(q): Query<After>,
) -> Result<Json<HistoryPage>, ApiError> {
    let limit = q.limit.unwrap_or(EVENT_CAPACITY);
    if limit == 0 || limit > EVENT_CAPACITY {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("limit={limit}: use 1 to {EVENT_CAPACITY}"),
        ));
    }
    Ok(Json(api.node.history().page(q.after, limit)))
}

/// `?after_ms=T&step_s=S`
#[derive(Debug, Deserialize)]
pub(crate) struct Since {
    #[serde(default)]
    pub(crate) after_ms: u64,
    pub(crate) step_s: Option<usize>,
}

impl Since {
    /// The step, checked: 1 (default) to 3600 seconds.
    pub(crate) fn step(&self) -> Result<usize, ApiError> {
        match self.step_s.unwrap_or(1) {
            step @ 1..=SAMPLE_CAPACITY => Ok(step),
            step => Err(error(
                StatusCode::BAD_REQUEST,
                format!("step_s={step}: use 1 to {SAMPLE_CAPACITY}"),
            )),
        }
    }
}

/// `GET /api/samples`: one sample a second for the last hour (after `after_ms`), every
/// `step_s`-th one.
pub(crate) async fn samples(
    State(api): State<Api>,
    Query(q): Query<Since>,
) -> Result<Json<SamplesPage>, ApiError> {
    let step = q.step()?;
    let history = api.node.history();
    Ok(Json(SamplesPage {
        node: history.node().to_owned(),
        samples: history.samples(q.after_ms, step),
    }))
}
