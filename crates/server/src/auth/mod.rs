//! Sessions: opaque bearer tokens, held in memory as SHA-256 hashes (a token itself is
//! never stored or logged). A restart ends every session, so no license stays taken by a
//! session that died with the old process.

pub mod extract;
pub mod password;
pub mod rate_limit;

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use license::ClientType;
use sha2::{Digest, Sha256};
use ucplus_core::{Role, TenantId, Timestamp, UserId};

pub use extract::{Auth, ClientAddress};

/// 32 random bytes, URL-safe base64, with a recognizable prefix.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    if getrandom::getrandom(&mut bytes).is_err() {
        // Without an OS random source no token can be safe: make it unusable instead.
        return String::new();
    }
    format!("ucp_{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub type TokenHash = [u8; 32];

pub fn token_hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// One logged-in client connection (or several sharing a token).
#[derive(Debug)]
pub struct Session {
    pub user_id: UserId,
    pub username: String,
    pub tenant_id: Option<TenantId>,
    pub role: Role,
    /// The client license this session holds; `None` for admin-console sessions.
    pub client: Option<ClientType>,
    pub expires_at: Timestamp,
    /// Idle limit in milliseconds.
    pub idle_timeout_ms: i64,
    pub last_seen_ms: AtomicI64,
    /// Open WebSockets keep a session alive however long it has been since a request.
    pub open_sockets: AtomicU32,
    /// The hash of the session's token, to end it at logout.
    pub token_hash: TokenHash,
    /// Turns true when the session ends, so its open WebSockets close at once.
    pub ended: tokio::sync::watch::Sender<bool>,
}

impl Session {
    /// Marks the session ended: its event streams close (code 4001).
    pub fn end(&self) {
        self.ended.send_replace(true);
    }

    pub fn touch(&self, now: Timestamp) {
        self.last_seen_ms.fetch_max(now.0, Ordering::Relaxed);
    }

    pub fn socket_opened(&self) {
        self.open_sockets.fetch_add(1, Ordering::Relaxed);
    }

    pub fn socket_closed(&self, now: Timestamp) {
        self.open_sockets.fetch_sub(1, Ordering::Relaxed);
        self.touch(now);
    }

    /// Has the token expired, or the session been idle too long?
    pub fn is_over(&self, now: Timestamp) -> bool {
        if now >= self.expires_at {
            return true;
        }
        let idle = now.0 - self.last_seen_ms.load(Ordering::Relaxed);
        self.open_sockets.load(Ordering::Relaxed) == 0 && idle > self.idle_timeout_ms
    }
}

/// All live sessions of this server.
#[derive(Default)]
pub struct Sessions {
    by_token: RwLock<HashMap<TokenHash, Arc<Session>>>,
}

impl Sessions {
    pub fn insert(&self, hash: TokenHash, session: Arc<Session>) {
        self.write().insert(hash, session);
    }

    pub fn get(&self, hash: &TokenHash) -> Option<Arc<Session>> {
        self.by_token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(hash)
            .cloned()
    }

    pub fn remove(&self, hash: &TokenHash) -> Option<Arc<Session>> {
        self.write().remove(hash)
    }

    /// Removes and returns every session matching `predicate`.
    pub fn remove_where(&self, predicate: impl Fn(&Session) -> bool) -> Vec<Arc<Session>> {
        let mut map = self.write();
        let doomed: Vec<TokenHash> = map
            .iter()
            .filter(|(_, s)| predicate(s))
            .map(|(hash, _)| *hash)
            .collect();
        doomed.iter().filter_map(|hash| map.remove(hash)).collect()
    }

    pub fn len(&self) -> usize {
        self.by_token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<TokenHash, Arc<Session>>> {
        self.by_token.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(idle_ms: i64, expires: i64) -> Session {
        Session {
            user_id: UserId::new(),
            username: "anna".into(),
            tenant_id: None,
            role: Role::User,
            client: Some(ClientType::Desktop),
            expires_at: Timestamp(expires),
            idle_timeout_ms: idle_ms,
            last_seen_ms: AtomicI64::new(0),
            open_sockets: AtomicU32::new(0),
            token_hash: [0; 32],
            ended: tokio::sync::watch::channel(false).0,
        }
    }

    #[test]
    fn idle_sessions_end_unless_a_socket_is_open() {
        let s = session(100, 10_000);
        assert!(!s.is_over(Timestamp(100)));
        assert!(s.is_over(Timestamp(101)));
        s.socket_opened();
        assert!(!s.is_over(Timestamp(5_000)));
        s.socket_closed(Timestamp(5_000));
        assert!(!s.is_over(Timestamp(5_100)));
        assert!(s.is_over(Timestamp(5_101)));
        assert!(
            s.is_over(Timestamp(10_000)),
            "expired tokens end whatever happens"
        );
    }

    #[test]
    fn tokens_are_random_and_only_hashes_are_kept() {
        let a = random_token();
        let b = random_token();
        assert!(a.starts_with("ucp_") && a.len() > 40);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), token_hash(&b));
        let sessions = Sessions::default();
        sessions.insert(token_hash(&a), Arc::new(session(1, 2)));
        assert!(sessions.get(&token_hash(&a)).is_some());
        assert!(sessions.get(&token_hash(&b)).is_none());
        assert_eq!(sessions.remove_where(|s| s.username == "anna").len(), 1);
        assert!(sessions.is_empty());
    }
}
