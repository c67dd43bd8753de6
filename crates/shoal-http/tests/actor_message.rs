//! `POST /api/actors/{pid}/send|call` over a real HTTP server and node: a counter takes
//! `{"Add": n}` and answers `"Get"`; the admin token is required; JSON that does not parse or
//! does not decode is a clear 400 that delivers nothing; an actor that does not accept JSON,
//! or no actor, is a 404 that says so; a body over the limit is a 413; a call past its
//! `?timeout_ms=` is a 504.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use shoal_node::Node;
use shoal_node::actor::{Actor, ActorError, Counter, CounterArgs, Ctx, Echo, JsonCodec, Never};

/// Answers a call of `n` (milliseconds) after sleeping that long, with `n`.
struct Napper;

impl Actor for Napper {
    type Msg = Never;
    type Call = u64;
    type Reply = u64;

    async fn handle(&mut self, _ctx: &mut Ctx<Self>, never: Never) -> Result<(), ActorError> {
        match never {}
    }

    async fn handle_call(&mut self, _ctx: &mut Ctx<Self>, ms: u64) -> Result<u64, ActorError> {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(ms)
    }

    fn json() -> Option<JsonCodec<Self>> {
        Some(JsonCodec::serde())
    }
}

const TOKEN: &str = "message-test-token";

/// A node with its HTTP API (admin token [`TOKEN`]) on an OS-assigned port.
async fn served_node() -> (Node, SocketAddr) {
    common::served_node("message-test", TOKEN).await
}

/// POSTs `body` to `path` with `token`; the status and the JSON answer.
async fn post(addr: SocketAddr, path: &str, token: Option<&str>, body: &str) -> (u16, Value) {
    let (path, token, body) = (path.to_owned(), token.map(str::to_owned), body.to_owned());
    let (status, text) = tokio::task::spawn_blocking(move || {
        shoal_testkit::http_request_with_body(
            addr,
            "POST",
            &path,
            token.as_deref(),
            body.as_bytes(),
            Duration::from_secs(10),
        )
    })
    .await
    .unwrap()
    .unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_takes_json_sends_and_calls_with_the_admin_token() {
    let (node, http) = served_node().await;
    let counter = node.actors().spawn(Counter::new(CounterArgs::default(), None));
    let id = counter.pid().id;
    let (send, call) = (format!("/api/actors/{id}/send"), format!("/api/actors/{id}/call"));

    let (status, answer) = post(http, &send, Some(TOKEN), r#"{"Add": 5}"#).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["sent"], counter.pid().to_string());
    let (status, answer) = post(http, &call, Some(TOKEN), r#""Get""#).await;
    assert_eq!((status, &answer["reply"]), (200, &Value::from(5)), "{answer}");

    // No token, a wrong one: refused, and nothing delivered.
    let (status, answer) = post(http, &send, None, r#"{"Add": 1}"#).await;
    assert_eq!(status, 401, "{answer}");
    let (status, answer) = post(http, &send, Some("wrong"), r#"{"Add": 1}"#).await;
    assert_eq!(status, 403, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("wrong admin token"),
        "{answer}"
    );

    // Not JSON, and JSON of another shape: 400 with the reason, nothing delivered.
    let (status, answer) = post(http, &send, Some(TOKEN), r#"{"Add": "#).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("not JSON"), "{answer}");
    let (status, answer) = post(http, &send, Some(TOKEN), r#"{"Ad": 1}"#).await;
    assert_eq!(status, 400, "{answer}");
    let error = answer["error"].as_str().unwrap();
    assert!(
        error.contains("CounterMsg") && error.contains("unknown variant `Ad`"),
        "{error}"
    );
    let (status, answer) = post(http, &call, Some(TOKEN), r#""get""#).await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("CounterGet"),
        "{answer}"
    );
    let too_big = format!("\"{}\"", "x".repeat(70_000));
    let (status, _) = post(http, &send, Some(TOKEN), &too_big).await;
    assert_eq!(status, 413);
    let (status, answer) = post(http, &call, Some(TOKEN), r#""Get""#).await;
    assert_eq!((status, &answer["reply"]), (200, &Value::from(5)), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_actor_without_json_or_no_actor_is_a_404_that_says_so() {
    let (node, http) = served_node().await;
    let echo = node.actors().spawn(Echo::default());
    let path = format!("/api/actors/{}/call", echo.pid().id);
    let (status, answer) = post(http, &path, Some(TOKEN), "1").await;
    assert_eq!(status, 404, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("does not accept JSON"),
        "{answer}"
    );
    let (status, answer) = post(http, "/api/actors/99999/send", Some(TOKEN), "1").await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("no actor"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_past_its_timeout_is_a_504() {
    let (node, http) = served_node().await;
    let napper = node.actors().spawn(Napper);
    let path = format!("/api/actors/{}/call?timeout_ms=100", napper.pid().id);
    let (status, answer) = post(http, &path, Some(TOKEN), "1").await;
    assert_eq!((status, &answer["reply"]), (200, &Value::from(1)), "{answer}");
    let (status, answer) = post(http, &path, Some(TOKEN), "3000").await;
    assert_eq!(status, 504, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().contains("no reply within"),
        "{answer}"
    );
    // A one-way message to an actor whose `Msg` has no values does not decode.
    let send = format!("/api/actors/{}/send", napper.pid().id);
    let (status, answer) = post(http, &send, Some(TOKEN), "1").await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_announced_over_the_limit_is_refused_at_once_without_waiting_for_it() {
    let (node, http) = served_node().await;
    let counter = node.actors().spawn(Counter::new(CounterArgs::default(), None));
    let id = counter.pid().id;
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(http).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        // Announces 99,999,999 bytes and sends one: the answer must not wait for the rest.
        let head = format!(
            "POST /api/actors/{id}/send HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Length: 99999999\r\n\r\nx"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut answer = vec![0; 4096];
        let n = stream.read(&mut answer).unwrap();
        String::from_utf8_lossy(&answer[..n]).into_owned()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("nothing was delivered"), "{answer}");
}
