//! Invoke ids: the four digits in the frame header that tie a response to its request.
//!
//! ```text
//! 0001..9998  requests, allocated in turn and wrapping; a response reuses its request's id
//! 9999        unsolicited events
//! 0000        unused by clients (some switches number their own requests from it)
//! ```
//! [`Pending`] is the client's table of requests awaiting an answer. It is pure: the
//! caller supplies deadlines and "now" in whatever clock type it uses.

use std::collections::HashMap;
use std::fmt;

/// A four-digit invoke id, `0000`..`9999`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct InvokeId(u16);

impl InvokeId {
    /// The id of unsolicited events.
    pub const EVENT: InvokeId = InvokeId(9999);
    const FIRST_REQUEST: u16 = 1;
    const LAST_REQUEST: u16 = 9998;

    /// `None` above 9999.
    pub fn new(id: u16) -> Option<InvokeId> {
        (id <= 9999).then_some(InvokeId(id))
    }

    pub fn get(self) -> u16 {
        self.0
    }

    pub fn is_event(self) -> bool {
        self == InvokeId::EVENT
    }

    /// Parses the header's four ASCII digits.
    pub fn from_ascii(digits: [u8; 4]) -> Option<InvokeId> {
        digits
            .iter()
            .try_fold(0u16, |id, &digit| {
                digit
                    .is_ascii_digit()
                    .then(|| id * 10 + u16::from(digit - b'0'))
            })
            .map(InvokeId)
    }

    /// The four ASCII digits for the header, zero-padded.
    pub fn to_ascii(self) -> [u8; 4] {
        let n = self.0;
        [
            b'0' + (n / 1000 % 10) as u8,
            b'0' + (n / 100 % 10) as u8,
            b'0' + (n / 10 % 10) as u8,
            b'0' + (n % 10) as u8,
        ]
    }
}

impl fmt::Display for InvokeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}", self.0)
    }
}

/// Hands out request ids 0001..9998 in turn, wrapping, skipping ids still in use.
#[derive(Debug, Clone)]
pub struct InvokeIdAllocator {
    next: u16,
}

impl Default for InvokeIdAllocator {
    fn default() -> Self {
        InvokeIdAllocator {
            next: InvokeId::FIRST_REQUEST,
        }
    }
}

impl InvokeIdAllocator {
    pub fn new() -> InvokeIdAllocator {
        InvokeIdAllocator::default()
    }

    /// The next id for which `in_use` is false; `None` when all 9998 are in use.
    pub fn allocate(&mut self, in_use: impl Fn(InvokeId) -> bool) -> Option<InvokeId> {
        for _ in InvokeId::FIRST_REQUEST..=InvokeId::LAST_REQUEST {
            let id = InvokeId(self.next);
            self.next = if self.next >= InvokeId::LAST_REQUEST {
                InvokeId::FIRST_REQUEST
            } else {
                self.next + 1
            };
            if !in_use(id) {
                return Some(id);
            }
        }
        None
    }
}

/// Requests awaiting a response, keyed by invoke id, each with a caller-given deadline.
///
/// `T` is what the caller needs when the answer comes (e.g. a reply channel); `D` is
/// its clock's instant type (`std::time::Instant`, milliseconds, …).
#[derive(Debug, Clone)]
pub struct Pending<T, D> {
    allocator: InvokeIdAllocator,
    entries: HashMap<InvokeId, (D, T)>,
}

/// All 9998 request ids are awaiting answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("all 9998 CSTA invoke ids are awaiting responses")]
pub struct PendingFull;

impl PendingFull {
    pub fn code(&self) -> &'static str {
        "csta_invoke_ids_exhausted"
    }
}

impl<T, D: Ord + Copy> Default for Pending<T, D> {
    fn default() -> Self {
        Pending {
            allocator: InvokeIdAllocator::new(),
            entries: HashMap::new(),
        }
    }
}

impl<T, D: Ord + Copy> Pending<T, D> {
    pub fn new() -> Pending<T, D> {
        Pending::default()
    }

    /// Allocates an id not in use, records `value` under it until `deadline`.
    pub fn insert(&mut self, value: T, deadline: D) -> Result<InvokeId, PendingFull> {
        let entries = &self.entries;
        let id = self
            .allocator
            .allocate(|id| entries.contains_key(&id))
            .ok_or(PendingFull)?;
        self.entries.insert(id, (deadline, value));
        Ok(id)
    }

