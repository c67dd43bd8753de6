//! One TCP connection: dial or accept, authenticate with the handshake FSM, then carry frames
//! between the socket and the driver until either side closes.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use shoal_proto::{
    ConnId, Cookie, Handshake, HandshakeError, LinkMessage, Member, NodeId, Role, Step, decode_hot,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::{Framed, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;

use super::LinkCounters;
use super::chaos::Chaos;
use super::driver::Input;
use super::outbox::{Limits, Outbox, outbox};
use crate::actor::{Actors, Origin};

/// How long a dial may take to connect, and a handshake to finish.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

type Frames = Framed<TcpStream, LengthDelimitedCodec>;

/// How long a retired link keeps reading (see [`relay`]).
const LAME_DUCK: Duration = Duration::from_secs(1);

/// Initial read buffer of a link, in bytes: one read takes in many small frames.
const READ_BUFFER: usize = 128 * 1024;

/// What a connection task needs from its node.
pub(crate) struct LinkContext {
    pub(crate) conn: ConnId,
    pub(crate) local: Member,
    pub(crate) cookie: Cookie,
    pub(crate) limits: Limits,
    pub(crate) inputs: mpsc::UnboundedSender<Input>,
    pub(crate) counters: Arc<LinkCounters>,
    pub(crate) actors: Actors,
    pub(crate) chaos: Arc<Chaos>,
    pub(crate) cancel: CancellationToken,
}

/// Accepts connections until cancelled and hands each to the driver.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    inputs: mpsc::UnboundedSender<Input>,
    cancel: CancellationToken,
) {
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    if inputs.send(Input::Accepted(stream)).is_err() {
                        return;
                    }
                }
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
pub(crate) async fn dial(addr: SocketAddr, expected: Option<NodeId>, ctx: LinkContext) {
    let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            let refused = e.kind() == std::io::ErrorKind::ConnectionRefused;
            tracing::debug!(%addr, error = %e, "dial failed");
            let _ = ctx.inputs.send(Input::DialFailed {
                addr,
                expected,
                refused,
            });
            return;
        }
        Err(_) => {
            let _ = ctx.inputs.send(Input::DialFailed {
                addr,
                expected,
                refused: false,
            });
            return;
        }
    };
    let inputs = ctx.inputs.clone();
    match run(stream, Role::Dialer, Some(addr), ctx).await {
        Outcome::LinkWasUp => {}
        // A reset before the handshake finished means no process owns that port any more (a
        // live node that refuses us says `Reject` and closes cleanly): as good as refused.
        Outcome::Reset => {
            let _ = inputs.send(Input::DialFailed {
                addr,
                expected,
                refused: true,
            });
        }
        Outcome::Failed => {
            let _ = inputs.send(Input::DialFailed {
                addr,
                expected,
                refused: false,
            });
        }
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

/// Runs an accepted connection.
pub(crate) async fn accept(stream: TcpStream, ctx: LinkContext) {
    run(stream, Role::Acceptor, None, ctx).await;
}

/// Handshake, then relay.
async fn run(stream: TcpStream, role: Role, dialed: Option<SocketAddr>, ctx: LinkContext) -> Outcome {
    let _ = stream.set_nodelay(true);
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(ctx.limits.max_frame_len)
        .new_codec();
    let mut frames = Framed::with_capacity(stream, codec, READ_BUFFER);
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, authenticate(&mut frames, role, &ctx));
    let peer = tokio::select! {
        () = ctx.cancel.cancelled() => return Outcome::Failed,
        result = handshake => match result {
            Ok(Ok(peer)) => peer,
            Ok(Err(Refusal::Reset)) => return Outcome::Reset,
            Ok(Err(reason)) => {
                ctx.counters.handshake_failures.fetch_add(1, Ordering::Relaxed);
                log_refusal(&reason, dialed, &ctx.counters);
                return Outcome::Failed;
            }
            Err(_) => {
                ctx.counters.handshake_failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(?dialed, "link handshake timed out after {HANDSHAKE_TIMEOUT:?}");
                return Outcome::Failed;
            }
        },
    };
    if ctx.chaos.blocks(&peer.id.name) {
        tracing::debug!(peer = %peer.id, "fault injection: dropping a new link to a partitioned peer");
        return Outcome::Failed;
    }
    let (out, outbox) = outbox(ctx.limits);
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
        relay(frames, outbox, &origin, &ctx).await;
        let _ = ctx.inputs.send(Input::LinkDown { conn: ctx.conn });
    }
    Outcome::LinkWasUp
}

/// Why a connection never became a link.
enum Refusal {
    Handshake(HandshakeError),
    Frame(String),
    Oversized,
    Closed,
    Reset,
}

