//! `GET /api/actors/page`: a page of this node's actors matching a search, sorted; the
//! dashboard's actor table asks every node for one and merges them ([`crate::cluster`]).

use std::cmp::Ordering;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shoal_api::views::{ActorPage, ActorView};

use crate::Api;
use crate::error::{ApiError, error};

/// Most actors in one page of `GET /api/cluster/actors`.
pub(crate) const MAX_LIMIT: usize = 500;
/// How deep pages reach: `offset + limit` at most this (search to narrow a larger set).
/// A node's own page may be this long, so a gathering node can merge the first pages.
pub(crate) const MAX_WINDOW: usize = 10_000;

/// `?q=TEXT&sort=KEY&order=asc|desc&offset=N&limit=N`, all optional.
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    /// Case-insensitive text found in the pid, a name, a registered name or the type.
    #[serde(default)]
    pub(crate) q: String,
    /// `name` (default), `pid`, `type`, `mailbox`, `handled`, `restarts` or `uptime`.
    pub(crate) sort: Option<String>,
    /// `asc` or `desc`: by default names ascend and figures descend.
    pub(crate) order: Option<String>,
    #[serde(default)]
    pub(crate) offset: usize,
    pub(crate) limit: Option<usize>,
}

impl Page {
    /// The page each node is asked for: its first `offset + limit` matches.
    pub(crate) fn node_page(&self) -> Page {
        Page {
            offset: 0,
            limit: self.offset + self.limit,
            ..self.clone()
        }
    }

    /// The query that asks one node for the actors this page could take from it: its first
    /// `offset + limit` matches, in this order.
    pub(crate) fn node_query(&self) -> String {
        let key = match self.key {
            SortKey::Name => "name",
            SortKey::Pid => "pid",
            SortKey::Type => "type",
            SortKey::Mailbox => "mailbox",
            SortKey::Handled => "handled",
            SortKey::Restarts => "restarts",
            SortKey::Uptime => "uptime",
        };
        let order = if self.descending { "desc" } else { "asc" };
        format!(
            "/api/actors/page?q={}&sort={key}&order={order}&offset=0&limit={}",
            encode(&self.q),
            self.offset + self.limit
        )
    }
}

/// `text` percent-encoded for a query value.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A checked [`PageQuery`].
#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub(crate) q: String,
    pub(crate) key: SortKey,
    pub(crate) descending: bool,
    pub(crate) offset: usize,
    pub(crate) limit: usize,
}

/// What a page is sorted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SortKey {
    Name,
    Pid,
    Type,
    Mailbox,
    Handled,
    Restarts,
    Uptime,
}

impl PageQuery {
    /// Checks the query, with pages of at most `max_limit`; a wrong value is a 400 that
    /// lists the right ones.
    pub(crate) fn check(&self, max_limit: usize) -> Result<Page, ApiError> {
        let key = match self.sort.as_deref().unwrap_or("name") {
            "name" => SortKey::Name,
            "pid" => SortKey::Pid,
            "type" => SortKey::Type,
            "mailbox" => SortKey::Mailbox,
            "handled" => SortKey::Handled,
            "restarts" => SortKey::Restarts,
            "uptime" => SortKey::Uptime,
            other => {
                return Err(bad(format!(
                    "sort={other} is not a sort key; use name, pid, type, mailbox, handled, restarts or uptime"
                )));
            }
        };
        let figure = !matches!(key, SortKey::Name | SortKey::Pid | SortKey::Type);
        let descending = match self.order.as_deref() {
            None => figure,
            Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(bad(format!("order={other}: use asc or desc"))),
        };
        let limit = self.limit.unwrap_or(50);
        if limit == 0 || limit > max_limit {
            return Err(bad(format!("limit={limit}: use 1 to {max_limit}")));
        }
        if self.offset + limit > MAX_WINDOW {
            return Err(bad(format!(
                "offset={} with limit={limit} reaches past the first {MAX_WINDOW} matches; search (q=...) to narrow them",
                self.offset
            )));
        }
        Ok(Page {
            q: self.q.trim().to_lowercase(),
            key,
            descending,
            offset: self.offset,
            limit,
        })
    }
}

fn bad(message: String) -> ApiError {
    error(StatusCode::BAD_REQUEST, message)
}

impl Page {
    /// Whether `actor` matches the search.
    pub(crate) fn matches(&self, actor: &ActorView) -> bool {
        if self.q.is_empty() {
            return true;
        }
        let has = |s: &str| s.to_lowercase().contains(&self.q);
        has(&actor.pid_text)
            || has(&actor.type_name)
            || actor.name.as_deref().is_some_and(has)
            || actor.registered.iter().any(|n| has(n))
    }

    /// The order of the page: by the key, then by pid so pages never overlap.
    pub(crate) fn compare(&self, a: &ActorView, b: &ActorView) -> Ordering {
        let by_key = match self.key {
            SortKey::Name => display_name(a).cmp(display_name(b)),
            SortKey::Pid => (a.pid.node.name.as_str(), a.pid.id).cmp(&(b.pid.node.name.as_str(), b.pid.id)),
            SortKey::Type => a.type_name.cmp(&b.type_name),
            SortKey::Mailbox => a.mailbox_depth.cmp(&b.mailbox_depth),
            SortKey::Handled => a.handled.cmp(&b.handled),
            SortKey::Restarts => a.restarts.cmp(&b.restarts),
            SortKey::Uptime => a.uptime_ms.cmp(&b.uptime_ms),
        };
        let by_key = if self.descending { by_key.reverse() } else { by_key };
        by_key.then_with(|| a.pid_text.cmp(&b.pid_text))
    }

    /// The page of `all` (every candidate): those that match, sorted, `offset..offset+limit`.
    pub(crate) fn cut(&self, all: Vec<ActorView>) -> ActorPage {
        let mut matching: Vec<ActorView> = all.into_iter().filter(|a| self.matches(a)).collect();
        let total = matching.len();
        matching.sort_by(|a, b| self.compare(a, b));
        let actors = matching.into_iter().skip(self.offset).take(self.limit).collect();
        ActorPage {
            total,
            actors,
            errors: Vec::new(),
        }
    }
}

/// What the table shows as an actor's name: its first registered name, else its spawn
/// name, else its pid. Registered first: an actor a factory spawned has the factory's name
/// (every demo counter is `shoal.counter`), its registered name tells it apart.
fn display_name(a: &ActorView) -> &str {
    a.registered
        .first()
        .map(String::as_str)
        .or(a.name.as_deref())
        .unwrap_or(&a.pid_text)
}

/// `GET /api/actors/page`: this node's actors, searched, sorted and paged.
pub(crate) async fn page(
    State(api): State<Api>,
    Query(query): Query<PageQuery>,
) -> Result<Json<ActorPage>, ApiError> {
    let page = query.check(MAX_WINDOW)?;
    Ok(Json(page.cut(crate::actors::all_views(&api))))
}
