//! Multicast discovery beacons: a node's name and link address, signed with the cookie.
//!
//! Layout (big-endian), at most [`MAX_BEACON_LEN`] bytes:
//!
//! ```text
//! magic "SHBC" | version 1 | seq u64 | family 4 or 6 | IP (4 or 16) | port u16
//!   | name length u8 | name | HMAC-SHA256 (32 bytes)
//! ```
//!
//! The tag covers [`TAG_LABEL`] and every byte before it, under the cookie's proving secret
//! ([`Cookie::tag`]); a beacon is accepted when it verifies under any secret of the cookie
//! ([`Cookie::verify`], constant time per secret), so a rotation needs nothing more. The
//! label keeps a beacon's tag from ever serving as a gossip datagram's or a handshake's.
//!
//! [`open`] checks the length, magic and version, then the tag, and only then reads the
//! fields of the authenticated body; it never panics, whatever the bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::cookie::Cookie;
use crate::node_id::{MAX_NAME_LEN, NodeName};

/// The first bytes of every beacon.
pub const BEACON_MAGIC: [u8; 4] = *b"SHBC";
/// Version byte of the layout.
pub const BEACON_VERSION: u8 = 1;
/// Bytes of the tag, the full HMAC-SHA256.
pub const BEACON_TAG_LEN: usize = 32;
/// What the tag covers before the beacon's bytes.
pub const TAG_LABEL: &[u8] = b"shoal-beacon-v1";
/// The largest beacon accepted (the largest valid one is 129 bytes: an IPv6 address and a
/// 64-byte name); anything longer is refused unread.
pub const MAX_BEACON_LEN: usize = 256;
/// The shortest possible beacon: an IPv4 address and a one-byte name.
pub const MIN_BEACON_LEN: usize = 4 + 1 + 8 + 1 + 4 + 2 + 1 + 1 + BEACON_TAG_LEN;

/// What one node announces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Beacon {
    /// The sender's name.
    pub name: NodeName,
    /// The sender's advertised link address: what a receiver dials.
    pub link: SocketAddr,
    /// Counts the sender's beacons since it started (informative: receivers keep no
    /// per-sender order, a replayed beacon only makes them dial `link` again).
    pub seq: u64,
}

/// Why received bytes are not a beacon of this cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BeaconError {
    /// Shorter than the shortest beacon.
    #[error("{0} bytes are shorter than the shortest beacon ({MIN_BEACON_LEN} bytes)")]
    TooShort(usize),
    /// Longer than [`MAX_BEACON_LEN`].
    #[error("{0} bytes are more than a beacon's {MAX_BEACON_LEN}")]
    TooLong(usize),
    /// Does not start with [`BEACON_MAGIC`]: not a Shoal beacon.
    #[error("not a Shoal beacon (no SHBC magic)")]
    NotABeacon,
    /// An unknown layout version.
    #[error("beacon version {0} is not {BEACON_VERSION}")]
    Version(u8),
    /// The tag does not verify under any secret of the cookie: another cluster's cookie, or
    /// tampering.
    #[error("beacon tag does not match this cluster's cookie")]
    BadTag,
    /// Signed with this cluster's cookie, yet its fields do not read (a bad family, name or
    /// length): a sender with the cookie but a broken encoder.
    #[error("signed beacon with malformed fields")]
    Malformed,
}

impl BeaconError {
    /// A short snake_case word for views and logs: `too_short`, `too_long`, `not_a_beacon`,
    /// `version`, `bad_tag`, `malformed`.
    pub fn reason(self) -> &'static str {
        match self {
            Self::TooShort(_) => "too_short",
            Self::TooLong(_) => "too_long",
            Self::NotABeacon => "not_a_beacon",
            Self::Version(_) => "version",
            Self::BadTag => "bad_tag",
            Self::Malformed => "malformed",
        }
    }
}

