//! A stream whose writes fail once they make no progress for a while: a client that stops
//! reading its response cannot hold the connection (and the response) forever.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep, sleep_until};

use crate::stats::HttpCounters;

/// Wraps `S`; a write that stays blocked for `timeout` fails with
/// [`io::ErrorKind::TimedOut`], which ends the connection. The clock starts when a write
/// first finds the socket full and restarts at every write that goes through, as nginx's
/// `send_timeout` does. Reads pass through untouched (hyper's header timeout covers them).
#[derive(Debug)]
pub(crate) struct SendDeadline<S> {
    inner: S,
    timeout: Duration,
    /// Armed while a write is blocked.
    blocked: Option<Pin<Box<Sleep>>>,
    counters: Arc<HttpCounters>,
}

impl<S> SendDeadline<S> {
    pub(crate) fn new(inner: S, timeout: Duration, counters: Arc<HttpCounters>) -> Self {
        Self {
            inner,
            timeout,
            blocked: None,
            counters,
        }
    }

    /// Turns a write's outcome into a timeout error once the write has been blocked for too
    /// long. Polling the timer registers this task's waker with it.
    fn watch<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.blocked = None;
            return polled;
        }
        let timeout = self.timeout;
        let timer = self
            .blocked
            .get_or_insert_with(|| Box::pin(sleep_until(Instant::now() + timeout)));
        ready!(timer.as_mut().poll(cx));
        self.blocked = None;
        HttpCounters::bump(&self.counters.send_timeouts);
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("the client read nothing of its response for {timeout:?}"),
        )))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for SendDeadline<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for SendDeadline<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.watch(cx, polled)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly on any unexpected error")]

    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::AsyncWriteExt;

    use super::SendDeadline;
    use crate::stats::HttpCounters;

    #[tokio::test(start_paused = true)]
    async fn a_write_the_peer_never_reads_fails_after_the_timeout() {
        // A duplex pipe of 64 bytes whose other end never reads.
        let (ours, _theirs) = tokio::io::duplex(64);
        let counters = Arc::new(HttpCounters::default());
        let mut stream = SendDeadline::new(ours, Duration::from_secs(10), counters.clone());
        let err = stream.write_all(&[0; 1024]).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
        assert_eq!(counters.snapshot().send_timeouts, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn writes_that_go_through_never_time_out() {
        let (ours, mut theirs) = tokio::io::duplex(64);
        let counters = Arc::new(HttpCounters::default());
        let mut stream = SendDeadline::new(ours, Duration::from_secs(10), counters.clone());
        let reader = tokio::spawn(async move {
            let mut all = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut theirs, &mut all)
                .await
                .unwrap();
            all.len()
        });
        stream.write_all(&[7; 4096]).await.unwrap();
        stream.shutdown().await.unwrap();
        drop(stream);
        assert_eq!(reader.await.unwrap(), 4096);
        assert_eq!(counters.snapshot().send_timeouts, 0);
    }
}
