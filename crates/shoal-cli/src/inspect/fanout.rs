//! Asking many nodes at once, each with its own deadline.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use shoal_api::{http_request, http_request_with_body};

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
pub(crate) struct Answer {
    pub(crate) node: String,
    pub(crate) result: Result<Value, String>,
}

/// GETs `path` from every target in parallel, in the targets' order.
pub(crate) fn all(targets: &[Target], path: &str, timeout: Duration) -> Vec<Answer> {
    std::thread::scope(|s| {
        let handles: Vec<_> = targets
            .iter()
            .map(|t| {
                s.spawn(move || Answer {
                    node: t.name.clone(),
                    result: t
                        .http_addr()
                        .map_err(|e| e.to_string())
                        .and_then(|addr| get(addr, path, timeout))
                        .map_err(|e| t.down.clone().unwrap_or(e)),
                })
            })
            .collect();
        handles
            .into_iter()
            .zip(targets)
            .map(|(h, t)| {
                h.join().unwrap_or_else(|_| Answer {
                    node: t.name.clone(),
                    result: Err("query thread panicked".into()),
                })
            })
            .collect()
    })
}

/// GETs one JSON document.
pub(crate) fn get(addr: SocketAddr, path: &str, timeout: Duration) -> Result<Value, String> {
    answer(http_request(addr, "GET", path, None, timeout), addr)
}

/// POSTs with the admin token.
pub(crate) fn post(addr: SocketAddr, path: &str, token: &str, timeout: Duration) -> Result<Value, String> {
    answer(http_request(addr, "POST", path, Some(token), timeout), addr)
}

/// POSTs a JSON `body` with the admin token.
pub(crate) fn post_body(
    addr: SocketAddr,
    path: &str,
    token: &str,
    body: &[u8],
    timeout: Duration,
) -> Result<Value, String> {
    answer(
        http_request_with_body(addr, "POST", path, Some(token), body, timeout),
        addr,
    )
}

fn answer(response: std::io::Result<(u16, String)>, addr: SocketAddr) -> Result<Value, String> {
    let (status, body) = response.map_err(|e| format!("no answer from {addr}: {e}"))?;
    let value: Value =
        serde_json::from_str(&body).map_err(|_| format!("{addr} answered {status}: {body}"))?;
    if status == 200 {
        Ok(value)
    } else {
        Err(value["error"]
            .as_str()
            .map_or_else(|| format!("HTTP {status}"), str::to_owned))
    }
}
