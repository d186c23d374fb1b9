//! The sites of a tenant.

use async_trait::async_trait;

use super::{Store, StoreResult, check_tenant};
use crate::ids::{SiteId, TenantId};
use crate::model::Site;

/// Reached through [`Sites`] (`store.tenant(id).sites()`), which supplies the tenant.
#[async_trait]
pub trait SiteStore: Send + Sync {
    async fn sites(&self, tenant: TenantId) -> StoreResult<Vec<Site>>;
    async fn site(&self, tenant: TenantId, id: SiteId) -> StoreResult<Site>;
    async fn insert_site(&self, tenant: TenantId, site: &Site) -> StoreResult<()>;
    async fn update_site(&self, tenant: TenantId, site: &Site) -> StoreResult<()>;
    /// Deletes the site; its users are left without a site.
    async fn delete_site(&self, tenant: TenantId, id: SiteId) -> StoreResult<()>;
}

/// One tenant's sites.
#[derive(Clone, Copy)]
pub struct Sites<'s> {
    pub(super) store: &'s dyn Store,
    pub(super) tenant: TenantId,
}

impl Sites<'_> {
    /// By name.
    pub async fn list(&self) -> StoreResult<Vec<Site>> {
        self.store.sites(self.tenant).await
    }

    pub async fn get(&self, id: SiteId) -> StoreResult<Site> {
        self.store.site(self.tenant, id).await
    }

    /// Refuses a site whose `tenant_id` is not this tenant.
    pub async fn insert(&self, site: &Site) -> StoreResult<()> {
        check_tenant(self.tenant, site.tenant_id)?;
        self.store.insert_site(self.tenant, site).await
    }

    /// Refuses a site whose `tenant_id` is not this tenant.
    pub async fn update(&self, site: &Site) -> StoreResult<()> {
        check_tenant(self.tenant, site.tenant_id)?;
        self.store.update_site(self.tenant, site).await
    }

    pub async fn delete(&self, id: SiteId) -> StoreResult<()> {
        self.store.delete_site(self.tenant, id).await
    }
}
