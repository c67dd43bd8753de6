//! `shoal bench messaging`: two nodes on 127.0.0.1, a `shoal node` child process and a node in
//! this process, exchanging actor messages: call round trips, one-way throughput (64-byte
//! and 1 KiB messages, one sender and 16), and local sends for reference.
//!
//! One-way senders use windows: after each window they queue a `Received` call behind it and
//! wait for the previous window's call, so at most two windows are in flight and the sink's
//! bounded mailbox never overflows (a sender without flow control would see `MailboxFull`).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use serde_json::{Value, json};
use shoal_node::actor::{
    Actors, CallError, ECHO_FACTORY, ECHO_SIZED_FACTORY, Echo, EchoCall, EchoMsg, EchoReply, Pid, SendError,
};
use shoal_node::{Node, NodeName};

use super::cluster::BenchCluster;
use super::{median, round2};

const TIMEOUT: Duration = Duration::from_secs(10);
const RTT_WARMUP: usize = 2_000;
const RTT_CALLS: usize = 20_000;
/// How long each throughput run sends.
const RUN: Duration = Duration::from_secs(1);
const SINK_CAPACITY: u32 = 65_536;

/// Figures of one trial.
pub(crate) struct Trial {
    pub(crate) rtt_p50_us: f64,
    pub(crate) rtt_p99_us: f64,
    /// Messages per second.
    pub(crate) oneway_64b: f64,
    /// 1 KiB messages per second.
    pub(crate) oneway_1k: f64,
    pub(crate) oneway_64b_16: f64,
    pub(crate) local: f64,
}

pub(crate) fn run(bin: &Path, trials: usize) -> anyhow::Result<Value> {
    let cluster = BenchCluster::new(bin)?;
    let far = cluster.spawn("msg-far")?;
    let far_name = NodeName::new("msg-far")?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let results = runtime.block_on(async {
        let near = Node::builder()
            .name("msg-near")
            .cookie(cluster.cookie())
            .seeds([far.ready.listen.to_string()])
            .start()
            .await?;
        wait_linked(&near).await?;
        let mut results = Vec::new();
        for trial in 0..trials {
            eprintln!("messaging: trial {}/{trials}", trial + 1);
            // On a worker thread, not `block_on`'s: replies then wake a task on the same
            // worker instead of crossing threads.
            let (actors, far) = (near.actors().clone(), far_name.clone());
            let trial = tokio::spawn(async move { run_trial(&actors, &far).await });
            results.push(trial.await??);
        }
        near.shutdown().await;
        anyhow::Ok(results)
    })?;
    let pick = |f: fn(&Trial) -> f64| round2(median(&results.iter().map(f).collect::<Vec<_>>()));
    Ok(json!({
        "scenario": "messaging",
        "trials": trials,
        "rtt_p50_us": pick(|t| t.rtt_p50_us),
        "rtt_p99_us": pick(|t| t.rtt_p99_us),
        "oneway_64b_msgs_per_s": pick(|t| t.oneway_64b).round(),
        "oneway_1k_bytes_per_s": (pick(|t| t.oneway_1k) * 1024.0).round(),
        "oneway_1k_mib_per_s": round2(pick(|t| t.oneway_1k) * 1024.0 / (1024.0 * 1024.0)),
        "oneway_64b_16_senders_msgs_per_s": pick(|t| t.oneway_64b_16).round(),
        "local_msgs_per_s": pick(|t| t.local).round(),
    }))
}

pub(crate) async fn wait_linked(node: &Node) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !node.members().iter().any(|m| m.linked) {
        anyhow::ensure!(Instant::now() < deadline, "the two bench nodes did not link");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(())
}

pub(crate) async fn run_trial(actors: &Actors, far: &NodeName) -> anyhow::Result<Trial> {
    let echo = actors.spawn_remote(far, ECHO_FACTORY, &(), TIMEOUT).await?;
    let (rtt_p50_us, rtt_p99_us) = round_trips(actors, &echo).await?;
    let oneway_64b = one_way(actors, far, 1, 64).await?;
    let oneway_1k = one_way(actors, far, 1, 1024).await?;
    let oneway_64b_16 = one_way(actors, far, 16, 64).await?;
    let local = local_sends(actors).await?;
    Ok(Trial {
        rtt_p50_us,
        rtt_p99_us,
        oneway_64b,
        oneway_1k,
        oneway_64b_16,
        local,
    })
}

