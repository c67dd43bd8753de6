//! A small blocking HTTP/1.1 client for the API on loopback (one request per connection, no
//! client crate needed for JSON), and typed reads of its answers ([`get`], [`post`]).
//!
//! Every function takes a timeout that bounds the connect and each read, so a paused node
//! (SIGSTOP) costs the caller at most that long.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long [`http_get`] and [`http_post`] wait to connect, and for each read.
const TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `path` from `addr`; returns the status code and body. Times out after 5 s.
pub fn http_get(addr: SocketAddr, path: &str) -> io::Result<(u16, String)> {
    http_request(addr, "GET", path, None, TIMEOUT)
}

/// POSTs an empty body to `path`, with `Authorization: Bearer <token>` when given.
pub fn http_post(addr: SocketAddr, path: &str, bearer: Option<&str>) -> io::Result<(u16, String)> {
    http_request(addr, "POST", path, bearer, TIMEOUT)
}

/// Sends `method path` with an empty body (and a bearer token when given); `timeout` bounds
/// the connect and each read.
pub fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    timeout: Duration,
) -> io::Result<(u16, String)> {
    http_request_with_body(addr, method, path, bearer, b"", timeout)
}

/// Sends `method path` with `body` as `application/json` (and a bearer token when given);
/// returns the status code and body. `timeout` bounds the connect and each read.
pub fn http_request_with_body(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let kind = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}{kind}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| io::Error::other("no HTTP header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line in {head:?}")))?;
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    Ok((status, if chunked { dechunk(body) } else { body.to_string() }))
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Why a typed request gave no answer of the expected type. Its `Display` is the line the
/// `shoal` command prints for a node that did not answer.
#[derive(Debug)]
pub enum Failure {
    /// No HTTP answer: the connection was refused, timed out or broke.
    NoAnswer {
        /// The node's HTTP address.
        addr: SocketAddr,
        /// What the socket said.
        error: io::Error,
    },
    /// An error answer ([`crate::ErrorBody`]), or a status without one.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The `error` message, or `HTTP <status>` if the body had none.
        message: String,
    },
    /// An answer whose body is not the expected JSON.
    BadBody {
        /// The node's HTTP address.
        addr: SocketAddr,
        /// The HTTP status.
        status: u16,
        /// The body as received.
        body: String,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoAnswer { addr, error } => write!(f, "no answer from {addr}: {error}"),
            Self::Refused { message, .. } => f.write_str(message),
            Self::BadBody { addr, status, body } => write!(f, "{addr} answered {status}: {body}"),
        }
    }
}

impl std::error::Error for Failure {}

/// GETs `path` and reads a 200 answer as `T`.
pub fn get<T: serde::de::DeserializeOwned>(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> Result<T, Failure> {
    typed(addr, http_request(addr, "GET", path, None, timeout))
}

/// POSTs `body` (JSON, or empty) with the admin token `bearer` and reads a 200 answer as `T`.
pub fn post<T: serde::de::DeserializeOwned>(
    addr: SocketAddr,
    path: &str,
    bearer: Option<&str>,
    body: &[u8],
    timeout: Duration,
) -> Result<T, Failure> {
    typed(
        addr,
        http_request_with_body(addr, "POST", path, bearer, body, timeout),
    )
}

/// A 200 answer as `T`; any other status as [`Failure::Refused`] with the body's
/// [`crate::ErrorBody`] message.
fn typed<T: serde::de::DeserializeOwned>(
    addr: SocketAddr,
    response: io::Result<(u16, String)>,
) -> Result<T, Failure> {
    let (status, body) = response.map_err(|error| Failure::NoAnswer { addr, error })?;
    if status == 200 {
        return serde_json::from_str(&body).map_err(|_| Failure::BadBody { addr, status, body });
    }
    match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(value) => Err(Failure::Refused {
            status,
            message: serde_json::from_value::<crate::ErrorBody>(value)
                .map_or_else(|_| format!("HTTP {status}"), |e| e.error),
        }),
        Err(_) => Err(Failure::BadBody { addr, status, body }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 4001))
    }

    fn read(status: u16, body: &str) -> Result<crate::views::Health, String> {
        typed(addr(), Ok((status, body.to_owned()))).map_err(|e| e.to_string())
    }

    #[test]
    fn answers_read_as_their_view_and_errors_as_their_message() {
        assert_eq!(read(200, r#"{"status":"ok"}"#), Ok(crate::views::Health::ok()));
        assert_eq!(
            read(404, r#"{"error":"no actor 7@n1 on this node"}"#),
            Err("no actor 7@n1 on this node".into())
        );
        assert_eq!(read(400, r#"{"reason":"?"}"#), Err("HTTP 400".into()));
        assert_eq!(
            read(502, "Bad Gateway"),
            Err("127.0.0.1:4001 answered 502: Bad Gateway".into())
        );
        assert_eq!(read(200, "[]"), Err("127.0.0.1:4001 answered 200: []".into()));
        let refused = typed::<crate::views::Health>(addr(), Err(io::Error::other("refused")));
        assert_eq!(
            refused.map_err(|e| e.to_string()),
            Err("no answer from 127.0.0.1:4001: refused".into())
        );
    }

    #[test]
    fn a_chunked_body_is_put_back_together() {
        assert_eq!(dechunk("4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"), "{\"a\":1}");
    }
}
