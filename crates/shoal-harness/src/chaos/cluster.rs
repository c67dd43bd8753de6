//! `ChaosCluster`: the node processes of a chaos run, by slot. A slot keeps its name across
//! lives (a kill or restart starts a new process under the same name, seeded with the
//! others' current addresses). Every life's log is copied to the output directory when it
//! ends; every process is killed when the cluster drops.

use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::history::{NodeEvent, ProcessRecord};
use super::sampler::Shared;
use crate::NodeProcess;
use shoal_api::Line;
use shoal_api::http_request;

/// How long a SIGTERM'd node may take to hand its children over and exit.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// One node slot: a name and its current life.
#[derive(Debug)]
struct Slot {
    name: String,
    life: Option<NodeProcess>,
    lives: u32,
}

/// The processes of one chaos run.
pub(crate) struct ChaosCluster {
    bin: PathBuf,
    out: PathBuf,
    cookie: String,
    token: String,
    slots: Vec<Slot>,
    pub(crate) shared: Shared,
    /// Event lines kept for the history (all but `renewed`, which a storm can print by the
    /// million; those are only counted).
    pub(crate) events: Vec<NodeEvent>,
    /// Every event line printed, by kind.
    pub(crate) event_counts: std::collections::BTreeMap<String, u64>,
    /// Every process started in a slot, in order.
    pub(crate) processes: Vec<ProcessRecord>,
}

impl ChaosCluster {
    /// Starts `n` nodes named `c1..cn` running `bin node --demo`, each seeded with the first.
    pub(crate) fn start(bin: &Path, out: &Path, n: usize, shared: Shared) -> io::Result<Self> {
        let names: Vec<String> = (1..=n).map(|i| format!("c{i}")).collect();
        *shared
            .addrs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            names.iter().map(|n| (n.clone(), None)).collect();
        let mut cluster = Self {
            bin: bin.to_owned(),
            out: out.to_owned(),
            cookie: format!("chaos-{:032x}", rand::random::<u128>()),
            token: format!("{:032x}", rand::random::<u128>()),
            slots: names
                .into_iter()
                .map(|name| Slot {
                    name,
                    life: None,
                    lives: 0,
                })
                .collect(),
            shared,
            events: Vec::new(),
            event_counts: std::collections::BTreeMap::new(),
            processes: Vec::new(),
        };
        for i in 0..n {
            cluster.spawn(i)?;
        }
        Ok(cluster)
    }

