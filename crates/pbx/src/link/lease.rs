//! Whether this process may still talk to switches: always (the only node), or until the
//! deadline its cluster lease last gave (several nodes). A link checks it before it
//! connects and before each write, so a node that was frozen or cut off sends nothing
//! once it resumes — not even before its own lease loop has noticed and stopped the links.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The monotonic origin the deadlines are counted from.
fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn millis_since_base(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(base()).as_millis()).unwrap_or(u64::MAX)
}

/// See the module documentation. Clones share the deadline.
#[derive(Clone, Debug, Default)]
pub struct Lease(Option<Arc<AtomicU64>>);

impl Lease {
    /// The only node: its links may always talk.
    pub fn always() -> Lease {
        Lease(None)
    }

    /// Several nodes: no link may talk until [`Lease::extend_to`] gives a deadline.
    pub fn until_renewed() -> Lease {
        base();
        Lease(Some(Arc::new(AtomicU64::new(0))))
    }

    /// The links may talk until `deadline` (a monotonic instant: it keeps running while
    /// the process is stopped, so a resumed process finds it passed).
    pub fn extend_to(&self, deadline: Instant) {
        if let Some(until) = &self.0 {
            until.store(millis_since_base(deadline), Ordering::Release);
        }
    }

    /// No link may talk any more (fenced).
    pub fn revoke(&self) {
        if let Some(until) = &self.0 {
            until.store(0, Ordering::Release);
        }
    }

    pub fn valid(&self) -> bool {
        match &self.0 {
            None => true,
            Some(until) => millis_since_base(Instant::now()) < until.load(Ordering::Acquire),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_lease_lets_links_talk_only_until_its_deadline() {
        assert!(Lease::always().valid());
        let lease = Lease::until_renewed();
        let shared = lease.clone();
        assert!(!shared.valid(), "nothing before the first renewal");
        lease.extend_to(Instant::now() + Duration::from_secs(60));
        assert!(shared.valid());
        lease.extend_to(Instant::now());
        assert!(!shared.valid(), "a passed deadline");
        lease.extend_to(Instant::now() + Duration::from_secs(60));
        lease.revoke();
        assert!(!shared.valid());
    }
}
