//! [`CallLogStore`] for SQLite: each user's finished calls.

use async_trait::async_trait;
use ucplus_core::store::CallLogStore;
use ucplus_core::*;

use super::SqlStore;
use crate::db::query;
use crate::rows::{self, backend, map_error};

#[async_trait]
impl CallLogStore for SqlStore {
    async fn insert_call_log(&self, tenant: TenantId, entries: &[CallLogEntry]) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        for entry in entries {
            query(
                "INSERT INTO call_log (id, tenant_id, user_id, device_id, pbx_id, direction, \
                 missed, answered, other_number, other_name, answered_by, started_at, \
                 answered_at, ended_at, ring_ms, talk_ms, transferred, cause) VALUES \
                 ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
            )
            .bind(&entry.id)
            .bind(tenant.to_string())
            .bind(entry.user_id.to_string())
            .bind(entry.device_id.to_string())
            .bind(entry.pbx_id.to_string())
            .bind(entry.direction.as_str())
            .bind(i64::from(entry.missed))
            .bind(i64::from(entry.answered) | (i64::from(entry.outgoing) << 1))
            .bind(&entry.other_number)
            .bind(&entry.other_name)
            .bind(&entry.answered_by)
            .bind(entry.started_at.0)
            .bind(entry.answered_at.map(|t| t.0))
            .bind(entry.ended_at.0)
            .bind(entry.ring_ms)
            .bind(entry.talk_ms)
            .bind(serde_json::to_string(&entry.transferred).map_err(backend)?)
            .bind(&entry.cause)
            .execute(&mut tx)
            .await
            .map_err(|e| map_error(e, "id"))?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn call_log(
        &self,
        tenant: TenantId,
        user: UserId,
        page: Page,
    ) -> StoreResult<Vec<CallLogEntry>> {
        let rows = query(
            "SELECT * FROM call_log WHERE tenant_id = $1 AND user_id = $2 \
             ORDER BY started_at DESC, id DESC LIMIT $3 OFFSET $4",
        )
        .bind(tenant.to_string())
        .bind(user.to_string())
        .bind(i64::from(page.limit))
        .bind(i64::from(page.offset))
        .fetch_all(&self.db)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::call_log).collect()
    }

    async fn prune_call_log(&self, before: i64) -> StoreResult<u64> {
        let result = query("DELETE FROM call_log WHERE started_at < $1")
            .bind(before)
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }
}
