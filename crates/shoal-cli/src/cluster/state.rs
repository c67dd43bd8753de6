//! The state directory's `cluster.json`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// One node as recorded at start.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct NodeRecord {
    pub(crate) name: String,
    pub(crate) pid: u32,
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) http: Option<SocketAddr>,
    /// Creation stamp from the ready line; a restart changes it.
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
                "no cluster in {}; start one with `shoal cluster start`",
                dir.display()
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

/// Pids of processes whose command line names a path inside `dir` (every node of a cluster
/// does: its cookie file, discovery directory and ready file live there). This finds nodes
/// that a killed `start` spawned but had not yet recorded.
pub(crate) fn processes_using(dir: &Path) -> Vec<u32> {
    let Ok(dir) = std::fs::canonicalize(dir) else {
        return Vec::new();
    };
    let prefix = format!("{}/", dir.display());
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmdline
                .split(|b| *b == 0)
                .any(|arg| arg.starts_with(prefix.as_bytes()))
        })
        .collect()
}
