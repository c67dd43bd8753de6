//! Errors of the node driver.

use std::net::SocketAddr;

/// Why a node could not start or answer.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// A setting is missing or invalid; nothing was started.
    #[error(transparent)]
    Config(#[from] shoal_proto::ConfigError),
    /// The listen address could not be bound; nothing was started.
    #[error("cannot listen on {addr}: {source}; {fix}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
        /// What to do.
        fix: &'static str,
    },
    /// The local discovery directory could not be used; nothing was started.
    #[error("cannot use local discovery directory {path}: {source}; set --local-dir to a writable directory")]
    LocalDir {
        /// The directory.
        path: std::path::PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// This node's member record (name, addresses, roles, version) does not fit in a
    /// handshake frame, so no peer could ever authenticate it; nothing was started.
    #[error(
        "this node's member record takes {len} bytes, over the {max}-byte handshake limit; use fewer or shorter --roles"
    )]
    MemberTooLarge {
        /// Its encoded `Hello`, in bytes.
        len: usize,
        /// [`shoal_proto::HANDSHAKE_MAX_FRAME_LEN`].
        max: usize,
    },
    /// Another live node already uses this node's name, in this cluster: the node did not
    /// start, or (refused by a member after it started) stopped without joining.
    #[error(
        "node name {name} is taken: {holder}; give every node a unique --name (or stop the other node first)"
    )]
    NameTaken {
        /// The name.
        name: String,
        /// Who holds it, as far as this node can tell.
        holder: String,
    },
    /// The TLS files could not be read or do not fit together; nothing was started.
    #[error("TLS: {0}")]
    Tls(String),
}

impl NodeError {
    pub(crate) fn bind(addr: SocketAddr, source: std::io::Error) -> Self {
        let fix = match source.kind() {
            std::io::ErrorKind::AddrInUse => {
                "another process uses that port: pick another port, or port 0 for any free one"
            }
            std::io::ErrorKind::AddrNotAvailable => {
                "that IP is not an address of this machine: use 127.0.0.1 or one of its own"
            }
            std::io::ErrorKind::PermissionDenied => {
                "ports below 1024 need privileges: use a port from 1024 to 65535"
            }
            _ => "check the address",
        };
        Self::Bind { addr, source, fix }
    }
}
