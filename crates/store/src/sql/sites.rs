//! [`SiteStore`] for SQLite: the sites of a tenant.

use async_trait::async_trait;
use ucplus_core::store::SiteStore;
use ucplus_core::*;

use super::{SqlStore, TenantTable, expect_one};
use crate::db::query;
use crate::rows::{self, backend, map_error};

const SITES: TenantTable = TenantTable {
    name: "sites",
    columns: "*",
};

#[async_trait]
impl SiteStore for SqlStore {
    async fn sites(&self, tenant: TenantId) -> StoreResult<Vec<Site>> {
        let rows = SITES.list(&self.db, tenant, "name, id").await?;
        rows.iter().map(rows::site).collect()
    }

    async fn site(&self, tenant: TenantId, id: SiteId) -> StoreResult<Site> {
        rows::site(&SITES.get(&self.db, tenant, &id.to_string()).await?)
    }

    async fn insert_site(&self, tenant: TenantId, site: &Site) -> StoreResult<()> {
        query(
            "INSERT INTO sites (id, tenant_id, name, address, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(site.id.to_string())
        .bind(tenant.to_string())
        .bind(&site.name)
        .bind(&site.address)
        .bind(site.created_at.0)
        .execute(&self.db)
        .await
        .map_err(|e| map_error(e, "id"))?;
        Ok(())
    }

    async fn update_site(&self, tenant: TenantId, site: &Site) -> StoreResult<()> {
        let result =
            query("UPDATE sites SET name = $1, address = $2 WHERE tenant_id = $3 AND id = $4")
                .bind(&site.name)
                .bind(&site.address)
                .bind(tenant.to_string())
                .bind(site.id.to_string())
                .execute(&self.db)
                .await
                .map_err(backend)?;
        expect_one(result)
    }

    async fn delete_site(&self, tenant: TenantId, id: SiteId) -> StoreResult<()> {
        let mut tx = self.db.begin().await.map_err(backend)?;
        query("UPDATE users SET site_id = NULL WHERE tenant_id = $1 AND site_id = $2")
            .bind(tenant.to_string())
            .bind(id.to_string())
            .execute(&mut tx)
            .await
            .map_err(backend)?;
        SITES.delete(&mut tx, tenant, &id.to_string()).await?;
        tx.commit().await.map_err(backend)
    }
}
