//! `/api/actors`: list, inspect and kill the node's actors.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shoal_api::views::{ActorDetail, ActorView, Killed, StateView};
use shoal_node::actor::{Pid, StateError};

use crate::Api;
use crate::error::{ApiError, error};
use crate::params::parse_pid;
use crate::views::actor_view;

/// `GET /api/actors`: every actor with the names it holds in the global registry.
pub(crate) async fn list(State(api): State<Api>) -> Json<Vec<ActorView>> {
    Json(all_views(&api))
}

/// Every actor of the node as the API shows it.
pub(crate) fn all_views(api: &Api) -> Vec<ActorView> {
    let mut names = registered_names(api);
    api.node
        .actors()
        .list()
        .into_iter()
        .map(|info| {
            let registered = names.remove(&info.pid).unwrap_or_default();
            actor_view(info, registered)
        })
        .collect()
}

/// `GET /api/actors/{pid}`: the actor, its registered names and its supervision children.
pub(crate) async fn detail(
    State(api): State<Api>,
    Path(pid): Path<String>,
) -> Result<Json<ActorDetail>, ApiError> {
    let pid = local_pid(&api, &pid)?;
    let all = api.node.actors().list();
    let info = all
        .iter()
        .find(|i| i.pid == pid)
        .cloned()
        .ok_or_else(|| not_found(&pid))?;
    let children = all
        .iter()
        .filter(|i| i.parent.as_ref() == Some(&pid))
        .map(|i| i.pid_text.clone())
        .collect();
    let registered = registered_names(&api).remove(&pid).unwrap_or_default();
    let relations = api.node.actors().relations(pid.id).unwrap_or_default();
    Ok(Json(ActorDetail {
        actor: actor_view(info, registered),
        children,
        links: relations.links.iter().map(ToString::to_string).collect(),
        monitored_by: relations.monitored_by,
    }))
}

/// The registry's names by the local actor that holds them, each list sorted.
fn registered_names(api: &Api) -> HashMap<Pid, Vec<String>> {
    let local = api.node.actors().node().clone();
    let mut names: HashMap<Pid, Vec<String>> = HashMap::new();
    for (name, registration) in api.node.actors().registered() {
        if registration.pid.node == local {
            names.entry(registration.pid).or_default().push(name);
        }
    }
    for list in names.values_mut() {
        list.sort();
    }
    names
}

/// How long `GET /api/actors/{pid}/state` waits for a busy actor to get to the request.
const STATE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /api/actors/{pid}/state`: `{"pid": .., "state": ..}`, the actor's own view of its
/// state (`Actor::state_view`), read on its task between two messages. 404 if there is no
/// such actor or it does not expose its state, 503 if it is busy past 2 s.
pub(crate) async fn state(
    State(api): State<Api>,
    Path(pid): Path<String>,
) -> Result<Json<StateView>, ApiError> {
    let pid = local_pid(&api, &pid)?;
    match api.node.actors().state_view(&pid, STATE_TIMEOUT).await {
        Ok(state) => Ok(Json(StateView {
            pid: pid.to_string(),
            state,
        })),
        Err(StateError::NoProc) => Err(not_found(&pid)),
        Err(StateError::NotExposed) => Err(error(
            StatusCode::NOT_FOUND,
            format!("actor {pid} does not expose its state"),
        )),
        Err(StateError::Busy(waited)) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("actor {pid} did not get to the request within {waited:?}: it is busy; try again"),
        )),
    }
}

/// `POST /api/actors/{pid}/kill` (admin): stops the actor with reason `killed`.
pub(crate) async fn kill(State(api): State<Api>, Path(pid): Path<String>) -> Result<Json<Killed>, ApiError> {
    let pid = local_pid(&api, &pid)?;
    api.node.actors().kill(&pid).map_err(|_| not_found(&pid))?;
    tracing::info!(%pid, "actor killed through the HTTP API");
    Ok(Json(Killed {
        killed: pid.to_string(),
    }))
}

fn not_found(pid: &Pid) -> ApiError {
    error(StatusCode::NOT_FOUND, format!("no actor {pid} on this node"))
}

/// Parses `<id>` or `<id>@<node>` (this node's name) into a local pid.
pub(crate) fn local_pid(api: &Api, text: &str) -> Result<Pid, ApiError> {
    let local = api.node.actors().node().clone();
    let parsed = parse_pid(text).map_err(|e| error(StatusCode::BAD_REQUEST, e.to_string()))?;
    if let Some(node) = parsed.node
        && node != local.name.as_str()
    {
        return Err(error(
            StatusCode::NOT_FOUND,
            format!("{text} lives on node {node}; ask that node's HTTP address (see /api/members)"),
        ));
    }
    Ok(Pid::new(local, parsed.id))
}
