//! The dashboard's gathering over real nodes and HTTP servers: one node's `/api/cluster...`
//! answers for all three, its proxy reaches a member's API (which checks the token itself),
//! its feed sends ticks only while someone watches, and a member that vanishes is reported
//! as such while the rest still answers.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use shoal_api::views::{ActorPage, ClusterHistory, ClusterView, NodeView};
use shoal_api::{Feed, http_request, wait_until};
use shoal_node::Node;
use shoal_node::actor::Echo;

use common::served_node;

const TOKEN: &str = "cluster-view-token";
const WAIT: Duration = Duration::from_secs(20);

/// `method path` on `addr` (with the token if `admin`), in a blocking task.
async fn ask(addr: SocketAddr, method: &'static str, path: String, admin: bool) -> (u16, String) {
    tokio::task::spawn_blocking(move || {
        let bearer = admin.then_some(TOKEN);
        http_request(addr, method, &path, bearer, Duration::from_secs(10)).unwrap()
    })
    .await
    .unwrap()
}

async fn get<T: serde::de::DeserializeOwned>(addr: SocketAddr, path: &str) -> T {
    let (status, body) = ask(addr, "GET", path.to_owned(), false).await;
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Waits until each of three nodes sees the other two.
async fn whole(nodes: &[(Node, SocketAddr)]) {
    for (node, _) in nodes {
        let node = node.clone();
        tokio::task::spawn_blocking(move || {
            wait_until(WAIT, || (node.members().len() == 2).then_some(())).unwrap()
        })
        .await
        .unwrap();
    }
}

/// Three served nodes joined through the first; waits until each sees the other two.
async fn three() -> Vec<(Node, SocketAddr)> {
    let a = served_node("view-a", TOKEN).await;
    let seed = a.0.listen_addr().to_string();
    let mut nodes = vec![a];
    for name in ["view-b", "view-c"] {
        let node = shoal_http::start(
            common::builder(name)
                .admin_token(Some(TOKEN.to_owned()))
                .seeds([seed.clone()]),
        )
        .await
        .unwrap();
        let addr = node.local().http.unwrap();
        nodes.push((node, addr));
    }
    whole(&nodes).await;
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_answers_for_the_whole_cluster_and_forwards_to_a_member() {
    let nodes = three().await;
    let a = nodes[0].1;
    let mut pids = Vec::new();
    for (node, _) in &nodes {
        for _ in 0..3 {
            pids.push(node.actors().spawn(Echo::default()).pid().to_string());
        }
    }

    let cluster: ClusterView = get(a, "/api/cluster").await;
    let names: Vec<&str> = cluster.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["view-a", "view-b", "view-c"]);
    for entry in &cluster.nodes {
        let report = entry.report.as_ref().unwrap_or_else(|| panic!("{entry:?}"));
        assert_eq!(report.node.name, entry.name);
        assert_eq!(report.members.len(), 3, "{entry:?}");
    }

    // Every node's actors in one table, and pages that never overlap.
    let all: ActorPage = get(a, "/api/cluster/actors?sort=pid&limit=500").await;
    assert!(all.errors.is_empty(), "{:?}", all.errors);
    let listed: Vec<&str> = all.actors.iter().map(|x| x.pid_text.as_str()).collect();
    for pid in &pids {
        assert!(listed.contains(&pid.as_str()), "{pid} not in {listed:?}");
    }
    assert_eq!(all.total, all.actors.len());
    let first: ActorPage = get(a, "/api/cluster/actors?sort=pid&limit=4").await;
    let second: ActorPage = get(a, "/api/cluster/actors?sort=pid&offset=4&limit=4").await;
    let paged: Vec<&str> = first
        .actors
        .iter()
        .chain(&second.actors)
        .map(|x| x.pid_text.as_str())
        .collect();
    assert_eq!(paged, listed[..8]);
    let found: ActorPage = get(a, &format!("/api/cluster/actors?q={}", pids[4])).await;
    assert!(found.actors.iter().any(|x| x.pid_text == pids[4]), "{found:?}");
    let (status, body) = ask(a, "GET", "/api/cluster/actors?sort=colour".into(), false).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("mailbox"), "the message lists the keys: {body}");

    // The proxy: a member's own answers, its own token check.
    let b: NodeView = get(a, "/api/nodes/view-b/node").await;
    assert_eq!(b.name, "view-b");
    let victim = &pids[3]; // an actor of view-b
    let kill = format!("/api/nodes/view-b/actors/{victim}/kill");
    let (status, body) = ask(a, "POST", kill.clone(), false).await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = ask(a, "POST", kill, true).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ask(a, "GET", format!("/api/nodes/view-b/actors/{victim}"), false).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = ask(a, "GET", "/api/nodes/nobody/node".into(), false).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("no live member named nobody"), "{body}");
    let (status, body) = ask(a, "GET", "/api/nodes/view-b/cluster".into(), false).await;
    assert_eq!(status, 400, "no fan-out from a fan-out: {body}");

    // The detail names who watches an actor.
    let watched = nodes[0].0.actors().spawn(Echo::default()).pid().clone();
    let _down = nodes[0].0.actors().monitor(&watched);
    let detail: shoal_api::views::ActorDetail = get(a, &format!("/api/nodes/view-a/actors/{watched}")).await;
    assert_eq!(detail.monitored_by, ["a task on view-a"], "{detail:?}");
    assert!(detail.links.is_empty(), "{detail:?}");

    // The kill is in view-b's history, and the merged history names its node.
    let history: ClusterHistory = get(a, "/api/cluster/history").await;
    assert!(
        history
            .events
            .iter()
            .any(|e| e.node == "view-b" && e.event.subject == *victim),
        "{history:?}"
    );
    for name in ["view-a", "view-b", "view-c"] {
        assert!(
            history.events.iter().any(|e| e.node == name),
            "{name} missing: {history:?}"
        );
    }
}

