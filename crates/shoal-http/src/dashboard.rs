//! The dashboard: one page (HTML, script and style, files of this crate embedded at build
//! time) at `GET /` and `GET /dashboard`, and its live feed, `GET /api/dashboard/events`
//! (server-sent events).
//!
//! The feed is one gathering loop per node, shared by every page watching it: once a
//! second it asks every live member for its report ([`crate::cluster::gather`]) and sends
//! each page one `tick` event, `{"cluster": ClusterView, "events": [NodeEvent...]}` with
//! the members' events since the previous tick, and at once after a membership event of
//! the gathering node (a member up, suspect or down shows without waiting for the second).
//! The loop runs only while a page watches: it starts with the first stream and ends within
//! a second of the last one closing.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse};
use futures_util::stream::Stream;
use serde::Serialize;
use shoal_api::views::{ClusterView, NodeEvent};
use tokio::sync::broadcast;

use crate::Api;
use crate::cluster::{Target, gather};
use crate::error::{ApiError, error};

/// Most feeds open at once on one node (each is a browser tab).
pub(crate) const MAX_STREAMS: usize = 32;

/// How often the feed gathers.
const EVERY: Duration = Duration::from_secs(1);

/// The shortest time between two gatherings that membership events brought forward.
const SOONEST: Duration = Duration::from_millis(250);

/// How long one gathering waits for each member: less than a tick, so a member that
/// vanished delays nothing.
const TICK_DEADLINE: Duration = Duration::from_millis(900);

/// `GET /` and `GET /dashboard`.
pub(crate) async fn page() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Html(include_str!("../dashboard/index.html")),
    )
}

/// `GET /dashboard/app.js`.
pub(crate) async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../dashboard/app.js"),
    )
}

/// `GET /dashboard/style.css`.
pub(crate) async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        include_str!("../dashboard/style.css"),
    )
}

/// One tick of the feed, serialized once for every page.
#[derive(Serialize)]
struct Tick<'a> {
    cluster: &'a ClusterView,
    events: &'a [NodeEvent],
}

/// The node's feed: the sender of the running gathering loop, if one runs, and how many
/// streams are open.
#[derive(Default)]
pub(crate) struct Feed {
    running: Mutex<Option<broadcast::Sender<Arc<str>>>>,
    streams: AtomicUsize,
}

impl Feed {
    /// A receiver of the ticks, starting the gathering loop if none runs.
    fn subscribe(&self, api: &Api) -> broadcast::Receiver<Arc<str>> {
        let mut running = lock(&self.running);
        if let Some(sender) = running.as_ref() {
            return sender.subscribe();
        }
        let (sender, receiver) = broadcast::channel(4);
        *running = Some(sender.clone());
        tokio::spawn(gather_loop(api.clone(), sender));
        receiver
    }

    /// Feeds open now, and whether the gathering loop runs.
    pub(crate) fn state(&self) -> (u64, bool) {
        let gathering = lock(&self.running).is_some();
        (self.streams.load(Ordering::Relaxed) as u64, gathering)
    }

    /// Whether the loop that owns `sender` should stop: nobody listens. Clears the slot
    /// under the same lock [`Feed::subscribe`] takes, so a new stream starts a new loop.
    fn nobody_listens(&self, sender: &broadcast::Sender<Arc<str>>) -> bool {
        let mut running = lock(&self.running);
        if sender.receiver_count() > 0 {
            return false;
        }
        *running = None;
        true
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Gathers once a second and sends each tick, until nobody listens.
async fn gather_loop(api: Api, sender: broadcast::Sender<Arc<str>>) {
    let mut after: HashMap<(String, u64), u64> = HashMap::new();
    let mut ticks = tokio::time::interval(EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut membership = api.node.subscribe();
    let now = tokio::time::Instant::now();
    let mut last_early = now.checked_sub(SOONEST).unwrap_or(now);
    loop {
        // A membership change is shown at once, not at the next second; a flapping member
        // brings at most one gathering per `SOONEST` forward.
        tokio::select! {
            _ = ticks.tick() => {}
            changed = membership.recv() => {
                if matches!(changed, Err(broadcast::error::RecvError::Closed)) {
                    return;
                }
                tokio::time::sleep_until(last_early + SOONEST).await;
                // One gathering for a burst of events.
                while membership.try_recv().is_ok() {}
                ticks.reset();
                last_early = tokio::time::Instant::now();
            }
        }
        if api.feed.nobody_listens(&sender) {
            return;
        }
        let seen = after.clone();
        let creation_of = creations(&api);
        let ask_after = |t: &Target| {
            let creation = creation_of.get(&t.name).copied()?;
            seen.get(&(t.name.clone(), creation)).copied()
        };
        let cluster = gather(&api, ask_after, TICK_DEADLINE).await;
        let mut events = Vec::new();
        for entry in &cluster.nodes {
            let Some(report) = &entry.report else { continue };
            let key = (report.node.name.clone(), report.process);
            if after.contains_key(&key) {
                events.extend(report.events.iter().map(|e| NodeEvent {
                    node: report.node.name.clone(),
                    event: e.clone(),
                }));
            }
            after.insert(key, report.last_seq);
        }
        let mut cluster = cluster;
        for entry in &mut cluster.nodes {
            if let Some(report) = entry.report.as_mut() {
                report.events.clear();
            }
        }
        let tick = Tick {
            cluster: &cluster,
            events: &events,
        };
        let Ok(json) = serde_json::to_string(&tick) else {
            continue;
        };
        let _ = sender.send(Arc::from(json));
    }
}

/// The creation of each live member (this node included), to key the feed's positions: a
/// member's `seq` starts again in a new process.
fn creations(api: &Api) -> HashMap<String, u64> {
    let local = api.node.local();
    let mut all: HashMap<String, u64> = api
        .node
        .members()
        .into_iter()
        .map(|m| (m.member.id.name.to_string(), m.member.process.0))
        .collect();
    all.insert(local.id.name.to_string(), api.node.history().creation());
    all
}

/// Counts an open stream; the count drops with it.
struct Open(Arc<Api>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.feed.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `GET /api/dashboard/events`: the live feed (see the module docs). 503 past
/// [`MAX_STREAMS`] open feeds.
pub(crate) async fn events(
    State(api): State<Api>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    if api.feed.streams.fetch_add(1, Ordering::Relaxed) >= MAX_STREAMS {
        api.feed.streams.fetch_sub(1, Ordering::Relaxed);
        return Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{MAX_STREAMS} dashboards already watch this node; close one, or open another node's page"
            ),
        ));
    }
    let open = Open(Arc::new(api.clone()));
    let receiver = api.feed.subscribe(&api);
    let state = (receiver, open);
    let stream = futures_util::stream::unfold(state, |(mut receiver, open)| async move {
        let api = open.0.clone();
        loop {
            let next = tokio::select! {
                () = api.stop.cancelled() => return None,
                () = api.node.stopped() => return None,
                next = receiver.recv() => next,
            };
            match next {
                Ok(json) => {
                    let event = Event::default().event("tick").data(&*json);
                    return Some((Ok(event), (receiver, open)));
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