impl Beacon {
    /// The beacon's bytes, signed with the cookie's proving secret.
    pub fn seal(&self, cookie: &Cookie) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_BEACON_LEN);
        out.extend_from_slice(&BEACON_MAGIC);
        out.push(BEACON_VERSION);
        out.extend_from_slice(&self.seq.to_be_bytes());
        match self.link.ip() {
            IpAddr::V4(ip) => {
                out.push(4);
                out.extend_from_slice(&ip.octets());
            }
            IpAddr::V6(ip) => {
                out.push(6);
                out.extend_from_slice(&ip.octets());
            }
        }
        out.extend_from_slice(&self.link.port().to_be_bytes());
        let name = self.name.as_str().as_bytes();
        // A `NodeName` holds 1 to 64 bytes, so its length fits a byte.
        out.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(name);
        let tag = cookie.tag(&[TAG_LABEL, &out]);
        out.extend_from_slice(&tag);
        out
    }
}

/// Checks received bytes and reads the beacon they hold; see the module doc for the order
/// of the checks.
pub fn open(cookie: &Cookie, bytes: &[u8]) -> Result<Beacon, BeaconError> {
    if bytes.len() > MAX_BEACON_LEN {
        return Err(BeaconError::TooLong(bytes.len()));
    }
    if bytes.len() < MIN_BEACON_LEN {
        return Err(BeaconError::TooShort(bytes.len()));
    }
    if bytes[..4] != BEACON_MAGIC {
        return Err(BeaconError::NotABeacon);
    }
    if bytes[4] != BEACON_VERSION {
        return Err(BeaconError::Version(bytes[4]));
    }
    let (body, tag) = bytes.split_at(bytes.len() - BEACON_TAG_LEN);
    if !cookie.verify(&[TAG_LABEL, body], tag) {
        return Err(BeaconError::BadTag);
    }
    read_body(&body[5..]).ok_or(BeaconError::Malformed)
}

/// The fields after the version byte; `None` unless they fill `rest` exactly.
fn read_body(rest: &[u8]) -> Option<Beacon> {
    let mut r = Reader(rest);
    let seq = u64::from_be_bytes(r.take()?);
    let ip = match r.take::<1>()?[0] {
        4 => IpAddr::V4(Ipv4Addr::from(r.take::<4>()?)),
        6 => IpAddr::V6(Ipv6Addr::from(r.take::<16>()?)),
        _ => return None,
    };
    let port = u16::from_be_bytes(r.take()?);
    let len = usize::from(r.take::<1>()?[0]);
    if len > MAX_NAME_LEN || r.0.len() != len {
        return None;
    }
    let name = NodeName::new(std::str::from_utf8(r.0).ok()?).ok()?;
    Some(Beacon {
        name,
        link: SocketAddr::new(ip, port),
        seq,
    })
}

