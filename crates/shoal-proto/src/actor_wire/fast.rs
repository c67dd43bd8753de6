//! Single-pass encoding of the hot actor frames (`Send`, `Call`): the message is serialized
//! straight into the frame body, with no intermediate buffer and no copy. The bytes are
//! exactly those of `LinkMessage::Actor(ActorFrame::Send { .., body })::encode()` where
//! `body` is the message's own postcard encoding; `fast_test.rs` checks that property.

use serde::Serialize;

use crate::wire::{WIRE_VERSION, append};

/// Index of `LinkMessage::Actor` in postcard's variant numbering.
const LINK_ACTOR: u32 = 6;
/// Index of `ActorFrame::Send`.
const FRAME_SEND: u32 = 0;
/// Index of `ActorFrame::Call`.
const FRAME_CALL: u32 = 1;
/// Room for the version, two variant indices, three varint u64s, an option tag and a
/// length: the largest header either frame needs.
const HEADER_MAX: usize = 1 + 2 * 5 + 3 * 10 + 1 + 10;

/// Encodes `LinkMessage::Actor(ActorFrame::Send { to, from, tag, body: postcard(msg) })`.
pub fn encode_send<M: Serialize + ?Sized>(
    to: u64,
    from: Option<u64>,
    tag: u64,
    msg: &M,
) -> Result<Vec<u8>, postcard::Error> {
    let mut out = Vec::new();
    append_send(&mut out, to, from, tag, msg)?;
    Ok(out)
}

/// Encodes `LinkMessage::Actor(ActorFrame::Call { to, call, tag, body: postcard(msg) })`.
pub fn encode_call<M: Serialize + ?Sized>(
    to: u64,
    call: u64,
    tag: u64,
    msg: &M,
) -> Result<Vec<u8>, postcard::Error> {
    let mut out = Vec::new();
    append_call(&mut out, to, call, tag, msg)?;
    Ok(out)
}

/// Appends the frame body [`encode_send`] returns to `out`; on an error `out` is unchanged.
pub fn append_send<M: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    to: u64,
    from: Option<u64>,
    tag: u64,
    msg: &M,
) -> Result<(), postcard::Error> {
    append_frame(out, msg, |size| (LINK_ACTOR, FRAME_SEND, to, from, tag, size))
}

/// Appends the frame body [`encode_call`] returns to `out`; on an error `out` is unchanged.
pub fn append_call<M: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    to: u64,
    call: u64,
    tag: u64,
    msg: &M,
) -> Result<(), postcard::Error> {
    append_frame(out, msg, |size| (LINK_ACTOR, FRAME_CALL, to, call, tag, size))
}

/// Appends the version byte, then `header(body size)` (whose fields up to the body length
/// are those of the frame), then the body: `msg` serialized in place.
fn append_frame<M: Serialize + ?Sized, H: Serialize>(
    out: &mut Vec<u8>,
    msg: &M,
    header: impl FnOnce(usize) -> H,
) -> Result<(), postcard::Error> {
    let size = postcard::experimental::serialized_size(msg)?;
    let start = out.len();
    out.reserve(HEADER_MAX + size);
    out.push(WIRE_VERSION);
    let written = append(out, &header(size)).and_then(|()| append(out, msg));
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// An actor `Send` or `Call` frame read in place, its body borrowed from the frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HotFrame<'a> {
    /// `ActorFrame::Send`.
    Send {
        /// Receiving actor.
        to: u64,
        /// Sending actor, if any.
        from: Option<u64>,
        /// Type tag of the body.
        tag: u64,
        /// The message.
        body: &'a [u8],
    },
    /// `ActorFrame::Call`.
    Call {
        /// Receiving actor.
        to: u64,
        /// The caller's call number.
        call: u64,
        /// Type tag of the request.
        tag: u64,
        /// The request.
        body: &'a [u8],
    },
}

/// Reads `frame` if it is a well-formed actor `Send` or `Call`, exactly as
/// `LinkMessage::decode` would read it, without building the whole message. `None` for any
/// other frame, valid or not: the general decoder then reads it, or refuses it.
pub fn decode_hot(frame: &[u8]) -> Option<HotFrame<'_>> {
    let (&version, rest) = frame.split_first()?;
    if version != WIRE_VERSION {
        return None;
    }
    let ((link, kind), rest) = postcard::take_from_bytes::<(u32, u32)>(rest).ok()?;
    if link != LINK_ACTOR {
        return None;
    }
    let (hot, rest) = match kind {
        FRAME_SEND => {
            let ((to, from, tag, body), rest) = postcard::take_from_bytes(rest).ok()?;
            (HotFrame::Send { to, from, tag, body }, rest)
        }
        FRAME_CALL => {
            let ((to, call, tag, body), rest) = postcard::take_from_bytes(rest).ok()?;
            (HotFrame::Call { to, call, tag, body }, rest)
        }
        _ => return None,
    };
    rest.is_empty().then_some(hot)
}

#[cfg(test)]
#[path = "fast_test.rs"]
mod tests;
