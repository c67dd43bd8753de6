//! Gossip that says a member is down while that member answers us on its link.
//!
//! SWIM's down is final for a life: a node that applies a gossiped `Down` drops the member at
//! once, and the member must take a new life to come back. The claim may be stale: a node
//! that was cut off (a partition's other side, a resumed pause) still holds the members it lost
//! as down, and its first gossip after the heal spreads that to nodes that never lost them.
//! A node that hears the member on its link within `link_suspect_after` knows better, so such
//! updates are removed from the payload before foca sees it. The member's own departure
//! (gossip from the member itself) is always applied.

use bytes::{Buf, BufMut};
use foca::{Codec, Member as SwimMember, Message, PostcardCodec, State};

use crate::member::Member;

/// `body` (a foca payload) without the `Down` updates about members for which `answers` holds,
/// sent by anyone but the member itself; `None` when there is nothing to remove (or the payload
/// does not decode: foca then refuses it and counts it).
pub(super) fn without_stale_downs(body: &[u8], answers: impl Fn(&Member) -> bool) -> Option<Vec<u8>> {
    let mut codec = PostcardCodec;
    let mut data = body;
    let header = Codec::<Member>::decode_header(&mut codec, &mut data).ok()?;
    if matches!(header.message, Message::Broadcast | Message::Announce) || data.remaining() < 2 {
        return None;
    }
    let count = data.get_u16();
    let mut updates: Vec<SwimMember<Member>> = Vec::with_capacity(usize::from(count).min(64));
    for _ in 0..count {
        updates.push(Codec::<Member>::decode_member(&mut codec, &mut data).ok()?);
    }
    let stale =
        |u: &SwimMember<Member>| u.state() == State::Down && u.id().id != header.src.id && answers(u.id());
    if !updates.iter().any(stale) {
        return None;
    }
    let rest = data;
    let kept: Vec<_> = updates.into_iter().filter(|u| !stale(u)).collect();
    let mut out = Vec::with_capacity(body.len());
    Codec::<Member>::encode_header(&mut codec, &header, &mut out).ok()?;
    out.put_u16(u16::try_from(kept.len()).ok()?);
    for update in &kept {
        Codec::<Member>::encode_member(&mut codec, update, &mut out).ok()?;
    }
    out.put_slice(rest);
    Some(out)
}
