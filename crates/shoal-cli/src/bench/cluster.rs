//! A throwaway local cluster of node processes for one benchmark run.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use shoal_api::Line;
use shoal_harness::NodeProcess;

/// Nodes that share a fresh cookie and a private discovery directory; all killed on drop.
pub(crate) struct BenchCluster {
    spawner: Spawner,
    pub(crate) nodes: Vec<NodeProcess>,
}

/// How to start one more node of the cluster (shared by the spawning threads).
struct Spawner {
    bin: PathBuf,
    cookie: String,
    dir: PathBuf,
    /// Flags every node gets besides the cluster's own.
    extra: Vec<String>,
}

impl BenchCluster {
    pub(crate) fn new(bin: &Path) -> anyhow::Result<Self> {
        Self::with_args(bin, &[])
    }

    /// A cluster whose nodes all get `extra` flags too.
    pub(crate) fn with_args(bin: &Path, extra: &[&str]) -> anyhow::Result<Self> {
        let cookie: String = format!("bench-{:032x}", rand::random::<u128>());
        let dir = std::env::temp_dir().join(format!(
            "shoal-bench-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Self {
            spawner: Spawner {
                bin: bin.to_path_buf(),
                cookie,
                dir,
                extra: extra.iter().map(|a| a.to_string()).collect(),
            },
            nodes: Vec::new(),
        })
    }

    /// The cluster's cookie, for a node started inside this process.
    pub(crate) fn cookie(&self) -> &str {
        &self.spawner.cookie
    }

    /// Starts one node per name at once and waits until every node sees every other.
    pub(crate) fn start_formed(bin: &Path, names: &[String]) -> anyhow::Result<Self> {
        Self::start_formed_with(bin, names, &[])
    }

    /// [`BenchCluster::start_formed`] with `extra` flags for every node.
    pub(crate) fn start_formed_with(bin: &Path, names: &[String], extra: &[&str]) -> anyhow::Result<Self> {
        let mut cluster = Self::with_args(bin, extra)?;
        cluster.nodes = cluster.spawn_all(names)?;
        let peers: Vec<&str> = names.iter().map(String::as_str).collect();
        for node in &cluster.nodes {
            wait_sees_all(node, &peers, Duration::from_secs(30)).ok_or_else(|| {
                anyhow::anyhow!("{} did not see all {} nodes", node.ready.name, names.len())
            })?;
        }
        Ok(cluster)
    }

    /// Starts one node per name, all at once, and waits for their ready lines.
    pub(crate) fn spawn_all(&self, names: &[String]) -> anyhow::Result<Vec<NodeProcess>> {
        let spawner = &self.spawner;
        std::thread::scope(|s| {
            let handles: Vec<_> = names
                .iter()
                .map(|name| s.spawn(move || spawner.spawn(name)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().map_err(|_| anyhow::anyhow!("spawn thread panicked"))?)
                .collect()
        })
    }

    /// Starts one node and waits for its ready line.
    pub(crate) fn spawn(&self, name: &str) -> anyhow::Result<NodeProcess> {
        self.spawner.spawn(name)
    }
}

impl Spawner {
    fn spawn(&self, name: &str) -> anyhow::Result<NodeProcess> {
        let dir = self.dir.to_string_lossy();
        let mut args = vec![
            "--cookie",
            &self.cookie,
            "--discovery",
            "local",
            "--local-dir",
            &dir,
            "--log",
            "warn",
        ];
        args.extend(self.extra.iter().map(String::as_str));
        NodeProcess::spawn(&self.bin, name, &args).with_context(|| format!("starting node {name}"))
    }
}

impl Drop for BenchCluster {
    fn drop(&mut self) {
        self.nodes.clear();
        let _ = std::fs::remove_dir_all(&self.spawner.dir);
    }
}

/// Waits until `node` has printed `node_up` for each of `peers`; returns the `at_us` of the
/// last one, or `None` on timeout.
pub(crate) fn wait_sees_all(node: &NodeProcess, peers: &[&str], timeout: Duration) -> Option<u64> {
    let mut missing: Vec<&str> = peers.iter().copied().filter(|p| *p != node.ready.name).collect();
    let mut last = 0;
    while !missing.is_empty() {
        let Line::NodeUp { node: up, at_us, .. } =
            node.wait_line(|e| matches!(e, Line::NodeUp { .. }), timeout)?
        else {
            continue;
        };
        if let Some(i) = missing.iter().position(|p| up == *p) {
            missing.swap_remove(i);
            last = last.max(at_us);
        }
    }
    Some(last)
}
