//! A node with its HTTP API next to it, in one call.

use std::net::SocketAddr;

use shoal_node::{Node, NodeBuilder, NodeError};
use tokio::net::TcpListener;

/// Why [`start`] could not start the node or its HTTP API; nothing runs then.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The HTTP address could not be bound.
    #[error("cannot serve HTTP on {addr}: {source}; {fix}")]
    Http {
        /// The address asked for.
        addr: SocketAddr,
        /// What the OS said.
        source: std::io::Error,
        /// What to do.
        fix: &'static str,
    },
    /// The node did not start (a setting, its listen address, its name).
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// Starts the node `builder` describes and, if it has an HTTP address
/// ([`NodeBuilder::http`], `SHOAL_HTTP` for [`Node::from_env`]), serves this crate's API
/// there until the node stops.
///
/// The address is bound before the node starts, so port 0 works: the node advertises the
/// port the OS picked (ready line, `/api/members`, peers' views). The admin token is the
/// node's own ([`Node::admin_token`]: `SHOAL_ADMIN_TOKEN`, or
/// [`NodeBuilder::admin_token`]). Connections get the default [`crate::HttpLimits`]. Needs a
/// tokio runtime; the server runs as a task on it.
pub async fn start(builder: NodeBuilder) -> Result<Node, StartError> {
    let (builder, listener) = match builder.http_addr() {
        Some(addr) => {
            let listener = bind(addr).await?;
            let bound = listener.local_addr().map_err(|e| http_error(addr, e))?;
            (builder.http(Some(bound)), Some(listener))
        }
        None => (builder, None),
    };
    let node = builder.start().await?;
    if let Some(listener) = listener {
        let token = node.admin_token().map(str::to_owned);
        let stopped = node.clone();
        tokio::spawn(crate::serve(listener, node.clone(), token, async move {
            stopped.stopped().await
        }));
    }
    Ok(node)
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|e| http_error(addr, e))
}

fn http_error(addr: SocketAddr, source: std::io::Error) -> StartError {
    let fix = match source.kind() {
        std::io::ErrorKind::AddrInUse => {
            "another process uses that port: pick another HTTP port, or port 0 for any free one"
        }
        std::io::ErrorKind::AddrNotAvailable => {
            "that IP is not an address of this machine: use 127.0.0.1 or one of its own"
        }
        _ => "check the HTTP address",
    };
    StartError::Http { addr, source, fix }
}
