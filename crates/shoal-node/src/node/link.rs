//! One TCP connection: dial or accept, authenticate with the handshake FSM, then carry frames
//! between the socket and the driver until either side closes.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, SinkExt, StreamExt};
use shoal_proto::{
    ConnId, Cookie, HANDSHAKE_MAX_FRAME_LEN, Handshake, LinkMessage, Member, NodeId, Role, Step, decode_hot,
};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::codec::{Decoder, Framed, FramedRead, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;

use super::LinkCounters;
use super::chaos::Chaos;
use super::driver::Input;
use super::link_failure::{HANDSHAKE_TIMEOUT, HandshakeFailure};
use super::link_io::{LinkIo, Secured, secure};
use super::outbox::{Limits, Outbox, outbox};
use super::peer_counters::{InTally, PeerCounters, PeerTable};
use crate::actor::{Actors, Origin};
use crate::distributed::Table;
use crate::tls::TlsConfig;

/// How long a dial may take to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

type Frames<S> = Framed<S, LengthDelimitedCodec>;

/// How long a retired link keeps reading (see [`relay`]).
const LAME_DUCK: Duration = Duration::from_secs(1);

/// Initial read buffer of a link, in bytes: one read takes in many small frames.
const READ_BUFFER: usize = 128 * 1024;

/// What a connection task needs from its node.
pub(crate) struct LinkContext {
    pub(crate) conn: ConnId,
    pub(crate) local: Member,
    pub(crate) cookie: Cookie,
    /// TLS on links, or `None` for plain TCP.
    pub(crate) tls: Option<TlsConfig>,
    pub(crate) limits: Limits,
    pub(crate) inputs: mpsc::UnboundedSender<Input>,
    pub(crate) counters: Arc<LinkCounters>,
    /// Traffic per peer name, for metrics.
    pub(crate) peers: Arc<PeerTable>,
    pub(crate) actors: Actors,
    pub(crate) children: Arc<Table>,
    pub(crate) chaos: Arc<Chaos>,
    pub(crate) cancel: CancellationToken,
}

/// Connections that may be in their handshake at once. Each holds a small buffer for at most
/// [`HANDSHAKE_TIMEOUT`]; past this many, new connections are closed at once (and counted),
/// so unauthenticated clients cannot take more than a bounded share of memory and descriptors.
const MAX_PENDING_HANDSHAKES: usize = 64;

/// Accepts connections until cancelled and hands each to the driver with a handshake slot.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    inputs: mpsc::UnboundedSender<Input>,
    counters: Arc<LinkCounters>,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(MAX_PENDING_HANDSHAKES));
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, from)) => match slots.clone().try_acquire_owned() {
                    Ok(slot) => {
                        if inputs.send(Input::Accepted(stream, slot)).is_err() {
                            return;
                        }
                    }
                    Err(_) => {
                        counters.handshakes_shed.fetch_add(1, Ordering::Relaxed);
                        if let Some(held) = counters.refusal_warnings.allow() {
                            tracing::warn!(%from, "closing a connection: {MAX_PENDING_HANDSHAKES} handshakes already in progress ({held} similar warnings held back)");
                        }
                    }
                },
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Dials `addr` and runs the connection. Reports `DialFailed` unless a link came up.
///
/// Only an address that refuses the TCP connection counts as refused (the member's process
/// is gone; the core declares it `Crashed`). A connection reset during the handshake does
/// not: a live peer resets connections it drops (a duplicate link, a full handshake queue,
/// a node just back from a pause). Since a dying process's listener may also reset a
/// connection it accepted a moment before, a reset is checked with one more connection at
/// once: refused then means gone.
pub(crate) async fn dial(addr: SocketAddr, expected: Option<NodeId>, ctx: LinkContext) {
    let inputs = ctx.inputs.clone();
    let failed = |refused| {
        let _ = inputs.send(Input::DialFailed {
            addr,
            expected: expected.clone(),
            refused,
        });
    };
    let stream = match connect(addr).await {
        Ok(stream) => stream,
        Err(refused) => return failed(refused),
    };
    match run(stream, Role::Dialer, Some(addr), None, &ctx).await {
        Outcome::LinkWasUp => {}
        Outcome::Failed => failed(false),
        Outcome::Reset => match connect(addr).await {
            Ok(stream) => {
                if !matches!(
                    run(stream, Role::Dialer, Some(addr), None, &ctx).await,
                    Outcome::LinkWasUp
                ) {
                    failed(false);
                }
            }
            Err(refused) => failed(refused),
        },
    }
}

