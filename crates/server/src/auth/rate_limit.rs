//! Failed-login rate limiting per (username, client address) and per client address.
//!
//! A user is limited per address, so nobody can lock an account out from elsewhere: the
//! owner's correct password from another address still works. An attempt is counted
//! before the password is checked ([`LoginLimiter::attempt`]), so concurrent guesses
//! cannot all slip in under the limit; a success takes its attempt back.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts failures in a sliding window per key.
pub struct LoginLimiter {
    window: Duration,
    max_per_user: u32,
    max_per_address: u32,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Keys are namespaced so a username can never collide with an address.
fn user_key(tenant: &str, username: &str, address: &str) -> String {
    format!("user:{tenant}/{}@{address}", username.to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("addr:{address}")
}

impl LoginLimiter {
    pub fn new(window: Duration, max_per_user: u32, max_per_address: u32) -> Self {
        LoginLimiter {
            window,
            max_per_user,
            max_per_address,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(seconds to wait)` if this user or address has failed too often recently.
    pub fn check(&self, tenant: &str, username: &str, address: &str, now: Instant) -> Option<u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        self.wait(&mut failures, tenant, username, address, now)
    }

    /// Counts an attempt before the password is checked: `Err(seconds to wait)` when the
    /// limit is reached, otherwise the attempt is recorded as a failure until
    /// [`LoginLimiter::attempt_succeeded`] takes it back.
    pub fn attempt(
        &self,
        tenant: &str,
        username: &str,
        address: &str,
        now: Instant,
    ) -> Result<(), u64> {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(wait) = self.wait(&mut failures, tenant, username, address, now) {
            return Err(wait);
        }
        self.push(&mut failures, tenant, username, address, now);
        Ok(())
    }

    fn wait(
        &self,
        failures: &mut HashMap<String, VecDeque<Instant>>,
        tenant: &str,
        username: &str,
        address: &str,
        now: Instant,
    ) -> Option<u64> {
        let mut wait = None;
        for (key, max) in [
            (user_key(tenant, username, address), self.max_per_user),
            (address_key(address), self.max_per_address),
        ] {
            let Some(times) = failures.get_mut(&key) else {
                continue;
            };
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) > self.window)
            {
                times.pop_front();
            }
            if times.len() >= max as usize {
                let oldest = times.front().copied().unwrap_or(now);
                let remaining = self.window.saturating_sub(now.duration_since(oldest));
                wait = Some(wait.unwrap_or(0).max(remaining.as_secs().max(1)));
            }
        }
        wait
    }

    pub fn record_failure(&self, tenant: &str, username: &str, address: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        self.push(&mut failures, tenant, username, address, now);
    }

    fn push(
        &self,
        failures: &mut HashMap<String, VecDeque<Instant>>,
        tenant: &str,
        username: &str,
        address: &str,
        now: Instant,
    ) {
        for key in [user_key(tenant, username, address), address_key(address)] {
            let times = failures.entry(key).or_default();
            times.push_back(now);
            // Never more entries per key than needed to decide.
            let cap = self.max_per_user.max(self.max_per_address) as usize + 1;
            while times.len() > cap {
                times.pop_front();
            }
        }
    }

    /// A correct login: forgets this user's failures from this address.
    pub fn record_success(&self, tenant: &str, username: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&user_key(tenant, username, address));
    }

    /// A correct login after [`LoginLimiter::attempt`]: as [`LoginLimiter::record_success`],
    /// and the address's attempt is taken back too.
    pub fn attempt_succeeded(&self, tenant: &str, username: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&user_key(tenant, username, address));
        if let Some(times) = failures.get_mut(&address_key(address)) {
            times.pop_back();
        }
    }

    /// Takes back an attempt that was never judged (the server was too busy to check the
    /// password): it counts neither for nor against anyone.
    pub fn attempt_abandoned(&self, tenant: &str, username: &str, address: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in [user_key(tenant, username, address), address_key(address)] {
            if let Some(times) = failures.get_mut(&key) {
                times.pop_back();
            }
        }
    }

    /// Forgets keys whose failures are all older than the window.
    pub fn prune(&self, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.retain(|_, times| {
            times
                .back()
                .is_some_and(|t| now.duration_since(*t) <= self.window)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_and_recovers_after_the_window() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 3, 10);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("t", "anna", "1.2.3.4", start), None);
            limiter.record_failure("t", "anna", "1.2.3.4", start);
        }
        assert!(limiter.check("t", "ANNA", "1.2.3.4", start).is_some());
        // The same user from another address is not locked out by these failures.
        assert_eq!(limiter.check("t", "anna", "5.6.7.8", start), None);
        // Another user from the same address is not blocked yet.
        assert_eq!(limiter.check("t", "bob", "1.2.3.4", start), None);
        // Same name in another tenant is another key.
        assert_eq!(limiter.check("u", "anna", "1.2.3.4", start), None);
        let later = start + Duration::from_secs(61);
        assert_eq!(limiter.check("t", "anna", "1.2.3.4", later), None);
        limiter.prune(later);
        assert!(limiter.failures.lock().unwrap().is_empty());
    }

    #[test]
    fn attempts_count_before_the_check_and_a_success_takes_its_attempt_back() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 5, 30);
        let now = Instant::now();
        // Ten concurrent guesses: only five get to the password check.
        let admitted = (0..10)
            .filter(|_| limiter.attempt("t", "anna", "1.2.3.4", now).is_ok())
            .count();
        assert_eq!(admitted, 5);
        // A correct password from elsewhere: admitted, and leaves nothing counted there.
        assert!(limiter.attempt("t", "anna", "9.9.9.9", now).is_ok());
        limiter.attempt_succeeded("t", "anna", "9.9.9.9");
        for _ in 0..40 {
            assert!(limiter.attempt("t", "anna", "9.9.9.9", now).is_ok());
            limiter.attempt_succeeded("t", "anna", "9.9.9.9");
        }
        assert_eq!(limiter.check("t", "anna", "9.9.9.9", now), None);
        // Attempts the server never judged (too busy) count for nothing.
        for _ in 0..40 {
            assert!(limiter.attempt("t", "bert", "8.8.8.8", now).is_ok());
            limiter.attempt_abandoned("t", "bert", "8.8.8.8");
        }
        assert_eq!(limiter.check("t", "bert", "8.8.8.8", now), None);
    }

    #[test]
    fn an_address_is_blocked_across_usernames() {
        let limiter = LoginLimiter::new(Duration::from_secs(60), 100, 4);
        let now = Instant::now();
        for name in ["a", "b", "c", "d"] {
            limiter.record_failure("t", name, "10.0.0.1", now);
        }
        assert!(limiter.check("t", "e", "10.0.0.1", now).is_some());
        assert_eq!(limiter.check("t", "e", "10.0.0.2", now), None);
    }
}
