//! `GET /api/actors/{pid}/state` over a real HTTP server and node: the value a counter
//! holds, a clear 404 for an actor without a view or no actor at all, 503 for a busy one,
//! and a read that waits for the handler in progress (it runs between two messages).

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use shoal_node::Node;
use shoal_node::actor::{
    Actor, ActorError, ActorStatus, Counter, CounterArgs, CounterGet, CounterMsg, Ctx, Echo, Never,
};

/// An actor whose handler sleeps as long as it is told, and shows how often it slept.
struct Sleeper(u64);

impl Actor for Sleeper {
    type Msg = Duration;
    type Call = Never;
    type Reply = ();

    async fn handle(&mut self, _ctx: &mut Ctx<Self>, nap: Duration) -> Result<(), ActorError> {
        tokio::time::sleep(nap).await;
        self.0 += 1;
        Ok(())
    }

    fn state_view(&self) -> Option<Value> {
        Some(json!({ "naps": self.0 }))
    }
}

/// A node with its HTTP API on an OS-assigned port.
async fn served_node() -> (Node, SocketAddr) {
    let node = Node::builder()
        .name("state-test")
        .cookie("state-test-cookie")
        .local_discovery(None)
        .start()
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = shoal_http::router(node.clone(), None);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (node, addr)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let path = path.to_owned();
    let (status, body) = tokio::task::spawn_blocking(move || shoal_testkit::http_get(addr, &path))
        .await
        .unwrap()
        .unwrap();
    (status, serde_json::from_str(&body).unwrap())
}

/// Waits until the actor `id` is in the middle of a handler, having handled none yet.
fn wait_running(node: &Node, id: u64) {
    let running = shoal_testkit::wait_until(Duration::from_secs(10), || {
        let info = node.actors().info(id)?;
        (info.handled == 0 && matches!(info.status, ActorStatus::Running)).then_some(())
    });
    assert!(running.is_some(), "actor {id} never started its handler");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_endpoint_shows_a_counters_count_by_value() {
    let (node, http) = served_node().await;
    let counter = node
        .actors()
        .spawn(Counter::new(CounterArgs::default(), Some(40)));
    counter.send(CounterMsg::Add(2)).unwrap();
    // A call is ordered after the send: the count is 42 once it answers.
    assert_eq!(
        counter.call(CounterGet, Duration::from_secs(5)).await.unwrap(),
        42
    );
    let pid = counter.pid().to_string();
    let (status, body) = get(http, &format!("/api/actors/{pid}/state")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({ "pid": pid, "state": { "count": 42 } }));
    // The bare id works too, as for the other actor endpoints.
    let (status, body) = get(http, &format!("/api/actors/{}/state", counter.pid().id)).await;
    assert_eq!((status, &body["state"]["count"]), (200, &json!(42)), "{body}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_endpoint_says_when_an_actor_exposes_no_state_or_does_not_exist() {
    let (node, http) = served_node().await;
    let echo = node.actors().spawn(Echo::default());
    let pid = echo.pid().to_string();
    let (status, body) = get(http, &format!("/api/actors/{pid}/state")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body,
        json!({ "error": format!("actor {pid} does not expose its state") })
    );
    assert!(
        node.actors().info(echo.pid().id).is_some(),
        "reading the state must not stop the actor"
    );

    let (status, body) = get(http, "/api/actors/999999/state").await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("no actor 999999@state-test"),
        "{body}"
    );
    let (status, body) = get(http, "/api/actors/x/state").await;
    assert_eq!(status, 400, "{body}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_endpoint_answers_busy_past_its_timeout() {
    let (node, http) = served_node().await;
    let sleeper = node.actors().spawn(Sleeper(0));
    sleeper.send(Duration::from_secs(60)).unwrap();
    wait_running(&node, sleeper.pid().id);
    let pid = sleeper.pid().to_string();
    let (status, body) = get(http, &format!("/api/actors/{pid}/state")).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("busy"), "{body}");
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_read_between_messages_never_during_a_handler() {
    let (node, http) = served_node().await;
    let sleeper = node.actors().spawn(Sleeper(0));
    sleeper.send(Duration::from_millis(500)).unwrap();
    wait_running(&node, sleeper.pid().id);
    // Asked mid-nap, the actor answers once the handler is done: one nap, not zero.
    let (status, body) = get(http, &format!("/api/actors/{}/state", sleeper.pid())).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], json!({ "naps": 1 }));
    node.shutdown().await;
}
