//! `GET /api/discovery` says why a node did not join through each address: nothing listens
//! there (`refused`), a Shoal node with another cookie answered (`wrong_cookie`), or it joined.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use shoal_api::views::{CandidateOutcome, DiscoveryView};

use common::builder;

/// `GET /api/discovery` until `done` holds of it, at most 20 s; the last answer.
async fn discovery_until(http: SocketAddr, done: impl Fn(&DiscoveryView) -> bool) -> DiscoveryView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let view: DiscoveryView = tokio::task::spawn_blocking(move || {
            shoal_api::client::get(http, "/api/discovery", Duration::from_secs(5))
        })
        .await
        .unwrap()
        .unwrap();
        if done(&view) || tokio::time::Instant::now() >= deadline {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn outcome(view: &DiscoveryView, addr: SocketAddr) -> Option<CandidateOutcome> {
    view.candidates.iter().find(|c| c.addr == addr).map(|c| c.outcome)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_seed_shows_why_it_did_or_did_not_join() {
    let friend = shoal_http::start(builder("disc-friend")).await.unwrap();
    let stranger = shoal_http::start(builder("disc-stranger").cookie("another cookie"))
        .await
        .unwrap();
    // A port nothing listens on: bind one, note it, close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let seeds = [friend.listen_addr(), stranger.listen_addr(), closed].map(|a| a.to_string());
    let node = shoal_http::start(builder("disc-node").seeds(seeds))
        .await
        .unwrap();
    let http = node.local().http.unwrap();
    let want = [
        (friend.listen_addr(), CandidateOutcome::Joined),
        (stranger.listen_addr(), CandidateOutcome::WrongCookie),
        (closed, CandidateOutcome::Refused),
    ];
    let view = discovery_until(http, |v| want.iter().all(|(a, o)| outcome(v, *a) == Some(*o))).await;
    for (addr, expected) in want {
        assert_eq!(outcome(&view, addr), Some(expected), "{addr}: {view:?}");
    }
    let fixed = &view.strategies[0];
    assert_eq!(fixed.strategy, "static");
    assert!(
        fixed.lookups >= 1 && fixed.last_lookup_ms.is_some() && fixed.error.is_none(),
        "{view:?}"
    );
    assert_eq!(fixed.found.len(), 3, "{view:?}");
    for c in &view.candidates {
        assert_eq!(c.sources, ["static"]);
    }
}
