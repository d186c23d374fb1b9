//! Sessions kept in the store, so a token works on every node and survives a restart.
//! Only the token's hash is stored, never the token.

use async_trait::async_trait;

use super::StoreResult;
use crate::ids::{TenantId, UserId};
use crate::model::{Role, Timestamp};

/// A signed-in session as stored: who, with what client license, on which node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    /// The SHA-256 of the token, hex.
    pub token_hash: String,
    pub user_id: UserId,
    pub username: String,
    /// None: a system admin's session.
    pub tenant_id: Option<TenantId>,
    pub role: Role,
    /// The client license the session holds (`desktop`, …); None: an admin console.
    pub client: Option<String>,
    /// The node that holds the session (and its license seat).
    pub node: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub idle_timeout_ms: i64,
    pub last_seen: Timestamp,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &StoredSession) -> StoreResult<()>;
    /// The session whose token hashes to `token_hash`; `NotFound` if there is none.
    async fn session(&self, token_hash: &str) -> StoreResult<StoredSession>;
    /// Every session, of every node.
    async fn all_sessions(&self) -> StoreResult<Vec<StoredSession>>;
    /// Every session held by `node`.
    async fn node_sessions(&self, node: &str) -> StoreResult<Vec<StoredSession>>;
    /// Moves a session to `node` (which adopted it); `NotFound` if it has ended.
    async fn move_session(&self, token_hash: &str, node: &str) -> StoreResult<()>;
    /// Raises each session's last activity to the time given (never lowers it).
    async fn touch_sessions(&self, seen: &[(String, Timestamp)]) -> StoreResult<()>;
    /// Deletes the sessions given, but only those still held by `node`: a session another
    /// node adopted is that node's to end.
    async fn delete_sessions(&self, node: &str, token_hashes: &[String]) -> StoreResult<u64>;
    /// Every session of `user`, on every node.
    async fn user_sessions(&self, user: UserId) -> StoreResult<Vec<StoredSession>>;
    /// Deletes the sessions past their expiry or idle past their limit at `now`.
    async fn delete_stale_sessions(&self, now: Timestamp) -> StoreResult<u64>;
}
