//! The byte stream under a link: plain TCP, or TLS over it (see [`crate::tls`]), settled
//! before the cookie handshake.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use shoal_proto::wire::RejectReason;
use shoal_proto::{HANDSHAKE_MAX_FRAME_LEN, LinkMessage, Role};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_rustls::TlsStream;
use tokio_util::codec::{Encoder, LengthDelimitedCodec};

use super::link_failure::HandshakeFailure;
use crate::tls::{TLS_RECORD_HANDSHAKE, TlsConfig, server_name};

/// A stream a link can run on, split into halves that read and write concurrently.
pub(crate) trait LinkIo: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The reading half.
    type Reader: AsyncRead + Unpin + Send;
    /// The writing half.
    type Writer: AsyncWrite + Unpin + Send;
    /// Splits the stream.
    fn halves(self) -> (Self::Reader, Self::Writer);
}

impl LinkIo for TcpStream {
    type Reader = OwnedReadHalf;
    type Writer = OwnedWriteHalf;

    fn halves(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        self.into_split()
    }
}

impl LinkIo for TlsStream<TcpStream> {
    type Reader = ReadHalf<Self>;
    type Writer = WriteHalf<Self>;

    fn halves(self) -> (ReadHalf<Self>, WriteHalf<Self>) {
        tokio::io::split(self)
    }
}

/// A connection ready for the cookie handshake.
pub(crate) enum Secured {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

/// Settles TLS on a fresh connection: with `tls`, a dial runs the TLS handshake and an
/// accepted connection must start with one; without, both stay plain and an accepted
/// connection must not start with TLS. A mismatch is refused on both sides with the reason:
/// a plain dialer is sent a `Reject(TlsRequired)` it can read; a TLS dialer is sent a plain
/// frame, which its TLS client reports as a peer without TLS.
pub(crate) async fn secure(
    stream: TcpStream,
    role: Role,
    tls: Option<&TlsConfig>,
) -> Result<Secured, HandshakeFailure> {
    match (role, tls) {
        (Role::Dialer, None) => Ok(Secured::Plain(stream)),
        (Role::Dialer, Some(tls)) => {
            let addr = stream.peer_addr().map_err(|e| HandshakeFailure::from_io(&e))?;
            let stream = tls
                .connector()
                .connect(server_name(addr), stream)
                .await
                .map_err(|e| HandshakeFailure::from_io(&e))?;
            Ok(Secured::Tls(Box::new(stream.into())))
        }
        (Role::Acceptor, tls) => accept(stream, tls).await,
    }
}

async fn accept(mut stream: TcpStream, tls: Option<&TlsConfig>) -> Result<Secured, HandshakeFailure> {
    let mut first = [0u8; 1];
    let read = stream
        .peek(&mut first)
        .await
        .map_err(|e| HandshakeFailure::from_io(&e))?;
    if read == 0 {
        return Err(HandshakeFailure::Closed);
    }
    let speaks_tls = first[0] == TLS_RECORD_HANDSHAKE;
    match (tls, speaks_tls) {
        (None, false) => Ok(Secured::Plain(stream)),
        (Some(tls), true) => {
            let stream = tls
                .acceptor()
                .accept(stream)
                .await
                .map_err(|e| HandshakeFailure::from_io(&e))?;
            Ok(Secured::Tls(Box::new(stream.into())))
        }
        (Some(_), false) => {
            let plain_shoal = starts_like_a_link_frame(&stream).await;
            reject(&mut stream, RejectReason::TlsRequired).await;
            if !plain_shoal {
                return Err(HandshakeFailure::Frame(
                    "a connection that speaks neither TLS nor Shoal's link protocol (not a Shoal node?)"
                        .into(),
                ));
            }
            Err(HandshakeFailure::Tls(
                "a peer without TLS: this node requires TLS on links (--tls required); give every node --tls required and a certificate from the cluster's CA".into(),
            ))
        }
        (None, true) => {
            reject(&mut stream, RejectReason::Unexpected).await;
            Err(HandshakeFailure::Tls(
                "a peer that speaks TLS: this node runs with --tls off; give every node the same --tls"
                    .into(),
            ))
        }
    }
}

/// Whether a connection that does not start with TLS starts like a plain Shoal link: its
/// first frame (the `Hello`) is at most [`HANDSHAKE_MAX_FRAME_LEN`] bytes, so the big-endian length
/// prefix begins with two zero bytes. Anything else (an HTTP request, a port scanner) is
/// counted as `not_shoal`, not as a TLS mismatch.
async fn starts_like_a_link_frame(stream: &TcpStream) -> bool {
    const _: () = assert!(HANDSHAKE_MAX_FRAME_LEN < 1 << 16);
    let mut head = [0u8; 2];
    match stream.peek(&mut head).await {
        Ok(1) => head[0] == 0,
        Ok(2) => head == [0, 0],
        _ => false,
    }
}

/// How long a refused connection is read from after its `Reject`, and how much of it.
const REJECT_DRAIN: Duration = Duration::from_millis(200);
const REJECT_DRAIN_BYTES: usize = 64 * 1024;

/// Sends one plain `Reject` frame (a TLS peer reads it as a peer without TLS), best effort,
/// then closes the sending side and reads what the peer sent for a moment: a socket closed
/// with unread data is reset, and a reset may discard the `Reject` before the peer reads it.
async fn reject(stream: &mut TcpStream, reason: RejectReason) {
    let mut frame = BytesMut::new();
    let body = Bytes::from(LinkMessage::Reject(reason).encode());
    if LengthDelimitedCodec::new().encode(body, &mut frame).is_err()
        || stream.write_all(&frame).await.is_err()
    {
        return;
    }
    let _ = stream.shutdown().await;
    let drain = async {
        let mut buf = vec![0u8; 4096];
        let mut read = 0;
        while read < REJECT_DRAIN_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => read += n,
            }
        }
    };
    let _ = tokio::time::timeout(REJECT_DRAIN, drain).await;
}