/// Opens a TCP connection within [`CONNECT_TIMEOUT`]; `Err(true)` when the address refused it.
async fn connect(addr: SocketAddr) -> Result<TcpStream, bool> {
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(e)) => {
            tracing::debug!(%addr, error = %e, "dial failed");
            Err(e.kind() == std::io::ErrorKind::ConnectionRefused)
        }
        Err(_) => Err(false),
    }
}

/// How a connection ended.
enum Outcome {
    /// It became a link (and has since closed).
    LinkWasUp,
    /// The peer reset it during the handshake.
    Reset,
    /// The handshake failed otherwise.
    Failed,
}

/// Runs an accepted connection; `slot` is given back once the handshake has ended.
pub(crate) async fn accept(stream: TcpStream, slot: OwnedSemaphorePermit, ctx: LinkContext) {
    run(stream, Role::Acceptor, None, Some(slot), &ctx).await;
}

/// TLS (when configured), the cookie handshake, then relay.
async fn run(
    stream: TcpStream,
    role: Role,
    dialed: Option<SocketAddr>,
    slot: Option<OwnedSemaphorePermit>,
    ctx: &LinkContext,
) -> Outcome {
    let _ = stream.set_nodelay(true);
    let deadline = Instant::now() + HANDSHAKE_TIMEOUT;
    let secured = tokio::select! {
        () = ctx.cancel.cancelled() => return Outcome::Failed,
        secured = tokio::time::timeout_at(deadline, secure(stream, role, ctx.tls.as_ref())) => secured,
    };
    match secured {
        Ok(Ok(Secured::Plain(stream))) => link_up(stream, role, dialed, slot, deadline, ctx).await,
        Ok(Ok(Secured::Tls(stream))) => link_up(*stream, role, dialed, slot, deadline, ctx).await,
        Ok(Err(failure)) => refuse(failure, dialed, ctx),
        Err(_) => refuse(HandshakeFailure::TimedOut, dialed, ctx),
    }
}

/// Ends a connection whose handshake failed: a reset is left to the dialer to check (see
/// [`dial`]); anything else is counted, logged, and for a dial recorded as its outcome.
fn refuse(failure: HandshakeFailure, dialed: Option<SocketAddr>, ctx: &LinkContext) -> Outcome {
    if matches!(failure, HandshakeFailure::Reset) {
        return Outcome::Reset;
    }
    failure.report(dialed, &ctx.counters);
    if let (Some(addr), Some(outcome)) = (dialed, failure.outcome(&ctx.local.id)) {
        let _ = ctx.inputs.send(Input::Refused { addr, outcome });
    }
    Outcome::Failed
}

