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

/// This node's entry in the local discovery directory.
#[derive(Debug)]
pub struct LocalDirectory {
    dir: PathBuf,
    own_file: PathBuf,
}

impl LocalDirectory {
    /// The default base directory: `$XDG_RUNTIME_DIR/shoal`, else `/tmp/shoal-<uid>`.
    pub fn default_base() -> PathBuf {
        match std::env::var_os("XDG_RUNTIME_DIR") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("shoal"),
            _ => std::env::temp_dir().join(format!("shoal-{}", nix::unistd::getuid())),
        }
    }

    /// Writes this node's entry under `base/<cookie fingerprint>/`.
    pub fn register(base: &Path, cookie: &Cookie, local: &Member) -> Result<Self, NodeError> {
        let dir = base.join(cookie.fingerprint());
        let err = |source| NodeError::LocalDir {
            path: dir.clone(),
            source,
        };
        fs::create_dir_all(&dir).map_err(err)?;
        let entry = LocalEntry {
            name: local.id.name.to_string(),
            listen: local.listen,
            pid: std::process::id(),
        };
        let own_file = dir.join(format!("{}.json", entry.name));
        if let Some(holder) = holder_of(&own_file) {
            return Err(NodeError::NameTaken {
                name: entry.name,
                holder: format!("process {} on this host listens on {}", holder.pid, holder.listen),
            });
        }
        let tmp = dir.join(format!(".{}.{}.tmp", entry.name, entry.pid));
        let json = serde_json::to_vec(&entry).map_err(|e| err(io::Error::other(e)))?;
        fs::write(&tmp, json)
            .and_then(|()| fs::rename(&tmp, &own_file))
            .map_err(err)?;
        Ok(Self { dir, own_file })
    }

    /// Entries of other live processes. Unreadable files are skipped; files of dead processes
    /// are removed.
    pub fn neighbours(&self) -> Vec<LocalEntry> {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let me = std::process::id();
        let mut found = Vec::new();
        for path in read.flatten().map(|e| e.path()) {
            if path == self.own_file || path.extension().is_none_or(|x| x != "json") {
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

    /// Removes this node's entry (only if it is still ours: a restarted node may own it now).
    pub fn unregister(&self) {
        let ours = fs::read(&self.own_file)
            .ok()
            .and_then(|b| serde_json::from_slice::<LocalEntry>(&b).ok())
            .is_some_and(|e| e.pid == std::process::id());
        if ours {
            let _ = fs::remove_file(&self.own_file);
        }
    }
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
