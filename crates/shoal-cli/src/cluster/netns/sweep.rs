//! Removing a `--netns` cluster's network by its id, and sweeping the networks of clusters
//! whose launcher state is gone.
//!
//! Every resource name carries the id: namespaces `shoal-<id>-*`, links `shn<id>*`. The marker
//! `/run/shoal-netns/<id>.json` is written before the first resource is made and removed
//! after the last is gone, so a resource without a marker is stale. With a marker, the id is
//! stale once its launcher process is gone and its state directory's `cluster.json` does not
//! record it: `cluster stop` can no longer find it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::{Deserialize, Serialize};
use shoal_api::wait_until;

use super::{ip, ip_output};
use crate::cluster::state::ClusterState;

/// Where markers live (a tmpfs: gone at reboot, as namespaces and links are).
const MARKERS: &str = "/run/shoal-netns";

/// What a marker says about the cluster of its id.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    /// The state directory whose `cluster.json` records the cluster.
    state_dir: PathBuf,
    /// The `cluster start` that makes it, and that process's start time (clock ticks since
    /// boot), so a recycled pid does not count.
    launcher_pid: u32,
    launcher_start: u64,
}

fn marker_path(id: &str) -> PathBuf {
    Path::new(MARKERS).join(format!("{id}.json"))
}

/// Where `ip netns exec` finds namespace `ns`'s `/etc` files (its `resolv.conf`).
pub(crate) fn resolv_dir(ns: &str) -> PathBuf {
    Path::new("/etc/netns").join(ns)
}

/// Writes id's marker, naming `state_dir` and this process. Call before making anything.
pub(crate) fn mark(id: &str, state_dir: &Path) -> anyhow::Result<()> {
    let pid = std::process::id();
    let marker = Marker {
        state_dir: state_dir.to_path_buf(),
        launcher_pid: pid,
        launcher_start: start_time(pid).unwrap_or(0),
    };
    std::fs::create_dir_all(MARKERS)
        .and_then(|()| std::fs::write(marker_path(id), serde_json::to_vec(&marker).unwrap_or_default()))
        .with_context(|| format!("cannot write {}", marker_path(id).display()))
}

/// A process's start time (field 22 of `/proc/PID/stat`), `None` if it is gone.
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(") ")?;
    rest.split(' ').nth(19)?.parse().ok()
}

/// The ids of every `--netns` namespace, link and marker on this host.
fn ids() -> BTreeSet<String> {
    let namespaces = ip_output(&["netns", "list"]);
    let from_ns = namespaces.lines().filter_map(|l| {
        l.split_whitespace()
            .next()?
            .strip_prefix("shoal-")?
            .split('-')
            .next()
    });
    let links = ip_output(&["-o", "link", "show"]);
    let from_links = links.lines().filter_map(|l| {
        let name = l.split(": ").nth(1)?.split('@').next()?;
        name.strip_prefix("shn").map(|rest| rest.get(..6).unwrap_or(rest))
    });
    let markers: Vec<String> = std::fs::read_dir(MARKERS)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some(e.file_name().to_str()?.strip_suffix(".json")?.to_owned()))
        .collect();
    from_ns
        .chain(from_links)
        .map(str::to_owned)
        .chain(markers)
        .filter(|id| id.len() == 6 && id.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect()
}

/// Whether nothing can find id's cluster any more (see the module doc).
fn is_stale(id: &str) -> bool {
    let Some(marker) = std::fs::read(marker_path(id))
        .ok()
        .and_then(|b| serde_json::from_slice::<Marker>(&b).ok())
    else {
        return true;
    };
    if start_time(marker.launcher_pid).is_some_and(|t| t == marker.launcher_start) {
        return false;
    }
    let recorded = ClusterState::load(&marker.state_dir)
        .ok()
        .flatten()
        .and_then(|s| s.netns)
        .is_some_and(|n| n.id == id);
    !recorded
}

/// Tears down every stale `--netns` network on this host (root only; errors are printed and
/// skipped). Returns the ids removed.
pub(crate) fn sweep() -> Vec<String> {
    if !nix::unistd::geteuid().is_root() {
        return Vec::new();
    }
    let mut swept = Vec::new();
    for id in ids().into_iter().filter(|id| is_stale(id)) {
        match teardown(&id) {
            Ok(()) => {
                eprintln!("removed the network namespaces and bridge of a stale --netns cluster (id {id})");
                swept.push(id);
            }
            Err(e) => eprintln!("warning: cannot remove stale --netns cluster {id}: {e:#}"),
        }
    }
    swept
}

/// Removes everything of id: SIGKILLs every process in its namespaces (dnsmasq, a node left
/// over), deletes the namespaces and their `/etc/netns` directories, the links (bridge,
/// veths) and the marker; then checks that none is left, naming what is.
pub(crate) fn teardown(id: &str) -> anyhow::Result<()> {
    let prefix = format!("shoal-{id}-");
    let namespaces: Vec<String> = ip_output(&["netns", "list"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
        .map(str::to_owned)
        .collect();
    let pids = |ns: &[String]| -> Vec<i32> {
        ns.iter()
            .flat_map(|n| {
                ip_output(&["netns", "pids", n])
                    .split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<i32>>()
            })
            .collect()
    };
    for pid in pids(&namespaces) {
        let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let _ = wait_until(Duration::from_secs(3), || {
        pids(&namespaces).is_empty().then_some(())
    });
    for ns in &namespaces {
        let _ = ip(&["netns", "del", ns]);
        let _ = std::fs::remove_dir_all(resolv_dir(ns));
    }
    for link in links(id) {
        let _ = ip(&["link", "del", &link]);
    }
    let left: Vec<String> = ip_output(&["netns", "list"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&prefix))
        .map(str::to_owned)
        .chain(links(id))
        .collect();
    if !left.is_empty() {
        bail!(
            "{} still exist after removal; remove them with `ip netns del NAME` / `ip link del NAME`",
            left.join(", ")
        );
    }
    let _ = std::fs::remove_file(marker_path(id));
    Ok(())
}

/// The links of this host named `shn<id>*`.
fn links(id: &str) -> Vec<String> {
    let prefix = format!("shn{id}");
    ip_output(&["-o", "link", "show"])
        .lines()
        .filter_map(|l| l.split(": ").nth(1)?.split('@').next())
        .filter(|n| n.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}
