//! `GET /api/dashboard/report`: everything the dashboard shows of one node, in one answer.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use shoal_api::views::{MemberView, NodeReport};

use crate::{Api, views};

/// Most events one report carries.
pub(crate) const MAX_EVENTS: usize = 500;

/// `?after=SEQ`: include the events after `SEQ`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReportQuery {
    pub(crate) after: Option<u64>,
}

/// `GET /api/dashboard/report[?after=SEQ]`.
pub(crate) async fn report(State(api): State<Api>, Query(q): Query<ReportQuery>) -> Json<NodeReport> {
    Json(build(&api, q.after))
}

/// This node's report, with its events after `after` (none if `None`).
pub(crate) fn build(api: &Api, after: Option<u64>) -> NodeReport {
    let history = api.node.history();
    let (events, last_seq) = match after {
        Some(after) => {
            let page = history.page(after, MAX_EVENTS);
            (page.events, page.last_seq)
        }
        None => (Vec::new(), history.last_seq()),
    };
    NodeReport {
        node: views::node_view(&api.node, api.http_stats()),
        members: members(api),
        sample: history.latest_sample(),
        events,
        last_seq,
        process: history.creation(),
    }
}

/// The node's members, itself first, as `GET /api/members` shows them.
pub(crate) fn members(api: &Api) -> Vec<MemberView> {
    let node = &api.node;
    let queued = node.link_queue_bytes();
    let mut all = vec![views::local_member(&node.local())];
    all.extend(node.members().iter().map(|m| {
        let mut view = views::peer_member(m);
        view.queue_bytes = queued
            .iter()
            .find(|(name, _)| *name == m.member.id.name)
            .map(|(_, bytes)| *bytes as u64);
        view
    }));
    all
}