/// Reads fixed-size fields off the front of a slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, tail) = self.0.split_first_chunk::<N>()?;
        self.0 = tail;
        Some(*head)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn cookie(secret: &str) -> Cookie {
        Cookie::new(secret).expect("a valid cookie")
    }

    fn beacon(link: &str) -> Beacon {
        Beacon {
            name: NodeName::new("n1").expect("a valid name"),
            link: link.parse().expect("a socket address"),
            seq: 7,
        }
    }

    #[test]
    fn a_sealed_beacon_opens_with_the_same_cookie_for_both_families() {
        let c = cookie("k");
        for link in ["10.0.0.1:7000", "[fd00::1]:7001"] {
            let b = beacon(link);
            assert_eq!(open(&c, &b.seal(&c)), Ok(b));
        }
        let longest = Beacon {
            name: NodeName::new("x".repeat(MAX_NAME_LEN)).expect("a valid name"),
            ..beacon("[fd00::1]:7001")
        };
        assert_eq!(longest.seal(&c).len(), 129);
        assert_eq!(beacon("10.0.0.1:1").seal(&c).len(), MIN_BEACON_LEN + 1);
        assert_eq!(open(&c, &longest.seal(&c)), Ok(longest));
    }

    #[test]
    fn another_clusters_cookie_is_refused_and_a_rotation_accepts_either_secret() {
        let b = beacon("10.0.0.1:7000");
        let sealed = b.seal(&cookie("old"));
        assert_eq!(open(&cookie("new"), &sealed), Err(BeaconError::BadTag));
        // During a rotation the node holds both; it signs with the first.
        let both = cookie("new\nold");
        assert_eq!(open(&both, &sealed), Ok(b.clone()));
        assert_eq!(open(&both, &b.seal(&cookie("new"))), Ok(b.clone()));
        assert_eq!(open(&cookie("new"), &b.seal(&both)), Ok(b.clone()));
        assert_eq!(open(&cookie("old"), &b.seal(&both)), Err(BeaconError::BadTag));
    }

    #[test]
    fn truncated_oversized_foreign_and_tampered_bytes_are_refused() {
        let c = cookie("k");
        let sealed = beacon("10.0.0.1:7000").seal(&c);
        for cut in 0..sealed.len() {
            assert!(open(&c, &sealed[..cut]).is_err(), "{cut} bytes opened");
        }
        assert_eq!(open(&c, &sealed[..10]), Err(BeaconError::TooShort(10)));
        let mut long = sealed.clone();
        long.resize(MAX_BEACON_LEN + 1, 0);
        assert_eq!(open(&c, &long), Err(BeaconError::TooLong(257)));
        let mut extra = sealed.clone();
        extra.push(0);
        assert_eq!(open(&c, &extra), Err(BeaconError::BadTag));
        let mut foreign = sealed.clone();
        foreign[0] = b'X';
        assert_eq!(open(&c, &foreign), Err(BeaconError::NotABeacon));
        let mut version = sealed.clone();
        version[4] = 2;
        assert_eq!(open(&c, &version), Err(BeaconError::Version(2)));
        for i in 5..sealed.len() {
            let mut flipped = sealed.clone();
            flipped[i] ^= 0x40;
            assert_eq!(open(&c, &flipped), Err(BeaconError::BadTag), "byte {i}");
        }
    }

    #[test]
    fn a_signed_beacon_whose_fields_do_not_read_is_malformed() {
        let c = cookie("k");
        let sign = |body: &[u8]| {
            let mut out = body.to_vec();
            out.extend_from_slice(&c.tag(&[TAG_LABEL, body]));
            out
        };
        let mut good = beacon("10.0.0.1:7000").seal(&c);
        good.truncate(good.len() - BEACON_TAG_LEN);
        let mut family = good.clone();
        family[13] = 5;
        let mut name_len = good.clone();
        name_len[20] = 3;
        let mut bad_name = good.clone();
        bad_name[21] = b' ';
        for body in [family, name_len, bad_name] {
            assert_eq!(open(&c, &sign(&body)), Err(BeaconError::Malformed));
        }
        assert_eq!(BeaconError::Malformed.reason(), "malformed");
    }

    proptest! {
        #[test]
        fn random_bytes_never_open_and_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let c = cookie("k");
            prop_assert!(open(&c, &bytes).is_err());
            let mut framed = BEACON_MAGIC.to_vec();
            framed.push(BEACON_VERSION);
            framed.extend_from_slice(&bytes);
            prop_assert!(open(&c, &framed).is_err());
        }

        #[test]
        fn any_signed_body_opens_or_is_malformed_without_panic(body in proptest::collection::vec(any::<u8>(), 0..240)) {
            let c = cookie("k");
            let mut out = BEACON_MAGIC.to_vec();
            out.push(BEACON_VERSION);
            out.extend_from_slice(&body);
            let tag = c.tag(&[TAG_LABEL, &out]);
            out.extend_from_slice(&tag);
            match open(&c, &out) {
                Ok(b) => prop_assert_eq!(b.seal(&c), out),
                Err(e) => prop_assert!(matches!(e, BeaconError::Malformed | BeaconError::TooShort(_) | BeaconError::TooLong(_)), "{:?}", e),
            }
        }

        #[test]
        fn every_beacon_round_trips(seq in any::<u64>(), ip in any::<[u8; 4]>(), port in any::<u16>(), name in "[a-z0-9._-]{1,64}") {
            let c = cookie("k");
            let b = Beacon { name: NodeName::new(name).expect("a valid name"), link: SocketAddr::from((ip, port)), seq };
            prop_assert_eq!(open(&c, &b.seal(&c)), Ok(b));
        }
    }
}
