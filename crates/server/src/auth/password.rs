//! Argon2id password hashing. Hashing is slow on purpose and takes 19 MiB each: it runs
//! on the blocking pool behind a [`HashGate`], so concurrent logins cannot take the
//! server's memory or every core.

use std::time::Duration;

use axum::http::StatusCode;
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

fn hasher() -> Argon2<'static> {
    // OWASP's Argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A PHC string (`$argon2id$v=19$...`) for `password`.
pub fn hash(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| e.to_string())?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// True if `password` matches the stored PHC string. A malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A valid hash of a random password, verified against when a user does not exist so that
/// unknown and known usernames take the same time.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&super::random_token()).unwrap_or_default())
}

/// Bounds concurrent hashing: at most `permits` at once (one per core by default); a
/// request that cannot start within `wait` is answered 503 `busy` with a Retry-After.
///
/// The hashing runs on `permits` threads of its own, not on the shared blocking pool:
/// each thread's allocator keeps memory of its own, so Argon2's 19 MiB per hash spread
/// over many pool threads would not be flat.
pub struct HashGate {
    permits: Semaphore,
    wait: Duration,
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl HashGate {
    /// `permits` 0 means one per core.
    pub fn new(permits: usize, wait: Duration) -> HashGate {
        let permits = match permits {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
        for index in 0..permits {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ucplus-hash-{index}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for the next job.
                        let job = match queue.lock() {
                            Ok(queue) => queue.recv(),
                            Err(_) => break,
                        };
                        match job {
                            Ok(job) => job(),
                            // The gate is gone: the thread ends.
                            Err(_) => break,
                        }
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(%error, "could not start a password hashing thread");
            }
        }
        HashGate {
            permits: Semaphore::new(permits),
            wait,
            jobs,
        }
    }

    /// Runs `work` (hashing or verifying) when a permit is free.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let permit = match tokio::time::timeout(self.wait, self.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => {
                metrics::counter!("ucplus_password_hash_busy_total").increment(1);
                let mut error = ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "too many logins at once; try again in a moment",
                );
                error.retry_after = Some(1);
                return Err(error);
            }
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = reply.send(work());
            }))
            .map_err(|_| ApiError::internal("the password hashing threads are gone"))?;
        let result = answer
            .await
            .map_err(|_| ApiError::internal("a password hashing job was lost"));
        drop(permit);
        result
    }

    /// A new PHC hash of `secret`.
    pub async fn hash(&self, secret: String) -> ApiResult<String> {
        self.run(move || hash(&secret))
            .await?
            .map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_and_are_salted() {
        let first = super::hash("correct horse").unwrap();
        let second = super::hash("correct horse").unwrap();
        assert!(first.starts_with("$argon2id$"));
        assert_ne!(first, second);
        assert!(super::verify("correct horse", &first));
        assert!(!super::verify("wrong horse", &first));
        assert!(!super::verify("correct horse", "not a hash"));
    }
}