/// Sequential empty calls; returns p50 and p99 in microseconds.
async fn round_trips(actors: &Actors, echo: &Pid) -> anyhow::Result<(f64, f64)> {
    let mut samples = Vec::with_capacity(RTT_CALLS);
    for i in 0..RTT_WARMUP + RTT_CALLS {
        let start = Instant::now();
        let _: EchoReply = actors.call(echo, EchoCall::Echo(Bytes::new()), TIMEOUT).await?;
        if i >= RTT_WARMUP {
            samples.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    let p99 = samples[samples.len() * 99 / 100];
    Ok((median(&samples), p99))
}

/// `senders` tasks, each blasting `size`-byte messages at its own sink on `far` for [`RUN`];
/// returns messages received per second, all senders together.
async fn one_way(actors: &Actors, far: &NodeName, senders: usize, size: usize) -> anyhow::Result<f64> {
    // Two windows and their two marker calls in flight fit the sink's mailbox with room.
    let window = (SINK_CAPACITY as usize / 4) / senders;
    let mut sinks = Vec::new();
    for _ in 0..senders {
        sinks.push(
            actors
                .spawn_remote(far, ECHO_SIZED_FACTORY, &SINK_CAPACITY, TIMEOUT)
                .await?,
        );
    }
    let payload = Bytes::from(vec![7u8; size]);
    let start = Instant::now();
    let tasks: Vec<_> = sinks
        .into_iter()
        .map(|sink| tokio::spawn(blast(actors.clone(), sink, payload.clone(), window)))
        .collect();
    let mut received = 0;
    for task in tasks {
        received += task.await??;
    }
    Ok(received as f64 / start.elapsed().as_secs_f64())
}

/// Sends windows of `window` messages for [`RUN`], then returns how many the sink received.
async fn blast(actors: Actors, sink: Pid, payload: Bytes, window: usize) -> anyhow::Result<u64> {
    let start = Instant::now();
    let mut previous: Option<tokio::task::JoinHandle<anyhow::Result<u64>>> = None;
    let mut sent = 0u64;
    loop {
        for _ in 0..window {
            // Waits only when the link is busy (more than its busy limit waits unwritten).
            actors.send_wait(&sink, EchoMsg::Data(payload.clone())).await?;
        }
        sent += window as u64;
        let marker = tokio::spawn(received(actors.clone(), sink.clone()));
        if let Some(previous) = previous.replace(marker) {
            previous.await??;
        }
        if start.elapsed() >= RUN {
            break;
        }
    }
    let got = match previous {
        Some(last) => last.await??,
        None => 0,
    };
    anyhow::ensure!(got == sent, "the sink received {got} of {sent} messages");
    Ok(got)
}

async fn received(actors: Actors, sink: Pid) -> anyhow::Result<u64> {
    match actors.call(&sink, EchoCall::Received, TIMEOUT).await? {
        EchoReply::Received(n) => Ok(n),
        other => anyhow::bail!("unexpected reply {other:?}"),
    }
}

/// One sender, one local echo, typed sends waiting for mailbox room; messages per second.
async fn local_sends(actors: &Actors) -> anyhow::Result<f64> {
    let options = shoal_node::actor::SpawnOptions::default().capacity(SINK_CAPACITY as usize);
    let sink = actors.spawn_with(Echo::default(), options);
    let payload = Bytes::from(vec![7u8; 64]);
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < RUN {
        for _ in 0..4096 {
            sink.send_wait(EchoMsg::Data(payload.clone())).await?;
        }
        sent += 4096;
    }
    // A call fails at once on a full mailbox, and the sink may still be behind the sender.
    let got = loop {
        match sink.call(EchoCall::Received, TIMEOUT).await {
            Ok(EchoReply::Received(n)) => break n,
            Ok(other) => anyhow::bail!("unexpected reply {other:?}"),
            Err(CallError::NotDelivered(SendError::MailboxFull)) => tokio::task::yield_now().await,
            Err(e) => return Err(e.into()),
        }
    };
    anyhow::ensure!(got == sent, "the local sink received {got} of {sent} messages");
    Ok(got as f64 / start.elapsed().as_secs_f64())
}
