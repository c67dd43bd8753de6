//! The cluster's shared secret and the HMAC-SHA256 tags made with it.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::ConfigError;

type HmacSha256 = Hmac<Sha256>;

/// The longest cookie accepted, in bytes.
pub const MAX_COOKIE_LEN: usize = 1024;

/// The shared secret every node of a cluster holds. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie(Vec<u8>);

impl Cookie {
    /// Wraps a secret of 1 to 1024 bytes; surrounding whitespace (a trailing newline in a
    /// cookie file) is not part of it.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let trimmed = secret.as_ref().trim_ascii();
        if trimmed.is_empty() || trimmed.len() > MAX_COOKIE_LEN {
            return Err(ConfigError::invalid(
                "cookie",
                &format!("<{} bytes>", trimmed.len()),
                "use a secret of 1 to 1024 bytes (e.g. 32 random characters)",
            ));
        }
        Ok(Self(trimmed.to_vec()))
    }

    /// An HMAC-SHA256 over the concatenation of `parts`.
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.mac();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// Checks `tag` against the HMAC of `parts` in constant time. `tag` may be a left
    /// truncation of the full 32-byte tag (at least 16 bytes).
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        if tag.len() < 16 || tag.len() > 32 {
            return false;
        }
        let mut mac = self.mac();
        for part in parts {
            mac.update(part);
        }
        mac.verify_truncated_left(tag).is_ok()
    }

    /// A short public fingerprint (hex of a hash with a fixed label) that tells cookies apart
    /// without revealing them: used to keep `local` discovery directories per cluster.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::new()
            .chain_update(b"shoal-cookie-fingerprint-v1")
            .chain_update(&self.0)
            .finalize();
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length")
    }
}

impl fmt::Debug for Cookie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cookie(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_tag_verifies_and_a_flipped_bit_does_not() {
        let c = Cookie::new("secret").unwrap();
        let tag = c.tag(&[b"a", b"b"]);
        assert!(c.verify(&[b"ab"], &tag[..16]));
        let mut bad = tag;
        bad[3] ^= 1;
        assert!(!c.verify(&[b"ab"], &bad[..16]));
        assert!(!Cookie::new("other").unwrap().verify(&[b"ab"], &tag));
        assert!(!c.verify(&[b"ab"], &tag[..8]), "short tags are refused");
    }

    #[test]
    fn cookie_is_trimmed_and_never_printed() {
        let c = Cookie::new("  s3cret\n").unwrap();
        assert_eq!(c, Cookie::new("s3cret").unwrap());
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(Cookie::new(" \n").is_err());
    }
}
