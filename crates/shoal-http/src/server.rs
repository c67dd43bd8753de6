//! The accept loop and the connection tasks: axum's router driven by hyper's HTTP/1 server,
//! with the limits of [`HttpLimits`].
//!
//! `axum::serve` gives no access to hyper's builder and sets no timer, so it has no header
//! timeout and no connection cap: a client that connects and sends nothing holds a
//! descriptor forever. This loop accepts, applies the [`Slots`] rules, and serves each
//! connection in a task of a [`JoinSet`] it owns, so no task outlives [`serve`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::limits::HttpLimits;
use crate::send_deadline::SendDeadline;
use crate::slots::{Admission, Slot, Slots};
use crate::stats::HttpCounters;

/// What a refused connection reads before it is closed.
const REFUSAL: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
content-length: 74\r\nconnection: close\r\n\r\n\
{\"error\":\"too many open HTTP connections to this node; retry in a moment\"}";

/// How long the loop waits after a failed `accept` (out of descriptors, say) before the next.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Largest request head and read buffer per connection, in bytes (hyper's floor is 8 KiB).
const MAX_BUF: usize = 16 * 1024;

/// Serves `router` on `listener` within `limits` until `shutdown` resolves, then lets open
/// requests finish for `limits.shutdown_grace` and drops what is left. Every connection task
/// has ended when this returns; dropping the future ends them too.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    counters: Arc<HttpCounters>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let slots = Slots::new(limits.max_connections.get());
    let stop = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let Some(slot) = admit(&slots, &counters, &stream) else { continue };
                    let conn = Connection {
                        router: router.clone(),
                        limits: limits.clone(),
                        counters: counters.clone(),
                        stop: stop.clone(),
                    };
                    tasks.spawn(conn.serve(stream, slot));
                }
                Err(e) => {
                    HttpCounters::bump(&counters.accept_errors);
                    tracing::warn!(error = %e, "cannot accept an HTTP connection; retrying in 100 ms");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                }
            },
        }
    }
    drop(listener);
    stop.cancel();
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while tasks.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        tracing::warn!(
            left = tasks.len(),
            "HTTP connections still open after the grace period; dropping them"
        );
    }
    tasks.shutdown().await;
}

/// Applies the [`Slots`] rules; a refused stream is answered `503` (if its socket takes the
/// bytes without waiting) and closed.
fn admit(slots: &Arc<Slots>, counters: &HttpCounters, stream: &TcpStream) -> Option<Slot> {
    match slots.admit() {
        Admission::Admitted { slot, evicted } => {
            if evicted {
                HttpCounters::bump(&counters.evicted);
            }
            Some(slot)
        }
        Admission::Full => {
            HttpCounters::bump(&counters.refused);
            let _ = stream.try_write(REFUSAL);
            None
        }
    }
}

/// What a connection task needs besides its stream and slot.
struct Connection {
    router: Router,
    limits: HttpLimits,
    counters: Arc<HttpCounters>,
    stop: CancellationToken,
}

impl Connection {
    /// Serves one connection until the client closes it, a limit closes it, the slot table
    /// evicts it, or shutdown comes: then an idle connection closes at once, and a busy one
    /// after its open requests are answered.
    async fn serve(self, stream: TcpStream, slot: Slot) {
        let _open = OpenGuard::new(&self.counters);
        HttpCounters::bump(&self.counters.accepted);
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(SendDeadline::new(
            stream,
            self.limits.send_timeout,
            self.counters.clone(),
        ));
        let router = TowerToHyperService::new(self.router);
        let service = service_fn(|request: hyper::Request<Incoming>| {
            let busy = slot.busy();
            let answer = hyper::service::Service::call(&router, request);
            async move {
                let answer = answer.await;
                drop(busy);
                answer
            }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            // A request read in full is answered even if its client has closed its side:
            // without this, hyper drops it unhandled when it sees the end of file first (a
            // caller that gave up on a paused node), so whether it ran would be a race.
            .half_close(true)
            .max_buf_size(MAX_BUF);
        let conn = builder.serve_connection(io, service);
        let mut conn = std::pin::pin!(conn);
        let ended = tokio::select! {
            ended = conn.as_mut() => ended,
            () = slot.evicted() => return,
            () = self.stop.cancelled() => {
                if slot.is_idle() {
                    // Nothing to finish; hyper's graceful path would wait for a half-sent
                    // head until the header timeout.
                    return;
                }
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = ended {
            if e.is_timeout() {
                HttpCounters::bump(&self.counters.header_timeouts);
            }
            tracing::debug!(error = %e, "HTTP connection ended with an error");
        }
    }
}

/// Counts a connection as open while it lives.
struct OpenGuard<'a>(&'a HttpCounters);

impl<'a> OpenGuard<'a> {
    fn new(counters: &'a HttpCounters) -> Self {
        counters.open.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(counters)
    }
}

impl Drop for OpenGuard<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::REFUSAL;

    #[test]
    fn the_refusal_declares_its_body_length() {
        let text = std::str::from_utf8(REFUSAL).unwrap_or_default();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or_default();
        let declared = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .and_then(|n| n.parse::<usize>().ok());
        assert_eq!(declared, Some(body.len()), "{text}");
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok(), "{body}");
    }
}
