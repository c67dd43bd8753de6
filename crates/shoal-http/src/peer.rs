//! Asking a peer's HTTP API, for the dashboard's gathering: one request per connection,
//! within a deadline, with the answer's size capped.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;
use tokio::net::TcpStream;
use tokio_util::task::AbortOnDropHandle;

/// Largest answer read from a peer, in bytes.
pub(crate) const MAX_ANSWER: usize = 16 << 20;

/// A peer's answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) content_type: Option<HeaderValue>,
    pub(crate) body: Bytes,
}

/// One request to `addr`: `method` `path` (with its query), `bearer` forwarded as the
/// `Authorization` header, `body` as JSON. Fails with a sentence naming the peer's address
/// when it cannot be reached, does not answer within `deadline`, or answers more than
/// [`MAX_ANSWER`] bytes. Nothing of it outlives the call.
pub(crate) async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    bearer: Option<HeaderValue>,
    body: Bytes,
    deadline: Duration,
) -> Result<Answer, String> {
    let ask = async {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("cannot connect to {addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = http1::handshake::<_, Full<Bytes>>(TokioIo::new(stream))
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let _conn = AbortOnDropHandle::new(tokio::spawn(conn));
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, addr.to_string())
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(bearer) = bearer {
            req = req.header(header::AUTHORIZATION, bearer);
        }
        let req = req
            .body(Full::new(body))
            .map_err(|e| format!("bad request to {addr}: {e}"))?;
        let answer = sender
            .send_request(req)
            .await
            .map_err(|e| format!("{addr} did not answer: {e}"))?;
        let status = answer.status();
        let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
        let body = Limited::new(answer.into_body(), MAX_ANSWER)
            .collect()
            .await
            .map_err(|e| format!("reading the answer of {addr}: {e}"))?
            .to_bytes();
        Ok(Answer {
            status,
            content_type,
            body,
        })
    };
    match tokio::time::timeout(deadline, ask).await {
        Ok(answer) => answer,
        Err(_) => Err(format!(
            "{addr} did not answer within {} ms",
            deadline.as_millis()
        )),
    }
}

/// `GET path` of `addr`, read as `T`; a status other than 200 is an error with the peer's
/// message.
pub(crate) async fn get_json<T: DeserializeOwned>(
    addr: SocketAddr,
    path: &str,
    deadline: Duration,
) -> Result<T, String> {
    let answer = request(addr, Method::GET, path, None, Bytes::new(), deadline).await?;
    if answer.status != StatusCode::OK {
        let text = String::from_utf8_lossy(&answer.body);
        return Err(format!("{addr} answered {}: {}", answer.status, text.trim()));
    }
    serde_json::from_slice(&answer.body)
        .map_err(|e| format!("{addr} answered {path} with an unexpected shape: {e}"))
}
