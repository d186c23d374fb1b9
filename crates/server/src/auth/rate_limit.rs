//! Failed-login rate limiting per username and per client address.

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
fn user_key(tenant: &str, username: &str) -> String {
    format!("user:{tenant}/{}", username.to_lowercase())
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
        let mut wait = None;
        for (key, max) in [
            (user_key(tenant, username), self.max_per_user),
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
        for key in [user_key(tenant, username), address_key(address)] {
            let times = failures.entry(key).or_default();
            times.push_back(now);
            // Never more entries per key than needed to decide.
            let cap = self.max_per_user.max(self.max_per_address) as usize + 1;
            while times.len() > cap {
                times.pop_front();
            }
        }
    }

    pub fn record_success(&self, tenant: &str, username: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&user_key(tenant, username));
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
        assert!(limiter.check("t", "ANNA", "5.6.7.8", start).is_some());
        // Another user from the same address is not blocked yet.
        assert_eq!(limiter.check("t", "bob", "1.2.3.4", start), None);
        // Same name in another tenant is another key.
        assert_eq!(limiter.check("u", "anna", "9.9.9.9", start), None);
        let later = start + Duration::from_secs(61);
        assert_eq!(limiter.check("t", "anna", "1.2.3.4", later), None);
        limiter.prune(later);
        assert!(limiter.failures.lock().unwrap().is_empty());
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
