//! [`DeviceStore`] for SQLite: a tenant's devices, and every device of one PBX.

use async_trait::async_trait;
use ucplus_core::store::DeviceStore;
use ucplus_core::*;

use super::{SqlStore, TenantTable, expect_one};
use crate::db::query;
use crate::rows::{self, backend, map_error};

const DEVICES: TenantTable = TenantTable {
    name: "devices",
    columns: "*",
};

#[async_trait]
impl DeviceStore for SqlStore {
    async fn devices(&self, tenant: TenantId) -> StoreResult<Vec<Device>> {
        let rows = DEVICES.list(&self.db, tenant, "pbx_id, device_id").await?;
        rows.iter().map(rows::device).collect()
    }

    async fn device(&self, tenant: TenantId, id: DeviceRecordId) -> StoreResult<Device> {
        rows::device(&DEVICES.get(&self.db, tenant, &id.to_string()).await?)
    }

    async fn insert_devices(&self, tenant: TenantId, devices: &[Device]) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        for device in devices {
            query(
                "INSERT INTO devices (id, tenant_id, pbx_id, device_id, name, user_id, created_at, \
                 extension, sip_username, sip_ha1_md5, sip_ha1_sha256) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            )
            .bind(device.id.to_string())
            .bind(tenant.to_string())
            .bind(device.pbx_id.to_string())
            .bind(&device.device_id)
            .bind(&device.name)
            .bind(device.user_id.map(|u| u.to_string()))
            .bind(device.created_at.0)
            .bind(&device.extension)
            .bind(&device.sip_username)
            .bind(device.sip_ha1.as_ref().map(|h| h.md5.clone()))
            .bind(device.sip_ha1.as_ref().map(|h| h.sha256.clone()))
            .execute(&mut tx)
            .await
            .map_err(|e| map_error(e, "device_id"))?;
        }
        tx.commit().await.map_err(backend)
    }

    async fn update_device(&self, tenant: TenantId, device: &Device) -> StoreResult<()> {
        let result = query(
            "UPDATE devices SET name = $1, user_id = $2, extension = $3, sip_username = $4, \
             sip_ha1_md5 = $5, sip_ha1_sha256 = $6 WHERE tenant_id = $7 AND id = $8",
        )
        .bind(&device.name)
        .bind(device.user_id.map(|u| u.to_string()))
        .bind(&device.extension)
        .bind(&device.sip_username)
        .bind(device.sip_ha1.as_ref().map(|h| h.md5.clone()))
        .bind(device.sip_ha1.as_ref().map(|h| h.sha256.clone()))
        .bind(tenant.to_string())
        .bind(device.id.to_string())
        .execute(&self.db)
        .await
        .map_err(backend)?;
        expect_one(result)
    }

    async fn delete_device(&self, tenant: TenantId, id: DeviceRecordId) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        // Its registration goes with it.
        query("DELETE FROM sip_registrations WHERE tenant_id = $1 AND device_id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        DEVICES.delete(&mut tx, tenant, &id.to_string()).await?;
        tx.commit().await.map_err(backend)
    }

    async fn numbers_in_use(
        &self,
        tenant: TenantId,
        numbers: &[String],
    ) -> StoreResult<Vec<String>> {
        let mut in_use = Vec::new();
        // Well under SQLite's limit of bound parameters per statement.
        for chunk in numbers.chunks(500) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT COALESCE(extension, device_id) AS number FROM devices \
                 WHERE tenant_id = $1 AND COALESCE(extension, device_id) IN ({})",
                placeholders.join(", ")
            );
            let mut query = query(&sql).bind(tenant.to_string());
            for number in chunk {
                query = query.bind(number);
            }
            for row in query.fetch_all(&self.db).await.map_err(backend)? {
                in_use.push(row.try_get("number").map_err(backend)?);
            }
        }
        Ok(in_use)
    }

    async fn device_owner(&self, pbx: PbxId, device_id: &str) -> StoreResult<Option<TenantId>> {
        let row = query("SELECT tenant_id FROM devices WHERE pbx_id = $1 AND device_id = $2")
            .bind(pbx.to_string())
            .bind(device_id)
            .fetch_optional(&self.db)
            .await
            .map_err(backend)?;
        match row {
            None => Ok(None),
            Some(row) => {
                let tenant: String = row.try_get("tenant_id").map_err(backend)?;
                tenant.parse().map(Some).map_err(backend)
            }
        }
    }

    async fn pbx_devices(&self, pbx: PbxId) -> StoreResult<Vec<Device>> {
        let rows = query("SELECT * FROM devices WHERE pbx_id = $1 ORDER BY device_id")
            .bind(pbx.to_string())
            .fetch_all(&self.db)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::device).collect()
    }
}
