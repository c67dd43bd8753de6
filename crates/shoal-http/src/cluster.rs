//! `/api/cluster...`: the dashboard's view of the whole cluster, gathered by the answering
//! node from every live member's HTTP API (the address each member gossips), so a browser
//! needs to reach one node only. A member that does not answer within the deadline is
//! listed with why; the rest is answered anyway.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use shoal_api::views::{
    ActorPage, ClusterHistory, ClusterView, NodeEntry, NodeError, NodeEvent, NodeReport, SamplesPage,
};

use crate::Api;
use crate::actor_page::{MAX_LIMIT, PageQuery};
use crate::error::{ApiError, error};
use crate::history::Since;
use crate::peer;

/// How long a gathering request waits for each member.
pub(crate) const DEADLINE: Duration = Duration::from_secs(2);

/// A member to ask.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) name: String,
    /// Its HTTP address; `None` for a member that serves no HTTP.
    pub(crate) http: Option<SocketAddr>,
    /// Whether it is the answering node (answered without a request).
    pub(crate) local: bool,
}

/// Most members [`Seen`] remembers.
const MAX_SEEN: usize = 1024;

/// The last HTTP address of every member this node listed, at most [`MAX_SEEN`].
#[derive(Default)]
pub(crate) struct Seen(std::sync::Mutex<std::collections::BTreeMap<String, SocketAddr>>);

impl Seen {
    fn note(&self, targets: &[Target]) {
        let mut seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for t in targets {
            if let Some(addr) = t.http
                && (seen.len() < MAX_SEEN || seen.contains_key(&t.name))
            {
                seen.insert(t.name.clone(), addr);
            }
        }
    }

    /// The last HTTP address member `name` had, if this node ever listed it.
    pub(crate) fn get(&self, name: &str) -> Option<SocketAddr> {
        let seen = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        seen.get(name).copied()
    }
}

/// The answering node, then its live members by name. Each call also notes their HTTP
/// addresses in [`Seen`], for the proxy.
pub(crate) fn targets(api: &Api) -> Vec<Target> {
    let local = api.node.local();
    let mut all = vec![Target {
        name: local.id.name.to_string(),
        http: local.http,
        local: true,
    }];
    all.extend(api.node.members().into_iter().map(|m| Target {
        name: m.member.id.name.to_string(),
        http: m.member.http,
        local: false,
    }));
    api.seen.note(&all);
    all
}

/// Asks every target at once: the local node through `here`, the others `GET path(target)`
/// read as `T`; answers in the targets' order.
pub(crate) async fn ask_all<T: DeserializeOwned>(
    api: &Api,
    targets: &[Target],
    path: impl Fn(&Target) -> String,
    here: impl Fn(&Api) -> Result<T, String>,
    deadline: Duration,
) -> Vec<Result<T, String>> {
    let asks = targets.iter().map(|t| {
        let (path, local) = (path(t), t.local.then(|| here(api)));
        async move {
            match (local, t.http) {
                (Some(answer), _) => answer,
                (None, Some(addr)) => peer::get_json(addr, &path, deadline).await,
                (None, None) => Err(format!("{} serves no HTTP API", t.name)),
            }
        }
    });
    futures_util::future::join_all(asks).await
}

/// Every member's report, with events after `after(target)` when that is `Some`.
pub(crate) async fn gather(
    api: &Api,
    after: impl Fn(&Target) -> Option<u64>,
    deadline: Duration,
) -> ClusterView {
    // A member this node's history says is down is gone, even if the membership view this
    // gathering read has not dropped it yet (the event that brought a gathering forward is
    // recorded before the view is published).
    let gone = api.node.history().gone(100);
    let mut targets = targets(api);
    targets.retain(|t| t.local || !gone.iter().any(|g| g.name == t.name));
    let path = |t: &Target| match after(t) {
        Some(seq) => format!("/api/dashboard/report?after={seq}"),
        None => "/api/dashboard/report".to_owned(),
    };
    let local_after = targets.first().and_then(&after);
    let here = |api: &Api| Ok(crate::report::build(api, local_after));
    let answers: Vec<Result<NodeReport, String>> = ask_all(api, &targets, path, here, deadline).await;
    let nodes = targets
        .into_iter()
        .zip(answers)
        .map(|(t, answer)| {
            let (report, error) = match answer {
                Ok(report) => (Some(report), None),
                Err(e) => (None, Some(e)),
            };
            NodeEntry {
                name: t.name,
                http: t.http,
                report,
                error,
            }
        })
        .collect();
    ClusterView {
        gathered_by: api.node.history().node().to_owned(),
        at_ms: shoal_node::now_us() / 1000,
        nodes,
        gone,
    }
}