/// The cookie handshake on a secured stream, then the link until it closes.
async fn link_up<S: LinkIo>(
    stream: S,
    role: Role,
    dialed: Option<SocketAddr>,
    slot: Option<OwnedSemaphorePermit>,
    deadline: Instant,
    ctx: &LinkContext,
) -> Outcome {
    // Until the peer has proved the cookie, frames are small and the buffer too.
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(HANDSHAKE_MAX_FRAME_LEN)
        .new_codec();
    let mut frames = Framed::with_capacity(stream, codec, HANDSHAKE_MAX_FRAME_LEN);
    let handshake = tokio::time::timeout_at(deadline, authenticate(&mut frames, role, ctx));
    let peer = tokio::select! {
        () = ctx.cancel.cancelled() => return Outcome::Failed,
        result = handshake => match result {
            Ok(Ok(peer)) => peer,
            Ok(Err(failure)) => return refuse(failure, dialed, ctx),
            Err(_) => return refuse(HandshakeFailure::TimedOut, dialed, ctx),
        },
    };
    drop(slot);
    if ctx.chaos.blocks(&peer.id.name) {
        tracing::debug!(peer = %peer.id, "fault injection: dropping a new link to a partitioned peer");
        return Outcome::Failed;
    }
    let traffic = ctx.peers.peer(&peer.id.name);
    traffic.links_up.fetch_add(1, Ordering::Relaxed);
    let (out, outbox) = outbox(ctx.limits, traffic.clone());
    let replies = out.downgrade();
    let peer_id = peer.process_id();
    let up = Input::LinkUp {
        conn: ctx.conn,
        role,
        peer,
        dialed,
        out,
    };
    if ctx.inputs.send(up).is_ok() {
        let origin = Arc::new(Origin {
            peer: peer_id,
            out: replies,
        });
        relay(frames, outbox, &origin, &traffic, ctx).await;
        let _ = ctx.inputs.send(Input::LinkDown { conn: ctx.conn });
    }
    Outcome::LinkWasUp
}

async fn authenticate<S: LinkIo>(
    frames: &mut Frames<S>,
    role: Role,
    ctx: &LinkContext,
) -> Result<Member, HandshakeFailure> {
    let mut nonce = [0u8; 32];
    rand::fill(&mut nonce);
    let (mut handshake, hello) = Handshake::start(role, ctx.local.clone(), ctx.cookie.clone(), nonce);
    send(frames, &hello).await?;
    let mut heard_peer = false;
    loop {
        let msg = match frames.next().await {
            Some(Ok(frame)) => {
                LinkMessage::decode(&frame).map_err(|e| HandshakeFailure::Frame(e.to_string()))?
            }
            // Only a reset before the peer said anything shows that no process owns the port:
            // a live peer that drops a duplicate connection mid-handshake may reset it too.
            Some(Err(e)) if heard_peer => return Err(HandshakeFailure::from_io(&e).not_reset()),
            Some(Err(e)) => return Err(HandshakeFailure::from_io(&e)),
            None => return Err(HandshakeFailure::Closed),
        };
        heard_peer = true;
        match handshake.handle(msg) {
            Ok(Step::Wait) => {}
            Ok(Step::Send(reply)) => send(frames, &reply).await?,
            Ok(Step::Ready {
                send: reply, peer, ..
            }) => {
                if let Some(reply) = reply {
                    send(frames, &reply).await?;
                }
                return Ok(peer);
            }
            Err(e) => {
                if let Some(reply) = e.reply() {
                    let _ = send(frames, &reply).await;
                }
                return Err(HandshakeFailure::Handshake(e));
            }
        }
    }
}

async fn send<S: LinkIo>(frames: &mut Frames<S>, msg: &LinkMessage) -> Result<(), HandshakeFailure> {
    frames
        .send(Bytes::from(msg.encode()))
        .await
        .map_err(|e| HandshakeFailure::from_io(&e))
}

