//! The cluster's shared secret and the HMAC-SHA256 tags made with it.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::ConfigError;

type HmacSha256 = Hmac<Sha256>;

/// The longest cookie accepted, in bytes.
pub const MAX_COOKIE_LEN: usize = 1024;

/// The most secrets one cookie holds (a rotation needs two).
pub const MAX_SECRETS: usize = 8;

/// The shared secret every node of a cluster holds: one secret, or several during a
/// rotation. The first one proves (link handshakes, gossip datagrams); every one is
/// accepted. `Debug` never prints them.
#[derive(Clone, PartialEq, Eq)]
pub struct Cookie {
    /// The secrets, the proving one first; never empty.
    secrets: Vec<Vec<u8>>,
}

impl Cookie {
    /// Reads a cookie: one secret per line (a cookie file with several lines holds the
    /// secrets of a rotation, the proving one first), each of 1 to 1024 bytes, at most 8.
    /// Surrounding whitespace of each line and empty lines are not part of it.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, ConfigError> {
        let secrets: Vec<Vec<u8>> = secret
            .as_ref()
            .split(|b| *b == b'\n')
            .map(<[u8]>::trim_ascii)
            .filter(|line| !line.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let invalid = |what: String, fix: &str| Err(ConfigError::invalid("cookie", &what, fix));
        if secrets.is_empty() {
            return invalid(
                "<0 bytes>".into(),
                "use a secret of 1 to 1024 bytes (e.g. 32 random characters)",
            );
        }
        if secrets.len() > MAX_SECRETS {
            return invalid(
                format!("<{} secrets>", secrets.len()),
                "give at most 8 secrets, one per line (the proving one first)",
            );
        }
        if let Some(long) = secrets.iter().find(|s| s.len() > MAX_COOKIE_LEN) {
            return invalid(
                format!("<{} bytes>", long.len()),
                "use secrets of 1 to 1024 bytes (e.g. 32 random characters)",
            );
        }
        Ok(Self { secrets })
    }

    /// How many secrets it accepts.
    pub fn secrets(&self) -> usize {
        self.secrets.len()
    }

    /// An HMAC-SHA256 over the concatenation of `parts`, with the proving secret.
    pub fn tag(&self, parts: &[&[u8]]) -> [u8; 32] {
        tag_with(&self.secrets[0], parts)
    }

    /// Checks `tag` against the HMAC of `parts` under each secret, in constant time per
    /// secret. `tag` may be a left truncation of the full 32-byte tag (at least 16 bytes).
    pub fn verify(&self, parts: &[&[u8]], tag: &[u8]) -> bool {
        self.matching(parts, tag).is_some()
    }

    /// The secret under which `tag` verifies, as a cookie of that secret alone: what a side
    /// that accepted a proof proves back with, so a peer that holds only that secret can
    /// check the answer.
    pub fn matching(&self, parts: &[&[u8]], tag: &[u8]) -> Option<Cookie> {
        if tag.len() < 16 || tag.len() > 32 {
            return None;
        }
        self.secrets
            .iter()
            .find(|secret| {
                let mut mac = mac(secret);
                for part in parts {
                    mac.update(part);
                }
                mac.verify_truncated_left(tag).is_ok()
            })
            .map(|secret| Cookie {
                secrets: vec![secret.clone()],
            })
    }

    /// A short public fingerprint of each secret (hex of a hash with a fixed label), the
    /// proving one first: they tell cookies apart without revealing them, and keep `local`
    /// discovery directories per cluster.
    pub fn fingerprints(&self) -> Vec<String> {
        self.secrets
            .iter()
            .map(|secret| {
                let digest = Sha256::new()
                    .chain_update(b"shoal-cookie-fingerprint-v1")
                    .chain_update(secret)
                    .finalize();
                digest[..8].iter().map(|b| format!("{b:02x}")).collect()
            })
            .collect()
    }
}

fn tag_with(secret: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = mac(secret);
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
    HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length")
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
    fn several_lines_are_a_rotation_the_first_proves_and_every_one_is_accepted() {
        let old = Cookie::new("old").unwrap();
        let new = Cookie::new("new").unwrap();
        let both = Cookie::new("new\n old \n\n").unwrap();
        assert_eq!(both.secrets(), 2);
        let by_old = old.tag(&[b"x"]);
        let by_new = new.tag(&[b"x"]);
        assert!(both.verify(&[b"x"], &by_old) && both.verify(&[b"x"], &by_new));
        assert_eq!(both.tag(&[b"x"]), by_new, "the first line proves");
        assert_eq!(both.matching(&[b"x"], &by_old), Some(old.clone()));
        assert!(!old.verify(&[b"x"], &both.tag(&[b"x"])));
        assert_eq!(
            both.fingerprints(),
            [new.fingerprints()[0].clone(), old.fingerprints()[0].clone()]
        );
        assert!(Cookie::new("a\nb\nc\nd\ne\nf\ng\nh\ni").is_err(), "at most 8");
        assert!(Cookie::new(format!("ok\n{}", "x".repeat(1025))).is_err());
    }

    #[test]
    fn cookie_is_trimmed_and_never_printed() {
        let c = Cookie::new("  s3cret\n").unwrap();
        assert_eq!(c, Cookie::new("s3cret").unwrap());
        assert!(!format!("{c:?}").contains("s3cret"));
        assert!(Cookie::new(" \n").is_err());
    }
}