impl Refusal {
    fn from_io(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe => Self::Reset,
            std::io::ErrorKind::InvalidData => Self::Oversized,
            _ => Self::Frame(e.to_string()),
        }
    }
}

impl Refusal {
    fn not_reset(self) -> Self {
        match self {
            Self::Reset => Self::Closed,
            other => other,
        }
    }
}

fn log_refusal(reason: &Refusal, dialed: Option<SocketAddr>, counters: &LinkCounters) {
    match reason {
        Refusal::Handshake(HandshakeError::SameName { .. }) if dialed.is_some() => {
            tracing::debug!(?dialed, "dialled ourselves; ignoring that address");
        }
        Refusal::Handshake(e) => tracing::warn!(?dialed, "link refused: {e}"),
        Refusal::Frame(e) => {
            counters.bad_frames.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(?dialed, "link refused: not a shoal peer ({e})");
        }
        Refusal::Oversized => {
            counters.oversized_frames.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(?dialed, "link refused: frame over the size limit");
        }
        Refusal::Closed | Refusal::Reset => tracing::debug!(?dialed, "peer closed during handshake"),
    }
}

async fn authenticate(frames: &mut Frames, role: Role, ctx: &LinkContext) -> Result<Member, Refusal> {
    let mut nonce = [0u8; 32];
    rand::fill(&mut nonce);
    let (mut handshake, hello) = Handshake::start(role, ctx.local.clone(), ctx.cookie.clone(), nonce);
    send(frames, &hello).await?;
    let mut heard_peer = false;
    loop {
        let msg = match frames.next().await {
            Some(Ok(frame)) => LinkMessage::decode(&frame).map_err(|e| Refusal::Frame(e.to_string()))?,
            // Only a reset before the peer said anything shows that no process owns the port:
            // a live peer that drops a duplicate connection mid-handshake may reset it too.
            Some(Err(e)) if heard_peer => return Err(Refusal::from_io(&e).not_reset()),
            Some(Err(e)) => return Err(Refusal::from_io(&e)),
            None => return Err(Refusal::Closed),
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
                return Err(Refusal::Handshake(e));
            }
        }
    }
}

async fn send(frames: &mut Frames, msg: &LinkMessage) -> Result<(), Refusal> {
    frames
        .send(Bytes::from(msg.encode()))
        .await
        .map_err(|e| Refusal::from_io(&e))
}

/// Carries frames both ways until the socket closes or the node stops. Actor frames go
/// straight to the actor runtime, the rest to the driver. A frame that does not decode, or is
/// too long, closes the link and is counted. Outbound frames arrive already framed in the
/// [`Outbox`] and go to the socket as they are, bypassing the codec's write side.
///
/// When the driver drops its sender (the link lost a duplicate-link tie, or its peer went
/// down), everything queued has been written; the link then only reads, for [`LAME_DUCK`],
/// so that frames the peer sent before it retired the link too are still delivered.
async fn relay(mut frames: Frames, mut outbox: Outbox, origin: &Arc<Origin>, ctx: &LinkContext) {
    let mut retired: Option<tokio::time::Instant> = None;
    loop {
        tokio::select! {
            () = ctx.cancel.cancelled() => {
                // What the driver queued before stopping (a Goodbye on leave) still goes out.
                if let Some(queued) = outbox.try_recv() {
                    let write = frames.get_mut().write_all(&queued);
                    let _ = tokio::time::timeout(Duration::from_millis(200), write).await;
                }
                break;
            }
            () = sleep_until(retired) => break,
            queued = outbox.recv(), if retired.is_none() => match queued {
                Some(_) if ctx.chaos.blocks(&origin.peer.name) => {} // partitioned: the network loses it
                Some(queued) => {
                    if frames.get_mut().write_all(&queued).await.is_err() {
                        break;
                    }
                    outbox.recycle(queued);
                }
                None => retired = Some(tokio::time::Instant::now() + LAME_DUCK),
            },
            frame = frames.next() => match frame {
                Some(Ok(_)) if ctx.chaos.blocks(&origin.peer.name) => {}
                Some(Ok(frame)) => {
                    if dispatch(frame, origin, ctx).is_break() {
                        break;
                    }
                }
                Some(Err(e)) => {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        ctx.counters.oversized_frames.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(conn = ctx.conn.0, "closing link: frame over {} bytes", ctx.limits.max_frame_len);
                    }
                    break;
                }
                None => break,
            },
        }
    }
    let _ = frames.get_mut().shutdown().await;
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
        Ok(LinkMessage::Registry(frame)) => ctx.actors.handle_registry_frame(&origin.peer, frame),
        Ok(LinkMessage::Children(frame)) => ctx.actors.handle_children_frame(&origin.peer, frame),
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

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