fn next_tick(feed: &mut Feed) -> ClusterView {
    feed.next_tick().unwrap().cluster
}

fn open_feed(addr: SocketAddr) -> Feed {
    Feed::open(addr, Duration::from_secs(10)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_gathers_only_while_watched_and_reports_a_member_that_vanished() {
    let mut nodes = three().await;
    let a = nodes[0].1;
    let node_a = nodes[0].0.clone();

    // Ten feeds at once: each gets ticks of all three nodes.
    let mut feeds = tokio::task::spawn_blocking(move || {
        let mut feeds: Vec<_> = (0..10).map(|_| open_feed(a)).collect();
        for feed in &mut feeds {
            assert_eq!(next_tick(feed).nodes.len(), 3);
        }
        feeds
    })
    .await
    .unwrap();
    let view: NodeView = get(a, "/api/node").await;
    assert_eq!(view.stats.http.dashboard_feeds, 10);
    assert!(view.stats.http.dashboard_gathering);

    // A member vanishes without a word: the next ticks still come, with it reported.
    let (c, _) = nodes.pop().unwrap();
    c.shutdown().await;
    drop(c);
    let mut feed = feeds.pop().unwrap();
    let seen = tokio::task::spawn_blocking(move || {
        for _ in 0..30 {
            let tick = next_tick(&mut feed);
            let c = tick.nodes.iter().find(|n| n.name == "view-c");
            let reported = match c {
                Some(entry) => entry.report.is_none() && entry.error.is_some(),
                None => tick.gone.iter().any(|g| g.name == "view-c"),
            };
            if reported {
                return tick;
            }
        }
        panic!("view-c was never reported as not answering or gone");
    })
    .await
    .unwrap();
    assert!(
        seen.nodes.iter().filter(|n| n.report.is_some()).count() >= 2,
        "{seen:?}"
    );

    // Nobody watches: the loop stops.
    drop(feeds);
    tokio::task::spawn_blocking(move || {
        wait_until(WAIT, || {
            let view: NodeView = serde_json::from_str(
                &http_request(a, "GET", "/api/node", None, Duration::from_secs(5))
                    .unwrap()
                    .1,
            )
            .unwrap();
            let http = view.stats.http;
            (http.dashboard_feeds == 0 && !http.dashboard_gathering).then_some(())
        })
        .unwrap()
    })
    .await
    .unwrap();
    drop(node_a);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_made_through_one_node_is_healed_through_it_from_its_side() {
    let nodes = three().await;
    let a = nodes[0].1;
    for (node, peers) in [
        ("view-a", "view-b,view-c"),
        ("view-b", "view-a"),
        ("view-c", "view-a"),
    ] {
        let path = format!("/api/nodes/{node}/chaos/partition?peers={peers}");
        let (status, body) = ask(a, "POST", path, true).await;
        assert_eq!(status, 200, "{node}: {body}");
    }
    let node_a = nodes[0].0.clone();
    tokio::task::spawn_blocking(move || {
        wait_until(WAIT, || node_a.members().is_empty().then_some(())).unwrap()
    })
    .await
    .unwrap();
    // view-b and view-c are no longer members of view-a: the proxy reaches them at the
    // addresses it saw.
    for node in ["view-a", "view-b", "view-c"] {
        let (status, body) = ask(a, "POST", format!("/api/nodes/{node}/chaos/heal"), true).await;
        assert_eq!(status, 200, "{node}: {body}");
    }
    whole(&nodes).await;
}