    /// Takes the request answered by a response with `id`; `None` if unknown or expired.
    pub fn complete(&mut self, id: InvokeId) -> Option<T> {
        self.entries.remove(&id).map(|(_, value)| value)
    }

    /// Removes and returns every request whose deadline is at or before `now`, earliest
    /// deadline first.
    pub fn expire(&mut self, now: D) -> Vec<(InvokeId, T)> {
        let mut expired: Vec<InvokeId> = self
            .entries
            .iter()
            .filter(|(_, (deadline, _))| *deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        expired.sort_by_key(|id| self.entries.get(id).map(|(deadline, _)| *deadline));
        expired
            .into_iter()
            .filter_map(|id| self.entries.remove(&id).map(|(_, value)| (id, value)))
            .collect()
    }

    /// The earliest deadline, to arm the caller's timer.
    pub fn next_deadline(&self) -> Option<D> {
        self.entries.values().map(|(deadline, _)| *deadline).min()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ascii_round_trip_and_rejects_non_digits() {
        assert_eq!(InvokeId::from_ascii(*b"0042"), InvokeId::new(42));
        assert_eq!(InvokeId::from_ascii(*b"9999"), Some(InvokeId::EVENT));
        assert_eq!(InvokeId::from_ascii(*b"00a1"), None);
        assert_eq!(InvokeId::from_ascii(*b" 001"), None);
        assert_eq!(InvokeId::new(7).map(InvokeId::to_ascii), Some(*b"0007"));
        assert_eq!(InvokeId::new(10_000), None);
        assert_eq!(InvokeId::EVENT.to_string(), "9999");
        assert!(InvokeId::EVENT.is_event());
    }

    #[test]
    fn allocation_wraps_from_9998_to_0001() {
        let mut allocator = InvokeIdAllocator::new();
        let first = allocator.allocate(|_| false).map(InvokeId::get);
        assert_eq!(first, Some(1));
        for _ in 2..=9998 {
            allocator.allocate(|_| false);
        }
        assert_eq!(allocator.allocate(|_| false).map(InvokeId::get), Some(1));
    }

    #[test]
    fn pending_skips_ids_in_use_and_expires_by_deadline() {
        let mut pending: Pending<&str, u64> = Pending::new();
        let a = pending.insert("a", 10).unwrap();
        let b = pending.insert("b", 5).unwrap();
        assert_eq!((a.get(), b.get()), (1, 2));
        assert_eq!(pending.next_deadline(), Some(5));
        assert_eq!(pending.complete(a), Some("a"));
        assert_eq!(pending.complete(a), None);
        let c = pending.insert("c", 7).unwrap();
        assert_eq!(pending.expire(4), vec![]);
        assert_eq!(pending.expire(7), vec![(b, "b"), (c, "c")]);
        assert!(pending.is_empty());
    }

    #[test]
    fn pending_refuses_when_every_id_is_waiting() {
        let mut pending: Pending<u16, u8> = Pending::new();
        for n in 1..=9998 {
            assert_eq!(pending.insert(n, 0).map(InvokeId::get), Ok(n));
        }
        assert_eq!(pending.insert(0, 0), Err(PendingFull));
        assert_eq!(PendingFull.code(), "csta_invoke_ids_exhausted");
        let freed = InvokeId::new(4242).unwrap();
        assert_eq!(pending.complete(freed), Some(4242));
        assert_eq!(pending.insert(1, 0), Ok(freed));
        assert_eq!(pending.len(), 9998);
    }

    proptest! {
        #[test]
        fn allocated_ids_are_requests_and_never_pending(
            ops in proptest::collection::vec(any::<bool>(), 1..300),
        ) {
            let mut pending: Pending<(), u32> = Pending::new();
            let mut live = Vec::new();
            for insert in ops {
                if insert || live.is_empty() {
                    let id = pending.insert((), 0).unwrap();
                    prop_assert!((1..=9998).contains(&id.get()));
                    prop_assert!(!live.contains(&id));
                    live.push(id);
                } else {
                    let id = live.remove(0);
                    prop_assert!(pending.complete(id).is_some());
                }
            }
            prop_assert_eq!(pending.len(), live.len());
        }
    }
}
