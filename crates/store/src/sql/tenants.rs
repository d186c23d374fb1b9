//! [`TenantStore`] for SQLite: tenants, their first admin, their license limits.

use async_trait::async_trait;
use ucplus_core::store::{TenantStore, check_tenant};
use ucplus_core::*;

use super::users::{INSERT_USER, bind_user};
use super::{SqlStore, expect_one};
use crate::db::{Tx, query};
use crate::rows::{self, backend, map_error};

/// Inserts a tenant and its first admin in `tx`.
pub(crate) async fn insert_tenant(
    tx: &mut Tx,
    tenant: &Tenant,
    first_admin: Option<&User>,
) -> StoreResult<()> {
    if let Some(admin) = first_admin {
        check_tenant(tenant.id, admin.tenant_id)?;
    }
    query("INSERT INTO tenants (id, name, slug, created_at) VALUES ($1, $2, $3, $4)")
        .bind(tenant.id.to_string())
        .bind(&tenant.name)
        .bind(&tenant.slug)
        .bind(tenant.created_at.0)
        .execute(&mut *tx)
        .await
        .map_err(|e| map_error(e, "slug"))?;
    if let Some(admin) = first_admin {
        bind_user(query(INSERT_USER), Some(tenant.id), admin)
            .execute(&mut *tx)
            .await
            .map_err(|e| map_error(e, "admin.username"))?;
    }
    Ok(())
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = query("SELECT * FROM tenants ORDER BY name, id")
            .fetch_all(&self.db)
            .await
            .map_err(backend)?;
        rows.iter().map(rows::tenant).collect()
    }

    async fn tenant_by_id(&self, id: TenantId) -> StoreResult<Tenant> {
        let row = query("SELECT * FROM tenants WHERE id = $1")
            .bind(id.to_string())
            .fetch_one(&self.db)
            .await
            .map_err(|e| map_error(e, "id"))?;
        rows::tenant(&row)
    }

    async fn tenant_by_slug(&self, slug: &str) -> StoreResult<Tenant> {
        let row = query("SELECT * FROM tenants WHERE slug = $1")
            .bind(slug)
            .fetch_one(&self.db)
            .await
            .map_err(|e| map_error(e, "slug"))?;
        rows::tenant(&row)
    }

    async fn insert_tenant(&self, tenant: &Tenant, first_admin: Option<&User>) -> StoreResult<()> {
        if let Some(admin) = first_admin {
            check_tenant(tenant.id, admin.tenant_id)?;
        }
        let mut tx = self.db.begin().await.map_err(backend)?;
        insert_tenant(&mut tx, tenant, first_admin).await?;
        tx.commit().await.map_err(backend)
    }

    async fn update_tenant(&self, tenant: &Tenant) -> StoreResult<()> {
        let result = query("UPDATE tenants SET name = $1, slug = $2 WHERE id = $3")
            .bind(&tenant.name)
            .bind(&tenant.slug)
            .bind(tenant.id.to_string())
            .execute(&self.db)
            .await
            .map_err(|e| map_error(e, "slug"))?;
        expect_one(result)
    }

    async fn delete_tenant(&self, id: TenantId) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        let id = id.to_string();
        // Children first, so the order does not depend on ON DELETE CASCADE support.
        for table in [
            "sessions",
            "sip_registrations",
            "devices",
            "users",
            "sites",
            "tenant_limits",
            "pbxs",
        ] {
            query(format!("DELETE FROM {table} WHERE tenant_id = $1"))
                .bind(&id)
                .execute(&mut tx)
                .await
                .map_err(backend)?;
        }
        let result = query("DELETE FROM tenants WHERE id = $1")
            .bind(&id)
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        expect_one(result)?;
        tx.commit().await.map_err(backend)
    }

    async fn tenant_limits(&self, id: TenantId) -> StoreResult<TenantLimits> {
        let rows =
            query("SELECT license_type, cap, reserved FROM tenant_limits WHERE tenant_id = $1")
                .bind(id.to_string())
                .fetch_all(&self.db)
                .await
                .map_err(backend)?;
        let mut limits = TenantLimits::new();
        for row in rows {
            let cap: Option<i64> = row.try_get("cap").map_err(backend)?;
            let reserved: i64 = row.try_get("reserved").map_err(backend)?;
            limits.insert(
                row.try_get("license_type").map_err(backend)?,
                TenantLimit {
                    cap: cap.map(u32::try_from).transpose().map_err(backend)?,
                    reserved: u32::try_from(reserved).map_err(backend)?,
                },
            );
        }
        Ok(limits)
    }

    async fn set_tenant_limits(&self, id: TenantId, limits: &TenantLimits) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        query("DELETE FROM tenant_limits WHERE tenant_id = $1")
            .bind(id.to_string())
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        for (license_type, limit) in limits {
            query(
                "INSERT INTO tenant_limits (tenant_id, license_type, cap, reserved) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(id.to_string())
            .bind(license_type)
            .bind(limit.cap.map(i64::from))
            .bind(i64::from(limit.reserved))
            .execute(&mut tx)
            .await
            .map_err(|e| map_error(e, "tenant_id"))?;
        }
        tx.commit().await.map_err(backend)
    }
}
