//! Asking many nodes at once, each with its own deadline, and reading their answers as the
//! API's typed views ([`shoal_api::views`]).

use std::net::SocketAddr;
use std::time::Duration;

use serde::de::DeserializeOwned;
use shoal_api::client;

/// A node to ask.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) http: Option<SocketAddr>,
    /// Why the node cannot answer, when that is known before asking (its recorded process
    /// no longer runs) and the command that repairs it: said instead of the network error
    /// if it does not answer.
    pub(crate) down: Option<String>,
}

impl Target {
    pub(crate) fn http_addr(&self) -> anyhow::Result<SocketAddr> {
        self.http.ok_or_else(|| {
            anyhow::anyhow!("node {} has no HTTP address (started with --no-http?)", self.name)
        })
    }
}

/// One node's answer, or why there is none.
#[derive(Debug)]
pub(crate) struct Answer<T> {
    pub(crate) node: String,
    pub(crate) result: Result<T, String>,
}

/// GETs `path` from every target in parallel, in the targets' order.
pub(crate) fn all<T: DeserializeOwned + Send>(
    targets: &[Target],
    path: &str,
    timeout: Duration,
) -> Vec<Answer<T>> {
    let results = shoal_api::fan_out(targets, |t| {
        t.http_addr()
            .map_err(|e| e.to_string())
            .and_then(|addr| get(addr, path, timeout))
            .map_err(|e| t.down.clone().unwrap_or(e))
    });
    results
        .into_iter()
        .zip(targets)
        .map(|(result, t)| Answer {
            node: t.name.clone(),
            result: result.unwrap_or_else(|| Err("query thread panicked".into())),
        })
        .collect()
}

/// GETs one JSON document.
pub(crate) fn get<T: DeserializeOwned>(addr: SocketAddr, path: &str, timeout: Duration) -> Result<T, String> {
    client::get(addr, path, timeout).map_err(|e| e.to_string())
}

/// POSTs with the admin token.
pub(crate) fn post<T: DeserializeOwned>(
    addr: SocketAddr,
    path: &str,
    token: &str,
    timeout: Duration,
) -> Result<T, String> {
    client::post(addr, path, Some(token), b"", timeout).map_err(|e| e.to_string())
}

/// POSTs a JSON `body` with the admin token.
pub(crate) fn post_body<T: DeserializeOwned>(
    addr: SocketAddr,
    path: &str,
    token: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<T, String> {
    client::post(addr, path, Some(token), body, timeout).map_err(|e| e.to_string())
}
