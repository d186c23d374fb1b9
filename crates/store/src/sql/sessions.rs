//! [`SessionStore`]: sessions by token hash, each held by one node.

use async_trait::async_trait;
use ucplus_core::store::{SessionStore, StoredSession};
use ucplus_core::*;

use super::{SqlStore, expect_one};
use crate::db::{On, query};
use crate::rows::{self, backend, map_error};

/// Inserts `session`, on the pool or in a transaction.
pub(crate) async fn insert_session<'a>(
    on: impl Into<On<'a>>,
    session: &StoredSession,
) -> StoreResult<()> {
    query(
        "INSERT INTO sessions (token_hash, user_id, username, tenant_id, role, client, node, \
             created_at, expires_at, idle_timeout_ms, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&session.token_hash)
    .bind(session.user_id.to_string())
    .bind(&session.username)
    .bind(session.tenant_id.map(|t| t.to_string()))
    .bind(session.role.as_str())
    .bind(&session.client)
    .bind(&session.node)
    .bind(session.created_at.0)
    .bind(session.expires_at.0)
    .bind(session.idle_timeout_ms)
    .bind(session.last_seen.0)
    .execute(on)
    .await
    .map_err(|e| map_error(e, "token_hash"))?;
    Ok(())
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn insert_session(&self, session: &StoredSession) -> StoreResult<()> {
        insert_session(&self.db, session).await
    }

    async fn session(&self, token_hash: &str) -> StoreResult<StoredSession> {
        let row = query("SELECT * FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_one(&self.db)
            .await
            .map_err(|e| map_error(e, "token_hash"))?;
        rows::session(&row)
    }

    async fn all_sessions(&self) -> StoreResult<Vec<StoredSession>> {
        let rows = query("SELECT * FROM sessions ORDER BY created_at")
            .fetch_all(&self.db)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::session).collect()
    }

    async fn node_sessions(&self, node: &str) -> StoreResult<Vec<StoredSession>> {
        let rows = query("SELECT * FROM sessions WHERE node = $1 ORDER BY created_at")
            .bind(node)
            .fetch_all(&self.db)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::session).collect()
    }

    async fn move_session(&self, token_hash: &str, node: &str) -> StoreResult<()> {
        let result = query("UPDATE sessions SET node = $1 WHERE token_hash = $2")
            .bind(node)
            .bind(token_hash)
            .execute(&self.db)
            .await
            .map_err(backend)?;
        expect_one(result)
    }

    async fn touch_sessions(&self, seen: &[(String, Timestamp)]) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        for (token_hash, at) in seen {
            query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2 AND last_seen < $1")
                .bind(at.0)
                .bind(token_hash)
                .execute(&mut tx)
                .await
                .map_err(backend)?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn delete_sessions(&self, node: &str, token_hashes: &[String]) -> StoreResult<u64> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        let mut deleted = 0;
        for token_hash in token_hashes {
            deleted += query("DELETE FROM sessions WHERE token_hash = $1 AND node = $2")
                .bind(token_hash)
                .bind(node)
                .execute(&mut tx)
                .await
                .map_err(backend)?
                .rows_affected();
        }
        tx.commit().await.map_err(backend)?;
        Ok(deleted)
    }

    async fn user_sessions(&self, user: UserId) -> StoreResult<Vec<StoredSession>> {
        let rows = query("SELECT * FROM sessions WHERE user_id = $1 ORDER BY created_at")
            .bind(user.to_string())
            .fetch_all(&self.db)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::session).collect()
    }

    async fn delete_stale_sessions(&self, now: Timestamp) -> StoreResult<u64> {
        let result = query(
            "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen + idle_timeout_ms < $1",
        )
        .bind(now.0)
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(result.rows_affected())
    }
}
