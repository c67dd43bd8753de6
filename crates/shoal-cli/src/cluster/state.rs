//! The state directory's `cluster.json`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One node as recorded at start (and updated by restart).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NodeRecord {
    pub(crate) name: String,
    pub(crate) pid: u32,
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) http: Option<SocketAddr>,
    /// The node's life (creation stamp) when `start` or `restart` last saw the mesh form: a
    /// restart changes it, and so does a renewal (a node declared down while alive), so it
    /// may be stale; commands that need the current life ask the node (`/api/node`).
    #[serde(default)]
    pub(crate) creation: Option<u64>,
}

/// What `start` wrote; rewritten as each node starts, so a crashed `start` leaves a record.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct ClusterState {
    pub(crate) bin: PathBuf,
    pub(crate) nodes: Vec<NodeRecord>,
    /// `--base-port` given at start, reused on restart.
    #[serde(default)]
    pub(crate) base_port: Option<u16>,
    /// `--netns`: the network each node runs in (saved before any of it is made, so `stop`
    /// removes what a killed `start` left).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) netns: Option<super::netns::Netns>,
}

impl ClusterState {
    pub(crate) fn path(dir: &Path) -> PathBuf {
        dir.join("cluster.json")
    }

    /// The recorded cluster, or `None` if there is none.
    pub(crate) fn load(dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = Self::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let state = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is corrupt; remove the state directory {}",
                path.display(),
                dir.display()
            )
        })?;
        Ok(Some(state))
    }

    /// The recorded cluster, or an error telling the user to start one.
    pub(crate) fn load_required(dir: &Path) -> anyhow::Result<Self> {
        Self::load(dir)?.ok_or_else(|| {
            anyhow::anyhow!(
                "no cluster in {}; start one with {}",
                dir.display(),
                crate::hint::shoal(dir, "cluster start")
            )
        })
    }

    pub(crate) fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = Self::path(dir);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .with_context(|| {
                format!(
                    "cannot write {}; check the state directory is writable",
                    path.display()
                )
            })
    }

    /// Nodes whose recorded pid still runs our binary.
    pub(crate) fn live_nodes(&self) -> Vec<&NodeRecord> {
        self.nodes
            .iter()
            .filter(|n| is_our_process(n.pid, &self.bin))
            .collect()
    }
}

/// Whether `pid` is alive and runs `bin` (guards against a recycled pid).
pub(crate) fn is_our_process(pid: u32, bin: &Path) -> bool {
    let Ok(exe) = std::fs::read_link(format!("/proc/{pid}/exe")) else {
        return false;
    };
    let exe = exe.to_string_lossy();
    let exe = exe.trim_end_matches(" (deleted)");
    std::fs::canonicalize(bin).is_ok_and(|b| b.to_string_lossy() == exe) || Path::new(exe) == bin
}

/// Pids of the node processes of the cluster in `dir`, recorded or not: those whose command
/// line has `--ready-file DIR/...`, as every node `start` and `restart` spawn does. This finds
/// a node that a killed `start` spawned but had not recorded yet, and nothing else (a
/// `tail -f DIR/logs/n1.log` is left alone).
pub(crate) fn node_processes(dir: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return Vec::new();
    };
    let prefix = format!("{}/", dir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| is_node_of(*pid, &prefix))
        .collect()
}

/// Whether `pid` runs (not a zombie) with `--ready-file` followed by a path under `prefix`.
fn is_node_of(pid: u32, prefix: &str) -> bool {
    if std::fs::read_link(format!("/proc/{pid}/exe")).is_err() {
        return false;
    }
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    args.windows(2)
        .any(|w| w[0] == b"--ready-file" && w[1].starts_with(prefix.as_bytes()))
}
