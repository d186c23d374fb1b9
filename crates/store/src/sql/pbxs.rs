//! [`PbxStore`] for SQLite: PBX connections.

use async_trait::async_trait;
use ucplus_core::store::PbxStore;
use ucplus_core::*;

use super::{SqlStore, expect_one};
use crate::db::query;
use crate::rows::{self, backend, map_error};

#[async_trait]
impl PbxStore for SqlStore {
    async fn pbxs(&self) -> StoreResult<Vec<Pbx>> {
        let rows = query("SELECT * FROM pbxs ORDER BY name, id")
            .fetch_all(&self.db)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::pbx).collect()
    }

    async fn pbx(&self, id: PbxId) -> StoreResult<Pbx> {
        let row = query("SELECT * FROM pbxs WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&self.db)
            .await
            .map_err(|e| map_error(e, "id"))?;
        rows::pbx(&row)
    }

    async fn insert_pbx(&self, pbx: &Pbx) -> StoreResult<()> {
        query(
            "INSERT INTO pbxs (id, name, kind, tenant_id, host, port, settings, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(pbx.id.to_string())
        .bind(&pbx.name)
        .bind(pbx.kind.as_str())
        .bind(pbx.tenant_id.map(|t| t.to_string()))
        .bind(&pbx.host)
        .bind(pbx.port.map(i64::from))
        .bind(pbx.settings.to_string())
        .bind(pbx.created_at.0)
        .execute(&self.db)
        .await
        .map_err(|e| map_error(e, "id"))?;
        Ok(())
    }

    async fn update_pbx(&self, pbx: &Pbx) -> StoreResult<()> {
        let result =
            query("UPDATE pbxs SET name = $1, host = $2, port = $3, settings = $4 WHERE id = $5")
                .bind(&pbx.name)
                .bind(&pbx.host)
                .bind(pbx.port.map(i64::from))
                .bind(pbx.settings.to_string())
                .bind(pbx.id.to_string())
                .execute(&self.db)
                .await
                .map_err(backend)?;
        expect_one(result)
    }

    async fn delete_pbx(&self, id: PbxId) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        query("DELETE FROM sip_registrations WHERE pbx_id = $1")
            .bind(id.to_string())
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        query("DELETE FROM devices WHERE pbx_id = $1")
            .bind(id.to_string())
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        let result = query("DELETE FROM pbxs WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        expect_one(result)?;
        tx.commit().await.map_err(backend)
    }
}
