//! [`PresenceStore`] for SQLite: the presence a tenant's users chose.

use async_trait::async_trait;
use ucplus_core::store::PresenceStore;
use ucplus_core::*;

use super::{SqlStore, TenantTable, expect_one};
use crate::db::query;
use crate::rows::{self, backend};

const PRESENCE: TenantTable = TenantTable {
    name: "presence",
    columns: "*",
};

#[async_trait]
impl PresenceStore for SqlStore {
    async fn presence(&self, tenant: TenantId) -> StoreResult<Vec<UserPresence>> {
        let rows = PRESENCE.list(&self.db, tenant, "user_id").await?;
        rows.iter().map(rows::presence).collect()
    }

    async fn set_presence(&self, tenant: TenantId, presence: &UserPresence) -> StoreResult<()> {
        // The user must be the tenant's: the insert selects it from users.
        let result = query(
            "INSERT INTO presence (user_id, tenant_id, state, note, updated_at) \
             SELECT id, tenant_id, $1, $2, $3 FROM users WHERE tenant_id = $4 AND id = $5 \
             ON CONFLICT (user_id) DO UPDATE SET state = excluded.state, note = excluded.note, \
             updated_at = excluded.updated_at",
        )
        .bind(presence.state.as_str())
        .bind(&presence.note)
        .bind(presence.updated_at.0)
        .bind(tenant.to_string())
        .bind(presence.user_id.to_string())
        .execute(&self.db)
        .await
        .map_err(backend)?;
        expect_one(result)
    }
}