/// `GET /api/cluster`: every live member's report (without events).
pub(crate) async fn show(State(api): State<Api>) -> Json<ClusterView> {
    Json(gather(&api, |_| None, DEADLINE).await)
}

/// `GET /api/cluster/actors?q&sort&order&offset&limit`: a page of the actors of every
/// node, merged from each node's first `offset + limit` matches.
pub(crate) async fn actors(
    State(api): State<Api>,
    Query(query): Query<PageQuery>,
) -> Result<Json<ActorPage>, ApiError> {
    let page = query.check(MAX_LIMIT)?;
    let targets = targets(&api);
    let local_page = page.node_page();
    let here = |api: &Api| Ok(local_page.cut(crate::actors::all_views(api)));
    let answers: Vec<Result<ActorPage, String>> =
        ask_all(&api, &targets, |_| page.node_query(), here, DEADLINE).await;
    let mut total = 0;
    let mut all = Vec::new();
    let mut errors = Vec::new();
    for (t, answer) in targets.into_iter().zip(answers) {
        match answer {
            Ok(p) => {
                total += p.total;
                all.extend(p.actors);
            }
            Err(error) => errors.push(NodeError { node: t.name, error }),
        }
    }
    all.sort_by(|a, b| page.compare(a, b));
    let actors = all.into_iter().skip(page.offset).take(page.limit).collect();
    Ok(Json(ActorPage {
        total,
        actors,
        errors,
    }))
}

/// `?limit=N`
#[derive(Debug, Deserialize)]
pub(crate) struct Newest {
    limit: Option<usize>,
}

/// Most events `GET /api/cluster/history` merges.
const MAX_HISTORY: usize = 5_000;

/// `GET /api/cluster/history[?limit=N]`: the newest `N` (default 1000) events of every live
/// member, merged, newest first.
pub(crate) async fn history(
    State(api): State<Api>,
    Query(q): Query<Newest>,
) -> Result<Json<ClusterHistory>, ApiError> {
    let limit = q.limit.unwrap_or(1000);
    if limit == 0 || limit > MAX_HISTORY {
        return Err(error(
            StatusCode::BAD_REQUEST,
            format!("limit={limit}: use 1 to {MAX_HISTORY}"),
        ));
    }
    let targets = targets(&api);
    let path = |_: &Target| format!("/api/history?limit={limit}");
    let here = |api: &Api| Ok(api.node.history().page(0, limit));
    let answers = ask_all(&api, &targets, path, here, DEADLINE).await;
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (t, answer) in targets.into_iter().zip(answers) {
        match answer {
            Ok(page) => events.extend(page.events.into_iter().map(|event| NodeEvent {
                node: page.node.clone(),
                event,
            })),
            Err(error) => errors.push(NodeError { node: t.name, error }),
        }
    }
    events.sort_by(|a, b| {
        b.event
            .at_us
            .cmp(&a.event.at_us)
            .then_with(|| a.node.cmp(&b.node))
    });
    events.truncate(limit);
    Ok(Json(ClusterHistory { events, errors }))
}

/// `GET /api/cluster/samples[?after_ms=T&step_s=S]`: every live member's samples.
pub(crate) async fn samples(
    State(api): State<Api>,
    Query(q): Query<Since>,
) -> Result<Json<ClusterSamples>, ApiError> {
    let step = q.step()?;
    let targets = targets(&api);
    let path = |_: &Target| format!("/api/samples?after_ms={}&step_s={step}", q.after_ms);
    let here = |api: &Api| {
        let history = api.node.history();
        Ok(SamplesPage {
            node: history.node().to_owned(),
            samples: history.samples(q.after_ms, step),
        })
    };
    let answers = ask_all(&api, &targets, path, here, DEADLINE).await;
    let mut nodes = Vec::new();
    let mut errors = Vec::new();
    for (t, answer) in targets.into_iter().zip(answers) {
        match answer {
            Ok(page) => nodes.push(page),
            Err(error) => errors.push(NodeError { node: t.name, error }),
        }
    }
    Ok(Json(ClusterSamples { nodes, errors }))
}

pub(crate) use shoal_api::views::ClusterSamples;
