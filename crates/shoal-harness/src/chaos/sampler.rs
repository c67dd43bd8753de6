//! Samplers: one thread per node slot that reads the node's HTTP API every period and
//! appends a [`Sample`] to the shared list, until told to stop.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::de::DeserializeOwned;
use shoal_api::client;
use shoal_api::views::{Health, NodeView, StateView};

use super::history::{Answers, Sample};

/// How long one request of a sample may take (a paused node answers nothing).
const REQUEST_TIMEOUT: Duration = Duration::from_millis(1000);

/// Each slot's node name and the HTTP address of its current life (None while down).
pub(crate) type Addrs = Arc<RwLock<Vec<(String, Option<SocketAddr>)>>>;

/// What samplers share with the runner.
#[derive(Clone, Default)]
pub(crate) struct Shared {
    /// The HTTP address of each slot's current life.
    pub(crate) addrs: Addrs,
    pub(crate) samples: Arc<Mutex<Vec<Sample>>>,
    pub(crate) quiet: Arc<AtomicBool>,
    pub(crate) stop: Arc<AtomicBool>,
}

impl Shared {
    /// The latest sample of every node taken after `since_us`, if each has one.
    pub(crate) fn latest_round(&self, since_us: u64) -> Option<Vec<Sample>> {
        let names: Vec<String> = read(&self.addrs).iter().map(|(n, _)| n.clone()).collect();
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        names
            .iter()
            .map(|n| {
                samples
                    .iter()
                    .rev()
                    .find(|s| &s.node == n && s.sent_us >= since_us)
                    .cloned()
            })
            .collect()
    }
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Starts one sampler per slot.
pub(crate) fn start(shared: &Shared, period: Duration) -> Vec<JoinHandle<()>> {
    let slots = read(&shared.addrs).len();
    (0..slots)
        .map(|i| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                while !shared.stop.load(Ordering::Relaxed) {
                    let (name, addr) = read(&shared.addrs)[i].clone();
                    if let Some(addr) = addr
                        && let Some(mut sample) = sample(&name, addr)
                    {
                        sample.quiet = shared.quiet.load(Ordering::Relaxed);
                        shared
                            .samples
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push(sample);
                    }
                    std::thread::sleep(period);
                }
            })
        })
        .collect()
}

fn get<T: DeserializeOwned>(addr: SocketAddr, path: &str) -> Option<T> {
    client::get(addr, path, REQUEST_TIMEOUT).ok()
}

/// One sample of the node at `addr`; None if it did not answer in full.
pub(crate) fn sample(name: &str, addr: SocketAddr) -> Option<Sample> {
    let mut s = Sample {
        node: name.to_owned(),
        sent_us: now_us(),
        ..Sample::default()
    };
    s.health_ok = get::<Health>(addr, "/health").is_some_and(|h| h == Health::ok());
    let node: NodeView = get(addr, "/api/node")?;
    if node.name != name {
        return None;
    }
    let answers = Answers {
        members: get(addr, "/api/members")?,
        actors: get(addr, "/api/actors")?,
        registry: get(addr, "/api/registry")?,
        groups: get(addr, "/api/groups")?,
        supervisor: get(addr, "/api/supervisor")?,
    };
    s.parse(&node, &answers);
    for a in s.actors.iter().filter(|a| a.counter) {
        let id = a.pid.split('@').next().unwrap_or_default();
        if let Some(n) =
            get::<StateView>(addr, &format!("/api/actors/{id}/state")).and_then(|v| v.state["count"].as_u64())
        {
            s.counts.insert(a.pid.clone(), n);
        }
    }
    s.recv_us = now_us();
    Some(s)
}

/// Wall-clock µs since the Unix epoch (the nodes' clock for events and actors).
pub(crate) fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
