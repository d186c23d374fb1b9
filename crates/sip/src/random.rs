//! Unique identifiers SIP asks for: tags, branches, Call-IDs, nonce salts and cnonces.
//!
//! RFC 3261 §19.3 wants tags and Call-IDs globally unique with at least 32 random bits;
//! these carry 64 to 128 bits from the operating system. Should the OS source ever fail,
//! a process-wide counter mixed with the address space keeps them unique (not secret),
//! so that making an identifier is never a panic path.

use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use crate::text::hex;
use crate::via::BRANCH_COOKIE;

/// `N` unpredictable bytes (unique ones if the OS random source fails).
pub(crate) fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if getrandom::getrandom(&mut out).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let here = std::ptr::addr_of!(COUNTER) as usize;
        let digest = Sha256::new()
            .chain_update(count.to_le_bytes())
            .chain_update(here.to_le_bytes())
            .chain_update(std::process::id().to_le_bytes())
            .finalize();
        for (slot, byte) in out.iter_mut().zip(digest.iter().cycle()) {
            *slot = *byte;
        }
    }
    out
}

/// A From/To tag: 16 hex digits.
pub fn new_tag() -> String {
    hex(&bytes::<8>())
}

/// A Via branch for a new transaction: the RFC 3261 magic cookie and 24 hex digits.
pub fn new_branch() -> String {
    format!("{BRANCH_COOKIE}{}", hex(&bytes::<12>()))
}

/// A Call-ID: 32 hex digits `@host`.
pub fn new_call_id(host: &str) -> String {
    format!("{}@{host}", hex(&bytes::<16>()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_have_their_shape_and_differ() {
        let (a, b) = (new_tag(), new_tag());
        assert_eq!(a.len(), 16);
        assert_ne!(a, b);
        assert!(new_branch().starts_with("z9hG4bK"));
        assert!(new_call_id("example.com").ends_with("@example.com"));
    }
}