/// Carries frames both ways until the socket closes or the node stops. Actor frames go
/// straight to the actor runtime, the rest to the driver. A frame that does not decode, or is
/// too long, closes the link and is counted. Outbound frames arrive already framed in the
/// [`Outbox`] and go to the socket as they are, bypassing the codec.
///
/// Reading and writing run concurrently on the two halves of the socket: a write that blocks
/// (the peer reads slowly, or is itself blocked writing to us) never stops this side from
/// reading, so two nodes that both send more than their socket buffers hold still drain each
/// other.
///
/// When the driver drops its sender (the link lost a duplicate-link tie, or its peer went
/// down), everything queued has been written, a `LinkMessage::Retired` last (the core queues
/// one before every close, so the peer drops the link and re-dials at once instead of
/// waiting on a silent one); the link then only reads, for [`LAME_DUCK`], so that frames the
/// peer sent before it retired the link too are still delivered. A write that fails (the peer
/// closed the socket, so it answered our write with a reset) ends the link the same way: the
/// frames the peer wrote before its close are read first, so its `Retired` or `Goodbye`
/// reaches the driver before the link's close (a node resumed from a pause writes heartbeats
/// before it reads, and used to take such a close for a crash).
async fn relay<S: LinkIo>(
    frames: Frames<S>,
    outbox: Outbox,
    origin: &Arc<Origin>,
    traffic: &PeerCounters,
    ctx: &LinkContext,
) {
    let parts = frames.into_parts();
    let (read_half, write_half) = parts.io.halves();
    let mut codec = LengthDelimitedCodec::builder()
        .max_frame_length(ctx.limits.max_frame_len)
        .new_codec();
    // Frames that arrived right behind the handshake's last one are already buffered. A
    // `FramedRead` decodes its buffer only after its next read from the socket, so they
    // are taken out here: left in, they waited for the peer's next frame (often the
    // table summary sent at link-up, held until the next gossip some 100 ms later).
    let mut behind = parts.read_buf;
    let early = take_frames(&mut codec, &mut behind);
    let mut reader = FramedRead::with_capacity(read_half, codec, READ_BUFFER);
    reader.read_buffer_mut().extend_from_slice(&behind);
    let writing = write_loop(write_half, outbox, origin, ctx);
    let reading = read_loop(early, reader, origin, traffic, ctx);
    tokio::pin!(writing, reading);
    tokio::select! {
        ended = &mut writing => {
            // Retired: the half stays open while the link reads on. Failed: the peer closed
            // the socket (a write to it was reset), but what it wrote before it closed (its
            // `Retired`, a `Goodbye`) still waits there, readable before the error. Ending
            // the link here lost that frame, and the driver's bare close read as a crash
            // (`DownReason::Crashed`) of a peer that had only retired the link.
            let _half = match ended {
                WriteEnd::Retired(half) => Some(half),
                WriteEnd::Failed => None,
                WriteEnd::Stopped => return,
            };
            tokio::select! {
                () = ctx.cancel.cancelled() => {}
                _ = tokio::time::timeout(LAME_DUCK, reading) => {}
            }
        }
        () = &mut reading => {}
    }
}

/// Why a link's writing half stopped.
enum WriteEnd<W> {
    /// The driver dropped the link's sender after everything queued was written; the half is
    /// kept open so the peer can still send until the link stops reading.
    Retired(W),
    /// A write failed: the socket is closed or reset (the link still reads what waits in it).
    Failed,
    /// The node stopped.
    Stopped,
}

/// Writes what the [`Outbox`] queues until the driver retires the link, the socket fails or
/// the node stops. On stop, what was queued before it (a `Goodbye` on leave) still goes out,
/// for at most 200 ms.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut half: W,
    mut outbox: Outbox,
    origin: &Origin,
    ctx: &LinkContext,
) -> WriteEnd<W> {
    loop {
        let queued = tokio::select! {
            () = ctx.cancel.cancelled() => {
                if let Some(queued) = outbox.try_recv() {
                    let last = async {
                        half.write_all(&queued).await?;
                        half.flush().await
                    };
                    let _ = tokio::time::timeout(Duration::from_millis(200), last).await;
                }
                return WriteEnd::Stopped;
            }
            queued = outbox.recv() => queued,
        };
        let Some(queued) = queued else {
            return WriteEnd::Retired(half);
        };
        if ctx.chaos.blocks(&origin.peer.name) {
            continue; // partitioned: the network loses it
        }
        tokio::select! {
            () = ctx.cancel.cancelled() => return WriteEnd::Stopped,
            written = write_out(&mut half, &queued) => if written.is_err() {
                return WriteEnd::Failed;
            },
        }
        outbox.recycle(queued);
    }
}

/// Writes one queued buffer and flushes it: TLS may hold the end of it in its records until
/// a flush (on plain TCP the flush does nothing).
async fn write_out<W: AsyncWrite + Unpin>(half: &mut W, queued: &[u8]) -> std::io::Result<()> {
    half.write_all(queued).await?;
    half.flush().await
}

