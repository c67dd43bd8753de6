//! What a client node does against a server node.

use std::time::{Duration, Instant};

use shoal_node::actor::Pid;
use shoal_node::{Node, NodeName};

use crate::protocol::{KvCall, KvReply};
use crate::session;

const TIMEOUT: Duration = Duration::from_secs(5);

/// Waits until `node` has a linked peer and returns its name.
pub async fn wait_for_server(node: &Node, within: Duration) -> anyhow::Result<NodeName> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(peer) = node.members().into_iter().find(|m| m.linked) {
            return Ok(peer.member.id.name);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no server node linked within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn call(node: &Node, session: &Pid, call: KvCall) -> anyhow::Result<KvReply> {
    Ok(node.actors().call(session, call, TIMEOUT).await?)
}

/// Runs the whole tour against `server`, printing each step; fails on any surprise.
pub async fn tour(node: &Node, server: &NodeName) -> anyhow::Result<()> {
    let session: Pid = node
        .actors()
        .spawn_remote(server, session::FACTORY, &(), TIMEOUT)
        .await?;
    println!("spawned a session on {server}: {session}");
    for (key, value) in [("apple", "red"), ("pear", "green")] {
        anyhow::ensure!(
            call(node, &session, KvCall::Put(key.into(), value.into())).await? == KvReply::Stored
        );
        println!("put {key} = {value}");
    }
    let got = call(node, &session, KvCall::Get("apple".into())).await?;
    anyhow::ensure!(got == KvReply::Value(Some("red".into())), "get apple: {got:?}");
    println!("get apple -> red");
    anyhow::ensure!(call(node, &session, KvCall::Len).await? == KvReply::Len(2));

    let crashed = call(node, &session, KvCall::CrashStore).await?;
    anyhow::ensure!(crashed == KvReply::Crashed, "crash: {crashed:?}");
    println!("crashed the store on purpose; its supervisor restarts it");
    let deadline = Instant::now() + TIMEOUT;
    let after = loop {
        match call(node, &session, KvCall::Len).await? {
            KvReply::Unavailable if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await
            }
            reply => break reply,
        }
    };
    anyhow::ensure!(after == KvReply::Len(0), "after the restart: {after:?}");
    println!("the restarted store is empty: in-memory state dies with the actor");

    let wrong = node
        .actors()
        .spawn_remote(server, "kv.no-such-factory", &(), TIMEOUT)
        .await;
    let error = wrong
        .err()
        .ok_or_else(|| anyhow::anyhow!("an unknown factory spawned something"))?;
    println!("spawning an unknown factory fails clearly: {error}");

    Ok(())
}
