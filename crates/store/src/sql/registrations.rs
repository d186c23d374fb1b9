//! [`RegistrationStore`]: handsets' SIP registrations, one row per device, each written by
//! the node whose registrar took it.

use async_trait::async_trait;
use ucplus_core::store::{RegistrationStore, SipRegistration};
use ucplus_core::*;

use super::{SqlStore, expect_one};
use crate::db::query;
use crate::rows::{self, backend};

#[async_trait]
impl RegistrationStore for SqlStore {
    async fn registrations(
        &self,
        tenant: TenantId,
        now: Timestamp,
    ) -> StoreResult<Vec<SipRegistration>> {
        let rows = query(
            "SELECT * FROM sip_registrations WHERE tenant_id = $1 AND expires_at > $2 \
             ORDER BY device_id",
        )
        .bind(tenant.to_string())
        .bind(now.0)
        .fetch_all(&self.db)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::registration).collect()
    }

    async fn registration(
        &self,
        tenant: TenantId,
        device: DeviceRecordId,
        now: Timestamp,
    ) -> StoreResult<Option<SipRegistration>> {
        let row = query(
            "SELECT * FROM sip_registrations WHERE tenant_id = $1 AND device_id = $2 \
             AND expires_at > $3",
        )
        .bind(tenant.to_string())
        .bind(device.to_string())
        .bind(now.0)
        .fetch_optional(&self.db)
        .await
        .map_err(backend)?;
        row.as_ref().map(rows::registration).transpose()
    }

    async fn set_registration(
        &self,
        tenant: TenantId,
        registration: &SipRegistration,
    ) -> StoreResult<()> {
        // The device must be the tenant's: the insert selects it from devices.
        let result = query(
            "INSERT INTO sip_registrations (device_id, tenant_id, pbx_id, aor, contact, source, \
             transport, call_id, expires_at, node) \
             SELECT id, tenant_id, pbx_id, $1, $2, $3, $4, $5, $6, $7 FROM devices \
             WHERE tenant_id = $8 AND id = $9 \
             ON CONFLICT (device_id) DO UPDATE SET aor = excluded.aor, \
             contact = excluded.contact, source = excluded.source, \
             transport = excluded.transport, call_id = excluded.call_id, \
             expires_at = excluded.expires_at, node = excluded.node",
        )
        .bind(&registration.aor)
        .bind(&registration.contact)
        .bind(&registration.source)
        .bind(registration.transport.as_str())
        .bind(&registration.call_id)
        .bind(registration.expires_at.0)
        .bind(&registration.node)
        .bind(tenant.to_string())
        .bind(registration.device_id.to_string())
        .execute(&self.db)
        .await
        .map_err(backend)?;
        expect_one(result)
    }

    async fn delete_registration(
        &self,
        tenant: TenantId,
        device: DeviceRecordId,
        node: &str,
    ) -> StoreResult<bool> {
        let result = query(
            "DELETE FROM sip_registrations WHERE tenant_id = $1 AND device_id = $2 AND node = $3",
        )
        .bind(tenant.to_string())
        .bind(device.to_string())
        .bind(node)
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(result.rows_affected() > 0)
    }

    async fn pbx_registrations(
        &self,
        pbx: PbxId,
        now: Timestamp,
    ) -> StoreResult<Vec<SipRegistration>> {
        let rows = query(
            "SELECT * FROM sip_registrations WHERE pbx_id = $1 AND expires_at > $2 \
             ORDER BY device_id",
        )
        .bind(pbx.to_string())
        .bind(now.0)
        .fetch_all(&self.db)
        .await
        .map_err(backend)?;
        rows.iter().map(rows::registration).collect()
    }

    async fn prune_registrations(&self, before: Timestamp) -> StoreResult<u64> {
        let result = query("DELETE FROM sip_registrations WHERE expires_at < $1")
            .bind(before.0)
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(result.rows_affected())
    }
}
