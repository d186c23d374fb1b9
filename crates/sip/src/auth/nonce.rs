//! Stateless nonces: a server checks a nonce it issued without remembering it.
//!
//! ```text
//! 0000000066a1b2c3 9f86d081884c7d65 5e3a…(32 hex)
//! └ issued at (s) ┘ └ random salt ┘ └ HMAC-SHA-256(secret, realm, peer, time, salt) ┘
//! ```
//! The MAC (128 bits) ties a nonce to the server's secret, the realm and the peer it was
//! sent to (its address, when the server binds nonces to addresses), so a forged or
//! foreign nonce, or one used from another address, is [`NonceCheck::Unknown`]; an old
//! one is [`NonceCheck::Expired`] and earns a `stale=true` challenge.

use sha2::{Digest, Sha256};

use crate::random;
use crate::text::{hex, unhex};

const BLOCK: usize = 64;
const MAC_LEN: usize = 16;

/// The server's nonce secret, prepared for HMAC-SHA-256 (RFC 2104).
#[derive(Clone)]
pub struct NonceKey {
    inner_pad: [u8; BLOCK],
    outer_pad: [u8; BLOCK],
}

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

/// What a nonce turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// Issued by this key for this realm and still fresh.
    Fresh,
    /// Issued by this key for this realm, but longer ago than the lifetime.
    Expired,
    /// Not a nonce of this key and realm (forged, mangled or another server's).
    Unknown,
}

impl NonceKey {
    /// A key from the server's secret: at least 32 random bytes, shared by every node
    /// that must accept the others' nonces.
    pub fn new(secret: &[u8]) -> NonceKey {
        let mut key = [0u8; BLOCK];
        let hashed;
        let secret = if secret.len() > BLOCK {
            hashed = Sha256::digest(secret);
            hashed.as_slice()
        } else {
            secret
        };
        for (slot, byte) in key.iter_mut().zip(secret) {
            *slot = *byte;
        }
        NonceKey {
            inner_pad: key.map(|b| b ^ 0x36),
            outer_pad: key.map(|b| b ^ 0x5c),
        }
    }

    /// A fresh nonce for `realm`, issued at `now` (seconds since the Unix epoch).
    pub fn issue(&self, realm: &str, now: u64) -> String {
        self.issue_for(realm, "", now)
    }

    /// A fresh nonce for `realm` that only `peer` (e.g. the client's address) may use.
    pub fn issue_for(&self, realm: &str, peer: &str, now: u64) -> String {
        self.issue_with_salt(realm, peer, now, random::bytes())
    }

    fn issue_with_salt(&self, realm: &str, peer: &str, now: u64, salt: [u8; 8]) -> String {
        let time = now.to_be_bytes();
        let mac = self.mac(realm, peer, &time, &salt);
        format!("{}{}{}", hex(&time), hex(&salt), hex(&mac))
    }

    /// Checks a nonce for `realm` at `now`, given how many seconds a nonce lives.
    pub fn check(&self, realm: &str, nonce: &str, now: u64, lifetime: u64) -> NonceCheck {
        self.check_for(realm, "", nonce, now, lifetime)
    }

    /// Checks a nonce that was issued for `peer` with [`NonceKey::issue_for`].
    pub fn check_for(
        &self,
        realm: &str,
        peer: &str,
        nonce: &str,
        now: u64,
        lifetime: u64,
    ) -> NonceCheck {
        let (Some(time), Some(salt), Some(mac)) = (
            nonce.get(..16).and_then(unhex::<8>),
            nonce.get(16..32).and_then(unhex::<8>),
            nonce.get(32..).and_then(unhex::<MAC_LEN>),
        ) else {
            return NonceCheck::Unknown;
        };
        if !constant_time_eq(&self.mac(realm, peer, &time, &salt), &mac) {
            return NonceCheck::Unknown;
        }
        match now.saturating_sub(u64::from_be_bytes(time)) <= lifetime {
            true => NonceCheck::Fresh,
            false => NonceCheck::Expired,
        }
    }

    fn mac(&self, realm: &str, peer: &str, time: &[u8; 8], salt: &[u8; 8]) -> [u8; MAC_LEN] {
        let full = self.hmac(&[
            b"ucplus-sip-nonce\0",
            realm.as_bytes(),
            b"\0",
            peer.as_bytes(),
            b"\0",
            time,
            salt,
        ]);
        let mut mac = [0u8; MAC_LEN];
        for (slot, byte) in mac.iter_mut().zip(full) {
            *slot = byte;
        }
        mac
    }

    /// HMAC-SHA-256 of the concatenated `parts` (RFC 2104).
    fn hmac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut inner = Sha256::new().chain_update(self.inner_pad);
        for part in parts {
            inner.update(part);
        }
        Sha256::new()
            .chain_update(self.outer_pad)
            .chain_update(inner.finalize())
            .finalize()
            .into()
    }
}

/// Compares without an early exit, so timing does not reveal how much matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        let key = NonceKey::new(b"Jefe");
        let mac = key.hmac(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Keys longer than a block are hashed first (RFC 4231 test case 6).
        let long = NonceKey::new(&[0xaa; 131]);
        let mac = long.hmac(&[b"Test Using Larger Than Block-Size Key - Hash Key First"]);
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn nonces_expire_and_cannot_be_forged() {
        let key = NonceKey::new(b"0123456789abcdef0123456789abcdef");
        let nonce = key.issue_with_salt("example.com", "", 1_000, [7; 8]);
        assert_eq!(nonce.len(), 64);
        assert_eq!(
            key.check("example.com", &nonce, 1_000, 300),
            NonceCheck::Fresh
        );
        assert_eq!(
            key.check("example.com", &nonce, 1_300, 300),
            NonceCheck::Fresh
        );
        assert_eq!(
            key.check("example.com", &nonce, 1_301, 300),
            NonceCheck::Expired
        );
        // A clock that stepped back still accepts the nonce.
        assert_eq!(
            key.check("example.com", &nonce, 900, 300),
            NonceCheck::Fresh
        );
        assert_eq!(
            key.check("other.com", &nonce, 1_000, 300),
            NonceCheck::Unknown
        );
        let other = NonceKey::new(b"another secret");
        assert_eq!(
            other.check("example.com", &nonce, 1_000, 300),
            NonceCheck::Unknown
        );
        // Moving the time forward breaks the MAC.
        let forged = format!("{}{}", hex(&2_000u64.to_be_bytes()), &nonce[16..]);
        assert_eq!(
            key.check("example.com", &forged, 2_000, 300),
            NonceCheck::Unknown
        );
        for junk in ["", "xyz", &nonce[..63], &format!("{nonce}0"), "é"] {
            assert_eq!(
                key.check("example.com", junk, 1_000, 300),
                NonceCheck::Unknown
            );
        }
        assert_ne!(key.issue("example.com", 1), key.issue("example.com", 1));
    }

    #[test]
    fn a_nonce_bound_to_a_peer_is_unknown_to_every_other_peer() {
        let key = NonceKey::new(b"0123456789abcdef0123456789abcdef");
        let nonce = key.issue_for("example.com", "192.0.2.7", 1_000);
        let check = |peer| key.check_for("example.com", peer, &nonce, 1_000, 300);
        assert_eq!(check("192.0.2.7"), NonceCheck::Fresh);
        assert_eq!(check("192.0.2.8"), NonceCheck::Unknown);
        assert_eq!(check(""), NonceCheck::Unknown);
        assert_eq!(
            key.check("example.com", &nonce, 1_000, 300),
            NonceCheck::Unknown
        );
    }
}
