//! Sessions: opaque bearer tokens, known by their SHA-256 hashes (a token itself is never
//! stored or logged). Each session is kept in the store, held by one node (which counts its
//! license seat) and cached in that node's memory: a token works on any node, which adopts
//! it, and a restart brings the node's sessions back with their seats.

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
use ucplus_core::store::StoredSession;
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

/// A token hash as the store keeps it (hex).
pub fn hash_hex(hash: &TokenHash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

fn hash_from_hex(text: &str) -> Option<TokenHash> {
    let mut hash = [0u8; 32];
    if text.len() != 64 {
        return None;
    }
    for (i, byte) in hash.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(hash)
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
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// Idle limit in milliseconds.
    pub idle_timeout_ms: i64,
    pub last_seen_ms: AtomicI64,
    /// The last activity written to the store.
    pub persisted_seen_ms: AtomicI64,
    /// Open WebSockets keep a session alive however long it has been since a request.
    pub open_sockets: AtomicU32,
    /// Several nodes: the live node that holds this session (and its seat) when this node
    /// only serves it (a client whose requests reach several nodes); None: held here.
    pub visiting: std::sync::Mutex<Option<String>>,
    /// The hash of the session's token, to end it at logout.
    pub token_hash: TokenHash,
    /// Turns true when the session ends, so its open WebSockets close at once.
    pub ended: tokio::sync::watch::Sender<bool>,
}

impl Session {
    /// The session of a stored record; None when the record is not one this version reads
    /// (a malformed hash, an unknown client type).
    pub fn from_stored(stored: &StoredSession) -> Option<Session> {
        let client = match stored.client.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<ClientType>().ok()?),
        };
        Some(Session {
            user_id: stored.user_id,
            username: stored.username.clone(),
            tenant_id: stored.tenant_id,
            role: stored.role,
            client,
            created_at: stored.created_at,
            expires_at: stored.expires_at,
            idle_timeout_ms: stored.idle_timeout_ms,
            last_seen_ms: AtomicI64::new(stored.last_seen.0),
            persisted_seen_ms: AtomicI64::new(stored.last_seen.0),
            open_sockets: AtomicU32::new(0),
            visiting: std::sync::Mutex::new(None),
            token_hash: hash_from_hex(&stored.token_hash)?,
            ended: tokio::sync::watch::channel(false).0,
        })
    }

    /// The session as stored, held by `node`.
    pub fn to_stored(&self, node: &str) -> StoredSession {
        StoredSession {
            token_hash: hash_hex(&self.token_hash),
            user_id: self.user_id,
            username: self.username.clone(),
            tenant_id: self.tenant_id,
            role: self.role,
            client: self.client.map(|c| c.as_str().to_string()),
            node: node.to_string(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            idle_timeout_ms: self.idle_timeout_ms,
            last_seen: Timestamp(self.last_seen_ms.load(Ordering::Relaxed)),
        }
    }

    /// The activity to write to the store at `now`, when it moved on by a quarter of the
    /// idle limit since last written (so another node, or this one after a restart, never
    /// finds a live session idle). A session with an open WebSocket is active now.
    pub fn activity_to_persist(&self, now: Timestamp) -> Option<Timestamp> {
        let seen = if self.open_sockets.load(Ordering::Relaxed) > 0 {
            now.0
        } else {
            self.last_seen_ms.load(Ordering::Relaxed)
        };
        let persisted = self.persisted_seen_ms.load(Ordering::Relaxed);
        (seen - persisted >= self.idle_timeout_ms / 4).then_some(Timestamp(seen))
    }

    /// Notes that activity up to `at` is in the store.
    pub fn persisted(&self, at: Timestamp) {
        self.persisted_seen_ms.fetch_max(at.0, Ordering::Relaxed);
    }

    /// The node holding this session when this node only serves it.
    pub fn visiting(&self) -> Option<String> {
        self.visiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_visiting(&self, home: Option<String>) {
        *self.visiting.lock().unwrap_or_else(|e| e.into_inner()) = home;
    }

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

    /// Every session (a snapshot).
    pub fn all(&self) -> Vec<Arc<Session>> {
        self.by_token
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect()
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

    fn stored(idle_ms: i64, expires: i64) -> StoredSession {
        StoredSession {
            token_hash: hash_hex(&token_hash("t")),
            user_id: UserId::new(),
            username: "anna".into(),
            tenant_id: None,
            role: Role::User,
            client: Some("desktop".into()),
            node: "n1".into(),
            created_at: Timestamp(0),
            expires_at: Timestamp(expires),
            idle_timeout_ms: idle_ms,
            last_seen: Timestamp(0),
        }
    }

    fn session(idle_ms: i64, expires: i64) -> Session {
        Session::from_stored(&stored(idle_ms, expires)).unwrap()
    }

    #[test]
    fn a_session_is_stored_and_read_back_and_persists_activity_sparingly() {
        let record = stored(400, 10_000);
        let session = Session::from_stored(&record).unwrap();
        assert_eq!(session.token_hash, token_hash("t"));
        assert_eq!(session.client, Some(ClientType::Desktop));
        assert_eq!(session.to_stored("n1"), record);
        assert!(
            Session::from_stored(&StoredSession {
                client: Some("phone".into()),
                ..record.clone()
            })
            .is_none(),
            "an unknown client type"
        );
        assert!(
            Session::from_stored(&StoredSession {
                token_hash: "zz".into(),
                ..record.clone()
            })
            .is_none()
        );
        // Written when it moved a quarter of the idle limit on.
        session.touch(Timestamp(99));
        assert_eq!(session.activity_to_persist(Timestamp(99)), None);
        session.touch(Timestamp(100));
        assert_eq!(
            session.activity_to_persist(Timestamp(150)),
            Some(Timestamp(100))
        );
        session.persisted(Timestamp(100));
        assert_eq!(session.activity_to_persist(Timestamp(150)), None);
        // An open WebSocket is activity now.
        session.socket_opened();
        assert_eq!(
            session.activity_to_persist(Timestamp(300)),
            Some(Timestamp(300))
        );
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
