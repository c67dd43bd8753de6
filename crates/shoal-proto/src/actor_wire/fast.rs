//! Single-pass encoding of the hot actor frames (`Send`, `Call`): the message is serialized
//! straight into the frame body, with no intermediate buffer and no copy. The bytes are
//! exactly those of `LinkMessage::Actor(ActorFrame::Send { .., body })::encode()` where
//! `body` is the message's own postcard encoding; `fast_test.rs` checks that property.

use serde::Serialize;

use crate::wire::WIRE_VERSION;

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
    encode_frame(msg, |size| (LINK_ACTOR, FRAME_SEND, to, from, tag, size))
}

/// Encodes `LinkMessage::Actor(ActorFrame::Call { to, call, tag, body: postcard(msg) })`.
pub fn encode_call<M: Serialize + ?Sized>(
    to: u64,
    call: u64,
    tag: u64,
    msg: &M,
) -> Result<Vec<u8>, postcard::Error> {
    encode_frame(msg, |size| (LINK_ACTOR, FRAME_CALL, to, call, tag, size))
}

/// The version byte, then `header(body size)` (whose fields up to the body length are those
/// of the frame), then the body: `msg` serialized in place.
fn encode_frame<M: Serialize + ?Sized, H: Serialize>(
    msg: &M,
    header: impl FnOnce(usize) -> H,
) -> Result<Vec<u8>, postcard::Error> {
    let size = postcard::experimental::serialized_size(msg)?;
    let mut out = Vec::with_capacity(HEADER_MAX + size);
    out.push(WIRE_VERSION);
    let out = postcard::to_extend(&header(size), out)?;
    postcard::to_extend(msg, out)
}

#[cfg(test)]
#[path = "fast_test.rs"]
mod tests;