/// Reads and dispatches frames until the peer closes, a frame is refused or the driver stops.
async fn read_loop<R: AsyncRead + Unpin>(
    early: Vec<Result<BytesMut, std::io::Error>>,
    mut reader: FramedRead<R, LengthDelimitedCodec>,
    origin: &Arc<Origin>,
    traffic: &PeerCounters,
    ctx: &LinkContext,
) {
    let mut frames = futures_util::stream::iter(early).chain(&mut reader);
    let mut tally = InTally::new(traffic);
    loop {
        // Counted frames go to the peer's counters before the reader waits (see `InTally`).
        let next = match frames.next().now_or_never() {
            Some(next) => next,
            None => {
                tally.flush();
                frames.next().await
            }
        };
        let Some(frame) = next else { return };
        match frame {
            Ok(_) if ctx.chaos.blocks(&origin.peer.name) => {}
            Ok(frame) => {
                tally.count(frame.len());
                if dispatch(frame, origin, ctx).is_break() {
                    return;
                }
            }
            Err(e) => {
                // rustls' errors come as `InvalidData` too: a record altered on the way.
                if let Some(tls) = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                {
                    ctx.counters.bad_frames.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(conn = ctx.conn.0, peer = %origin.peer, "closing link: TLS error: {tls}");
                } else if e.kind() == std::io::ErrorKind::InvalidData {
                    ctx.counters.oversized_frames.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        conn = ctx.conn.0,
                        "closing link: frame over {} bytes",
                        ctx.limits.max_frame_len
                    );
                }
                return;
            }
        }
    }
}

/// The complete frames at the front of `buffer`, decoded by `codec` (which keeps the state
/// of a partial one left in `buffer`); a decode error ends the list, as it ends the link.
fn take_frames(
    codec: &mut LengthDelimitedCodec,
    buffer: &mut BytesMut,
) -> Vec<Result<BytesMut, std::io::Error>> {
    let mut frames = Vec::new();
    loop {
        match codec.decode(buffer) {
            Ok(Some(frame)) => frames.push(Ok(frame)),
            Ok(None) => return frames,
            Err(e) => {
                frames.push(Err(e));
                return frames;
            }
        }
    }
}

/// Hands one inbound frame to the actor runtime or the driver. Breaks when the frame does
/// not decode (the link closes) or the driver has stopped.
fn dispatch(frame: BytesMut, origin: &Arc<Origin>, ctx: &LinkContext) -> ControlFlow<()> {
    // Sends and calls, nearly all the traffic, are read in place.
    if let Some(hot) = decode_hot(&frame) {
        ctx.actors.handle_hot_frame(origin, hot);
        return ControlFlow::Continue(());
    }
    match LinkMessage::decode_shared(&frame.freeze()) {
        Ok(LinkMessage::Actor(frame)) => ctx.actors.handle_frame(origin, frame),
        // Never replication from a second process under a name routed to another one.
        Ok(LinkMessage::Registry(_) | LinkMessage::Children(_))
            if ctx.actors.routes_another_process(&origin.peer) =>
        {
            tracing::debug!(conn = ctx.conn.0, peer = %origin.peer, "replication frame from another process of a routed name dropped");
        }
        Ok(LinkMessage::Registry(frame)) => ctx.actors.registry().handle_frame(&origin.peer, frame),
        Ok(LinkMessage::Children(frame)) => ctx.children.handle_frame(&origin.peer, frame),
        Ok(msg) => {
            tracing::trace!(conn = ctx.conn.0, ?msg, "link recv");
            if ctx
                .inputs
                .send(Input::LinkMessage { conn: ctx.conn, msg })
                .is_err()
            {
                return ControlFlow::Break(());
            }
        }
        Err(e) => {
            ctx.counters.bad_frames.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(conn = ctx.conn.0, "closing link: {e}");
            return ControlFlow::Break(());
        }
    }
    ControlFlow::Continue(())
}

#[cfg(test)]
#[path = "link_test.rs"]
mod tests;