    /// Node names by slot.
    pub(crate) fn names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.name.clone()).collect()
    }

    /// The admin token of every node.
    pub(crate) fn token(&self) -> &str {
        &self.token
    }

    fn env_args(&self, seeds: &str) -> Vec<(String, String)> {
        vec![
            ("SHOAL_COOKIE".into(), self.cookie.clone()),
            ("SHOAL_DISCOVERY".into(), "static".into()),
            ("SHOAL_ADMIN_TOKEN".into(), self.token.clone()),
            ("SHOAL_SEEDS".into(), seeds.into()),
        ]
    }

    /// Link addresses of the live nodes other than slot `but`, comma-separated.
    fn seeds(&self, but: usize) -> String {
        let addrs: Vec<String> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != but)
            .filter_map(|(_, s)| s.life.as_ref().map(|p| p.ready.listen.to_string()))
            .collect();
        addrs.join(",")
    }

    /// Starts a process named like slot `i` (a new life if it is down; a stranger otherwise).
    pub(crate) fn spawn_named(&self, i: usize) -> io::Result<NodeProcess> {
        let env = self.env_args(&self.seeds(i));
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        NodeProcess::spawn_with_env(&self.bin, &self.slots[i].name, &["--demo"], &env)
    }

    /// Starts slot `i`'s next life.
    pub(crate) fn spawn(&mut self, i: usize) -> io::Result<()> {
        let process = self.spawn_named(i)?;
        let mut addrs = self
            .shared
            .addrs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        addrs[i].1 = process.ready.http;
        drop(addrs);
        self.processes.push(ProcessRecord {
            name: self.slots[i].name.clone(),
            creation: process.ready.creation,
        });
        self.slots[i].life = Some(process);
        self.slots[i].lives += 1;
        Ok(())
    }

    /// Ends slot `i`'s life: SIGKILL (`kill`), or SIGTERM and a wait for the exit.
    pub(crate) fn stop(&mut self, i: usize, kill: bool) {
        self.shared
            .addrs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)[i]
            .1 = None;
        let Some(mut process) = self.slots[i].life.take() else {
            return;
        };
        if !kill {
            let _ = process.signal(Signal::SIGCONT);
            let _ = process.signal(Signal::SIGTERM);
            let deadline = Instant::now() + EXIT_TIMEOUT;
            while process.is_running() && Instant::now() < deadline {
                self.collect_from(&process);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.retire(i, process);
    }

    /// Collects the last events of a life, keeps its log, and kills it.
    fn retire(&mut self, i: usize, process: NodeProcess) {
        self.collect_from(&process);
        let log = self
            .out
            .join(format!("{}.{}.log", self.slots[i].name, self.slots[i].lives));
        let _ = std::fs::copy(&process.log, log);
        drop(process);
    }

    /// Sends `signal` to slot `i`'s process.
    pub(crate) fn signal(&self, i: usize, signal: Signal) -> io::Result<()> {
        match &self.slots[i].life {
            Some(p) => p.signal(signal),
            None => Ok(()),
        }
    }

    /// Slot `i` drops all traffic with `peers` (empty: heals it).
    pub(crate) fn cut(&self, i: usize, peers: &[String]) -> io::Result<()> {
        let Some(http) = self.slots[i].life.as_ref().and_then(|p| p.ready.http) else {
            return Ok(());
        };
        let timeout = Duration::from_secs(5);
        let path = crate::cut_path(peers, timeout);
        let (status, body) = http_request(http, "POST", &path, Some(&self.token), timeout)?;
        if status == 200 {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "{} refused {path}: {body}",
                self.slots[i].name
            )))
        }
    }

    /// The HTTP address of slot `i`'s current life.
    pub(crate) fn http(&self, i: usize) -> Option<std::net::SocketAddr> {
        self.slots[i].life.as_ref().and_then(|p| p.ready.http)
    }

    /// Moves every event line printed so far into `events`.
    pub(crate) fn collect(&mut self) {
        let drained: Vec<NodeEvent> = self
            .slots
            .iter()
            .filter_map(|s| s.life.as_ref().map(|p| (s, p)))
            .flat_map(|(s, p)| p.drain_events().into_iter().map(|e| event(&s.name, &e)))
            .collect();
        self.keep(drained);
    }

    fn collect_from(&mut self, process: &NodeProcess) {
        let name = process.ready.name.clone();
        let drained = process.drain_events().iter().map(|e| event(&name, e)).collect();
        self.keep(drained);
    }

    fn keep(&mut self, events: Vec<NodeEvent>) {
        for e in events {
            *self.event_counts.entry(e.event.clone()).or_default() += 1;
            if e.event != "renewed" {
                self.events.push(e);
            }
        }
    }

    /// Sleeps `d` while collecting events.
    pub(crate) fn idle(&mut self, d: Duration) {
        let end = Instant::now() + d;
        while Instant::now() < end {
            self.collect();
            std::thread::sleep(Duration::from_millis(50).min(end.saturating_duration_since(Instant::now())));
        }
        self.collect();
    }

    /// Stops every node (SIGKILL), keeping logs.
    pub(crate) fn shutdown(&mut self) {
        for i in 0..self.slots.len() {
            self.stop(i, true);
        }
    }
}

impl Drop for ChaosCluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// An event line as the history keeps it; a line that is no [`Line`] is kept by its `event`
/// key only (so it is still counted).
fn event(observer: &str, e: &serde_json::Value) -> NodeEvent {
    let Ok(line) = serde_json::from_value::<Line>(e.clone()) else {
        return NodeEvent {
            observer: observer.to_owned(),
            event: e["event"].as_str().unwrap_or_default().to_owned(),
            ..NodeEvent::default()
        };
    };
    let reason = match &line {
        Line::NodeDown { reason, .. } => Some(reason.clone()),
        _ => None,
    };
    NodeEvent {
        observer: observer.to_owned(),
        at_us: line.at_us().unwrap_or(0),
        event: line.kind().to_owned(),
        // The ready line names its node `name`, not `node`: it is about no other member.
        node: match &line {
            Line::Ready(_) => String::new(),
            _ => line.member().map(|(node, _)| node.to_owned()).unwrap_or_default(),
        },
        reason,
        creation: line.member().map(|(_, creation)| creation),
    }
}
