//! [`AuditStore`] for SQLite: the audit log.

use async_trait::async_trait;
use ucplus_core::store::AuditStore;
use ucplus_core::*;

use super::SqlStore;
use crate::db::query;
use crate::rows::{self, backend};

#[async_trait]
impl AuditStore for SqlStore {
    async fn insert_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        query(
            "INSERT INTO audit_log (id, at, actor_id, actor_username, tenant_id, action, target, \
             detail, source) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&entry.id)
        .bind(entry.at.0)
        .bind(entry.actor_id.map(|u| u.to_string()))
        .bind(&entry.actor_username)
        .bind(entry.tenant_id.map(|t| t.to_string()))
        .bind(&entry.action)
        .bind(&entry.target)
        .bind(entry.detail.to_string())
        .bind(&entry.source)
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn audit(&self, tenant: Option<TenantId>, page: Page) -> StoreResult<Vec<AuditEntry>> {
        let rows = match tenant {
            Some(tenant) => {
                query(
                    "SELECT * FROM audit_log WHERE tenant_id = $1 \
                     ORDER BY at DESC, id DESC LIMIT $2 OFFSET $3",
                )
                .bind(tenant.to_string())
                .bind(i64::from(page.limit))
                .bind(i64::from(page.offset))
                .fetch_all(&self.db)
                .await
            }
            None => {
                query("SELECT * FROM audit_log ORDER BY at DESC, id DESC LIMIT $1 OFFSET $2")
                    .bind(i64::from(page.limit))
                    .bind(i64::from(page.offset))
                    .fetch_all(&self.db)
                    .await
            }
        }
        .map_err(backend)?;
        rows.iter().map(rows::audit).collect()
    }
}
