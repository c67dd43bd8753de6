//! Gossip datagrams: `[version | HMAC-SHA256(cookie, version | body) truncated to 16 | body]`.

use crate::cookie::Cookie;

/// Version byte of the datagram layout.
pub const DATAGRAM_VERSION: u8 = 1;
/// Bytes of HMAC tag carried per datagram.
pub const TAG_LEN: usize = 16;
/// Bytes before the body.
pub const HEADER_LEN: usize = 1 + TAG_LEN;

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DatagramError {
    /// Shorter than the header.
    #[error("datagram of {0} bytes is shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    /// Unknown layout version.
    #[error("datagram version {0} is not {DATAGRAM_VERSION}")]
    Version(u8),
    /// The tag does not match: another cluster's cookie, or tampering.
    #[error("datagram tag does not match this cluster's cookie")]
    BadTag,
}

/// Wraps `body` for sending.
pub fn seal(cookie: &Cookie, body: &[u8]) -> Vec<u8> {
    let tag = cookie.tag(&[&[DATAGRAM_VERSION], body]);
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(DATAGRAM_VERSION);
    out.extend_from_slice(&tag[..TAG_LEN]);
    out.extend_from_slice(body);
    out
}

/// Checks a received datagram and returns its body.
pub fn open<'a>(cookie: &Cookie, datagram: &'a [u8]) -> Result<&'a [u8], DatagramError> {
    if datagram.len() < HEADER_LEN {
        return Err(DatagramError::TooShort(datagram.len()));
    }
    let (version, rest) = (datagram[0], &datagram[1..]);
    if version != DATAGRAM_VERSION {
        return Err(DatagramError::Version(version));
    }
    let (tag, body) = rest.split_at(TAG_LEN);
    if !cookie.verify(&[&[version], body], tag) {
        return Err(DatagramError::BadTag);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn sealed_datagram_opens_with_the_same_cookie_only() {
        let c = Cookie::new("a").unwrap();
        let d = seal(&c, b"hello");
        assert_eq!(open(&c, &d), Ok(&b"hello"[..]));
        assert_eq!(open(&Cookie::new("b").unwrap(), &d), Err(DatagramError::BadTag));
        assert_eq!(open(&c, &d[..5]), Err(DatagramError::TooShort(5)));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_open_and_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let c = Cookie::new("k").unwrap();
            prop_assert!(open(&c, &bytes).is_err());
        }
    }
}
