//! Replay protection: the nonce counts a server has accepted, per nonce.
//!
//! A stateless nonce proves only that the server issued it; the same Authorization sent
//! again would verify again. [`NonceUses`] remembers, for each nonce still alive, the
//! highest `nc` accepted (qop=auth) or that it was used at all (RFC 2069 clients, which
//! send no `nc`), so a replayed or out-of-order count is refused. Its size is bounded: at
//! most `capacity` nonces, each forgotten once the nonce itself has expired.

use std::collections::HashMap;

/// Accepted nonce counts.
#[derive(Debug)]
pub struct NonceUses {
    capacity: usize,
    lifetime: u64,
    /// nonce → (highest nc accepted, 0 for a qop-less use; when first seen, Unix s).
    seen: HashMap<String, (u64, u64)>,
}

/// Why a use was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// This nonce count (or, without qop, this nonce) was used before.
    Replayed,
    /// The `nc` is not 8 hex digits, or 0.
    BadCount,
    /// Too many live nonces are remembered; the client gets a fresh challenge later.
    Full,
}

impl NonceUses {
    /// Remembers at most `capacity` nonces, each for `lifetime` seconds after first use.
    pub fn new(capacity: usize, lifetime: u64) -> NonceUses {
        NonceUses {
            capacity,
            lifetime,
            seen: HashMap::new(),
        }
    }

    /// Records a use of `nonce` with count `nc` (None without qop) at `now`; refuses a
    /// count that is not above every count accepted before for this nonce.
    pub fn accept(&mut self, nonce: &str, nc: Option<&str>, now: u64) -> Result<(), Replay> {
        let count = match nc {
            Some(text) => match u64::from_str_radix(text, 16) {
                Ok(count) if count > 0 && text.len() == 8 => count,
                _ => return Err(Replay::BadCount),
            },
            None => 0,
        };
        if let Some((highest, _)) = self.seen.get_mut(nonce) {
            if count == 0 || count <= *highest {
                return Err(Replay::Replayed);
            }
            *highest = count;
            return Ok(());
        }
        if self.seen.len() >= self.capacity {
            self.prune(now);
            if self.seen.len() >= self.capacity {
                return Err(Replay::Full);
            }
        }
        self.seen.insert(nonce.to_owned(), (count, now));
        Ok(())
    }

    /// Forgets nonces that have expired (their uses can no longer verify anyway).
    pub fn prune(&mut self, now: u64) {
        let lifetime = self.lifetime;
        self.seen
            .retain(|_, (_, first)| now.saturating_sub(*first) <= lifetime);
    }

    pub fn len(&self) -> usize {
        self.seen.len()
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_must_rise_and_qop_less_nonces_are_single_use() {
        let mut uses = NonceUses::new(10, 300);
        assert_eq!(uses.accept("n1", Some("00000001"), 0), Ok(()));
        assert_eq!(
            uses.accept("n1", Some("00000001"), 1),
            Err(Replay::Replayed)
        );
        assert_eq!(uses.accept("n1", Some("00000003"), 1), Ok(()));
        assert_eq!(
            uses.accept("n1", Some("00000002"), 1),
            Err(Replay::Replayed)
        );
        assert_eq!(uses.accept("n1", None, 1), Err(Replay::Replayed));
        assert_eq!(uses.accept("n2", None, 1), Ok(()));
        assert_eq!(uses.accept("n2", None, 2), Err(Replay::Replayed));
        for bad in ["00000000", "1", "zzzzzzzz", "000000001"] {
            assert_eq!(uses.accept("n3", Some(bad), 2), Err(Replay::BadCount));
        }
    }

    #[test]
    fn bounded_and_forgets_expired_nonces() {
        let mut uses = NonceUses::new(2, 300);
        assert_eq!(uses.accept("a", None, 0), Ok(()));
        assert_eq!(uses.accept("b", None, 100), Ok(()));
        assert_eq!(uses.accept("c", None, 200), Err(Replay::Full));
        // "a" has expired by 301: its place is free again.
        assert_eq!(uses.accept("c", None, 301), Ok(()));
        assert_eq!(uses.len(), 2);
        uses.prune(10_000);
        assert!(uses.is_empty());
    }
}
