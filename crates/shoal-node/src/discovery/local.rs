//! Same-host discovery through a per-user directory; no daemon.

use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shoal_proto::{Cookie, Member};

use crate::error::NodeError;

/// One node's announcement file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalEntry {
    /// Node name.
    pub name: String,
    /// Its link/gossip address.
    pub listen: SocketAddr,
    /// Its OS process id, used to skip entries of dead processes.
    pub pid: u32,
}

/// This node's entries in the local discovery directory: one under each of its cookie's
/// secrets (two during a rotation), so it finds, and is found by, nodes that share any.
#[derive(Debug)]
pub struct LocalDirectory {
    /// Each directory and this node's file in it.
    entries: Vec<(PathBuf, PathBuf)>,
}

impl LocalDirectory {
    /// The default base directory: `$XDG_RUNTIME_DIR/shoal`, else `/tmp/shoal-<uid>`.
    pub fn default_base() -> PathBuf {
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("shoal"),
            _ => std::env::temp_dir().join(format!("shoal-{}", nix::unistd::getuid())),
        }
    }

    /// Writes this node's entry under `base/<fingerprint>/` for each secret of `cookie`.
    /// Fails if a live node of this host already holds the name in any of them.
    pub fn register(base: &Path, cookie: &Cookie, local: &Member) -> Result<Self, NodeError> {
        let entry = LocalEntry {
            name: local.id.name.to_string(),
            listen: local.listen,
            pid: std::process::id(),
        };
        let dirs: Vec<PathBuf> = cookie.fingerprints().iter().map(|f| base.join(f)).collect();
        for dir in &dirs {
            if let Some(holder) = holder_of(&dir.join(format!("{}.json", entry.name))) {
                return Err(NodeError::NameTaken {
                    name: entry.name,
                    holder: format!("process {} on this host listens on {}", holder.pid, holder.listen),
                });
            }
        }
        let mut entries = Vec::new();
        for dir in dirs {
            let own_file = write_entry(&dir, &entry)?;
            entries.push((dir, own_file));
        }
        Ok(Self { entries })
    }

    /// Entries of other live processes, each once. Unreadable files are skipped; files of
    /// dead processes are removed.
    pub fn neighbours(&self) -> Vec<LocalEntry> {
        let mut found: Vec<LocalEntry> = Vec::new();
        for (dir, own_file) in &self.entries {
            for entry in read_dir(dir, own_file) {
                if !found.contains(&entry) {
                    found.push(entry);
                }
            }
        }
        found
    }

    /// Removes this node's entries (only those still ours: a restarted node may own them).
    pub fn unregister(&self) {
        for (_, own_file) in &self.entries {
            let ours = fs::read(own_file)
                .ok()
                .and_then(|b| serde_json::from_slice::<LocalEntry>(&b).ok())
                .is_some_and(|e| e.pid == std::process::id());
            if ours {
                let _ = fs::remove_file(own_file);
            }
        }
    }
}

/// Writes `entry` into `dir` (created if missing), atomically; returns the file.
fn write_entry(dir: &Path, entry: &LocalEntry) -> Result<PathBuf, NodeError> {
    let err = |source| NodeError::LocalDir {
        path: dir.to_path_buf(),
        source,
    };
    fs::create_dir_all(dir).map_err(err)?;
    let own_file = dir.join(format!("{}.json", entry.name));
    let tmp = dir.join(format!(".{}.{}.tmp", entry.name, entry.pid));
    let json = serde_json::to_vec(entry).map_err(|e| err(io::Error::other(e)))?;
    fs::write(&tmp, json)
        .and_then(|()| fs::rename(&tmp, &own_file))
        .map_err(err)?;
    Ok(own_file)
}

/// The entries of other live processes in `dir` (not `own_file`).
fn read_dir(dir: &Path, own_file: &Path) -> Vec<LocalEntry> {
    let Ok(read) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let me = std::process::id();
    let mut found = Vec::new();
    for path in read.flatten().map(|e| e.path()) {
        if path == own_file || path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let Some(entry) = fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<LocalEntry>(&b).ok())
        else {
            continue;
        };
        if !process_alive(entry.pid) {
            let _ = fs::remove_file(&path);
        } else if entry.pid != me {
            found.push(entry);
        }
    }
    found
}

/// The entry in `file` if it belongs to another live node: its process exists and its address
/// takes connections (a stale file whose pid was reused by another program does not count).
fn holder_of(file: &Path) -> Option<LocalEntry> {
    let entry = serde_json::from_slice::<LocalEntry>(&fs::read(file).ok()?).ok()?;
    let live = entry.pid != std::process::id()
        && process_alive(entry.pid)
        && std::net::TcpStream::connect_timeout(&entry.listen, std::time::Duration::from_millis(500)).is_ok();
    live.then_some(entry)
}

fn process_alive(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else { return false };
    // Signal 0 checks existence; EPERM means it exists but belongs to someone else.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(e) => e == nix::errno::Errno::EPERM,
    }
}

#[cfg(test)]
mod tests {
    use shoal_proto::{Creation, Member, NodeId, NodeName, ProtocolRange};

    use super::*;

    fn member(name: &str) -> Member {
        let creation = Creation(1);
        Member {
            id: NodeId::new(NodeName::new(name).unwrap(), creation),
            listen: "127.0.0.1:1".parse().unwrap(),
            http: None,
            roles: Vec::new(),
            version: "test".into(),
            protocol: ProtocolRange::CURRENT,
            process: creation,
        }
    }

    #[test]
    fn a_node_is_announced_under_each_secret_of_a_rotation_and_unannounced_from_all() {
        let base = std::env::temp_dir().join(format!("shoal-local-test-{}", std::process::id()));
        let both = Cookie::new("new\nold").unwrap();
        let dir = LocalDirectory::register(&base, &both, &member("n1")).unwrap();
        for fingerprint in both.fingerprints() {
            assert!(base.join(&fingerprint).join("n1.json").exists(), "{fingerprint}");
        }
        // A node holding only the old secret looks where this one announced itself.
        let old = Cookie::new("old").unwrap();
        assert!(base.join(&old.fingerprints()[0]).join("n1.json").exists());
        dir.unregister();
        for fingerprint in both.fingerprints() {
            assert!(!base.join(&fingerprint).join("n1.json").exists());
        }
        let _ = fs::remove_dir_all(&base);
    }
}
