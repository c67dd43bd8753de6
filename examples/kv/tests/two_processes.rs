//! The example across two processes: a `kv node` child process serves; this test's own node
//! is the client.

#![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

use std::path::Path;
use std::time::Duration;

use kv::protocol::{KvCall, KvReply};
use shoal_node::Node;
use shoal_testkit::NodeProcess;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_node_drives_the_store_in_another_process() {
    let cookie = format!("kv-test-{}-{}", std::process::id(), shoal_node::now_us());
    let bin = Path::new(env!("CARGO_BIN_EXE_kv"));
    let env = [("SHOAL_COOKIE", cookie.as_str()), ("SHOAL_DISCOVERY", "none")];
    let server = NodeProcess::spawn_with_env(bin, "kv-server", &[], &env).unwrap();
    let client = Node::builder()
        .name("kv-client")
        .cookie(cookie.as_str())
        .seeds([server.ready.listen.to_string()])
        .start()
        .await
        .unwrap();
    let server_name = kv::client::wait_for_server(&client, Duration::from_secs(20))
        .await
        .unwrap();
    assert_eq!(server_name.as_str(), "kv-server");
    kv::client::tour(&client, &server_name).await.unwrap();

    // The server's API shows the supervision tree: supervisor -> store, and the session.
    let (status, body) = shoal_testkit::http_get(server.ready.http.unwrap(), "/api/actors").unwrap();
    assert_eq!(status, 200);
    let actors: serde_json::Value = serde_json::from_str(&body).unwrap();
    let named = |name: &str| {
        actors
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .cloned()
    };
    let supervisor = named("kv.supervisor").unwrap();
    let store = named("kv.store").unwrap();
    assert_eq!(store["parent"], supervisor["pid"]);
    assert_eq!(store["restarts"], 1);
    assert!(named("kv.session").is_some());

    // A second session sees the same (restarted, then empty) store.
    let session = client
        .actors()
        .spawn_remote(&server_name, kv::session::FACTORY, &(), Duration::from_secs(5))
        .await
        .unwrap();
    let len: KvReply = client
        .actors()
        .call(&session, KvCall::Len, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(len, KvReply::Len(0));
    client.shutdown().await;
}
